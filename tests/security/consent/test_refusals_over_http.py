"""Hostile input to the consent APIs is refused with a 4xx naming what was wrong, never a 500, on both databases."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.e2e.consent.conftest import CONSENTS, Wallet, consent_body
from tests.e2e.consent.test_user_api import ME, User, _authorised


@pytest.mark.parametrize("field", ["TransactionFromDateTime", "TransactionToDateTime"])
def test_date_time_beyond_what_utc_can_hold_is_refused_with_400(wallet: Wallet, field: str) -> None:
    response = wallet.call("POST", CONSENTS, json=consent_body(**{field: "9999-12-31T23:59:59-05:00"}))
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["ErrorCode"] == "U003"
    assert response.json()["Errors"][0]["Path"] == f"Data.{field}"


@pytest.mark.parametrize("value", ["²", "9" * 5000], ids=["superscript-digit", "5000-digits"])
@pytest.mark.parametrize("name", ["limit", "offset"])
def test_page_number_int_cannot_read_is_refused_with_400(alice: User, name: str, value: str) -> None:
    response = alice.get(ME, params={name: value})
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == f"query.{name}"


def test_access_history_page_number_int_cannot_read_is_refused_with_400(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    response = alice.get(f"{ME}/{consent_id}/access", params={"limit": "³"})
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == "query.limit"


def _call_with_proof(wallet: Wallet, method: str, path: str) -> httpx.Response:
    """The wallet signs the URL as it sends it, percent-encoding and all."""
    token = wallet.token()
    htu = wallet.services.settings.issuer_url + path
    headers = {"Authorization": f"DPoP {token}", "DPoP": wallet.proof(method, htu, token)}
    return wallet.client.request(method, path, headers=headers)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_wallet_consent_id_with_a_nul_character_looks_like_an_unknown_one(wallet: Wallet, method: str) -> None:
    response = _call_with_proof(wallet, method, f"{CONSENTS}/abc%00def")
    unknown = _call_with_proof(wallet, method, f"{CONSENTS}/abcdef")
    assert response.status_code == unknown.status_code == 404, response.text
    assert response.json()["Errors"][0]["ErrorCode"] == unknown.json()["Errors"][0]["ErrorCode"]


def test_user_consent_id_with_a_nul_character_looks_like_an_unknown_one(alice: User) -> None:
    unknown = alice.get(f"{ME}/abcdef")
    for response in (alice.get(f"{ME}/abc%00def"), alice.post(f"{ME}/abc%00def/revoke")):
        assert response.status_code == unknown.status_code == 404, response.text
        assert response.json()["Errors"][0]["ErrorCode"] == unknown.json()["Errors"][0]["ErrorCode"]


@pytest.mark.parametrize("name", ["status", "wallet"])
def test_list_filter_with_a_nul_character_finds_nothing(wallet: Wallet, alice: User, name: str) -> None:
    _authorised(wallet)
    response = alice.get(ME, params={name: "AUTH\x00" if name == "status" else "wallet-1\x00"})
    assert response.status_code == 200, response.text
    assert response.json() == {"consents": [], "next_cursor": None}


@pytest.mark.parametrize("action", ["pause", "revoke"])
def test_reason_with_a_nul_character_is_refused_and_changes_nothing(wallet: Wallet, alice: User, action: str) -> None:
    consent_id = _authorised(wallet)
    response = alice.post(f"{ME}/{consent_id}/{action}", json={"reason": "away\x00"})
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == "reason"
    assert alice.get(f"{ME}/{consent_id}").json()["status"] == "AUTH"
    assert [e["kind"] for e in alice.get(f"{ME}/{consent_id}/events").json()["events"]] == ["created", "authorised"]


def test_amendment_reason_with_a_nul_character_is_refused_and_changes_nothing(wallet: Wallet, alice: User) -> None:
    consent_id = _authorised(wallet)
    response = alice.post(f"{ME}/{consent_id}/amend", json={"account_ids": ["acc-1"], "reason": "\x00"})
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == "reason"
    assert alice.get(f"{ME}/{consent_id}").json()["accounts"] == ["acc-1", "acc-2"]


@pytest.mark.parametrize(
    "recipient",
    ["credit_bureau:Exp\x00erian", "credit_bureau:Experian\u202e", "credit_bureau:" + "E" * 300],
    ids=["nul", "bidi-override", "too-long"],
)
def test_a_recipient_that_cannot_be_shown_as_written_is_refused_with_400(wallet: Wallet, recipient: str) -> None:
    data = {"WalletGate": {"Purposes": ["lending"], "Recipients": [recipient]}}
    response = wallet.call("POST", CONSENTS, json=consent_body(["ReadAccountsDetail", "ReadBalances"], **data))
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == "Data.WalletGate.Recipients"


def test_more_recipients_than_a_screen_can_list_are_refused_with_400(wallet: Wallet) -> None:
    recipients = [f"credit_bureau:Bureau {n}" for n in range(21)]
    data = {"WalletGate": {"Purposes": ["lending"], "Recipients": recipients}}
    response = wallet.call("POST", CONSENTS, json=consent_body(["ReadAccountsDetail", "ReadBalances"], **data))
    assert response.status_code == 400, response.text
    assert "more than 20 recipients" in response.json()["Errors"][0]["Message"]
