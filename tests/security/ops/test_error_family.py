"""Refusals the router and the request parser make answer in the project's error format, like any other.

Starlette's router raises its own ``HTTPException`` for a path no route matches (404) and a method
the route does not take (405), and ``request.form()`` raises one for a malformed multipart body
(400). Each must render as the Open Banking body (RFC 6749 on the OAuth endpoints), ``no-store``,
with the interaction id, rather than Starlette's bare ``text/plain`` line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app

INTERACTION = "93bac548-d2de-4546-b106-880a5018460d"


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], sqlite_url: str) -> Iterator[TestClient]:
    upgrade(sqlite_url)
    app = create_app(settings_factory(database_url=sqlite_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_path_no_route_matches_is_an_open_banking_404(gateway: TestClient) -> None:
    response = gateway.get("/no/such/page", headers={"x-fapi-interaction-id": INTERACTION})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-fapi-interaction-id"] == INTERACTION
    body = response.json()
    assert body["Code"] == "404 NotFound"
    assert body["Id"] == INTERACTION
    assert body["Errors"][0]["ErrorCode"] == "U011"


def test_a_method_a_gateway_route_does_not_take_is_an_open_banking_405_with_allow(gateway: TestClient) -> None:
    response = gateway.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert response.json()["Code"] == "405 MethodNotAllowed"


def test_a_method_the_token_endpoint_does_not_take_is_an_rfc6749_405(gateway: TestClient) -> None:
    response = gateway.get("/token")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"]


def test_a_malformed_multipart_body_is_an_open_banking_400(gateway: TestClient) -> None:
    """The portal's login form is the one route here that reads ``request.form()`` with any media type."""
    response = gateway.post(
        "/login",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nvalue",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["Code"] == "400 BadRequest"
