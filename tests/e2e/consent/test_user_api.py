"""The user-facing consent API: only my consents, plain-language permissions, CSRF on changes, receipts."""

from __future__ import annotations

import jwt
import pytest
from starlette.testclient import TestClient

from gateway.portal.sessions import cookie_name
from tests.e2e.consent.conftest import CONSENTS, Wallet, consent_body
from tests.support.records import access_record

ME = "/api/me/consents"


class User:
    """A logged-in portal user: session cookie plus its CSRF token."""

    def __init__(self, wallet: Wallet, user_id: str) -> None:
        self.client = wallet.client
        services = wallet.services
        session_id, session = wallet.run(services.sessions.create, user_id)
        self.cookie = {"Cookie": f"{cookie_name(services.settings)}={session_id}"}
        self.csrf = session.csrf_token

    def get(self, path: str, **kwargs):
        headers = kwargs.pop("headers", {}) | self.cookie
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, *, csrf: bool = True, **kwargs):
        headers = kwargs.pop("headers", {}) | self.cookie | ({"x-csrf-token": self.csrf} if csrf else {})
        return self.client.post(path, headers=headers, **kwargs)


def _authorised(wallet: Wallet, user_id: str = "alice", **data) -> str:
    consent_id = wallet.call("POST", CONSENTS, json=consent_body(**data)).json()["Data"]["ConsentId"]
    store = wallet.services.consents
    assert store is not None
    wallet.run(store.authorise, consent_id, user_id=user_id, account_ids=["acc-1", "acc-2"])
    return str(consent_id)


@pytest.fixture
def alice(wallet: Wallet) -> User:
    return User(wallet, "alice")


@pytest.fixture
def bob(wallet: Wallet) -> User:
    return User(wallet, "bob")


def test_list_shows_only_my_consents(wallet: Wallet, alice: User, bob: User) -> None:
    mine = _authorised(wallet, "alice")
    _authorised(wallet, "bob")
    doc = alice.get(ME).json()
    assert [c["consent_id"] for c in doc["consents"]] == [mine]
    assert doc["next_cursor"] is None


