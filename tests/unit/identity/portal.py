"""Helpers for driving the portal pages with a TestClient."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

SESSION_COOKIE = "__Host-wg_session"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def add_user(client: TestClient, user_id: str, password: str) -> None:
    assert client.portal is not None
    client.portal.call(services(client).users.create_user, user_id, password, user_id.title())


def log_in(client: TestClient, user_id: str, password: str, next_path: str = "/") -> Any:
    page = client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={"username": user_id, "password": password, "csrf_token": csrf_from(page.text), "next": next_path},
    )
