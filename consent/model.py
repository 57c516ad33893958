"""What a consent is: the record a wallet's access is checked against.

Frozen dataclasses, so a cached consent can be shared by every request of an instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import overload


class ConsentStatus(StrEnum):
    """UK OB v4.0 ``OBReadConsentResponse1.Data.Status`` codes, plus our pause."""

    AWAITING_AUTHORISATION = "AWAU"
    AUTHORISED = "AUTH"
    REJECTED = "RJCT"
    REVOKED = "CANC"
    EXPIRED = "EXPD"
    PAUSED = "PAUS"  # internal only: shown to wallets as AUTH with a status reason

    @property
    def wallet_facing(self) -> str:
        """The status as the official schema allows it (PAUS is not in its enum)."""
        return "AUTH" if self is ConsentStatus.PAUSED else self.value


class Actor(StrEnum):
    WALLET = "wallet"
    USER = "user"
    BANK = "bank"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Consent:
    consent_id: str
    client_id: str
    status: ConsentStatus
    permissions: frozenset[str]
    purposes: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    status_updated_at: datetime
    user_id: str | None = None
    account_ids: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    expires_at: datetime | None = None
    transaction_from: datetime | None = None
    transaction_to: datetime | None = None
    frequency_per_day: int = 4
    marketing_opt_in: bool | None = None  # the user's answer to a separate opt-in; None: never asked
    version: int = 1  # bumped on every event; caches compare it


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One appended change. ``prev_hash`` chains it to the event before it."""

    consent_id: str
    seq: int
    at: datetime
    actor: Actor
    actor_id: str
    kind: str  # created, authorised, rejected, paused, resumed, amended, revoked, expired
    reason: str
    changes: dict[str, object] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One proxied call, written by the gateway's audit step, read in the user's history."""

    interaction_id: str
    at: datetime
    client_id: str
    consent_id: str | None
    user_id: str | None
    api: str
    operation_id: str
    method: str
    path: str
    account_ids: tuple[str, ...]
    status: int
    response_bytes: int
    latency_ms: float
    record_count: int | None = None
    attended: bool = False  # the customer was present (x-fapi-customer-ip-address sent)
    complete: bool = True  # the whole response reached the wallet (false: a relayed body ended early)


@dataclass(frozen=True, slots=True)
class AccessPosition:
    """Where a page of the access history ended: its last record's time and row id.

    The history runs newest first by ``(at, id)``, so the next page is what comes strictly after
    this position in that order: a record written or removed between two page reads neither
    repeats one nor hides one (keyset paging)."""

    at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class AccessPage(Sequence[AccessRecord]):
    """One page of the access history, newest first; reads as the sequence of its records.
    ``next`` is where the following page starts, None on the last page."""

    records: tuple[AccessRecord, ...]
    next: AccessPosition | None = None

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> AccessRecord: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[AccessRecord, ...]: ...

    def __getitem__(self, index: int | slice) -> AccessRecord | tuple[AccessRecord, ...]:
        return self.records[index]


@dataclass(frozen=True, slots=True)
class NewConsent:
    """What a wallet asks for when it creates a consent (before the purpose rules are applied)."""

    client_id: str
    permissions: frozenset[str]
    purposes: tuple[str, ...]
    expires_at: datetime | None = None
    transaction_from: datetime | None = None
    transaction_to: datetime | None = None
    recipients: tuple[str, ...] = ()
    frequency_per_day: int = 4


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event whose hash chain does not hold, and why."""

    consent_id: str
    seq: int
    problem: str


@dataclass(frozen=True, slots=True)
class ConsentPosition:
    """Where a page of a consent listing ended: its last consent's creation time and id.

    Listings run newest first by ``(created_at, consent_id)``, so the next page is what comes strictly
    after this position in that order: a consent created or removed between two page reads neither
    repeats one nor hides one (keyset paging)."""

    created_at: datetime
    consent_id: str


@dataclass(frozen=True, slots=True)
class ConsentPage:
    """One page of a listing, newest first; ``next`` is where the following page starts, None on the last."""

    items: tuple[Consent, ...]
    next: ConsentPosition | None = None