def test_list_filters_by_status_wallet_and_purpose_and_pages(wallet: Wallet, alice: User) -> None:
    first = _authorised(wallet)
    second = _authorised(wallet, WalletGate={"Purposes": ["lending"]})
    assert [c["consent_id"] for c in alice.get(ME, params={"purpose": "lending"}).json()["consents"]] == [second]
    assert alice.get(ME, params={"wallet": "wallet-9"}).json()["consents"] == []
    assert len(alice.get(ME, params={"status": "AUTH"}).json()["consents"]) == 2
    page = alice.get(ME, params={"limit": 1}).json()
    assert page["next_cursor"] is not None
    rest = alice.get(ME, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert {page["consents"][0]["consent_id"], rest["consents"][0]["consent_id"]} == {first, second}


def test_list_refuses_a_bad_limit(alice: User) -> None:
    response = alice.get(ME, params={"limit": "1000"})
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "query.limit"


def test_consent_detail_speaks_plain_language_in_english_and_chinese(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    english = alice.get(f"{ME}/{consent_id}").json()
    clusters = {g["cluster"]: g for g in english["permissions"]}
    assert clusters["balances"]["title"] == "Your account balance"
    assert clusters["balances"]["permissions"] == [{"code": "ReadBalances", "text": "Balances and overdraft"}]
    assert english["purposes"][0]["title"] == "Account aggregation"
    chinese = alice.get(f"{ME}/{consent_id}", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).json()
    assert {g["cluster"]: g for g in chinese["permissions"]}["balances"]["title"] == "您的账户余额"
    assert chinese["purposes"][0]["title"] == "账户汇总"


def test_another_users_consent_looks_like_an_unknown_one(wallet: Wallet, bob: User) -> None:
    consent_id = _authorised(wallet, "alice")
    theirs = bob.get(f"{ME}/{consent_id}")
    unknown = bob.get(f"{ME}/no-such-consent")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["Errors"][0]["ErrorCode"] == unknown.json()["Errors"][0]["ErrorCode"]
    assert bob.post(f"{ME}/{consent_id}/revoke").status_code == 404
    assert bob.get(f"{ME}/{consent_id}/receipt").status_code == 404


def test_without_a_session_the_api_refuses(gateway: TestClient) -> None:
    response = gateway.get(ME)
    assert response.status_code == 401
    assert response.json()["Errors"][0]["Message"] == "Log in to see your consents."


def test_changes_without_the_csrf_token_are_refused(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    response = alice.post(f"{ME}/{consent_id}/revoke", csrf=False)
    assert response.status_code == 403
    assert response.json()["Errors"][0]["Path"] == "csrf_token"
    assert alice.get(f"{ME}/{consent_id}").json()["status"] == "AUTH"


def test_pause_resume_and_revoke_record_events(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    assert alice.post(f"{ME}/{consent_id}/pause", json={"reason": "travelling"}).json()["status"] == "PAUS"
    assert wallet.call("GET", f"{CONSENTS}/{consent_id}").json()["Data"]["Status"] == "AUTH"
    assert alice.post(f"{ME}/{consent_id}/resume").json()["status"] == "AUTH"
    assert alice.post(f"{ME}/{consent_id}/revoke").json()["status"] == "CANC"
    events = alice.get(f"{ME}/{consent_id}/events").json()["events"]
    assert [e["kind"] for e in events] == ["created", "authorised", "paused", "resumed", "revoked"]
    assert events[2]["reason"] == "travelling"
    assert wallet.call("GET", f"{CONSENTS}/{consent_id}").json()["Data"]["Status"] == "CANC"


def test_revoking_twice_is_refused_with_the_status_named(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    alice.post(f"{ME}/{consent_id}/revoke")
    response = alice.post(f"{ME}/{consent_id}/revoke")
    assert response.status_code == 400
    assert "its status is CANC" in response.json()["Errors"][0]["Message"]


def test_amend_narrows_and_refuses_widening(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    narrowed = alice.post(f"{ME}/{consent_id}/amend", json={"account_ids": ["acc-2"]}).json()
    assert narrowed["accounts"] == ["acc-2"]
    wider = alice.post(f"{ME}/{consent_id}/amend", json={"permissions": ["ReadBalances", "ReadPAN"]})
    assert wider.status_code == 400
    assert "can only drop permissions; ReadPAN" in wider.json()["Errors"][0]["Message"]


def test_access_history_lists_reads_under_the_consent(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    store = wallet.services.consents
    assert store is not None
    record = access_record(
        at=store.now(),
        consent_id=consent_id,
        operation_id="GetBalances",
        path="/open-banking/v4.0/aisp/balances",
        response_bytes=300,
        record_count=2,
    )
    wallet.run(store.record_access, [record])
    access = alice.get(f"{ME}/{consent_id}/access").json()["access"]
    assert access == [
        {
            "at": record.at.isoformat(),
            "wallet": "wallet-1",
            "operation": "GetBalances",
            "method": "GET",
            "path": "/open-banking/v4.0/aisp/balances",
            "accounts": ["acc-1"],
            "status": 200,
            "records": 2,
            "complete": True,
            "interaction_id": "i-1",
        }
    ]


def test_receipt_is_a_jws_of_the_consent_signed_by_the_gateway(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    response = alice.get(f"{ME}/{consent_id}/receipt")
    assert response.headers["content-type"].startswith("application/jwt")
    token = response.text
    assert jwt.get_unverified_header(token)["typ"] == "consent-receipt+jwt"
    claims = wallet.services.keys.verify(token, typ="consent-receipt+jwt", required=("iat",))
    assert claims["consent"]["consent_id"] == consent_id
    assert claims["consent"]["status"] == "AUTH"
    assert claims["sub"] == "alice"
    events = alice.get(f"{ME}/{consent_id}/events").json()["events"]
    assert claims["event_chain_head"] == events[-1]["hash"]
