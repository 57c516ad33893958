"""Login throttling per address counts the browser's address, told by a trusted proxy only."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from gateway.clock import FrozenClock
from gateway.oauth.users import MAX_FAILURES
from gateway.settings import Settings
from tests.unit.identity.conftest import identity_app
from tests.unit.identity.portal import csrf_from

PROXY = "10.244.0.3"  # the peer every request in these tests comes from


@pytest.fixture
def portal(
    sqlite_url: str, frozen_clock: FrozenClock, settings_factory: Callable[..., Settings]
) -> Iterator[Callable[[str], TestClient]]:
    """The login pages reached from ``PROXY``, with ``trusted_proxies`` as given."""
    opened: list[TestClient] = []

    def make(trusted_proxies: str) -> TestClient:
        settings = settings_factory(issuer="https://testserver", trusted_proxies=trusted_proxies)
        client = TestClient(
            identity_app(settings, sqlite_url, frozen_clock),
            base_url="https://testserver",
            client=(PROXY, 50000),
            follow_redirects=False,
        )
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _wrong_password(client: TestClient, user: str, forwarded_for: str) -> int:
    page = client.get("/login")
    form = {"username": user, "password": "wrong", "csrf_token": csrf_from(page.text), "next": "/"}
    return client.post("/login", data=form, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_a_trusted_proxy_one_browsers_failures_do_not_throttle_another(
    portal: Callable[[str], TestClient],
) -> None:
    client = portal("10.244.0.0/16")
    for n in range(MAX_FAILURES):
        assert _wrong_password(client, f"user-{n}", "203.0.113.1") == 401
    assert _wrong_password(client, "user-x", "203.0.113.1") == 429
    assert _wrong_password(client, "user-y", "203.0.113.2") == 401


def test_a_browser_cannot_escape_its_throttle_by_forging_x_forwarded_for(portal: Callable[[str], TestClient]) -> None:
    client = portal("192.0.2.0/24")  # the peer is not a trusted proxy
    for n in range(MAX_FAILURES):
        assert _wrong_password(client, f"user-{n}", f"203.0.113.{n}") == 401
    assert _wrong_password(client, "user-x", "203.0.113.200") == 429
