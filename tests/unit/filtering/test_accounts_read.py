"""gateway.filtering.minimise, given a set, gathers the accounts whose records it keeps (what a bulk call read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.filtering import Grant, minimise

BOTH = frozenset({"acc-1", "acc-2"})
JANUARY = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 31, tzinfo=UTC))


def _debit(account_id: str, booked: str = "2024-01-10T10:00:00+00:00") -> dict[str, Any]:
    return {"AccountId": account_id, "CreditDebitIndicator": "Debit", "BookingDateTime": booked}


def test_the_accounts_of_the_records_kept_are_gathered() -> None:
    body = {"Data": {"Transaction": [_debit("acc-2"), _debit("acc-2"), _debit("acc-9")]}}
    grant = Grant(permissions=frozenset({"ReadTransactionsBasic", "ReadTransactionsDebits"}), account_ids=BOTH)
    read: set[str] = set()
    assert minimise("transactions", body, grant, read) == 2
    assert read == {"acc-2"}


def test_a_record_the_rule_drops_adds_no_account() -> None:
    body = {"Data": {"Transaction": [_debit("acc-1", booked="2023-06-01T00:00:00+00:00"), _debit("acc-2")]}}
    grant = Grant(
        permissions=frozenset({"ReadTransactionsBasic", "ReadTransactionsDebits"}), account_ids=BOTH, window=JANUARY
    )
    read: set[str] = set()
    assert minimise("transactions", body, grant, read) == 1
    assert read == {"acc-2"}


def test_a_single_record_answer_gathers_its_account() -> None:
    body = {"Data": {"Account": {"AccountId": "acc-1", "Currency": "GBP"}}}
    read: set[str] = set()
    assert minimise("accounts", body, Grant(permissions=frozenset({"ReadAccountsBasic"}), account_ids=BOTH), read) == 1
    assert read == {"acc-1"}


def test_the_users_own_party_record_names_no_account() -> None:
    body = {"Data": {"Party": {"PartyId": "p-1", "Name": "Alice"}}}
    read: set[str] = set()
    assert minimise("party", body, Grant(permissions=frozenset({"ReadPartyPSU"}), account_ids=BOTH), read) == 1
    assert read == set()
