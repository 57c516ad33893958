"""The hash chain over a consent's events: each event's hash covers its content and the previous hash.

Altering, removing or reordering any stored event (or the tail of a chain, which the consent row's
``head_hash`` pins) changes a hash that ``verify_chain`` recomputes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from consent.model import Actor, ConsentEvent

GENESIS = ""


def canonical(content: object) -> bytes:
    """Sorted-key, compact JSON: the same content always gives the same bytes."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def event_hash(
    *,
    consent_id: str,
    seq: int,
    at: datetime,
    actor: str,
    actor_id: str,
    kind: str,
    reason: str,
    changes: Mapping[str, object],
    prev_hash: str,
) -> str:
    content = {
        "consent_id": consent_id,
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "kind": kind,
        "reason": reason,
        "changes": dict(changes),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(content)).hexdigest()


def chained_event(
    consent_id: str,
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: Actor,
    actor_id: str,
    kind: str,
    reason: str,
    changes: Mapping[str, object],
) -> ConsentEvent:
    """The next event of a consent's chain, its hash computed over its content and ``prev_hash``."""
    at = at.astimezone(UTC)
    content = dict(changes)
    digest = event_hash(
        consent_id=consent_id,
        seq=seq,
        at=at,
        actor=actor.value,
        actor_id=actor_id,
        kind=kind,
        reason=reason,
        changes=content,
        prev_hash=prev_hash,
    )
    return ConsentEvent(consent_id, seq, at, actor, actor_id, kind, reason, content, prev_hash, digest)
