"""The consent store on SQLAlchemy's async engine (SQLite by default, PostgreSQL in production).

Each change is one transaction: the consent row is updated only if its ``version`` is still the
one read (compare-and-swap), and the event is appended with the next sequence number and the
chained hash. A lost race is retried from a fresh read, so nothing is half-written and no
change is lost. Subscribers hear of a change only after it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consent import lifecycle
from consent.chain import GENESIS, chained_event
from consent.chain_check import first_break
from consent.changes import ConsentChanges
from consent.errors import (
    ConcurrentChangeError,
    ConsentFieldError,
    ConsentNotFoundError,
    IdempotencyConflictError,
    InvalidTransitionError,
)
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
    ConsentStatus,
    NewConsent,
)
from consent.purpose_rules import check_new_consent, granted_purposes, opt_in_answer
from consent.sql_access import SqlAccessLog
from consent.sql_rows import consent_from_row, consent_row, event_from_row, event_row
from consent.store import Clock
from consent.tables import consent_events, consent_idempotency, consents
from policies import PolicySet

IDEMPOTENCY_WINDOW = timedelta(hours=24)
SYSTEM_ACTOR_ID = "walletgate"
_RETRIES = 8
_SWEEP_BATCH = 500
_PAGE_MAX = 200  # consents in one page of a listing
NUL = "\x00"  # PostgreSQL text cannot hold it (nor be compared with it); SQLite can

Step = Callable[[Consent, datetime], lifecycle.Change]


class SqlConsentStore:
    def __init__(
        self,
        engine: AsyncEngine,
        policies: PolicySet,
        clock: Clock,
        *,
        changes: ConsentChanges | None = None,
        awaiting_authorisation_ttl: float = 3600,
    ) -> None:
        self.engine = engine
        self.policies = policies
        self.clock = clock
        self.changes = changes or ConsentChanges()
        self.awaiting_ttl = timedelta(seconds=awaiting_authorisation_ttl)
        self.access_log = SqlAccessLog(engine)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- create ---------------------------------------------------------------------------------------

    async def create(
        self, new: NewConsent, *, idempotency_key: str | None = None, body_hash: str | None = None
    ) -> Consent:
        """Create an AWAU consent; with an idempotency key, the same key and body give the same consent."""
        now = self.now()
        if idempotency_key is not None:
            earlier = await self._idempotent_replay(new.client_id, idempotency_key, body_hash or "", now)
            if earlier is not None:
                return earlier
        checked = check_new_consent(new, self.policies, now)
        consent = Consent(
            consent_id=str(uuid.uuid4()),
            client_id=checked.client_id,
            status=ConsentStatus.AWAITING_AUTHORISATION,
            permissions=checked.permissions,
            purposes=checked.purposes,
            created_at=now,
            updated_at=now,
            status_updated_at=now,
            recipients=checked.recipients,
            expires_at=checked.expires_at,
            transaction_from=checked.transaction_from,
            transaction_to=checked.transaction_to,
            frequency_per_day=checked.frequency_per_day,
        )
        event = chained_event(
            consent.consent_id,
            prev_hash=GENESIS,
            seq=1,
            at=now,
            actor=Actor.WALLET,
            actor_id=checked.client_id,
            kind="created",
            reason="",
            changes=lifecycle.created(consent),
        )
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(consents).values(**consent_row(consent), head_hash=event.hash))
                await conn.execute(insert(consent_events).values(**event_row(event)))
                if idempotency_key is not None:
                    await conn.execute(
                        insert(consent_idempotency).values(
                            client_id=new.client_id,
                            key=idempotency_key,
                            body_hash=body_hash or "",
                            consent_id=consent.consent_id,
                            created_at=now,
                        )
                    )
        except IntegrityError:
            if idempotency_key is None:
                raise
            earlier = await self._idempotent_replay(new.client_id, idempotency_key, body_hash or "", now)
            if earlier is None:
                raise
            return earlier
        await self.changes.publish(consent)
        return consent

    async def _idempotent_replay(self, client_id: str, key: str, body_hash: str, now: datetime) -> Consent | None:
        """The consent an earlier request with this key created, or None when the key is free (again)."""
        where = and_(consent_idempotency.c.client_id == client_id, consent_idempotency.c.key == key)
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(consent_idempotency).where(where))).mappings().first()
            if row is None:
                return None
            if row["created_at"] + IDEMPOTENCY_WINDOW <= now:
                await conn.execute(delete(consent_idempotency).where(where))
                return None
        if row["body_hash"] != body_hash:
            raise IdempotencyConflictError(
                f"x-idempotency-key {key!r} was already used with a different request body.",
                path="header.x-idempotency-key",
            )
        return await self.get(row["consent_id"])

    # -- reads ------------------------------------------------------------------------------------------

    async def _load(self, conn: AsyncConnection, consent_id: str) -> tuple[Consent, str]:
        if NUL in consent_id:  # no consent has such an id; PostgreSQL would refuse the query itself
            raise ConsentNotFoundError(f"No consent {consent_id!r}.", path="ConsentId")
        row = (await conn.execute(select(consents).where(consents.c.consent_id == consent_id))).mappings().first()
        if row is None:
            raise ConsentNotFoundError(f"No consent {consent_id!r}.", path="ConsentId")
        return consent_from_row(row), row["head_hash"]

    async def get(self, consent_id: str) -> Consent:
        """The consent as it stands now (a due expiry is applied and recorded first)."""
        async with self.engine.connect() as conn:
            consent, _ = await self._load(conn, consent_id)
        return await self._fresh(consent)

    async def get_for_client(self, consent_id: str, client_id: str) -> Consent:
        consent = await self.get(consent_id)
        if consent.client_id != client_id:
            raise ConsentNotFoundError(f"No consent {consent_id!r}.", path="ConsentId")
        return consent

    async def get_for_user(self, consent_id: str, user_id: str) -> Consent:
        consent = await self.get(consent_id)
        if consent.user_id != user_id:
            raise ConsentNotFoundError(f"No consent {consent_id!r}.", path="ConsentId")
        return consent

    async def _fresh(self, consent: Consent) -> Consent:
        if lifecycle.expiry_due(consent, self.now(), self.awaiting_ttl):
            return await self._expire(consent.consent_id)
        return consent

    async def list_for_client(
        self, client_id: str, *, limit: int = 50, after: ConsentPosition | None = None
    ) -> ConsentPage:
        """The client's consents, newest first, starting after ``after`` (see ``_page``)."""
        query = select(consents).where(consents.c.client_id == client_id)
        return await self._page(query, limit, after)

    async def list_for_user(
        self,
        user_id: str,
        *,
        status: str | None = None,
        client_id: str | None = None,
        purpose: str | None = None,
        limit: int = 50,
        after: ConsentPosition | None = None,
    ) -> ConsentPage:
        """The user's consents, newest first, starting after ``after`` (see ``_page``).

        The user, wallet and status filters run in SQL; the purpose (inside a JSON list, which SQLite
        and PostgreSQL query differently) and the status as read (a due expiry is applied on reading)
        are checked here, and ``_page`` reads on until the page is full."""
        if any(NUL in text for text in (user_id, status or "", client_id or "")):
            return ConsentPage(())  # nothing stored matches; PostgreSQL would refuse the query itself
        query = select(consents).where(consents.c.user_id == user_id)
        if client_id is not None:
            query = query.where(consents.c.client_id == client_id)
        if status is not None:
            query = query.where(self._reads_as(status))

        def wanted(consent: Consent) -> bool:
            return (status is None or consent.status.value == status) and (
                purpose is None or purpose in consent.purposes
            )

        return await self._page(query, limit, after, wanted)

    def _due(self, moment: datetime) -> ColumnElement[bool]:
        """Rows a read at ``moment`` expires (``lifecycle.expiry_due`` in SQL): AWAU past its wait, live past expiry."""
        return or_(
            and_(
                consents.c.status == ConsentStatus.AWAITING_AUTHORISATION.value,
                consents.c.created_at <= moment - self.awaiting_ttl,
            ),
            and_(consents.c.status.in_([s.value for s in lifecycle.LIVE]), consents.c.expires_at <= moment),
        )

    def _reads_as(self, status: str) -> ColumnElement[bool]:
        """Rows that may read as ``status``: stored so, or (for EXPD) due to expire on this read."""
        stored = consents.c.status == status
        return or_(stored, self._due(self.now())) if status == ConsentStatus.EXPIRED.value else stored

    async def _page(
        self,
        query: Any,
        limit: int,
        after: ConsentPosition | None,
        wanted: Callable[[Consent], bool] | None = None,
    ) -> ConsentPage:
        """Up to ``limit`` (at most 200) consents of ``query`` that ``wanted`` keeps once a due expiry is
        applied, those after ``after`` newest first by ``(created_at, consent_id)``, and where the next
        page starts: None only when no later consent is kept, so a page is never short while more exist.

        Reads in batches from a keyset position (the indexes on ``(user_id, created_at)`` and
        ``(client_id, created_at)`` bound the scan) until one consent more than the page is kept."""
        size = max(1, min(limit, _PAGE_MAX))
        created, key = consents.c.created_at, consents.c.consent_id
        kept: list[Consent] = []
        position = after
        while len(kept) <= size:
            batch = query.order_by(created.desc(), key.desc()).limit(size + 1)
            if position is not None:
                at = position.created_at
                batch = batch.where(created <= at, or_(created < at, key < position.consent_id))
            async with self.engine.connect() as conn:
                rows = (await conn.execute(batch)).mappings().all()
            for row in rows:
                consent = await self._fresh(consent_from_row(row))
                if wanted is None or wanted(consent):
                    kept.append(consent)
            if len(rows) <= size:
                break
            position = ConsentPosition(rows[-1]["created_at"], rows[-1]["consent_id"])
        items = tuple(kept[:size])
        last = items[-1] if len(kept) > size else None
        return ConsentPage(items, ConsentPosition(last.created_at, last.consent_id) if last else None)

    async def events(self, consent_id: str) -> list[ConsentEvent]:
        query = select(consent_events).where(consent_events.c.consent_id == consent_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(consent_events.c.seq))).mappings().all()
        return [event_from_row(r) for r in rows]

    # -- changes -----------------------------------------------------------------------------------------

    async def authorise(
        self,
        consent_id: str,
        *,
        user_id: str,
        account_ids: Sequence[str],
        actor_id: str | None = None,
        marketing_opt_in: bool = False,
    ) -> Consent:
        def step(consent: Consent, at: datetime) -> lifecycle.Change:
            purposes = granted_purposes(consent.purposes, self.policies, marketing_opt_in)
            return lifecycle.authorise(
                consent,
                user_id=user_id,
                account_ids=account_ids,
                marketing_opt_in=opt_in_answer(consent.purposes, self.policies, marketing_opt_in),
                at=at,
                purposes=purposes,
            )

        return await self._change(consent_id, step, Actor.USER, actor_id or user_id, "authorised by the user")

    async def reject(self, consent_id: str, *, user_id: str, reason: str = "") -> Consent:
        def step(consent: Consent, at: datetime) -> lifecycle.Change:
            return lifecycle.reject(consent, at=at, user_id=user_id)

        return await self._change(consent_id, step, Actor.USER, user_id, reason or "rejected by the user")

    async def revoke(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent:
        return await self._change(
            consent_id, lambda c, at: lifecycle.revoke(c, at=at), actor, actor_id, reason, owner_check=True
        )

    async def pause(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent:
        return await self._change(
            consent_id, lambda c, at: lifecycle.pause(c, at=at), actor, actor_id, reason, owner_check=True
        )

    async def resume(self, consent_id: str, *, actor: Actor, actor_id: str, reason: str = "") -> Consent:
        return await self._change(
            consent_id, lambda c, at: lifecycle.resume(c, at=at), actor, actor_id, reason, owner_check=True
        )

    async def amend(
        self,
        consent_id: str,
        *,
        actor: Actor,
        actor_id: str,
        account_ids: Sequence[str] | None = None,
        permissions: Sequence[str] | None = None,
        reason: str = "",
    ) -> Consent:
        def step(consent: Consent, at: datetime) -> lifecycle.Change:
            return lifecycle.amend(
                consent, at=at, catalogue=self.policies.permissions, account_ids=account_ids, permissions=permissions
            )

        return await self._change(consent_id, step, actor, actor_id, reason, owner_check=True)

    async def sweep_expired(self, now: datetime | None = None) -> int:
        """Expire every AWAU consent past its wait and every AUTH/PAUS consent past its expiry."""
        moment = now or self.now()
        due = self._due(moment)
        expired = 0
        while True:
            async with self.engine.connect() as conn:
                ids = (await conn.execute(select(consents.c.consent_id).where(due).limit(_SWEEP_BATCH))).scalars()
                batch = list(ids)
            for consent_id in batch:
                settled = await self._expire(consent_id, moment)
                expired += settled.status is ConsentStatus.EXPIRED
            if len(batch) < _SWEEP_BATCH:
                return expired

    async def _expire(self, consent_id: str, moment: datetime | None = None) -> Consent:
        def step(consent: Consent, at: datetime) -> lifecycle.Change:
            return lifecycle.expire(consent, at=at)

        try:
            return await self._change(
                consent_id, step, Actor.SYSTEM, SYSTEM_ACTOR_ID, "expired", at=moment, expire_first=False
            )
        except InvalidTransitionError:
            # Another request or instance settled it first (expired or revoked it): report it as it stands.
            async with self.engine.connect() as conn:
                consent, _ = await self._load(conn, consent_id)
            return consent

    async def _change(
        self,
        consent_id: str,
        step: Step,
        actor: Actor,
        actor_id: str,
        reason: str,
        *,
        owner_check: bool = False,
        at: datetime | None = None,
        expire_first: bool = True,
    ) -> Consent:
        if NUL in reason:
            raise ConsentFieldError("The reason must not contain a NUL character.", path="reason")
        for _ in range(_RETRIES):
            async with self.engine.connect() as conn:
                current, head = await self._load(conn, consent_id)
            if owner_check:
                _check_owner(current, actor, actor_id)
            moment = at or self.now()
            if expire_first and lifecycle.expiry_due(current, moment, self.awaiting_ttl):
                await self._expire(consent_id, moment)
                continue
            change = step(current, moment)
            if await self._commit(current, head, change, actor, actor_id, reason, moment):
                await self.changes.publish(change.consent)
                return change.consent
        raise ConcurrentChangeError(f"Consent {consent_id!r} changed concurrently too often; retry.")

    async def _commit(
        self,
        current: Consent,
        head: str,
        change: lifecycle.Change,
        actor: Actor,
        actor_id: str,
        reason: str,
        at: datetime,
    ) -> bool:
        updated = change.consent
        event = chained_event(
            updated.consent_id,
            prev_hash=head,
            seq=updated.version,
            at=at,
            actor=actor,
            actor_id=actor_id,
            kind=change.kind,
            reason=reason,
            changes=change.changes,
        )
        values = consent_row(updated) | {"head_hash": event.hash}
        where = and_(consents.c.consent_id == current.consent_id, consents.c.version == current.version)
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(update(consents).where(where).values(**values))
                if result.rowcount != 1:
                    await conn.rollback()
                    return False
                await conn.execute(insert(consent_events).values(**event_row(event)))
        except IntegrityError:
            return False
        return True

    # -- chain ---------------------------------------------------------------------------------------------

    async def verify_chain(self) -> ChainBreak | None:
        """Recompute every event's hash; the first event (by consent, then sequence) that does not hold."""
        return await first_break(self.engine)

    # -- access records -----------------------------------------------------------------------------------

    async def record_access(self, records: Sequence[AccessRecord]) -> None:
        """Write the gateway's audit records (one batched insert)."""
        await self.access_log.record(records)

    async def access_history(
        self,
        *,
        consent_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        after: AccessPosition | None = None,
    ) -> AccessPage:
        """A page of the access history, newest first, starting after ``after`` (see ``SqlAccessLog.history``)."""
        return await self.access_log.history(consent_id=consent_id, user_id=user_id, limit=limit, after=after)


def _check_owner(consent: Consent, actor: Actor, actor_id: str) -> None:
    """A wallet or user acting on a consent that is not theirs sees the same 404 as for an unknown id."""
    owner = {Actor.WALLET: consent.client_id, Actor.USER: consent.user_id}.get(actor, actor_id)
    if owner != actor_id:
        raise ConsentNotFoundError(f"No consent {consent.consent_id!r}.", path="ConsentId")
