from __future__ import annotations

from tests.unit.identity.portal import SESSION_COOKIE, add_user, csrf_from, log_in, services


def test_login_page_carries_a_csrf_token_and_the_safety_headers(make_client):
    client = make_client()
    page = client.get("/login")
    assert page.status_code == 200
    assert csrf_from(page.text)
    assert page.headers["content-security-policy"].startswith("default-src 'self';")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert "style=" not in page.text


def test_login_with_the_right_password_starts_a_session_and_goes_to_next(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    anonymous = client.get("/login").cookies.get(SESSION_COOKIE) or client.cookies.get(SESSION_COOKIE)
    response = log_in(client, "alice", "alice-demo", "/dashboard?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?x=1"
    assert client.cookies.get(SESSION_COOKIE) not in (None, anonymous)


def test_login_with_a_wrong_password_shows_the_error_on_the_page(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    response = log_in(client, "alice", "nope")
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.text
    assert 'value="alice"' in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_login_of_an_unknown_user_shows_the_same_error(make_client):
    client = make_client()
    response = log_in(client, "nobody", "nope")
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.text


def test_login_is_throttled_with_retry_after_on_the_page(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    for _ in range(5):
        assert log_in(client, "alice", "nope").status_code == 401
    response = log_in(client, "alice", "alice-demo")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many failed logins" in response.text


def test_logged_in_user_visiting_login_goes_straight_to_next(make_client):
    client = make_client()
    add_user(client, "bob", "bob-demo")
    log_in(client, "bob", "bob-demo")
    response = client.get("/login", params={"next": "/consents"})
    assert response.status_code == 303
    assert response.headers["location"] == "/consents"


def test_logout_ends_the_session(make_client):
    client = make_client()
    add_user(client, "bob", "bob-demo")
    log_in(client, "bob", "bob-demo")
    old = client.cookies.get(SESSION_COOKIE)
    page = client.get("/login", params={"next": "/x"})
    assert page.status_code == 303  # still logged in
    token = client.portal.call(services(client).sessions.get, old).csrf_token
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.portal.call(services(client).sessions.get, old) is None
    assert client.get("/login").status_code == 200


def test_login_page_speaks_chinese_when_the_browser_prefers_it(make_client):
    client = make_client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh">' in page.text
    assert "登录您的银行" in page.text
    assert ">English</a>" in page.text


def test_language_switch_link_keeps_next(make_client):
    client = make_client()
    page = client.get("/login", params={"next": "/consents?x=1"})
    assert 'href="/login?lang=zh&amp;next=%2Fconsents%3Fx%3D1"' in page.text
    zh = client.get("/login", params={"lang": "zh", "next": "/consents?x=1"})
    assert "登录您的银行" in zh.text


def test_login_error_is_shown_in_the_chosen_language(make_client):
    client = make_client()
    add_user(client, "alice", "alice-demo")
    page = client.get("/login", params={"lang": "zh"})
    response = client.post(
        "/login",
        data={"username": "alice", "password": "x", "csrf_token": csrf_from(page.text), "next": "/", "lang": "zh"},
    )
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.text


def test_every_login_string_exists_in_both_languages():
    from gateway.portal.login_text import TEXT

    assert set(TEXT["en"]) == set(TEXT["zh"])


def test_base_template_offers_logout_with_the_csrf_token_when_logged_in():
    from gateway.portal.pages import templates

    html = templates.get_template("error.html").render(
        title="T", message="M", link=None, session_user="<alice>", csrf_token="tok"
    )
    assert 'action="/logout"' in html
    assert 'value="tok"' in html
    assert "&lt;alice&gt;" in html
    anonymous = templates.get_template("error.html").render(title="T", message="M", link=None)
    assert "/logout" not in anonymous


def test_login_page_explains_when_the_shared_throttle_is_unreachable(make_client, port, frozen_clock):
    from redis.asyncio import Redis

    from gateway.oauth.users import UserStore
    from tests.unit.identity.conftest import FAST_HASHER

    client = make_client()
    svc = services(client)
    dead = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    svc.users = UserStore(svc.engine, clock=frozen_clock, redis=dead, hasher=FAST_HASHER)
    response = log_in(client, "alice", "alice-demo")
    client.portal.call(dead.aclose)
    assert response.status_code == 503
    assert "Logging in is unavailable for a moment" in response.text
    assert response.headers["retry-after"] == "5"


def test_base_context_gives_other_pages_the_logout_button(make_client):
    from starlette.routing import Route

    from gateway.portal.pages import base_context, render

    async def page(request):
        context = await base_context(request)
        return render(request, "error.html", {**context, "title": "T", "message": "M", "link": None})

    client = make_client(extra_routes=[Route("/page", page)])
    assert 'action="/logout"' not in client.get("/page").text
    add_user(client, "alice", "alice-demo")
    log_in(client, "alice", "alice-demo")
    html = client.get("/page").text
    assert 'action="/logout"' in html
    assert ">alice<" in html
    logout = client.post("/logout", data={"csrf_token": csrf_from(html)})
    assert logout.status_code == 303
    assert 'action="/logout"' not in client.get("/page").text
