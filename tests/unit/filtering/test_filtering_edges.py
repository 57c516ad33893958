"""gateway.filtering against answers a bank should not give: what the consent does not cover still never
reaches the wallet, even when the answer passes the schema check (or the API only reports it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.filtering import Grant, may_hold_pans, minimise
from tests.unit.sandbox.official import load

OWN_DOCUMENT = Path(__file__).resolve().parents[3] / "openapi" / "uk-ob-accounts-v4.yaml"
ONE = frozenset({"acc-1"})


def grant(*permissions: str, accounts: frozenset[str] = ONE) -> Grant:
    return Grant(permissions=frozenset(permissions), account_ids=accounts)


def _payee(**fields: Any) -> dict[str, Any]:
    return {"BeneficiaryId": "b-1", "Reference": "Rent", **fields}


# ---- records of accounts the user did not select -----------------------------------------------


def test_a_record_without_an_account_id_is_dropped() -> None:
    body = {"Data": {"Beneficiary": [_payee(AccountId="acc-1"), _payee(BeneficiaryId="b-of-acc-9")]}}
    assert load(OWN_DOCUMENT).errors("GetBeneficiaries", body) == []  # AccountId is optional in the schema
    assert minimise("beneficiaries", body, grant("ReadBeneficiariesBasic")) == 1
    assert [b["AccountId"] for b in body["Data"]["Beneficiary"]] == ["acc-1"]


def test_in_a_call_about_one_account_a_record_without_an_account_id_is_that_accounts() -> None:
    body = {"Data": {"Beneficiary": [_payee(), _payee(BeneficiaryId="b-2", AccountId="acc-9")]}}
    one = Grant(permissions=frozenset({"ReadBeneficiariesBasic"}), account_ids=ONE, implied_account="acc-1")
    assert minimise("beneficiaries", body, one) == 1
    assert [p["BeneficiaryId"] for p in body["Data"]["Beneficiary"]] == ["b-1"]


def test_a_record_with_a_null_account_id_is_dropped() -> None:
    body = {"Data": {"Beneficiary": [_payee(AccountId=None)]}}
    assert minimise("beneficiaries", body, grant("ReadBeneficiariesBasic")) == 0


@pytest.mark.parametrize("account_id", [["acc-1"], {"id": "acc-1"}, 1])
def test_a_record_whose_account_id_is_not_a_string_is_dropped(account_id: object) -> None:
    body = {"Data": {"Beneficiary": [_payee(AccountId=account_id)]}}
    assert minimise("beneficiaries", body, grant("ReadBeneficiariesBasic", accounts=frozenset({"acc-1", "1"}))) == 0


def test_party_records_carry_no_account_id_and_are_kept() -> None:
    body = {"Data": {"Party": [{"PartyId": "p-1", "Name": "Alice"}]}}
    assert minimise("parties", body, grant("ReadParty")) == 1


def test_data_members_besides_the_kinds_own_are_dropped() -> None:
    theirs = {"AccountId": "acc-9", "Nickname": "Not selected", "Account": [{"SchemeName": "UK.OBIE.PAN",
              "Identification": "4539148803436467"}]}  # fmt: skip
    body = {"Data": {"Account": [{"AccountId": "acc-1"}], "Accounts": [theirs], "Balance": [{"AccountId": "acc-9"}]}}
    assert load(OWN_DOCUMENT).errors("GetAccounts", body) == []  # Data is an open object in the schema
    assert minimise("accounts", body, grant("ReadAccountsBasic")) == 1
    assert body["Data"] == {"Account": [{"AccountId": "acc-1"}]}


def test_members_besides_data_links_and_meta_are_dropped() -> None:
    body = {
        "Data": {"Beneficiary": [_payee(AccountId="acc-1")]},
        "Links": {"Self": "https://bank.test/beneficiaries"},
        "Meta": {"TotalPages": 1},
        "Unfiltered": {"Beneficiary": [_payee(AccountId="acc-9")]},
    }
    assert load(OWN_DOCUMENT).errors("GetBeneficiaries", body) == []  # the envelope is open in the schema
    minimise("beneficiaries", body, grant("ReadBeneficiariesBasic"))
    assert set(body) == {"Data", "Links", "Meta"}


# ---- Basic shows only the members of the official *Basic schema -------------------------------


def test_standing_orders_basic_shows_only_the_members_of_the_basic_schema() -> None:
    order = {"AccountId": "acc-1", "StandingOrderId": "so-1", "Frequency": "EvryWorkgDay",
             "CreditorAccount": {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "80200112345678"},
             "CreditorAgent": {"SchemeName": "UK.OBIE.BICFI", "Identification": "BARCGB22"},
             "Creditor": {"Name": "Landlord Ltd", "Account": "80200112345678"}}  # fmt: skip
    body = {"Data": {"StandingOrder": [order]}}
    minimise("standing-orders", body, grant("ReadStandingOrdersBasic"))
    assert set(body["Data"]["StandingOrder"][0]) == {"AccountId", "StandingOrderId"}


def test_beneficiaries_basic_shows_only_the_members_of_the_basic_schema() -> None:
    payee = _payee(AccountId="acc-1", Creditor={"Name": "Landlord Ltd", "Account": "80200112345678"})
    body = {"Data": {"Beneficiary": [payee]}}
    minimise("beneficiaries", body, grant("ReadBeneficiariesBasic"))
    assert set(body["Data"]["Beneficiary"][0]) == {"AccountId", "BeneficiaryId", "Reference"}


def test_scheduled_payments_basic_shows_only_the_members_of_the_basic_schema() -> None:
    payment = {"AccountId": "acc-1", "ScheduledPaymentId": "sp-1", "ScheduledType": "Execution",
               "ScheduledPaymentDateTime": "2026-01-01T00:00:00Z",
               "InstructedAmount": {"Amount": "10.00", "Currency": "GBP"},
               "CreditorAccount": {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "80200112345678"},
               "UltimateCreditor": {"Name": "Landlord Ltd"}}  # fmt: skip
    body = {"Data": {"ScheduledPayment": [payment]}}
    minimise("scheduled-payments", body, grant("ReadScheduledPaymentsBasic"))
    assert set(body["Data"]["ScheduledPayment"][0]) == {
        "AccountId", "ScheduledPaymentId", "ScheduledType", "ScheduledPaymentDateTime", "InstructedAmount"
    }  # fmt: skip


def test_standing_orders_detail_keeps_every_member() -> None:
    order = {"AccountId": "acc-1", "CreditorAccount": {"SchemeName": "UK.OBIE.IBAN", "Identification": "GB29"}}
    body = {"Data": {"StandingOrder": [dict(order)]}}
    minimise("standing-orders", body, grant("ReadStandingOrdersBasic", "ReadStandingOrdersDetail"))
    assert body["Data"]["StandingOrder"] == [order]


@pytest.mark.parametrize(
    ("body", "walked"),
    [
        (b'{"SchemeName": "UK.OBIE.PAN"}', True),
        (b'{"CardInstrument": {}}', True),
        (b'{"SchemeName": "UK.OBIE.P\\u0041N"}', True),  # any escape: it could spell either name
        (b'{"SchemeName": "UK.OBIE.IBAN", "Identification": "GB15SBXB40112221436587"}', False),
    ],
)
def test_only_an_answer_that_could_hold_a_card_number_is_walked_for_one(body: bytes, walked: bool) -> None:
    assert may_hold_pans(body) is walked
