"""Every main refusal of the pipeline, through the gateway process on a real socket."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from tests.e2e.pipeline.harness import BASE, Stack, Wallet

CURRENT, SAVINGS = "acc-alice-current", "acc-alice-savings"


def _error(response: object, status: int) -> dict[str, object]:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"Code", "Id", "Message", "Errors"}
    assert body["Id"] == response.headers["x-fapi-interaction-id"]  # type: ignore[attr-defined]
    return body  # type: ignore[no-any-return]


def test_unknown_path_is_404(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    body = _error(wallet.get(BASE + "/accounts/x/nothing", consent), 404)
    assert "has no operation at /open-banking/v4.0/aisp/accounts/x/nothing" in str(body["Message"])


def test_other_method_is_405(wallet: Wallet) -> None:
    response = wallet.http.post(BASE + "/accounts", content=b"{}")
    body = _error(response, 405)
    assert "POST is not allowed on" in str(body["Message"])
    assert "GET" in response.headers["Allow"]


def test_missing_token_is_401(wallet: Wallet) -> None:
    response = wallet.http.get(BASE + "/accounts")
    _error(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_in_query_string_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent)
    body = _error(wallet.get(BASE + f"/accounts?access_token={token}", consent, token=token), 401)
    assert "query string" in str(body["Message"])


def test_expired_token_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent, exp=int(time.time()) - 600, iat=int(time.time()) - 900)
    _error(wallet.get(BASE + "/accounts", consent, token=token), 401)


def test_unsigned_token_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    claims = {"sub": "alice", "client_id": wallet.client_id, "consent_id": consent.consent_id, "jti": "x"}
    token = jwt.encode(claims, "", algorithm="none", headers={"typ": "at+jwt"})
    _error(wallet.get(BASE + "/accounts", consent, token=token), 401)


def test_token_for_another_audience_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    _error(wallet.get(BASE + "/accounts", consent, token=wallet.token(consent, aud="https://elsewhere.test")), 401)


def test_replayed_dpop_proof_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent)
    proof = wallet.proof("GET", BASE + "/accounts", token)
    assert wallet.get(BASE + "/accounts", consent, token=token, proof=proof).status_code == 200
    response = wallet.get(BASE + "/accounts", consent, token=token, proof=proof)
    _error(response, 401)
    assert 'error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]


def test_stolen_token_without_its_key_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent)
    thief = Wallet(stack, wallet.client_id)
    try:
        _error(thief.get(BASE + "/accounts", consent, token=token), 401)
    finally:
        thief.close()


def test_another_users_account_is_the_same_404_as_an_unknown_one(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (CURRENT,))
    bobs = _error(wallet.get(BASE + "/accounts/acc-bob-current/balances", consent), 404)
    unknown = _error(wallet.get(BASE + f"/accounts/{uuid.uuid4().hex}/balances", consent), 404)
    assert bobs["Code"] == unknown["Code"]
    assert [e["ErrorCode"] for e in bobs["Errors"]] == [e["ErrorCode"] for e in unknown["Errors"]]  # type: ignore[attr-defined]


def test_unselected_account_of_the_same_user_is_404(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (CURRENT,))
    _error(wallet.get(BASE + f"/accounts/{SAVINGS}/balances", consent), 404)


def test_missing_permission_is_403(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    body = _error(wallet.get(BASE + f"/accounts/{CURRENT}/balances", consent), 403)
    assert "ReadBalances" in str(body["Message"])


def test_paused_consent_is_refused_saying_so(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    wallet.change(consent, "pause")
    time.sleep(1.1)  # the consent cache's lifetime bounds staleness across processes
    body = _error(wallet.get(BASE + "/accounts", consent), 403)
    assert "paused" in str(body["Message"])


def test_revoked_consent_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(BASE + "/accounts", consent).status_code == 200
    wallet.change(consent, "revoke")
    time.sleep(1.1)
    body = _error(wallet.get(BASE + "/accounts", consent), 403)
    assert "CANC" in str(body["Message"])


def test_window_wholly_outside_the_consents_is_refused(wallet: Wallet) -> None:
    from datetime import UTC, datetime

    consent = wallet.consent(
        {"ReadTransactionsBasic", "ReadTransactionsCredits"},
        (CURRENT,),
        transaction_from=datetime(2026, 10, 1, tzinfo=UTC),
        transaction_to=datetime(2026, 10, 31, tzinfo=UTC),
    )
    path = BASE + f"/accounts/{CURRENT}/transactions?fromBookingDateTime=2026-11-05T00:00:00"
    body = _error(wallet.get(path, consent), 403)
    assert body["Errors"][0]["Path"] == "fromBookingDateTime"  # type: ignore[index]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-fapi-interaction-id", "not-a-uuid"),
        ("x-fapi-customer-ip-address", "999.1.1.1"),
        ("x-fapi-auth-date", "yesterday"),
    ],
)
def test_malformed_fapi_header_is_400_naming_it(wallet: Wallet, header: str, value: str) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    extra: dict[str, Any] = {header: value}
    body = _error(wallet.get(BASE + "/accounts", consent, **extra), 400)
    assert body["Errors"][0]["Path"] == header  # type: ignore[index]


def test_malformed_query_parameter_is_400_naming_it(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadTransactionsBasic", "ReadTransactionsCredits"}, (CURRENT,))
    body = _error(wallet.get(BASE + f"/accounts/{CURRENT}/transactions?toBookingDateTime=tomorrow", consent), 400)
    assert body["Errors"][0]["Path"] == "toBookingDateTime"  # type: ignore[index]


def test_a_booking_date_parameter_in_other_letter_cases_is_400_not_passed_unclipped(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadTransactionsBasic", "ReadTransactionsCredits"}, (CURRENT,))
    path = BASE + f"/accounts/{CURRENT}/transactions?FromBookingDateTime=1900-01-01T00:00:00"
    body = _error(wallet.get(path, consent), 400)
    assert body["Errors"][0]["Path"] == "FromBookingDateTime"  # type: ignore[index]
