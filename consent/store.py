"""What the gateway needs from a consent store (``consent.sql.SqlConsentStore`` implements it).

Every change is one transaction (the consent row and its appended event), bumps ``version``,
and is published to ``ConsentChanges`` after it commits. Reads apply due expiries first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from consent.model import (
    AccessPage,
    AccessPosition,
    AccessRecord,
    Actor,
    ChainBreak,
    Consent,
    ConsentEvent,
    ConsentPage,
    ConsentPosition,
    NewConsent,
)

Clock = Callable[[], float]  # seconds since the epoch, like time.time (the gateway's clock fits)


class ConsentStore(Protocol):
    async def create(
        self,
        new: NewConsent,
        *,
        idempotency_key: str | None = None,
        body_hash: str | None = None,
    ) -> Consent: ...

    async def get(self, consent_id: str) -> Consent: ...

    async def get_for_client(self, consent_id: str, client_id: str) -> Consent: ...

    async def get_for_user(self, consent_id: str, user_id: str) -> Consent: ...

    async def list_for_client(
        self, client_id: str, *, limit: int = 50, after: ConsentPosition | None = None
    ) -> ConsentPage: ...

    async def list_for_user(
        self,
        user_id: str,
        *,
        status: str | None = None,
        client_id: str | None = None,
        purpose: str | None = None,
        limit: int = 50,
        after: ConsentPosition | None = None,
    ) -> ConsentPage: ...

    async def authorise(
        self,
        consent_id: str,
        *,
        user_id: str,
        account_ids: Sequence[str],
        actor_id: str | None = None,
        marketing_opt_in: bool = False,
    ) -> Consent: ...

    async def reject(self, consent_id: str, *, user_id: str, reason: str = "") -> Consent: ...

    async def revoke(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent: ...

    async def pause(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent: ...

    async def resume(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent: ...

    async def amend(
        self,
        consent_id: str,
        *,
        actor: Actor,
        actor_id: str,
        account_ids: Sequence[str] | None = None,
        permissions: Sequence[str] | None = None,
        reason: str = "",
    ) -> Consent: ...

    async def events(self, consent_id: str) -> list[ConsentEvent]: ...

    async def verify_chain(self) -> ChainBreak | None: ...

    async def sweep_expired(self, now: datetime | None = None) -> int: ...

    async def record_access(self, records: Sequence[AccessRecord]) -> None: ...

    async def access_history(
        self,
        *,
        consent_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        after: AccessPosition | None = None,
    ) -> AccessPage: ...
