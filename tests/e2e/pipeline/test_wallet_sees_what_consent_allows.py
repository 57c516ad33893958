"""A wallet reads /accounts, balances and transactions through the gateway process: exactly what its consent allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.e2e.pipeline.harness import BASE, Wallet

CURRENT, SAVINGS, CARD = "acc-alice-current", "acc-alice-savings", "acc-alice-card"


def _data(response: Any, member: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json()["Data"][member])


def test_accounts_basic_shows_selected_accounts_without_identification(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT, SAVINGS))
    accounts = _data(wallet.get(BASE + "/accounts", consent), "Account")
    assert sorted(a["AccountId"] for a in accounts) == [CURRENT, SAVINGS]
    assert all("Account" not in a for a in accounts)


def test_accounts_detail_shows_identification(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsDetail"}, (CURRENT,))
    (account,) = _data(wallet.get(BASE + "/accounts", consent), "Account")
    assert account["Account"]


def test_card_number_is_masked_without_read_pan(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsDetail"}, (CARD,))
    (account,) = _data(wallet.get(BASE + f"/accounts/{CARD}", consent), "Account")
    identifications = [i["Identification"] for i in account["Account"]]
    assert identifications
    assert all(not any(ch.isdigit() for ch in ident[:-4]) for ident in identifications)


def test_card_number_is_shown_with_read_pan(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsDetail", "ReadPAN"}, (CARD,))
    (account,) = _data(wallet.get(BASE + f"/accounts/{CARD}", consent), "Account")
    assert any(str(i["Identification"]).isdigit() for i in account["Account"])


def test_balances_of_selected_account_only(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (CURRENT,))
    balances = _data(wallet.get(BASE + "/balances", consent), "Balance")
    assert {b["AccountId"] for b in balances} == {CURRENT}
    assert wallet.get(BASE + f"/accounts/{SAVINGS}/balances", consent).status_code == 404


def test_transactions_basic_hide_detail_fields(wallet: Wallet) -> None:
    permissions = {"ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}
    consent = wallet.consent(permissions, (CURRENT,))
    transactions = _data(wallet.get(BASE + f"/accounts/{CURRENT}/transactions", consent), "Transaction")
    assert transactions
    for hidden in ("TransactionInformation", "Balance", "MerchantDetails", "CreditorAccount", "DebtorAccount"):
        assert all(hidden not in t for t in transactions), hidden


def test_transactions_detail_show_descriptions(wallet: Wallet) -> None:
    consent = wallet.consent(
        {"ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}, (CURRENT,)
    )
    transactions = _data(wallet.get(BASE + f"/accounts/{CURRENT}/transactions", consent), "Transaction")
    assert any("TransactionInformation" in t for t in transactions)


def test_debits_only_consent_sees_only_debits(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadTransactionsBasic", "ReadTransactionsDebits"}, (CURRENT,))
    transactions = _data(wallet.get(BASE + f"/accounts/{CURRENT}/transactions", consent), "Transaction")
    assert transactions
    assert {t["CreditDebitIndicator"] for t in transactions} == {"Debit"}


def test_transactions_stay_inside_the_consents_window(wallet: Wallet) -> None:
    permissions = {"ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}
    start, end = (
        datetime.fromisoformat("2026-10-01T00:00:00+00:00"),
        datetime.fromisoformat("2026-10-31T00:00:00+00:00"),
    )
    consent = wallet.consent(permissions, (CURRENT,), transaction_from=start, transaction_to=end)
    path = BASE + f"/accounts/{CURRENT}/transactions?fromBookingDateTime=2020-01-01T00:00:00"
    transactions = _data(wallet.get(path, consent), "Transaction")
    assert transactions
    for t in transactions:
        booked = datetime.fromisoformat(str(t["BookingDateTime"]).replace("Z", "+00:00"))
        assert start <= booked <= end


def test_filtered_responses_still_validate_against_the_official_schema(wallet: Wallet) -> None:
    from policies.openapi import load_openapi
    from tests.conftest import UK_OB_ACCOUNTS_V4

    official = load_openapi(UK_OB_ACCOUNTS_V4)
    consent = wallet.consent(
        {"ReadAccountsBasic", "ReadBalances", "ReadTransactionsBasic", "ReadTransactionsCredits"}, (CURRENT, CARD)
    )
    for path, op in (
        ("/accounts", "GetAccounts"),
        (f"/accounts/{CURRENT}/balances", "GetAccountsAccountIdBalances"),
        (f"/accounts/{CURRENT}/transactions", "GetAccountsAccountIdTransactions"),
    ):
        response = wallet.get(BASE + path, consent)
        assert response.status_code == 200, response.text
        validator = official.operations[op].response_validator(200)
        assert validator is not None
        assert validator.first_problem(response.json()) is None, path
