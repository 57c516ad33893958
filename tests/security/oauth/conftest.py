from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.oauth.harness import Gateway, Wallet, running_gateway


@pytest.fixture
def gateway(tmp_path, settings_factory) -> Iterator[Gateway]:
    yield from running_gateway(tmp_path, settings_factory)


@pytest.fixture
def wallet(gateway: Gateway) -> Wallet:
    return gateway.register()


def refused(response, status: int, error: str, description: str) -> None:
    """The exact RFC 6749 error, a description that says why, no caching, no CR/LF."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert description in body["error_description"], body
    assert "\r" not in body["error_description"]
    assert "\n" not in body["error_description"]
    assert response.headers["cache-control"] == "no-store"
