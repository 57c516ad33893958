"""UK OB account-access-consents: the ASPSP must reject a transactions permission without its counterpart.

ReadTransactionsBasic or ReadTransactionsDetail needs ReadTransactionsCredits and/or ReadTransactionsDebits;
Credits or Debits needs Basic and/or Detail. The catalogue declares it (``needs_one_of``); creation refuses
such a consent and so does an amendment that would leave one behind, with the same message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent import lifecycle
from consent.errors import ConsentFieldError
from consent.model import Consent, ConsentStatus, NewConsent
from consent.purpose_rules import check_new_consent
from policies import SHIPPED, PolicySet
from policies.permissions import load_permissions
from policies.purposes import load_purposes

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CATALOGUE = load_permissions(SHIPPED / "permissions.yaml")
POLICIES = PolicySet(SHIPPED, CATALOGUE, load_purposes(SHIPPED / "purposes.yaml", CATALOGUE))
CREDITS_OR_DEBITS = "needs at least one of ReadTransactionsCredits, ReadTransactionsDebits in the same consent."
BASIC_OR_DETAIL = "needs at least one of ReadTransactionsBasic, ReadTransactionsDetail in the same consent."


def _create(*permissions: str) -> NewConsent:
    new = NewConsent(client_id="wallet-1", permissions=frozenset(permissions), purposes=("aggregation",))
    return check_new_consent(new, POLICIES, NOW)


def _refusal_at_create(*permissions: str) -> ConsentFieldError:
    with pytest.raises(ConsentFieldError) as caught:
        _create(*permissions)
    assert type(caught.value) is ConsentFieldError
    assert caught.value.code == "UK.OBIE.Field.Invalid"
    return caught.value


def _live(*permissions: str) -> Consent:
    return Consent(
        consent_id="c-1",
        client_id="wallet-1",
        status=ConsentStatus.AUTHORISED,
        permissions=frozenset(permissions),
        purposes=("aggregation",),
        created_at=NOW,
        updated_at=NOW,
        status_updated_at=NOW,
        user_id="alice",
        account_ids=("acc-1",),
        expires_at=NOW + timedelta(days=30),
    )


def test_create_refuses_transactions_basic_without_credits_or_debits() -> None:
    error = _refusal_at_create("ReadAccountsBasic", "ReadTransactionsBasic")
    assert (error.message, error.path) == (f"ReadTransactionsBasic {CREDITS_OR_DEBITS}", "Data.Permissions")


def test_create_refuses_transactions_detail_without_credits_or_debits() -> None:
    error = _refusal_at_create("ReadAccountsBasic", "ReadTransactionsDetail")
    assert (error.message, error.path) == (f"ReadTransactionsDetail {CREDITS_OR_DEBITS}", "Data.Permissions")


def test_create_refuses_transactions_credits_without_basic_or_detail() -> None:
    error = _refusal_at_create("ReadBalances", "ReadTransactionsCredits")
    assert (error.message, error.path) == (f"ReadTransactionsCredits {BASIC_OR_DETAIL}", "Data.Permissions")


def test_create_refuses_transactions_debits_without_basic_or_detail() -> None:
    error = _refusal_at_create("ReadBalances", "ReadTransactionsDebits")
    assert (error.message, error.path) == (f"ReadTransactionsDebits {BASIC_OR_DETAIL}", "Data.Permissions")


def test_create_refuses_credits_and_debits_together_without_basic_or_detail() -> None:
    error = _refusal_at_create("ReadTransactionsCredits", "ReadTransactionsDebits")
    assert error.message == f"ReadTransactionsCredits {BASIC_OR_DETAIL}"


@pytest.mark.parametrize(
    "permissions",
    [
        ("ReadTransactionsBasic", "ReadTransactionsCredits"),
        ("ReadTransactionsBasic", "ReadTransactionsDebits"),
        ("ReadTransactionsDetail", "ReadTransactionsCredits"),  # Detail counts as "one of Basic and Detail"
        ("ReadTransactionsDetail", "ReadTransactionsDebits"),
        ("ReadTransactionsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"),
        ("ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
         "ReadTransactionsDebits"),  # the demo wallet's default request
        ("ReadAccountsBasic", "ReadBalances"),  # no transactions permission: nothing to pair
    ],
)  # fmt: skip
def test_create_accepts_a_valid_combination(permissions: tuple[str, ...]) -> None:
    assert _create(*permissions).permissions == frozenset(permissions)


def test_amend_refuses_keeping_transactions_basic_while_dropping_credits_and_debits() -> None:
    consent = _live("ReadBalances", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits")
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.amend(consent, at=NOW, catalogue=CATALOGUE, permissions=["ReadBalances", "ReadTransactionsBasic"])
    assert (caught.value.message, caught.value.path) == (f"ReadTransactionsBasic {CREDITS_OR_DEBITS}", "permissions")


def test_amend_refuses_keeping_credits_while_dropping_basic_and_detail() -> None:
    consent = _live("ReadTransactionsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits")
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.amend(consent, at=NOW, catalogue=CATALOGUE, permissions=["ReadTransactionsCredits"])
    assert (caught.value.message, caught.value.path) == (f"ReadTransactionsCredits {BASIC_OR_DETAIL}", "permissions")


def test_amend_refusal_has_the_same_message_as_creation() -> None:
    consent = _live("ReadTransactionsDetail", "ReadTransactionsBasic", "ReadTransactionsDebits", "ReadBalances")
    with pytest.raises(ConsentFieldError) as amended:
        lifecycle.amend(
            consent, at=NOW, catalogue=CATALOGUE, permissions=["ReadTransactionsDetail", "ReadTransactionsBasic"]
        )
    created = _refusal_at_create("ReadTransactionsDetail", "ReadTransactionsBasic")
    assert amended.value.message == created.message


def test_amend_may_drop_debits_while_keeping_credits() -> None:
    consent = _live(
        "ReadTransactionsDetail", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"
    )
    kept = ["ReadTransactionsDetail", "ReadTransactionsBasic", "ReadTransactionsCredits"]
    change = lifecycle.amend(consent, at=NOW, catalogue=CATALOGUE, permissions=kept)
    assert change.consent.permissions == frozenset(kept)


def test_amend_may_drop_every_transactions_permission_at_once() -> None:
    consent = _live("ReadBalances", "ReadTransactionsBasic", "ReadTransactionsCredits")
    change = lifecycle.amend(consent, at=NOW, catalogue=CATALOGUE, permissions=["ReadBalances"])
    assert change.consent.permissions == frozenset({"ReadBalances"})
