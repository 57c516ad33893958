"""Every response, from the gateway's own routes and from the published APIs' lane alike, tells a
browser not to sniff its content type; behind TLS (an https issuer) every response also carries HSTS,
so a browser that once reached the portal over https never sends the user's login over plain http."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app

PATHS = (
    "/healthz",  # a gateway route
    "/no/such/page",  # no route: the router's refusal
    "/open-banking/v4.0/aisp/no-such-operation",  # the published APIs' lane
    "/login",  # a portal page, which sets nosniff itself: sent once
)


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], sqlite_url: str) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        upgrade(sqlite_url)
        client = TestClient(create_app(settings_factory(database_url=sqlite_url, **overrides)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("path", PATHS)
def test_every_response_says_nosniff_once(gateway: Callable[..., TestClient], path: str) -> None:
    response = gateway().get(path)
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.parametrize("path", PATHS)
def test_behind_tls_every_response_carries_hsts(gateway: Callable[..., TestClient], path: str) -> None:
    response = gateway(issuer="https://gateway.example").get(path)
    assert response.headers.get_list("strict-transport-security") == ["max-age=31536000"]


def test_over_plain_http_no_hsts_is_sent(gateway: Callable[..., TestClient]) -> None:
    """RFC 6797 §7.2: a host sends HSTS over secure transport only (the demo runs on plain http)."""
    assert "strict-transport-security" not in gateway().get("/healthz").headers
