"""The seeded data: deterministic, two years long, and shaped like a real customer's."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sandbox.seed import build_bank, iban
from tests.unit.sandbox.support import ANCHOR


def _signed(record: dict[str, Any]) -> Decimal:
    amount = Decimal(record["Amount"]["Amount"])
    return amount if record["CreditDebitIndicator"] == "Credit" else -amount


def test_same_anchor_gives_the_same_bank() -> None:
    assert build_bank(ANCHOR) == build_bank(ANCHOR)


def test_another_anchor_gives_other_transactions_up_to_it() -> None:
    later = build_bank(ANCHOR + timedelta(days=7))
    newest = later.accounts["acc-alice-current"].booked[0]
    assert newest.date() <= ANCHOR + timedelta(days=7)
    assert (
        later.accounts["acc-alice-current"].transactions
        != build_bank(ANCHOR).accounts["acc-alice-current"].transactions
    )


def test_history_covers_two_years_up_to_the_anchor() -> None:
    booked = build_bank(ANCHOR).accounts["acc-bob-current"].booked
    assert booked[0].date() <= ANCHOR
    assert booked[-1].date() >= ANCHOR - timedelta(days=731)
    assert booked[0].date() - booked[-1].date() > timedelta(days=700)


def test_every_user_has_one_to_four_accounts() -> None:
    bank = build_bank(ANCHOR)
    counts = {user: len(bank.account_ids_of(user)) for user in ("alice", "bob", "chen", "dara", "emeka")}
    assert all(1 <= n <= 4 for n in counts.values()), counts


def test_salary_lands_every_month() -> None:
    records = build_bank(ANCHOR).accounts["acc-alice-current"].transactions
    months = {r["BookingDateTime"][:7] for r in records if r["TransactionInformation"].startswith("SALARY")}
    assert len(months) == 24


def test_everyday_life_is_in_the_history() -> None:
    records = build_bank(ANCHOR).accounts["acc-alice-current"].transactions
    codes = Counter(r["ProprietaryBankTransactionCode"]["Code"] for r in records)
    assert {"BGC", "SOO", "DD", "POS", "REF", "FPO", "FPI"} <= set(codes)
    assert any(r.get("MerchantDetails", {}).get("MerchantName") == "Netflix" for r in records)


def test_travel_account_has_transactions_in_several_currencies() -> None:
    records = build_bank(ANCHOR).accounts["acc-alice-travel"].transactions
    assert len({r["Amount"]["Currency"] for r in records}) >= 3
    foreign = [r for r in records if r["Amount"]["Currency"] != "GBP"]
    assert all(r["CurrencyExchange"]["TargetCurrency"] == "GBP" for r in foreign)


def test_running_balance_follows_each_gbp_transaction() -> None:
    for account_id in ("acc-alice-current", "acc-chen-card", "acc-joint-dara-emeka"):
        records = build_bank(ANCHOR).accounts[account_id].transactions
        for newer, older in itertools.pairwise(records):
            assert _signed(newer["Balance"]) - _signed(older["Balance"]) == _signed(newer), newer["TransactionId"]


def test_booked_balance_matches_the_newest_running_balance() -> None:
    data = build_bank(ANCHOR).accounts["acc-alice-savings"]
    booked = next(b for b in data.balances if b["Type"] == "ITBD")
    assert _signed(booked) == _signed(data.transactions[0]["Balance"])


def test_transfers_between_sandbox_accounts_are_booked_on_both_sides() -> None:
    bank = build_bank(ANCHOR)
    out = [
        r for r in bank.accounts["acc-alice-current"].transactions if r["TransactionInformation"] == "MONTHLY SAVINGS"
    ]
    into = [
        r for r in bank.accounts["acc-alice-savings"].transactions if r["TransactionInformation"] == "MONTHLY SAVINGS"
    ]
    assert len(out) == len(into) > 20
    assert out[0]["CreditorAccount"]["Identification"] == into[0]["AccountId"].replace(
        "acc-alice-savings", "40112231547698"
    )
    assert into[0]["DebtorAccount"]["Identification"] == "40112221436587"


def test_sandbox_ibans_carry_valid_check_digits() -> None:
    value = iban("401122", "21436587")
    rearranged = value[4:] + value[:4]
    assert int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def test_anchor_in_a_leap_year_still_builds() -> None:
    assert build_bank(date(2028, 2, 29)).anchor == date(2028, 2, 29)
