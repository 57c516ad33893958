"""Abuse of the login pages: CSRF, open redirects, cookie theft, script injection, fixation."""

from __future__ import annotations

import pytest

from tests.unit.identity.portal import SESSION_COOKIE, add_user, csrf_from, log_in, services


def test_login_post_without_csrf_token_is_refused(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": "alice-demo"})
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert client.get("/login").status_code == 200  # not logged in


def test_login_post_without_any_session_is_refused(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    response = client.post("/login", data={"username": "alice", "password": "alice-demo", "csrf_token": "guess"})
    assert response.status_code == 403


def test_login_post_with_another_browsers_csrf_token_is_refused(make_client):
    attacker, victim = make_client(), make_client()
    add_user(victim, "alice", "alice-demo")
    token = csrf_from(attacker.get("/login").text)
    victim.get("/login")
    response = victim.post("/login", data={"username": "alice", "password": "alice-demo", "csrf_token": token})
    assert response.status_code == 403


def test_login_post_from_another_origin_is_refused(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "alice", "password": "alice-demo", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_logout_without_csrf_token_is_refused(make_client):
    client = make_client()
    add_user(client, "bob", "bob-demo")
    log_in(client, "bob", "bob-demo")
    response = client.post("/logout", data={})
    assert response.status_code == 403
    assert client.get("/login", params={"next": "/x"}).status_code == 303  # still logged in


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_login_refuses_to_redirect_off_site(make_client, next_path):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    response = log_in(client, "alice", "alice-demo", next_path)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_session_cookie_is_host_only_secure_httponly_samesite_lax(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    response = log_in(client, "alice", "alice-demo")
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes)


def test_anonymous_session_cookie_has_the_same_flags(make_client):
    cookie = make_client().get("/login").headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE.lower())
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_plain_http_demo_host_uses_a_non_secure_cookie_without_the_host_prefix(make_client):
    cookie = make_client(issuer="http://gateway.internal:8000").get("/login").headers["set-cookie"]
    assert cookie.startswith("wg_session=")
    assert "httponly" in cookie.lower()


def test_login_page_escapes_what_the_user_typed(make_client):
    client = make_client()
    response = log_in(client, "<script>alert(1)</script>", "x")
    assert response.status_code == 401
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_next_path_is_escaped_in_the_form(make_client):
    page = make_client().get("/login", params={"next": '/a"><script>x</script>'})
    assert "<script>x</script>" not in page.text


def test_login_issues_a_new_session_id_so_a_planted_one_is_useless(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    client.get("/login")
    planted = client.cookies.get(SESSION_COOKIE)
    log_in(client, "alice", "alice-demo")
    assert client.cookies.get(SESSION_COOKIE) != planted
    assert client.portal.call(services(client).sessions.get, planted) is None


def test_a_forged_session_cookie_is_not_a_login(make_client):
    client = make_client()
    client.cookies.set(SESSION_COOKIE, "forged-session-id", domain="testserver")
    page = client.get("/login", params={"next": "/x"})
    assert page.status_code == 200
