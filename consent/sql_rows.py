"""Map consent values to table rows and back (JSON lists for sets and tuples)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from consent.model import AccessRecord, Actor, Consent, ConsentEvent, ConsentStatus


def consent_row(consent: Consent) -> dict[str, Any]:
    return {
        "consent_id": consent.consent_id,
        "client_id": consent.client_id,
        "user_id": consent.user_id,
        "status": consent.status.value,
        "permissions": sorted(consent.permissions),
        "purposes": list(consent.purposes),
        "account_ids": list(consent.account_ids),
        "recipients": list(consent.recipients),
        "created_at": consent.created_at,
        "updated_at": consent.updated_at,
        "status_updated_at": consent.status_updated_at,
        "expires_at": consent.expires_at,
        "transaction_from": consent.transaction_from,
        "transaction_to": consent.transaction_to,
        "frequency_per_day": consent.frequency_per_day,
        "marketing_opt_in": consent.marketing_opt_in,
        "version": consent.version,
    }


def consent_from_row(row: Mapping[Any, Any]) -> Consent:
    return Consent(
        consent_id=row["consent_id"],
        client_id=row["client_id"],
        status=ConsentStatus(row["status"]),
        permissions=frozenset(row["permissions"]),
        purposes=tuple(row["purposes"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status_updated_at=row["status_updated_at"],
        user_id=row["user_id"],
        account_ids=tuple(row["account_ids"]),
        recipients=tuple(row["recipients"]),
        expires_at=row["expires_at"],
        transaction_from=row["transaction_from"],
        transaction_to=row["transaction_to"],
        frequency_per_day=row["frequency_per_day"],
        marketing_opt_in=row["marketing_opt_in"],
        version=row["version"],
    )


def event_row(event: ConsentEvent) -> dict[str, Any]:
    return {
        "consent_id": event.consent_id,
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor.value,
        "actor_id": event.actor_id,
        "kind": event.kind,
        "reason": event.reason,
        "changes": event.changes,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def event_from_row(row: Mapping[Any, Any]) -> ConsentEvent:
    return ConsentEvent(
        consent_id=row["consent_id"],
        seq=row["seq"],
        at=row["at"],
        actor=Actor(row["actor"]),
        actor_id=row["actor_id"],
        kind=row["kind"],
        reason=row["reason"],
        changes=dict(row["changes"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def access_row(record: AccessRecord) -> dict[str, Any]:
    return {
        "interaction_id": record.interaction_id,
        "at": record.at,
        "client_id": record.client_id,
        "consent_id": record.consent_id,
        "user_id": record.user_id,
        "api": record.api,
        "operation_id": record.operation_id,
        "method": record.method,
        "path": record.path,
        "account_ids": list(record.account_ids),
        "status": record.status,
        "response_bytes": record.response_bytes,
        "latency_ms": record.latency_ms,
        "record_count": record.record_count,
        "attended": record.attended,
        "complete": record.complete,
    }


ACCESS_COPY_COLUMNS = (
    "interaction_id",
    "at",
    "client_id",
    "consent_id",
    "user_id",
    "api",
    "operation_id",
    "method",
    "path",
    "account_ids",
    "status",
    "response_bytes",
    "latency_ms",
    "record_count",
    "attended",
    "complete",
)


def access_copy_row(record: AccessRecord) -> tuple[Any, ...]:
    """``access_row`` as a tuple in ``ACCESS_COPY_COLUMNS`` order, JSON as text, for PostgreSQL's ``COPY``.

    Built directly, not from ``access_row``: the audit writer makes 200 at a time on the event loop,
    and the detour through a dict took 1.3 µs a row instead of 0.2 (tests compare the two)."""
    if record.at.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return (
        record.interaction_id,
        record.at,
        record.client_id,
        record.consent_id,
        record.user_id,
        record.api,
        record.operation_id,
        record.method,
        record.path,
        orjson.dumps(record.account_ids).decode(),
        record.status,
        record.response_bytes,
        record.latency_ms,
        record.record_count,
        record.attended,
        record.complete,
    )


def access_from_row(row: Mapping[Any, Any]) -> AccessRecord:
    return AccessRecord(
        interaction_id=row["interaction_id"],
        at=row["at"],
        client_id=row["client_id"],
        consent_id=row["consent_id"],
        user_id=row["user_id"],
        api=row["api"],
        operation_id=row["operation_id"],
        method=row["method"],
        path=row["path"],
        account_ids=tuple(row["account_ids"]),
        status=row["status"],
        response_bytes=row["response_bytes"],
        latency_ms=row["latency_ms"],
        record_count=row["record_count"],
        attended=bool(row["attended"]),
        complete=bool(row["complete"]),
    )
