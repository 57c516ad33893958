from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.identity.portal import SESSION_COOKIE, services

ADMIN = {"Authorization": "Bearer admin-secret-token"}
BANK_LOGIN = "https://bank.example/login?lang=en"


@pytest.fixture
def client(make_client):
    return make_client(login_url=BANK_LOGIN, admin_token="admin-secret-token")


def _start(client, next_path="/authorize?request_uri=urn%3Ax"):
    response = client.get("/login", params={"next": next_path})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://bank.example/login"
    query = parse_qs(location.query)
    assert query["lang"] == ["en"]
    return query["login_challenge"][0]


def test_login_redirects_to_the_banks_login_page_with_a_challenge(client):
    challenge = _start(client)
    info = client.get(f"/admin/login/{challenge}", headers=ADMIN)
    assert info.status_code == 200
    assert info.json()["state"] == "pending"


def test_accepted_challenge_logs_the_user_in_and_continues_to_next(client):
    challenge = _start(client, "/authorize?request_uri=urn%3Ax")
    accepted = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN)
    assert accepted.status_code == 200
    redirect_to = accepted.json()["redirect_to"]
    assert redirect_to.startswith("https://testserver/login/callback?")
    done = client.get(redirect_to)
    assert done.status_code == 303
    assert done.headers["location"] == "/authorize?request_uri=urn%3Ax"
    session = client.portal.call(services(client).sessions.get, client.cookies.get(SESSION_COOKIE))
    assert session.user_id == "alice"


def test_rejected_challenge_shows_the_banks_reason_and_starts_no_session(client):
    challenge = _start(client)
    rejected = client.put(
        f"/admin/login/{challenge}/reject", json={"error_description": "<b>account locked</b>"}, headers=ADMIN
    )
    assert rejected.status_code == 200
    page = client.get(rejected.json()["redirect_to"])
    assert page.status_code == 403
    assert "&lt;b&gt;account locked&lt;/b&gt;" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.cookies.get(SESSION_COOKIE) is None


def test_redirect_to_works_only_once(client):
    challenge = _start(client)
    redirect_to = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN).json()[
        "redirect_to"
    ]
    assert client.get(redirect_to).status_code == 303
    again = client.get(redirect_to)
    assert again.status_code == 400
    assert "already used" in again.text


def test_redirect_to_is_refused_in_another_browser(client, make_client):
    challenge = _start(client)
    redirect_to = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN).json()[
        "redirect_to"
    ]
    other_browser = make_client(login_url=BANK_LOGIN, admin_token="admin-secret-token")
    assert other_browser.get(redirect_to).status_code == 400
    assert other_browser.cookies.get(SESSION_COOKIE) is None


def test_a_wrong_verifier_is_refused(client):
    challenge = _start(client)
    client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN)
    page = client.get("/login/callback", params={"login_challenge": challenge, "login_verifier": "guess"})
    assert page.status_code == 400


def test_a_challenge_is_settled_only_once(client):
    challenge = _start(client)
    assert client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN).status_code == 200
    second = client.put(f"/admin/login/{challenge}/accept", json={"subject": "mallory"}, headers=ADMIN)
    assert second.status_code == 409
    assert client.put(f"/admin/login/{challenge}/reject", json={}, headers=ADMIN).status_code == 409


def test_an_expired_challenge_cannot_be_accepted(client, frozen_clock):
    challenge = _start(client)
    frozen_clock.advance(601)
    response = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN)
    assert response.status_code == 404


def test_an_unknown_challenge_cannot_be_accepted(client):
    response = client.put("/admin/login/nope/accept", json={"subject": "alice"}, headers=ADMIN)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic admin-secret-token"}, {"Authorization": "Bearer"}],
)
def test_admin_calls_without_the_admin_token_are_refused(client, headers):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get(f"/admin/login/{challenge}", headers=ADMIN).json()["state"] == "pending"


def test_admin_refusal_names_the_authorization_header_as_invalid(client):
    challenge = _start(client)
    response = client.put(
        f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401
    assert response.json()["Errors"][0]["ErrorCode"] == "U006"
    assert response.json()["Errors"][0]["Path"] == "Authorization"


def test_admin_api_is_closed_when_no_admin_token_is_configured(make_client):
    client = make_client(login_url=BANK_LOGIN)
    challenge = _start(client)
    response = client.put(
        f"/admin/login/{challenge}/accept", json={"subject": "a"}, headers={"Authorization": "Bearer "}
    )
    assert response.status_code == 401
    assert "disabled" in response.json()["Message"]


def test_accept_needs_a_subject(client):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/accept", json={}, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "subject"


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_admin_body_that_is_not_json_is_refused(client, action):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/{action}", content=b"subject=alice", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["ErrorCode"] == "U010"
    assert "not valid JSON" in response.json()["Message"]


@pytest.mark.parametrize("action", ["accept", "reject"])
@pytest.mark.parametrize("body", [b'["alice"]', b'"alice"', b"7", b"null"])
def test_admin_body_that_is_not_a_json_object_is_refused(client, action, body):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/{action}", content=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["ErrorCode"] == "U010"
    assert "must be a JSON object" in response.json()["Message"]


def test_accept_with_an_empty_body_is_refused_naming_subject(client):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/accept", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "subject"


@pytest.mark.parametrize("subject", ["", 7, None, ["alice"], "a" * 65, "al\nice"])
def test_accept_with_a_subject_that_is_not_a_user_id_is_refused_naming_it(client, subject):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/accept", json={"subject": subject}, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "subject"
    assert client.get(f"/admin/login/{challenge}", headers=ADMIN).json()["state"] == "pending"


def test_reject_with_an_error_description_that_is_not_a_string_is_refused_naming_it(client):
    challenge = _start(client)
    response = client.put(f"/admin/login/{challenge}/reject", json={"error_description": ["no"]}, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "error_description"


def test_built_in_login_form_is_off_when_login_is_delegated(client):
    response = client.post("/login", data={"username": "alice", "password": "alice-demo"})
    assert response.status_code == 400
    assert "own login page" in response.text


def test_a_logged_in_user_is_not_sent_to_the_bank_again(client):
    challenge = _start(client)
    redirect_to = client.put(f"/admin/login/{challenge}/accept", json={"subject": "alice"}, headers=ADMIN).json()[
        "redirect_to"
    ]
    client.get(redirect_to)
    again = client.get("/login", params={"next": "/consents"})
    assert again.status_code == 303
    assert again.headers["location"] == "/consents"
