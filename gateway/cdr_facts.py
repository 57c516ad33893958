"""Read the facts of the CDR metrics report (``cdr_metrics.Facts``) from the gateway's database.

Access records give the calls (and per-month call and 5xx counts), access tokens the sessions
(issue time = expiry - access-token TTL), consent events the authorisation counts, and the
consents table the active authorisations, customers and recipients.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consent.tables import access_records, consent_events, consents
from gateway.cdr_metrics import CallFact, Facts, Span, classify
from gateway.oauth.tables import access_tokens


async def load(
    engine: AsyncEngine, now: datetime, *, tiers: Mapping[tuple[str, str], str], access_token_ttl: float
) -> Facts:
    """Read the facts for the report at ``now``; ``tiers`` maps (api, operationId) to the policy's ``cdr_tier``."""
    async with engine.connect() as conn:
        since = await _first_fact(conn)
        span = Span.at(now, since)
        start, end = span.start, span.now
        rows = await conn.execute(
            select(
                access_records.c.at,
                access_records.c.latency_ms,
                access_records.c.status,
                access_records.c.api,
                access_records.c.operation_id,
                access_records.c.attended,
            ).where(access_records.c.at >= start, access_records.c.at < end)
        )
        calls = [
            CallFact(at, float(ms), int(status), classify(tiers.get((api, op)), bool(attended)))
            for at, ms, status, api, op, attended in rows
        ]
        months = await _month_counts(conn, span)
        issued = await conn.execute(
            select(access_tokens.c.expires_at).where(
                access_tokens.c.expires_at >= start.timestamp() + access_token_ttl,
                access_tokens.c.expires_at < end.timestamp() + access_token_ttl,
            )
        )
        sessions = [datetime.fromtimestamp(float(exp) - access_token_ttl, UTC) for (exp,) in issued]
        events = await _events(conn, start, end)
        active, customers, recipients = (await conn.execute(_active_consents(end))).one()
    return Facts(calls, months, sessions, events, int(active), int(customers), int(recipients), since)


async def _first_fact(conn: AsyncConnection) -> datetime | None:
    firsts = [
        await conn.scalar(select(func.min(access_records.c.at))),
        await conn.scalar(select(func.min(consent_events.c.at))),
    ]
    known = [at if at.tzinfo else at.replace(tzinfo=UTC) for at in firsts if at is not None]
    return min(known, default=None)


async def _month_counts(conn: AsyncConnection, span: Span) -> dict[datetime, tuple[int, int]]:
    """Calls and 5xx answers per month, in one pass over the table."""
    at, status = access_records.c.at, access_records.c.status
    columns = []
    for month in span.months:
        inside = and_(at >= month, at < span.month_end(month))
        columns.append(func.coalesce(func.sum(case((inside, 1), else_=0)), 0))
        columns.append(func.coalesce(func.sum(case((and_(inside, status >= 500), 1), else_=0)), 0))
    row = (await conn.execute(select(*columns).where(at >= span.months[-1], at < span.now))).one()
    return {month: (int(row[2 * i]), int(row[2 * i + 1])) for i, month in enumerate(span.months)}


async def _events(conn: AsyncConnection, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Consent events by kind; a revocation or expiry before authorisation is an ``abandoned`` flow."""
    found = await conn.execute(
        select(consent_events.c.at, consent_events.c.kind, consent_events.c.changes).where(
            consent_events.c.at >= start,
            consent_events.c.at < end,
            consent_events.c.kind.in_(("authorised", "revoked", "amended", "expired", "rejected")),
        )
    )
    events = []
    for at, kind, changes in found:
        before = ((changes or {}).get("status") or [None])[0]
        events.append((at, "abandoned" if kind in ("revoked", "expired") and before == "AWAU" else str(kind)))
    return events


def _active_consents(now: datetime) -> Select[int, int, int]:
    """Active consents, and the distinct customers and wallets holding them, at ``now``."""
    return select(
        func.count(), func.count(func.distinct(consents.c.user_id)), func.count(func.distinct(consents.c.client_id))
    ).where(
        consents.c.status.in_(("AUTH", "PAUS")),
        consents.c.created_at <= now,
        or_(consents.c.expires_at.is_(None), consents.c.expires_at > now),
    )
