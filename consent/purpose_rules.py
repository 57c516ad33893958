"""Check a new consent against the rules of its purposes, and fill in what the wallet left open.

An open-ended request (no ExpirationDateTime, no TransactionFromDateTime) gets the longest the
purposes allow, so every stored consent has an expiry and a history bound.

``refuse_unmet_needs`` is the UK OB permission-combination rule (the catalogue's ``needs_one_of``),
checked here at creation and by ``lifecycle.amend`` on what a narrowing keeps.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta

from consent.errors import ConsentFieldError, ConsentFieldInvalidDateError, PurposeRuleError
from consent.model import NewConsent
from policies import PolicySet
from policies.permissions import PermissionCatalogue
from policies.purposes import Purpose

MAX_FREQUENCY_PER_DAY = 100


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's last day)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _purposes(new: NewConsent, policies: PolicySet) -> list[Purpose]:
    if not new.purposes:
        raise ConsentFieldError("A consent needs at least one purpose.", path="Data.WalletGate.Purposes")
    found = []
    for index, pid in enumerate(new.purposes):
        purpose = policies.purposes.get(pid)
        if purpose is None:
            known = ", ".join(sorted(policies.purposes.purposes))
            raise ConsentFieldError(
                f"Unknown purpose {pid!r}; the policy defines {known}.", path=f"Data.WalletGate.Purposes[{index}]"
            )
        if new.purposes.index(pid) != index:
            raise ConsentFieldError(f"Purpose {pid!r} is listed twice.", path=f"Data.WalletGate.Purposes[{index}]")
        found.append(purpose)
    return found


def refuse_unmet_needs(codes: Collection[str], catalogue: PermissionCatalogue, *, path: str) -> None:
    """Refuse permissions in which a code lacks every code of its ``needs_one_of`` (UK OB: ReadTransactionsBasic
    or Detail without Credits or Debits, or Credits or Debits without Basic or Detail), naming the first."""
    unmet = catalogue.unmet_needs(codes)
    if unmet:
        raise ConsentFieldError(f"{unmet[0].describe()} in the same consent.", path=path)


def _check_permissions(new: NewConsent, purposes: list[Purpose], policies: PolicySet) -> None:
    ordered = sorted(new.permissions)
    if not ordered:
        raise ConsentFieldError("A consent needs at least one permission.", path="Data.Permissions")
    unknown = policies.permissions.unknown(ordered)
    if unknown:
        raise ConsentFieldError(f"Unknown permission code {unknown[0]!r}.", path="Data.Permissions")
    refuse_unmet_needs(ordered, policies.permissions, path="Data.Permissions")
    for purpose in purposes:
        refused = [code for code in ordered if code not in purpose.permissions]
        if refused:
            raise PurposeRuleError(
                f"Purpose {purpose.id!r} breaks rule 'permissions': it may not carry {', '.join(refused)}.",
                path="Data.Permissions",
            )


def _check_expiry(new: NewConsent, purposes: list[Purpose], policies: PolicySet, now: datetime) -> datetime:
    cap = policies.purposes.max_duration_days
    if new.expires_at is None:
        return now + timedelta(days=policies.purposes.duration_limit_days(new.purposes))
    if new.expires_at <= now:
        raise ConsentFieldInvalidDateError("ExpirationDateTime must be in the future.", path="Data.ExpirationDateTime")
    for purpose in purposes:
        if new.expires_at > now + timedelta(days=purpose.max_duration_days):
            raise PurposeRuleError(
                f"Purpose {purpose.id!r} breaks rule 'max_duration_days': a consent for it lasts at most "
                f"{purpose.max_duration_days} days.",
                path="Data.ExpirationDateTime",
            )
    if new.expires_at > now + timedelta(days=cap):
        raise PurposeRuleError(
            f"Purpose {new.purposes[0]!r} breaks rule 'max_duration_days' (global): no consent lasts more than "
            f"{cap} days.",
            path="Data.ExpirationDateTime",
        )
    return new.expires_at


def _check_history(new: NewConsent, purposes: list[Purpose], now: datetime) -> datetime:
    strictest = min(purposes, key=lambda p: p.max_history_months)
    earliest = months_before(now, strictest.max_history_months)
    if new.transaction_from is None:
        return earliest
    for purpose in purposes:
        if new.transaction_from < months_before(now, purpose.max_history_months):
            raise PurposeRuleError(
                f"Purpose {purpose.id!r} breaks rule 'max_history_months': it may read at most "
                f"{purpose.max_history_months} months of transactions.",
                path="Data.TransactionFromDateTime",
            )
    return new.transaction_from


def _check_recipients(new: NewConsent, purposes: list[Purpose]) -> None:
    for index, recipient in enumerate(new.recipients):
        kind, sep, name = recipient.partition(":")
        path = f"Data.WalletGate.Recipients[{index}]"
        if not sep or not kind or not name:
            raise ConsentFieldError(f"Recipient {recipient!r} must be written 'kind:name'.", path=path)
        for purpose in purposes:
            if not purpose.onward_sharing.allowed:
                raise PurposeRuleError(
                    f"Purpose {purpose.id!r} breaks rule 'onward_sharing': data may not be passed on.", path=path
                )
            if kind not in purpose.onward_sharing.recipient_kinds:
                allowed = ", ".join(sorted(purpose.onward_sharing.recipient_kinds))
                raise PurposeRuleError(
                    f"Purpose {purpose.id!r} breaks rule 'onward_sharing.recipient_kinds': {kind!r} is not one of "
                    f"{allowed}.",
                    path=path,
                )


def check_new_consent(new: NewConsent, policies: PolicySet, now: datetime) -> NewConsent:
    """The request with expiry and history filled in, or the first rule it breaks."""
    purposes = _purposes(new, policies)
    _check_permissions(new, purposes, policies)
    if not 1 <= new.frequency_per_day <= MAX_FREQUENCY_PER_DAY:
        raise ConsentFieldError(
            f"FrequencyPerDay must be between 1 and {MAX_FREQUENCY_PER_DAY}.", path="Data.WalletGate.FrequencyPerDay"
        )
    expires_at = _check_expiry(new, purposes, policies, now)
    transaction_from = _check_history(new, purposes, now)
    if new.transaction_to is not None and transaction_from > new.transaction_to:
        raise ConsentFieldInvalidDateError(
            "TransactionFromDateTime must not be after TransactionToDateTime.", path="Data.TransactionFromDateTime"
        )
    _check_recipients(new, purposes)
    return replace(new, expires_at=expires_at, transaction_from=transaction_from)


def opt_in_answer(purposes: tuple[str, ...], policies: PolicySet, ticked: bool) -> bool | None:
    """What the consent records of the separate opt-in: the user's answer (ticked or not) when one of the
    purposes the wallet asked for needs it (marketing), else None: a question never asked has no answer."""
    asked = any((rule := policies.purposes.get(p)) is not None and rule.requires_explicit_opt_in for p in purposes)
    return ticked if asked else None


def granted_purposes(purposes: tuple[str, ...], policies: PolicySet, marketing_opt_in: bool) -> tuple[str, ...]:
    """The purposes the user actually grants: one that needs its own opt-in is dropped when not ticked.

    Such a purpose (marketing) is never bundled silently with another: leaving its box unticked
    approves the rest without it. A consent asking only for such purposes cannot be approved
    without the opt-in.
    """
    if marketing_opt_in:
        return purposes
    needs_opt_in = [
        p for p in purposes if (rule := policies.purposes.get(p)) is not None and rule.requires_explicit_opt_in
    ]
    kept = tuple(p for p in purposes if p not in needs_opt_in)
    if not kept:
        raise PurposeRuleError(
            f"Purpose {needs_opt_in[0]!r} breaks rule 'requires_explicit_opt_in': the user must opt in to it "
            "separately to approve this consent, or reject it.",
            path="marketing_opt_in",
        )
    return kept
