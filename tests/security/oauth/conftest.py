from __future__ import annotations

from tests.unit.oauth.conftest import gateway, wallet  # noqa: F401 - the same fixtures as the unit tests


def refused(response, status: int, error: str, description: str) -> None:
    """The exact RFC 6749 error, a description that says why, no caching, no CR/LF."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert description in body["error_description"], body
    assert "\r" not in body["error_description"]
    assert "\n" not in body["error_description"]
    assert response.headers["cache-control"] == "no-store"
