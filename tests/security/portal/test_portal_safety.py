"""The portal against a real ``walletgate demo``: escaping, CSRF, other users' consents, login, headers, cookies."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
import requests

from gateway.portal.catalogue import CATALOGUE
from tests.security.portal.conftest import (
    XSS_NAME,
    PortalClient,
    PortalWorld,
    consent_status,
    field_value,
    logged_in,
)

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ACTIONS = ("pause", "resume", "amend", "revoke")


def detail_url(world: PortalWorld) -> str:
    return f"/dashboard/consents/{world.alice_consent}"


def assert_escaped(page: str) -> None:
    assert XSS_NAME not in page
    assert "<script" not in page.lower()
    assert ESCAPED in page


def test_wallet_named_like_a_script_is_text_on_the_authorization_screen(world: PortalWorld) -> None:
    assert world.xss_screen.status_code == 200
    assert_escaped(world.xss_screen.text)


def test_wallet_named_like_a_script_is_text_on_the_dashboard_detail_and_confirmation(world: PortalWorld) -> None:
    alice = logged_in(world, "alice")
    for path in ("/dashboard", detail_url(world), detail_url(world) + "/revoke"):
        page = alice.get(path)
        assert page.status_code == 200, path
        assert_escaped(page.text)


@pytest.mark.parametrize("action", ACTIONS)
def test_dashboard_action_without_csrf_token_is_refused_and_changes_nothing(world: PortalWorld, action: str) -> None:
    alice = logged_in(world, "alice")
    form = {"account_id": "acc-alice-current", "cluster": "transactions"} if action == "amend" else {}
    response = alice.post(f"{detail_url(world)}/{action}", data=form)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert consent_status(alice, world.alice_consent) == "Active"


@pytest.mark.parametrize("action", ACTIONS)
def test_dashboard_action_with_another_sessions_token_is_refused(world: PortalWorld, action: str) -> None:
    alice, bob = logged_in(world, "alice"), logged_in(world, "bob")
    bobs_token = field_value(bob.get("/dashboard").text, "csrf_token")
    response = alice.post(f"{detail_url(world)}/{action}", data={"csrf_token": bobs_token})
    assert response.status_code == 403
    assert consent_status(alice, world.alice_consent) == "Active"


def test_dashboard_action_with_a_non_ascii_token_is_refused_not_a_500(world: PortalWorld) -> None:
    alice = logged_in(world, "alice")
    response = alice.post(f"{detail_url(world)}/pause", data={"csrf_token": "t\u00e9\u2603"})
    assert response.status_code == 403
    assert consent_status(alice, world.alice_consent) == "Active"


def test_dashboard_action_from_another_origin_is_refused(world: PortalWorld) -> None:
    alice = logged_in(world, "alice")
    token = field_value(alice.get(detail_url(world)).text, "csrf_token")
    response = alice.post(
        f"{detail_url(world)}/pause", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert consent_status(alice, world.alice_consent) == "Active"


def test_another_users_consent_detail_is_not_found(world: PortalWorld) -> None:
    bob = logged_in(world, "bob")
    for path in (detail_url(world), detail_url(world) + "/revoke", detail_url(world) + "/receipt"):
        response = bob.get(path)
        assert response.status_code == 404, path
        assert "alert(1)" not in response.text
        assert world.alice_consent not in response.text.replace(path, "")
    assert world.alice_consent not in bob.get("/dashboard").text


@pytest.mark.parametrize("action", ACTIONS)
def test_another_users_consent_action_is_not_found_and_changes_nothing(world: PortalWorld, action: str) -> None:
    bob = logged_in(world, "bob")
    token = field_value(bob.get("/dashboard").text, "csrf_token")
    response = bob.post(f"{detail_url(world)}/{action}", data={"csrf_token": token, "account_id": "acc-alice-current"})
    assert response.status_code == 404
    assert consent_status(logged_in(world, "alice"), world.alice_consent) == "Active"


@pytest.mark.parametrize("done", ["revoked", "paused"])
def test_a_link_claiming_a_change_that_was_not_made_shows_no_such_notice(world: PortalWorld, done: str) -> None:
    alice = logged_in(world, "alice")
    page = alice.get(detail_url(world), params={"done": done})  # e.g. sent by the wallet itself
    assert page.status_code == 200
    assert CATALOGUE["en"][f"done_{done}"] not in html.unescape(page.text)
    assert consent_status(alice, world.alice_consent) == "Active"


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/consents/{id}", "/dashboard/consents/{id}/revoke"])
def test_pages_send_a_visitor_who_is_not_logged_in_to_login(world: PortalWorld, path: str) -> None:
    target = path.format(id=world.alice_consent)
    response = PortalClient(world.demo.issuer).get(target)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + quote(target, safe="")


def test_action_from_a_visitor_who_is_not_logged_in_changes_nothing(world: PortalWorld) -> None:
    visitor = PortalClient(world.demo.issuer)
    token = field_value(visitor.get("/login").text, "csrf_token")
    response = visitor.post(f"{detail_url(world)}/revoke", data={"csrf_token": token})
    assert response.status_code == 303  # the log-in check comes before the form is read
    assert response.headers["location"] == "/login?next=" + quote(f"{detail_url(world)}/revoke", safe="")
    assert consent_status(logged_in(world, "alice"), world.alice_consent) == "Active"


@pytest.mark.parametrize(
    ("accounts", "reason"),
    [
        (["acc-alice-current", "acc-alice-savings"], "Amendment can only drop accounts; 'acc-alice-savings' is not in"),
        ([], "Amendment must keep at least one account; revoke the consent instead."),
    ],
    ids=["widening", "nothing-left"],
)
def test_dashboard_narrowing_that_the_consent_rules_refuse_shows_why_and_changes_nothing(
    world: PortalWorld, accounts: list[str], reason: str
) -> None:
    alice = logged_in(world, "alice")
    page = alice.get(detail_url(world)).text
    clusters = re.findall(r'name="cluster" value="([^"]+)"', page)
    assert clusters, page
    form = [("csrf_token", field_value(page, "csrf_token")), *(("cluster", c) for c in clusters)]
    response = alice.post(f"{detail_url(world)}/amend", data=form + [("account_id", a) for a in accounts])
    assert response.status_code == 400
    assert f"That change was not made: {reason}" in html.unescape(response.text)
    after = alice.get(detail_url(world)).text
    assert re.findall(r'name="account_id" value="([^"]+)"', after) == ["acc-alice-current"]
    assert re.findall(r'name="cluster" value="([^"]+)"', after) == clusters
    assert consent_status(alice, world.alice_consent) == "Active"


@pytest.mark.parametrize("session", [None, "forged-session-id", "anonymous"])
def test_user_api_refuses_a_visitor_who_is_not_logged_in(world: PortalWorld, session: str | None) -> None:
    visitor = PortalClient(world.demo.issuer)
    if session == "anonymous":  # the login form's session: a CSRF token but no user
        visitor.get("/login")
        assert visitor.cookies, "the login form sets an anonymous session"
    elif session is not None:
        visitor.cookies["__Host-wg_session"] = session
    for method, path in (("GET", "/api/me/consents"), ("POST", f"/api/me/consents/{world.alice_consent}/revoke")):
        response = visitor.request(method, path)
        assert response.status_code == 401, (method, path)
        errors = response.json()["Errors"]
        assert [(e["ErrorCode"], e["Message"]) for e in errors] == [("U006", "Log in to see your consents.")]
    assert consent_status(logged_in(world, "alice"), world.alice_consent) == "Active"


def assert_safety_headers(response: requests.Response, where: str) -> None:
    csp = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in csp, where
    assert "'unsafe-eval'" not in csp, where
    assert directives["frame-ancestors"] == ["'none'"], where
    assert directives["script-src"] == ["'self'"], where
    assert response.headers["x-frame-options"] == "DENY", where
    assert response.headers["referrer-policy"] == "no-referrer", where


def test_every_page_sends_the_safety_headers(world: PortalWorld) -> None:
    assert_safety_headers(world.xss_screen, "authorize")
    visitor = PortalClient(world.demo.issuer)
    assert_safety_headers(visitor.get("/login"), "login")
    assert_safety_headers(visitor.get("/dashboard"), "redirect to login")
    alice = logged_in(world, "alice")
    for path in ("/dashboard", detail_url(world), detail_url(world) + "/revoke", "/dashboard/consents/nope"):
        assert_safety_headers(alice.get(path), path)


def test_session_cookie_is_host_only_secure_httponly_and_samesite(world: PortalWorld) -> None:
    alice = logged_in(world, "alice")
    sessions = [c for c in alice.raw_set_cookies if c.startswith("__Host-wg_session=")]
    assert sessions, alice.raw_set_cookies
    for raw in sessions:
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in raw.split(";")[1:]}
        assert "secure" in attributes, raw
        assert "httponly" in attributes, raw
        assert attributes["samesite"].lower() in ("samesite=lax", "samesite=strict"), raw
        assert attributes["path"] == "Path=/", raw
        assert "domain" not in attributes, raw
