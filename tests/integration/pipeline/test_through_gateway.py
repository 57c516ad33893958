"""Wallet → gateway (in-process, real lifespan) → sandbox bank (a real process): what the consent allows."""

from __future__ import annotations

from typing import Any

import pytest

from consent.model import Actor
from tests.integration.pipeline.conftest import BASE, Wallet

ACCOUNT = "acc-alice-current"


@pytest.fixture
def gateway_database_url(database_url: str) -> str:
    """Every test here runs on the embedded SQLite default and on PostgreSQL (with Redis)."""
    return database_url


@pytest.fixture
def gateway_overrides(database_url: str, redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url} if database_url.startswith("postgresql") else {}


def _accounts(response_json: dict[str, Any]) -> list[dict[str, Any]]:
    return list(response_json["Data"]["Account"])


def test_wallet_reads_only_the_selected_accounts(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, accounts=("acc-alice-current", "acc-alice-savings"))
    response = wallet.get(BASE + "/accounts", consent)
    assert response.status_code == 200, response.text
    accounts = _accounts(response.json())
    assert sorted(a["AccountId"] for a in accounts) == ["acc-alice-current", "acc-alice-savings"]
    assert all("Account" not in a for a in accounts)  # Basic: no account identification
    assert response.headers["x-fapi-interaction-id"]


def test_wallet_with_detail_sees_account_identification(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsDetail"}, accounts=(ACCOUNT,))
    accounts = _accounts(wallet.get(BASE + "/accounts", consent).json())
    assert accounts[0]["Account"]


def test_wallet_reads_balances_of_a_selected_account(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, accounts=(ACCOUNT,))
    response = wallet.get(BASE + f"/accounts/{ACCOUNT}/balances", consent)
    assert response.status_code == 200, response.text
    assert {b["AccountId"] for b in response.json()["Data"]["Balance"]} == {ACCOUNT}


def test_another_account_is_refused_like_an_unknown_one(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, accounts=(ACCOUNT,))
    other = wallet.get(BASE + "/accounts/acc-alice-savings/balances", consent)
    unknown = wallet.get(BASE + "/accounts/no-such-account/balances", consent)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["Errors"] == [
        {"ErrorCode": "U011", "Message": "No account acc-alice-savings.", "Path": "AccountId"}
    ]
    assert unknown.json()["Errors"][0]["ErrorCode"] == "U011"


def test_credits_only_consent_sees_only_credits_inside_the_window(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadTransactionsBasic", "ReadTransactionsCredits"}, accounts=(ACCOUNT,))
    response = wallet.get(BASE + f"/accounts/{ACCOUNT}/transactions", consent)
    assert response.status_code == 200, response.text
    transactions = response.json()["Data"]["Transaction"]
    assert transactions
    assert {t["CreditDebitIndicator"] for t in transactions} == {"Credit"}
    assert all("TransactionInformation" not in t for t in transactions)


def test_refused_call_is_audited_and_successful_call_recorded(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, accounts=(ACCOUNT,))
    assert wallet.get(BASE + f"/accounts/{ACCOUNT}/balances", consent).status_code == 200
    assert wallet.get(BASE + "/accounts", consent).status_code == 403
    runtime = wallet.services.pipeline
    assert runtime is not None
    assert wallet.run(runtime.audit.flush)
    store = wallet.services.consents
    assert store is not None
    history = wallet.run(store.access_history, consent_id=consent.consent_id)
    statuses = sorted((r.operation_id, r.status) for r in history)
    assert statuses == [("GetAccounts", 403), ("GetAccountsAccountIdBalances", 200)]


def test_revoked_consent_is_refused_at_once(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, accounts=(ACCOUNT,))
    token = wallet.token(consent.consent_id)
    assert wallet.get(BASE + "/accounts", consent, token=token).status_code == 200
    store = wallet.services.consents
    assert store is not None
    wallet.run(store.revoke, consent.consent_id, actor=Actor.USER, actor_id="alice")
    response = wallet.get(BASE + "/accounts", consent, token=wallet.token(consent.consent_id))
    assert response.status_code in (401, 403)


def test_paused_consent_is_refused_saying_so(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, accounts=(ACCOUNT,))
    assert wallet.get(BASE + "/accounts", consent).status_code == 200
    store = wallet.services.consents
    assert store is not None
    wallet.run(store.pause, consent.consent_id, actor=Actor.USER, actor_id="alice")
    response = wallet.get(BASE + "/accounts", consent)
    assert response.status_code == 403
    assert "paused" in response.json()["Message"]


def test_unknown_path_is_404_in_the_open_banking_format(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    response = wallet.get(BASE + "/nothing", consent)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"Code", "Id", "Message", "Errors"}
    assert body["Id"] == response.headers["x-fapi-interaction-id"]


def test_missing_token_is_401_with_www_authenticate(wallet: Wallet) -> None:
    response = wallet.client.get(BASE + "/accounts")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_interaction_id_is_echoed(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    given = "93bac548-d2de-4546-b106-880a5018460d"
    response = wallet.get(BASE + "/accounts", consent, **{"x-fapi-interaction-id": given})
    assert response.headers["x-fapi-interaction-id"] == given


def test_oversized_body_is_refused_before_it_is_read(wallet: Wallet) -> None:
    response = wallet.client.post(BASE + "/accounts", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["Errors"][0]["ErrorCode"] == "U002"
