"""Creating a consent that breaks its purpose's rules is refused naming the purpose and the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent.errors import ConsentFieldError, ConsentFieldInvalidDateError, PurposeRuleError
from consent.model import NewConsent
from consent.purpose_rules import check_new_consent, granted_purposes, months_before, opt_in_answer
from policies import SHIPPED, PolicySet
from policies.permissions import load_permissions
from policies.purposes import load_purposes

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    permissions = load_permissions(SHIPPED / "permissions.yaml")
    return PolicySet(
        folder=SHIPPED, permissions=permissions, purposes=load_purposes(SHIPPED / "purposes.yaml", permissions)
    )


def _new(purposes: tuple[str, ...] = ("aggregation",), permissions=("ReadAccountsBasic",), **kw) -> NewConsent:
    return NewConsent(client_id="wallet-1", permissions=frozenset(permissions), purposes=purposes, **kw)


def test_open_ended_request_gets_the_purpose_limits(policies: PolicySet) -> None:
    checked = check_new_consent(_new(("lending",)), policies, NOW)
    assert checked.expires_at == NOW + timedelta(days=90)
    assert checked.transaction_from == datetime(2024, 11, 1, 12, 0, tzinfo=UTC)


def test_nothing_lasts_longer_than_twelve_months(policies: PolicySet) -> None:
    checked = check_new_consent(_new(), policies, NOW)
    assert checked.expires_at == NOW + timedelta(days=365)


def test_lending_refuses_consent_longer_than_90_days(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError) as caught:
        check_new_consent(_new(("lending",), expires_at=NOW + timedelta(days=91)), policies, NOW)
    assert caught.value.message == (
        "Purpose 'lending' breaks rule 'max_duration_days': a consent for it lasts at most 90 days."
    )
    assert caught.value.path == "Data.ExpirationDateTime"


def test_aggregation_refuses_consent_longer_than_the_global_cap(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match="Purpose 'aggregation' breaks rule 'max_duration_days'"):
        check_new_consent(_new(expires_at=NOW + timedelta(days=366)), policies, NOW)


def test_lending_refuses_more_than_24_months_of_history(policies: PolicySet) -> None:
    early = months_before(NOW, 24) - timedelta(days=1)
    with pytest.raises(PurposeRuleError) as caught:
        check_new_consent(_new(("lending",), transaction_from=early), policies, NOW)
    assert "Purpose 'lending' breaks rule 'max_history_months'" in caught.value.message
    assert caught.value.path == "Data.TransactionFromDateTime"


def test_marketing_refuses_transaction_detail(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError) as caught:
        check_new_consent(
            _new(("marketing",), ("ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsDebits")),
            policies,
            NOW,
        )
    assert caught.value.message == (
        "Purpose 'marketing' breaks rule 'permissions': it may not carry "
        "ReadTransactionsDebits, ReadTransactionsDetail."
    )


def test_marketing_refuses_party_data(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match="'marketing' breaks rule 'permissions': it may not carry ReadParty"):
        check_new_consent(_new(("marketing",), ("ReadParty",)), policies, NOW)


def test_bundled_purposes_keep_the_strictest_rules(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match="'marketing' breaks rule 'permissions'"):
        check_new_consent(
            _new(("aggregation", "marketing"), ("ReadTransactionsDetail", "ReadTransactionsCredits")), policies, NOW
        )


def test_unticked_marketing_is_dropped_from_a_bundled_consent(policies: PolicySet) -> None:
    assert granted_purposes(("aggregation", "marketing"), policies, marketing_opt_in=False) == ("aggregation",)


def test_ticked_marketing_is_kept(policies: PolicySet) -> None:
    assert granted_purposes(("aggregation", "marketing"), policies, marketing_opt_in=True) == (
        "aggregation",
        "marketing",
    )


def test_marketing_alone_cannot_be_approved_without_its_opt_in(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match="Purpose 'marketing' breaks rule 'requires_explicit_opt_in'"):
        granted_purposes(("marketing",), policies, marketing_opt_in=False)


def test_onward_sharing_is_refused_where_the_purpose_forbids_it(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match="'aggregation' breaks rule 'onward_sharing'"):
        check_new_consent(_new(recipients=("credit_bureau:acme",)), policies, NOW)


def test_onward_sharing_is_refused_to_a_kind_not_listed(policies: PolicySet) -> None:
    with pytest.raises(PurposeRuleError, match=r"'lending' breaks rule 'onward_sharing\.recipient_kinds': 'broker'"):
        check_new_consent(_new(("lending",), recipients=("broker:acme",)), policies, NOW)


def test_lending_may_share_with_a_credit_bureau(policies: PolicySet) -> None:
    checked = check_new_consent(_new(("lending",), recipients=("credit_bureau:acme",)), policies, NOW)
    assert checked.recipients == ("credit_bureau:acme",)


def test_unknown_purpose_is_refused_naming_the_known_ones(policies: PolicySet) -> None:
    with pytest.raises(ConsentFieldError, match="Unknown purpose 'spying'; the policy defines aggregation, lending"):
        check_new_consent(_new(("spying",)), policies, NOW)


def test_unknown_permission_code_is_refused(policies: PolicySet) -> None:
    with pytest.raises(ConsentFieldError, match="Unknown permission code 'ReadMinds'"):
        check_new_consent(_new(permissions=("ReadMinds",)), policies, NOW)


def test_expiry_in_the_past_is_refused(policies: PolicySet) -> None:
    with pytest.raises(ConsentFieldInvalidDateError, match="ExpirationDateTime must be in the future"):
        check_new_consent(_new(expires_at=NOW - timedelta(seconds=1)), policies, NOW)


def test_transaction_window_must_not_be_reversed(policies: PolicySet) -> None:
    with pytest.raises(
        ConsentFieldInvalidDateError, match="TransactionFromDateTime must not be after TransactionToDateTime"
    ):
        check_new_consent(
            _new(transaction_from=NOW - timedelta(days=1), transaction_to=NOW - timedelta(days=2)), policies, NOW
        )


def test_months_before_clamps_to_the_end_of_the_month() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("new", "message", "path"),
    [
        (_new(()), "A consent needs at least one purpose.", "Data.WalletGate.Purposes"),
        (
            _new(("aggregation", "lending", "aggregation")),
            "Purpose 'aggregation' is listed twice.",
            "Data.WalletGate.Purposes[2]",
        ),
        (_new(permissions=()), "A consent needs at least one permission.", "Data.Permissions"),
        (_new(frequency_per_day=0), "FrequencyPerDay must be between 1 and 100.", "Data.WalletGate.FrequencyPerDay"),
        (_new(frequency_per_day=101), "FrequencyPerDay must be between 1 and 100.", "Data.WalletGate.FrequencyPerDay"),
        (
            _new(("lending",), recipients=("credit_bureau:acme", "acme")),
            "Recipient 'acme' must be written 'kind:name'.",
            "Data.WalletGate.Recipients[1]",
        ),
        (
            _new(("lending",), recipients=("credit_bureau:",)),
            "Recipient 'credit_bureau:' must be written 'kind:name'.",
            "Data.WalletGate.Recipients[0]",
        ),
    ],
)
def test_malformed_request_is_refused_naming_the_field(
    policies: PolicySet, new: NewConsent, message: str, path: str
) -> None:
    with pytest.raises(ConsentFieldError) as caught:
        check_new_consent(new, policies, NOW)
    assert type(caught.value) is ConsentFieldError
    assert (caught.value.message, caught.value.path) == (message, path)


def test_the_opt_in_answer_is_recorded_when_a_purpose_asks_for_it(policies: PolicySet) -> None:
    assert opt_in_answer(("aggregation", "marketing"), policies, ticked=True) is True
    assert opt_in_answer(("aggregation", "marketing"), policies, ticked=False) is False


def test_no_opt_in_answer_is_recorded_when_no_purpose_asks_for_it(policies: PolicySet) -> None:
    assert opt_in_answer(("aggregation",), policies, ticked=False) is None


def test_a_ticked_box_the_screen_never_showed_records_no_answer(policies: PolicySet) -> None:
    assert opt_in_answer(("lending",), policies, ticked=True) is None
