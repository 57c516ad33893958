"""The consent state machine: which change may start from which status, and what it changes.

Pure functions over frozen ``Consent`` values: no I/O, no clock. Each transition names the
statuses it may start from (Hydra's ``IsAny``); anything else raises ``InvalidTransitionError``
naming the current status and the action, and the consent is left as it was.

    AWAU ──authorise──► AUTH ──pause──► PAUS
      │                  │  ◄──resume──  │
      ├──reject──► RJCT  ├──revoke──► CANC ◄──revoke──┤
      └──expire──► EXPD  └──expire──► EXPD ◄──expire──┘
    amend (narrow only) keeps AUTH or PAUS as it is.

A narrowing must narrow what the wallet can read, not only the list: it may not drop a code that a
kept code implies (UK OB: a Detail permission includes its Basic), since the wallet would read the
same data after it, while the user's dashboard said otherwise. Nor may it leave a combination the
standard refuses at creation (ReadTransactionsBasic without Credits or Debits: ``refuse_unmet_needs``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from consent.errors import ConsentFieldError, InvalidTransitionError
from consent.model import Consent, ConsentStatus
from consent.purpose_rules import refuse_unmet_needs
from policies.permissions import PermissionCatalogue

AWAU, AUTH, RJCT, CANC, EXPD, PAUS = (
    ConsentStatus.AWAITING_AUTHORISATION,
    ConsentStatus.AUTHORISED,
    ConsentStatus.REJECTED,
    ConsentStatus.REVOKED,
    ConsentStatus.EXPIRED,
    ConsentStatus.PAUSED,
)


@dataclass(frozen=True, slots=True)
class Transition:
    """One kind of change: its name, the event it records, where it may start, where it ends."""

    action: str
    kind: str
    start: frozenset[ConsentStatus]
    end: ConsentStatus | None  # None: the status stays as it is

    def check(self, consent: Consent) -> None:
        if consent.status not in self.start:
            allowed = ", ".join(sorted(s.value for s in self.start))
            raise InvalidTransitionError(
                f"Cannot {self.action} consent {consent.consent_id}: its status is {consent.status.value}; "
                f"{self.action} is allowed only from {allowed}."
            )


AUTHORISE = Transition("authorise", "authorised", frozenset({AWAU}), AUTH)
REJECT = Transition("reject", "rejected", frozenset({AWAU}), RJCT)
# UK OB: a wallet may DELETE a consent it no longer needs before the user answers, too.
REVOKE = Transition("revoke", "revoked", frozenset({AWAU, AUTH, PAUS}), CANC)
PAUSE = Transition("pause", "paused", frozenset({AUTH}), PAUS)
RESUME = Transition("resume", "resumed", frozenset({PAUS}), AUTH)
EXPIRE = Transition("expire", "expired", frozenset({AWAU, AUTH, PAUS}), EXPD)
AMEND = Transition("amend", "amended", frozenset({AUTH, PAUS}), None)

LIVE = frozenset({AWAU, AUTH, PAUS})


@dataclass(frozen=True, slots=True)
class Change:
    """The consent after a transition and what the event records about it."""

    consent: Consent
    kind: str
    changes: Mapping[str, object]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _move(consent: Consent, transition: Transition, at: datetime, **fields: object) -> Change:
    transition.check(consent)
    status = transition.end or consent.status
    changes: dict[str, object] = {}
    if status is not consent.status:
        changes["status"] = [consent.status.value, status.value]
    for name, value in fields.items():
        before = getattr(consent, name)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
    updated = replace(
        consent,
        status=status,
        updated_at=at,
        status_updated_at=at if status is not consent.status else consent.status_updated_at,
        version=consent.version + 1,
        **fields,  # type: ignore[arg-type]
    )
    return Change(updated, transition.kind, changes)


def _plain(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime):
        return _iso(value)
    return value


def authorise(
    consent: Consent,
    *,
    user_id: str,
    account_ids: Iterable[str],
    marketing_opt_in: bool | None,
    at: datetime,
    purposes: tuple[str, ...] | None = None,
) -> Change:
    """``purposes``: what the user granted, when narrower than what the wallet asked (an unticked opt-in).

    ``marketing_opt_in``: the user's answer to the separate opt-in, None when it was not asked
    (``purpose_rules.opt_in_answer``).
    """
    accounts = tuple(dict.fromkeys(account_ids))
    if not accounts:
        raise ConsentFieldError("At least one account must be selected to authorise a consent.", path="account_ids")
    granted = consent.purposes if purposes is None else purposes
    if not set(granted) <= set(consent.purposes):
        raise ConsentFieldError("The user can only grant purposes the wallet asked for.", path="purposes")
    return _move(
        consent,
        AUTHORISE,
        at,
        user_id=user_id,
        account_ids=accounts,
        marketing_opt_in=marketing_opt_in,
        purposes=tuple(granted),
    )


def reject(consent: Consent, *, at: datetime, user_id: str | None = None) -> Change:
    if user_id is None:
        return _move(consent, REJECT, at)
    return _move(consent, REJECT, at, user_id=user_id)


def revoke(consent: Consent, *, at: datetime) -> Change:
    return _move(consent, REVOKE, at)


def pause(consent: Consent, *, at: datetime) -> Change:
    return _move(consent, PAUSE, at)


def resume(consent: Consent, *, at: datetime) -> Change:
    if consent.expires_at is not None and consent.expires_at <= at:
        raise InvalidTransitionError(f"Cannot resume consent {consent.consent_id}: it expired at its expiry time.")
    return _move(consent, RESUME, at)


def expire(consent: Consent, *, at: datetime) -> Change:
    return _move(consent, EXPIRE, at)


def _narrowed(kept: Iterable[str], held: Collection[str], *, what: str, path: str, quote: bool) -> tuple[str, ...]:
    """``kept`` (duplicates dropped) when it is a non-empty subset of ``held``; else the refusal naming ``path``."""
    items = tuple(dict.fromkeys(kept))
    extra = [item for item in items if item not in held]
    if extra:
        name = repr(extra[0]) if quote else extra[0]
        raise ConsentFieldError(f"Amendment can only drop {what}; {name} is not in the consent.", path=path)
    if not items:
        raise ConsentFieldError(f"Amendment must keep at least one {what[:-1]}; revoke the consent instead.", path=path)
    return items


def _refuse_implied_drop(kept: Collection[str], held: Collection[str], catalogue: PermissionCatalogue) -> None:
    """Refuse dropping a code that a kept code implies (ReadAccountsDetail keeps ReadAccountsBasic readable)."""
    dropped = set(held) - set(kept)
    for code in sorted(kept):
        implied = sorted(dropped & catalogue.expand([code]))
        if implied:
            raise ConsentFieldError(
                f"Amendment cannot drop {implied[0]} while keeping {code}, which includes it: drop {code} too, "
                f"or keep {implied[0]}.",
                path="permissions",
            )


def amend(
    consent: Consent,
    *,
    at: datetime,
    catalogue: PermissionCatalogue,
    account_ids: Iterable[str] | None = None,
    permissions: Iterable[str] | None = None,
) -> Change:
    """Narrow a live consent: keep a non-empty subset of its accounts and/or permissions.

    ``catalogue`` says which permission implies which (``_refuse_implied_drop``) and which needs which
    (``refuse_unmet_needs``, the same check as at creation).
    """
    AMEND.check(consent)
    fields: dict[str, object] = {}
    if account_ids is not None:
        fields["account_ids"] = _narrowed(
            account_ids, consent.account_ids, what="accounts", path="account_ids", quote=True
        )
    if permissions is not None:
        kept = _narrowed(sorted(permissions), consent.permissions, what="permissions", path="permissions", quote=False)
        _refuse_implied_drop(kept, consent.permissions, catalogue)
        refuse_unmet_needs(kept, catalogue, path="permissions")
        fields["permissions"] = frozenset(kept)
    change = _move(consent, AMEND, at, **fields)
    if not change.changes:
        raise ConsentFieldError("The amendment changes nothing: give fewer accounts or permissions.")
    return change


def expiry_due(consent: Consent, now: datetime, awaiting_ttl: timedelta) -> bool:
    """Whether the consent should be expired now (AWAU past its wait, AUTH/PAUS past its expiry)."""
    if consent.status is AWAU:
        return consent.created_at + awaiting_ttl <= now or (
            consent.expires_at is not None and consent.expires_at <= now
        )
    if consent.status in (AUTH, PAUS):
        return consent.expires_at is not None and consent.expires_at <= now
    return False


def created(consent: Consent) -> dict[str, object]:
    """What the first event of a new consent records: everything the wallet asked for."""
    return {
        "status": [None, consent.status.value],
        "permissions": sorted(consent.permissions),
        "purposes": list(consent.purposes),
        "recipients": list(consent.recipients),
        "expires_at": _iso(consent.expires_at),
        "transaction_from": _iso(consent.transaction_from),
        "transaction_to": _iso(consent.transaction_to),
        "frequency_per_day": consent.frequency_per_day,
    }
