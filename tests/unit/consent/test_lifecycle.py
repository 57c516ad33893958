"""The state machine: every allowed transition, and every refusal leaving the consent unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from consent import lifecycle
from consent.errors import ConsentFieldError, InvalidTransitionError
from consent.model import Consent, ConsentStatus
from policies import SHIPPED
from policies.permissions import load_permissions

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
S = ConsentStatus
CATALOGUE = load_permissions(SHIPPED / "permissions.yaml")


def _consent(status: ConsentStatus = S.AWAITING_AUTHORISATION, **fields: object) -> Consent:
    base = Consent(
        consent_id="c-1",
        client_id="wallet-1",
        status=status,
        permissions=frozenset({"ReadAccountsBasic", "ReadBalances"}),
        purposes=("aggregation",),
        created_at=T0,
        updated_at=T0,
        status_updated_at=T0,
        expires_at=T0 + timedelta(days=30),
    )
    if status is not S.AWAITING_AUTHORISATION:
        base = replace(base, user_id="alice", account_ids=("acc-1", "acc-2"))
    return replace(base, **fields)  # type: ignore[arg-type]


def test_authorise_moves_awau_to_auth_with_user_and_accounts() -> None:
    change = lifecycle.authorise(
        _consent(), user_id="alice", account_ids=["acc-1", "acc-1", "acc-2"], marketing_opt_in=False, at=LATER
    )
    assert change.consent.status is S.AUTHORISED
    assert change.consent.account_ids == ("acc-1", "acc-2")
    assert change.consent.version == 2
    assert change.consent.status_updated_at == LATER
    assert change.changes["status"] == ["AWAU", "AUTH"]
    assert change.kind == "authorised"


def test_authorise_refuses_empty_account_selection() -> None:
    with pytest.raises(ConsentFieldError, match="At least one account"):
        lifecycle.authorise(_consent(), user_id="alice", account_ids=[], marketing_opt_in=False, at=LATER)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.EXPIRED, lambda c: lifecycle.authorise(c, user_id="a", account_ids=["x"], marketing_opt_in=False, at=LATER)),
        (
            S.AUTHORISED,
            lambda c: lifecycle.authorise(c, user_id="a", account_ids=["x"], marketing_opt_in=False, at=LATER),
        ),
        (S.REVOKED, lambda c: lifecycle.revoke(c, at=LATER)),
        (S.EXPIRED, lambda c: lifecycle.revoke(c, at=LATER)),
        (S.REJECTED, lambda c: lifecycle.revoke(c, at=LATER)),
        (S.REJECTED, lambda c: lifecycle.pause(c, at=LATER)),
        (S.PAUSED, lambda c: lifecycle.pause(c, at=LATER)),
        (S.AUTHORISED, lambda c: lifecycle.resume(c, at=LATER)),
        (S.AUTHORISED, lambda c: lifecycle.reject(c, at=LATER)),
        (S.EXPIRED, lambda c: lifecycle.expire(c, at=LATER)),
        (S.REVOKED, lambda c: lifecycle.amend(c, at=LATER, catalogue=CATALOGUE, account_ids=["acc-1"])),
    ],
)
def test_invalid_transition_is_refused_naming_status_and_action(status: ConsentStatus, action) -> None:
    consent = _consent(status)
    with pytest.raises(InvalidTransitionError) as caught:
        action(consent)
    assert f"its status is {status.value}" in caught.value.message
    assert caught.value.message.startswith("Cannot ")
    assert consent == _consent(status)


def test_revoking_twice_is_refused() -> None:
    revoked = lifecycle.revoke(_consent(S.AUTHORISED), at=LATER).consent
    with pytest.raises(InvalidTransitionError, match="Cannot revoke consent c-1: its status is CANC"):
        lifecycle.revoke(revoked, at=LATER)


def test_awaiting_consent_can_be_revoked_before_the_user_answers() -> None:
    assert lifecycle.revoke(_consent(S.AWAITING_AUTHORISATION), at=LATER).consent.status is S.REVOKED


def test_pause_and_resume_round_trip() -> None:
    paused = lifecycle.pause(_consent(S.AUTHORISED), at=LATER).consent
    assert paused.status is S.PAUSED
    assert paused.status.wallet_facing == "AUTH"
    resumed = lifecycle.resume(paused, at=LATER + timedelta(seconds=1))
    assert resumed.consent.status is S.AUTHORISED
    assert resumed.consent.version == 3


def test_resume_refuses_consent_past_its_expiry() -> None:
    paused = _consent(S.PAUSED)
    with pytest.raises(InvalidTransitionError, match="expired"):
        lifecycle.resume(paused, at=T0 + timedelta(days=31))


def test_paused_consent_can_be_revoked_and_expired() -> None:
    assert lifecycle.revoke(_consent(S.PAUSED), at=LATER).consent.status is S.REVOKED
    assert lifecycle.expire(_consent(S.PAUSED), at=LATER).consent.status is S.EXPIRED


def test_amend_narrows_accounts_and_permissions_keeping_status() -> None:
    change = lifecycle.amend(
        _consent(S.PAUSED), at=LATER, catalogue=CATALOGUE, account_ids=["acc-2"], permissions=["ReadBalances"]
    )
    assert change.consent.status is S.PAUSED
    assert change.consent.account_ids == ("acc-2",)
    assert change.consent.permissions == frozenset({"ReadBalances"})
    assert change.changes["account_ids"] == [["acc-1", "acc-2"], ["acc-2"]]


def test_amend_refuses_to_add_an_account() -> None:
    with pytest.raises(ConsentFieldError, match="can only drop accounts; 'acc-9'"):
        lifecycle.amend(_consent(S.AUTHORISED), at=LATER, catalogue=CATALOGUE, account_ids=["acc-1", "acc-9"])


def test_amend_refuses_to_add_a_permission() -> None:
    with pytest.raises(ConsentFieldError, match="can only drop permissions; ReadTransactionsDetail"):
        lifecycle.amend(
            _consent(S.AUTHORISED),
            at=LATER,
            catalogue=CATALOGUE,
            permissions=["ReadBalances", "ReadTransactionsDetail"],
        )


def test_amend_refuses_to_drop_everything() -> None:
    with pytest.raises(ConsentFieldError, match="at least one account"):
        lifecycle.amend(_consent(S.AUTHORISED), at=LATER, catalogue=CATALOGUE, account_ids=[])


def test_amend_refuses_a_change_of_nothing() -> None:
    with pytest.raises(ConsentFieldError, match="changes nothing"):
        lifecycle.amend(_consent(S.AUTHORISED), at=LATER, catalogue=CATALOGUE, account_ids=["acc-1", "acc-2"])


def test_awaiting_consent_is_due_for_expiry_after_its_wait() -> None:
    ttl = timedelta(hours=1)
    assert not lifecycle.expiry_due(_consent(), T0 + timedelta(minutes=59), ttl)
    assert lifecycle.expiry_due(_consent(), T0 + timedelta(hours=1), ttl)


def test_authorised_consent_is_due_for_expiry_at_its_expiration_time() -> None:
    ttl = timedelta(hours=1)
    assert not lifecycle.expiry_due(_consent(S.AUTHORISED), T0 + timedelta(days=29), ttl)
    assert lifecycle.expiry_due(_consent(S.AUTHORISED), T0 + timedelta(days=30), ttl)
    assert not lifecycle.expiry_due(_consent(S.REVOKED), T0 + timedelta(days=31), ttl)


def test_amend_refuses_to_drop_every_permission() -> None:
    consent = _consent(S.AUTHORISED)
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.amend(consent, at=LATER, catalogue=CATALOGUE, permissions=[])
    assert caught.value.message == "Amendment must keep at least one permission; revoke the consent instead."
    assert caught.value.path == "permissions"


def test_amend_refusal_names_the_path_of_the_widened_list() -> None:
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.amend(_consent(S.AUTHORISED), at=LATER, catalogue=CATALOGUE, account_ids=["acc-9", "acc-1", "acc-8"])
    assert caught.value.message == "Amendment can only drop accounts; 'acc-9' is not in the consent."
    assert caught.value.path == "account_ids"


def test_authorise_refuses_a_purpose_the_wallet_did_not_ask_for() -> None:
    consent = _consent()
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.authorise(
            consent, user_id="alice", account_ids=["acc-1"], marketing_opt_in=True, at=LATER, purposes=("marketing",)
        )
    assert caught.value.message == "The user can only grant purposes the wallet asked for."
    assert caught.value.path == "purposes"
    assert consent == _consent()


def test_amend_refuses_to_drop_a_basic_permission_while_keeping_its_detail() -> None:
    consent = _consent(S.AUTHORISED, permissions=frozenset({"ReadAccountsBasic", "ReadAccountsDetail", "ReadBalances"}))
    with pytest.raises(ConsentFieldError) as caught:
        lifecycle.amend(consent, at=LATER, catalogue=CATALOGUE, permissions=["ReadAccountsDetail", "ReadBalances"])
    assert caught.value.message == (
        "Amendment cannot drop ReadAccountsBasic while keeping ReadAccountsDetail, which includes it: "
        "drop ReadAccountsDetail too, or keep ReadAccountsBasic."
    )
    assert caught.value.path == "permissions"


@pytest.mark.parametrize(
    ("cluster", "also"),
    [
        ("Beneficiaries", "ReadBalances"),
        ("ScheduledPayments", "ReadBalances"),
        ("StandingOrders", "ReadBalances"),
        ("Statements", "ReadBalances"),
        ("Transactions", "ReadTransactionsCredits"),  # UK OB: Basic/Detail needs Credits or Debits beside it
    ],
)
def test_amend_refuses_every_basic_dropped_under_its_detail(cluster: str, also: str) -> None:
    basic, detail = f"Read{cluster}Basic", f"Read{cluster}Detail"
    consent = _consent(S.AUTHORISED, permissions=frozenset({basic, detail, also}))
    with pytest.raises(ConsentFieldError, match=f"cannot drop {basic} while keeping {detail}"):
        lifecycle.amend(consent, at=LATER, catalogue=CATALOGUE, permissions=[detail, also])


def test_amend_may_drop_a_detail_permission_and_keep_its_basic() -> None:
    consent = _consent(S.AUTHORISED, permissions=frozenset({"ReadAccountsBasic", "ReadAccountsDetail"}))
    change = lifecycle.amend(consent, at=LATER, catalogue=CATALOGUE, permissions=["ReadAccountsBasic"])
    assert change.consent.permissions == frozenset({"ReadAccountsBasic"})


def test_amend_may_drop_a_detail_permission_with_its_basic() -> None:
    consent = _consent(S.AUTHORISED, permissions=frozenset({"ReadAccountsBasic", "ReadAccountsDetail", "ReadBalances"}))
    change = lifecycle.amend(consent, at=LATER, catalogue=CATALOGUE, permissions=["ReadBalances"])
    assert change.consent.permissions == frozenset({"ReadBalances"})


def test_authorise_records_no_opt_in_answer_when_none_was_asked() -> None:
    change = lifecycle.authorise(_consent(), user_id="alice", account_ids=["acc-1"], marketing_opt_in=None, at=LATER)
    assert change.consent.marketing_opt_in is None
    assert "marketing_opt_in" not in change.changes


def test_authorise_records_a_declined_opt_in_as_false() -> None:
    consent = _consent(purposes=("aggregation", "marketing"))
    change = lifecycle.authorise(
        consent, user_id="alice", account_ids=["acc-1"], marketing_opt_in=False, at=LATER, purposes=("aggregation",)
    )
    assert change.consent.marketing_opt_in is False
    assert change.changes["marketing_opt_in"] == [None, False]
