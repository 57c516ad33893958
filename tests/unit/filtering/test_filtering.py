"""gateway.filtering: what a consent does not cover never reaches the wallet (UK OB v4 semantics)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.filtering import KINDS, Grant, mask_pan, minimise, record_count
from tests.unit.sandbox.official import ResponseSchemas, load

Upstream = Callable[..., dict[str, Any]]
OWN_DOCUMENT = Path(__file__).resolve().parents[3] / "openapi" / "uk-ob-accounts-v4.yaml"
ALICE = frozenset({"acc-alice-current", "acc-alice-savings", "acc-alice-card", "acc-alice-travel"})
DETAIL_FIELDS = {"TransactionInformation", "Balance", "MerchantDetails", "CreditorAccount", "DebtorAccount"}


def grant(*permissions: str, accounts: frozenset[str] = ALICE, window: Any = (None, None)) -> Grant:
    return Grant(permissions=frozenset(permissions), account_ids=accounts, window=window)


def _fields(records: list[dict[str, Any]]) -> set[str]:
    return {name for record in records for name in record}


# ---- accounts ---------------------------------------------------------------------------------


def test_accounts_basic_drops_account_identification(upstream: Upstream) -> None:
    body = upstream("/accounts")
    assert minimise("accounts", body, grant("ReadAccountsBasic")) == 4
    assert not _fields(body["Data"]["Account"]) & {"Account", "Servicer"}
    assert all(a["Nickname"] for a in body["Data"]["Account"])


def test_accounts_detail_keeps_account_identification(upstream: Upstream) -> None:
    body = upstream("/accounts")
    minimise("accounts", body, grant("ReadAccountsBasic", "ReadAccountsDetail", "ReadPAN"))
    assert all(a["Account"] for a in body["Data"]["Account"])


def test_accounts_without_any_accounts_permission_shows_none(upstream: Upstream) -> None:
    body = upstream("/accounts")
    assert minimise("accounts", body, grant("ReadBalances")) == 0
    assert body["Data"]["Account"] == []


@pytest.mark.parametrize(
    ("kind", "path", "permission"),
    [
        ("accounts", "/accounts", "ReadAccountsDetail"),
        ("balances", "/balances", "ReadBalances"),
        ("transactions", "/transactions?fromBookingDateTime=2026-10-01", "ReadTransactionsDetail"),
        ("beneficiaries", "/beneficiaries", "ReadBeneficiariesDetail"),
        ("direct-debits", "/direct-debits", "ReadDirectDebits"),
        ("standing-orders", "/standing-orders", "ReadStandingOrdersDetail"),
        ("products", "/products", "ReadProducts"),
    ],
)
def test_unselected_accounts_are_dropped_from_list_endpoints(
    upstream: Upstream, kind: str, path: str, permission: str
) -> None:
    expanded = {permission, permission.replace("Detail", "Basic")}
    body = upstream(path)
    member = next(iter(body["Data"]))
    before = {r["AccountId"] for r in body["Data"][member]}
    assert "acc-alice-savings" in before or kind in ("beneficiaries", "direct-debits", "standing-orders")
    left = minimise(kind, body, grant(*expanded, accounts=frozenset({"acc-alice-current"})))
    assert left == len(body["Data"][member]) > 0
    assert {r["AccountId"] for r in body["Data"][member]} == {"acc-alice-current"}


def test_no_selected_accounts_shows_nothing(upstream: Upstream) -> None:
    body = upstream("/balances")
    assert minimise("balances", body, grant("ReadBalances", accounts=frozenset())) == 0


# ---- transactions -----------------------------------------------------------------------------


def test_transactions_basic_drops_detail_fields(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    minimise("transactions", body, grant("ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"))
    fields = _fields(body["Data"]["Transaction"])
    assert not fields & (DETAIL_FIELDS | {"CreditorAgent", "DebtorAgent"})
    assert {"Amount", "BookingDateTime", "CreditDebitIndicator"} <= fields


def test_transactions_detail_keeps_detail_fields(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    everything = (
        "ReadTransactionsBasic",
        "ReadTransactionsDetail",
        "ReadTransactionsCredits",
        "ReadTransactionsDebits",
    )
    minimise("transactions", body, grant(*everything))
    assert _fields(body["Data"]["Transaction"]) >= DETAIL_FIELDS


def test_credits_only_keeps_only_credit_records(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    left = minimise("transactions", body, grant("ReadTransactionsCredits"))
    assert left > 0
    assert {t["CreditDebitIndicator"] for t in body["Data"]["Transaction"]} == {"Credit"}


def test_debits_only_keeps_only_debit_records(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    assert minimise("transactions", body, grant("ReadTransactionsDebits")) > 0
    assert {t["CreditDebitIndicator"] for t in body["Data"]["Transaction"]} == {"Debit"}


def test_credits_only_is_shown_at_basic_level(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    minimise("transactions", body, grant("ReadTransactionsCredits"))
    assert not _fields(body["Data"]["Transaction"]) & DETAIL_FIELDS


def test_detail_with_credits_shows_credit_records_in_detail(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    minimise("transactions", body, grant("ReadTransactionsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits"))
    records = body["Data"]["Transaction"]
    assert {t["CreditDebitIndicator"] for t in records} == {"Credit"}
    assert "TransactionInformation" in _fields(records)


def test_basic_without_direction_keeps_both_directions(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    minimise("transactions", body, grant("ReadTransactionsBasic"))
    assert {t["CreditDebitIndicator"] for t in body["Data"]["Transaction"]} == {"Credit", "Debit"}


def test_no_transaction_permission_shows_no_transactions(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    assert minimise("transactions", body, grant("ReadAccountsDetail", "ReadBalances")) == 0
    assert body["Data"]["Transaction"] == []


def test_transactions_outside_the_window_are_dropped(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC)
    total = len(body["Data"]["Transaction"])
    left = minimise("transactions", body, grant("ReadTransactionsBasic", window=(start, end)))
    assert 0 < left < total
    stamps = [datetime.fromisoformat(t["BookingDateTime"]) for t in body["Data"]["Transaction"]]
    assert all(start <= s <= end for s in stamps)


def test_window_bounds_are_inclusive_and_naive_bounds_are_utc() -> None:
    body = {
        "Data": {
            "Transaction": [
                {"AccountId": "a", "CreditDebitIndicator": "Credit", "BookingDateTime": "2026-01-01T00:00:00+00:00"},
                {"AccountId": "a", "CreditDebitIndicator": "Credit", "BookingDateTime": "2026-01-31T23:59:59Z"},
                {"AccountId": "a", "CreditDebitIndicator": "Credit", "BookingDateTime": "2026-02-01T00:00:00+01:00"},
                {"AccountId": "a", "CreditDebitIndicator": "Credit", "BookingDateTime": "2026-02-01T00:00:01+00:00"},
            ]
        }
    }
    window = (datetime(2026, 1, 1), datetime(2026, 1, 31, 23, 59, 59))  # noqa: DTZ001 - naive on purpose
    assert minimise("transactions", body, grant("ReadTransactionsBasic", accounts=frozenset({"a"}), window=window)) == 3


def test_transaction_with_unreadable_booking_date_is_dropped_when_a_window_applies() -> None:
    body = {"Data": {"Transaction": [{"AccountId": "a", "BookingDateTime": "soon"}]}}
    window = (datetime(2026, 1, 1, tzinfo=UTC), None)
    assert minimise("transactions", body, grant("ReadTransactionsBasic", accounts=frozenset({"a"}), window=window)) == 0


# ---- PANs --------------------------------------------------------------------------------------


def test_pan_is_masked_in_account_identification_without_read_pan(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-card")
    minimise("accounts", body, grant("ReadAccountsBasic", "ReadAccountsDetail"))
    assert body["Data"]["Account"][0]["Account"][0]["Identification"] == "************6467"


def test_pan_is_masked_in_card_instrument_and_counterparty_without_read_pan(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/transactions")
    minimise("transactions", body, grant("ReadTransactionsBasic", "ReadTransactionsDetail"))
    records = body["Data"]["Transaction"]
    cards = {t["CardInstrument"]["Identification"] for t in records if "CardInstrument" in t}
    assert cards == {"************6781"}
    repayments = [t["CreditorAccount"] for t in records if t["TransactionInformation"] == "CARD REPAYMENT"]
    assert repayments
    assert {r["Identification"] for r in repayments} == {"************6467"}
    sort_codes = [
        t["DebtorAccount"] for t in records if t.get("DebtorAccount", {}).get("SchemeName", "").endswith("Number")
    ]
    assert all(d["Identification"].isdigit() for d in sort_codes)


def test_pan_is_masked_wherever_it_nests_in_a_record() -> None:
    pan = {"SchemeName": "UK.OBIE.PAN", "Identification": "4539148803436467"}
    nested = {"Lines": [[{"Card": dict(pan)}], {"More": {"CardInstrument": {"Identification": "4929000000006781"}}}]}
    body: dict[str, Any] = {"Data": {"Balance": [{"AccountId": "acc-alice-card", "SupplementaryData": nested}]}}
    minimise("balances", body, grant("ReadBalances"))
    lines = body["Data"]["Balance"][0]["SupplementaryData"]["Lines"]
    assert lines[0][0]["Card"]["Identification"] == "************6467"
    assert lines[1]["More"]["CardInstrument"]["Identification"] == "************6781"


def test_pan_is_shown_with_read_pan(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-card")
    minimise("accounts", body, grant("ReadAccountsBasic", "ReadAccountsDetail", "ReadPAN"))
    assert body["Data"]["Account"][0]["Account"][0]["Identification"] == "4539148803436467"


def test_mask_pan_keeps_the_last_four_digits() -> None:
    assert mask_pan("5425233430109903") == "************9903"
    assert mask_pan("************9903") == "************9903"
    assert mask_pan("123") == "123"


# ---- payees, regular payments, parties ---------------------------------------------------------


def test_beneficiaries_basic_drops_creditor_account(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/beneficiaries")
    assert minimise("beneficiaries", body, grant("ReadBeneficiariesBasic")) == 4
    assert "CreditorAccount" not in _fields(body["Data"]["Beneficiary"])


def test_beneficiaries_detail_keeps_creditor_account(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/beneficiaries")
    minimise("beneficiaries", body, grant("ReadBeneficiariesBasic", "ReadBeneficiariesDetail"))
    assert all("CreditorAccount" in b for b in body["Data"]["Beneficiary"])


def test_standing_orders_basic_drops_creditor_account(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/standing-orders")
    assert minimise("standing-orders", body, grant("ReadStandingOrdersBasic")) == 2
    assert "CreditorAccount" not in _fields(body["Data"]["StandingOrder"])


def test_direct_debits_need_their_permission(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/direct-debits")
    assert minimise("direct-debits", body, grant("ReadStandingOrdersDetail")) == 0


def test_balances_need_read_balances(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-card/balances")
    assert minimise("balances", body, grant("ReadAccountsDetail")) == 0


def test_parties_need_read_party(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-joint-dara-emeka/parties", "dara")
    joint = frozenset({"acc-joint-dara-emeka"})
    assert minimise("parties", body, grant("ReadPartyPSU", accounts=joint)) == 0
    body = upstream("/accounts/acc-joint-dara-emeka/parties", "dara")
    assert minimise("parties", body, grant("ReadParty", accounts=joint)) == 2


def test_party_of_the_user_needs_read_party_psu(upstream: Upstream) -> None:
    body = upstream("/party")
    assert minimise("party", body, grant("ReadParty")) == 0
    assert "Party" not in body["Data"]
    body = upstream("/party")
    assert minimise("party", body, grant("ReadPartyPSU")) == 1


def test_account_party_needs_read_party(upstream: Upstream) -> None:
    body = upstream("/accounts/acc-alice-current/party")
    assert minimise("account-party", body, grant("ReadPartyPSU")) == 0
    body = upstream("/accounts/acc-alice-current/party")
    assert minimise("account-party", body, grant("ReadParty")) == 1


# ---- the module's contract ---------------------------------------------------------------------


def test_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        minimise("statements-file", {"Data": {}}, grant())


def test_kinds_name_every_rule() -> None:
    assert {"accounts", "balances", "transactions", "beneficiaries", "parties", "party", "direct-debits",
            "standing-orders", "product"} <= KINDS  # fmt: skip


def test_body_without_the_expected_member_is_left_alone() -> None:
    body: dict[str, Any] = {"Data": {}, "Links": {"Self": "http://x/y"}}
    assert minimise("accounts", body, grant("ReadAccountsBasic")) == 0
    assert body == {"Data": {}, "Links": {"Self": "http://x/y"}}


def test_record_count_counts_the_data_list_or_one_object() -> None:
    assert record_count({"Data": {"Account": [{}, {}]}}) == 2
    assert record_count({"Data": {"Party": {"PartyId": "p"}}}) == 1
    assert record_count({"Data": {}}) == 0
    assert record_count([]) == 0


# ---- filtered answers are still valid UK OB v4 ------------------------------------------------

NARROW = grant("ReadAccountsBasic", "ReadTransactionsCredits", "ReadBeneficiariesBasic", "ReadStandingOrdersBasic",
               "ReadBalances", "ReadProducts", "ReadDirectDebits", accounts=frozenset({"acc-alice-card",
               "acc-alice-current"}), window=(datetime(2026, 6, 1, tzinfo=UTC), None))  # fmt: skip
DEBITS = grant("ReadAccountsBasic", "ReadAccountsDetail", "ReadTransactionsBasic", "ReadTransactionsDebits",
               "ReadParty", "ReadPartyPSU", "ReadBalances", accounts=ALICE)  # fmt: skip
FILTERED_CASES = [
    ("accounts", "GetAccounts", "/accounts"),
    ("accounts", "GetAccountsAccountId", "/accounts/acc-alice-card"),
    ("balances", "GetBalances", "/balances"),
    ("transactions", "GetTransactions", "/transactions"),
    ("transactions", "GetAccountsAccountIdTransactions", "/accounts/acc-alice-travel/transactions"),
    ("transactions", "GetAccountsAccountIdTransactions", "/accounts/acc-alice-card/transactions"),
    ("beneficiaries", "GetAccountsAccountIdBeneficiaries", "/accounts/acc-alice-current/beneficiaries"),
    ("standing-orders", "GetAccountsAccountIdStandingOrders", "/accounts/acc-alice-current/standing-orders"),
    ("direct-debits", "GetAccountsAccountIdDirectDebits", "/accounts/acc-alice-current/direct-debits"),
    ("product", "GetAccountsAccountIdProduct", "/accounts/acc-alice-card/product"),
    ("parties", "GetAccountsAccountIdParties", "/accounts/acc-alice-current/parties"),
    ("account-party", "GetAccountsAccountIdParty", "/accounts/acc-alice-current/party"),
    ("party", "GetParty", "/party"),
]


# The authorize step only lets through calls whose operation the consent covers, so each grant
# here holds the permission every listed operation needs.
@pytest.mark.parametrize("granted", [NARROW, DEBITS], ids=["narrow", "debits"])
@pytest.mark.parametrize(("kind", "operation_id", "path"), FILTERED_CASES, ids=[c[2] for c in FILTERED_CASES])
def test_filtered_sandbox_response_still_validates_against_official_and_own_schema(
    upstream: Upstream, official_schemas: ResponseSchemas, granted: Grant, kind: str, operation_id: str, path: str
) -> None:
    body = upstream(path)
    minimise(kind, body, granted)
    assert official_schemas.errors(operation_id, body) == []
    assert load(OWN_DOCUMENT).errors(operation_id, body) == []
