"""Walk every consent's event chain in the database and report the first link that does not hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consent.chain import GENESIS, event_hash
from consent.model import ChainBreak
from consent.tables import consent_events, consents


@dataclass(slots=True)
class _Walk:
    """Where the walk is within the current consent's chain."""

    consent_id: str = ""
    version: int = 0
    head_hash: str = ""
    seq: int = 0
    prev: str = GENESIS

    def finish(self) -> ChainBreak | None:
        if not self.consent_id:
            return None
        if self.seq != self.version:
            return ChainBreak(
                self.consent_id, self.seq + 1, f"event {self.seq + 1} is missing (version {self.version})"
            )
        if self.prev != self.head_hash:
            return ChainBreak(self.consent_id, self.seq, "the newest event's hash does not match the consent's head")
        return None


def _check(walk: _Walk, row: Any) -> ChainBreak | None:
    seq = row.seq
    if seq != walk.seq + 1:
        return ChainBreak(walk.consent_id, walk.seq + 1, f"event {walk.seq + 1} is missing (found {seq} next)")
    if row.prev_hash != walk.prev:
        return ChainBreak(walk.consent_id, seq, "prev_hash does not match the previous event's hash")
    expected = event_hash(
        consent_id=row.consent_id,
        seq=seq,
        at=row.at,
        actor=row.actor,
        actor_id=row.actor_id,
        kind=row.kind,
        reason=row.reason,
        changes=row.changes,
        prev_hash=row.prev_hash,
    )
    if row.hash != expected:
        return ChainBreak(walk.consent_id, seq, "the event's content does not match its hash")
    walk.seq, walk.prev = seq, row.hash
    return None


async def first_break(engine: AsyncEngine) -> ChainBreak | None:
    query = (
        select(
            consents.c.consent_id.label("owner"),
            consents.c.version,
            consents.c.head_hash,
            consent_events,
        )
        .select_from(consents.outerjoin(consent_events, consent_events.c.consent_id == consents.c.consent_id))
        .order_by(consents.c.consent_id, consent_events.c.seq)
    )
    walk = _Walk()
    async with engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=2000))
        async for row in result:
            if row.owner != walk.consent_id:
                broken = walk.finish()
                if broken:
                    return broken
                walk = _Walk(row.owner, row.version, row.head_hash)
            if row.seq is None:
                continue
            broken = _check(walk, row)
            if broken:
                return broken
    return walk.finish()
