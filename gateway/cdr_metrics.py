"""The regulatory report, in the shape of Australia's CDR Get Metrics, from the gateway's own data.

``compute`` is pure: it turns the facts of one period (answered calls, access-token issuances,
consent events, the active-consent count) into the report. ``load`` reads those facts from the
database; ``report`` does both. Every figure is derived from rows the gateway already writes:

- ``availability``: share of answered calls not answered with a 5xx (the gateway records no outage
  windows, so availability is measured on calls, not on probes); ``null`` for a day with no calls.
- ``performance``: per UTC hour, the share of calls answered within each CDR response-time threshold
  (1000 ms high priority, 1500 ms low priority/unauthenticated, 4000 ms unattended, 6000 ms large payload).
- ``invocations``, ``averageResponse`` (ms), ``errors`` (5xx by status), ``rejections`` (429, refused by
  the traffic limits): per UTC day and for the whole period, from ``access_records``.
- ``averageTps`` (calls / seconds of the day inside the period) and ``peakTps`` (most calls in one second).
- ``sessionCount``: access tokens issued (``oauth_access_tokens``; issue time = expiry - access-token TTL).
  Expired token rows are swept in the background, so old days undercount: run the report for recent periods.
- ``authorisations``: consents active (AUTH or PAUS, not lapsed) at the end of the period, and the
  ``authorised`` / ``revoked`` / ``expired`` consent events inside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consent.tables import access_records, consent_events, consents
from gateway.oauth.tables import access_tokens

TIERS_MS: tuple[int, ...] = (1000, 1500, 4000, 6000)
DEFAULT_DAYS = 8  # the CDR's "current day" and the seven before it


@dataclass(frozen=True)
class CallFact:
    at: datetime
    latency_ms: float
    status: int


@dataclass(frozen=True)
class Facts:
    calls: Sequence[CallFact] = ()
    sessions: Sequence[datetime] = ()  # when each access token was issued
    events: Sequence[tuple[datetime, str]] = ()  # (at, kind) of consent events
    active_authorisations: int = 0


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime
    days: list[datetime] = field(init=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("the period's ends must carry a timezone")
        if self.end <= self.start:
            raise ValueError("the period must end after it starts")
        first = _floor_day(self.start)
        days = [
            first + timedelta(days=i)
            for i in range((_floor_day(self.end - timedelta(microseconds=1)) - first).days + 1)
        ]
        object.__setattr__(self, "days", days)

    @classmethod
    def default(cls, now: datetime) -> Period:
        return cls(_floor_day(now) - timedelta(days=DEFAULT_DAYS - 1), now)

    def seconds_in(self, day: datetime) -> float:
        return (min(self.end, day + timedelta(days=1)) - max(self.start, day)).total_seconds()


def _floor_day(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _by_day(period: Period, items: Iterable[datetime]) -> list[int]:
    counts = Counter(_floor_day(at) for at in items)
    return [counts.get(day, 0) for day in period.days]


def compute(facts: Facts, period: Period, request_time: datetime) -> dict[str, Any]:
    """The report for ``period`` from ``facts`` (facts outside the period are ignored)."""
    calls = [c for c in facts.calls if period.start <= c.at < period.end]
    day_calls: dict[datetime, list[CallFact]] = {day: [] for day in period.days}
    for call in calls:
        day_calls[_floor_day(call.at)].append(call)
    dates = [day.date().isoformat() for day in period.days]
    total_seconds = (period.end - period.start).total_seconds()
    per_second = Counter(int(c.at.timestamp()) for c in calls)
    errors = Counter(c.status for c in calls if c.status >= 500)
    sessions = [at for at in facts.sessions if period.start <= at < period.end]
    events = Counter(kind for at, kind in facts.events if period.start <= at < period.end)

    def day_series(values: list[Any], name: str) -> list[dict[str, Any]]:
        return [{"date": date, name: value} for date, value in zip(dates, values, strict=True)]

    def availability(group: Sequence[CallFact]) -> float | None:
        return _ratio(sum(1 for c in group if c.status < 500), len(group))

    def average(group: Sequence[CallFact]) -> float | None:
        return round(sum(c.latency_ms for c in group) / len(group), 3) if group else None

    def peak(group: Sequence[CallFact]) -> int:
        return max(Counter(int(c.at.timestamp()) for c in group).values(), default=0)

    return {
        "data": {
            "requestTime": _iso(request_time),
            "period": {"from": _iso(period.start), "to": _iso(period.end)},
            "availability": {
                "aggregate": availability(calls),
                "days": day_series([availability(day_calls[d]) for d in period.days], "availability"),
            },
            "performance": {"thresholdsMs": list(TIERS_MS), "hours": _performance(calls)},
            "invocations": {
                "total": len(calls),
                "days": day_series([len(day_calls[d]) for d in period.days], "count"),
            },
            "averageResponse": {
                "aggregate": average(calls),
                "days": day_series([average(day_calls[d]) for d in period.days], "milliseconds"),
            },
            "sessionCount": {"total": len(sessions), "days": day_series(_by_day(period, sessions), "count")},
            "averageTps": {
                "aggregate": round(len(calls) / total_seconds, 6),
                "days": day_series([round(len(day_calls[d]) / period.seconds_in(d), 6) for d in period.days], "tps"),
            },
            "peakTps": {
                "aggregate": max(per_second.values(), default=0),
                "days": day_series([peak(day_calls[d]) for d in period.days], "tps"),
            },
            "errors": {
                "total": sum(errors.values()),
                "byStatus": {str(status): errors[status] for status in sorted(errors)},
                "days": day_series(_by_day(period, (c.at for c in calls if c.status >= 500)), "count"),
            },
            "rejections": {
                "total": sum(1 for c in calls if c.status == 429),
                "days": day_series(_by_day(period, (c.at for c in calls if c.status == 429)), "count"),
            },
            "authorisations": {
                "activeAuthorisationCount": facts.active_authorisations,
                "newAuthorisationCount": events["authorised"],
                "revokedAuthorisationCount": events["revoked"],
                "expiredAuthorisationCount": events["expired"],
            },
        },
        "meta": {},
    }


def _performance(calls: Sequence[CallFact]) -> list[dict[str, Any]]:
    hours: dict[datetime, list[float]] = {}
    for call in calls:
        at = call.at.astimezone(UTC)
        hours.setdefault(at.replace(minute=0, second=0, microsecond=0), []).append(call.latency_ms)
    out = []
    for hour in sorted(hours):
        latencies = hours[hour]
        within = {str(t): _ratio(sum(1 for ms in latencies if ms <= t), len(latencies)) for t in TIERS_MS}
        out.append({"hour": _iso(hour), "invocations": len(latencies), "withinThreshold": within})
    return out


async def load(engine: AsyncEngine, period: Period, access_token_ttl: float) -> Facts:
    """Read the period's facts (and the consents still active at its end) from the database."""
    start, end = period.start, period.end
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(access_records.c.at, access_records.c.latency_ms, access_records.c.status).where(
                access_records.c.at >= start, access_records.c.at < end
            )
        )
        calls = [CallFact(at, float(latency), int(status)) for at, latency, status in rows]
        issued = await conn.execute(
            select(access_tokens.c.expires_at).where(
                access_tokens.c.expires_at >= start.timestamp() + access_token_ttl,
                access_tokens.c.expires_at < end.timestamp() + access_token_ttl,
            )
        )
        sessions = [datetime.fromtimestamp(float(exp) - access_token_ttl, UTC) for (exp,) in issued]
        found = await conn.execute(
            select(consent_events.c.at, consent_events.c.kind).where(
                consent_events.c.at >= start,
                consent_events.c.at < end,
                consent_events.c.kind.in_(("authorised", "revoked", "expired")),
            )
        )
        events = [(at, str(kind)) for at, kind in found]
        active = await conn.scalar(
            select(func.count()).where(
                consents.c.status.in_(("AUTH", "PAUS")),
                consents.c.created_at < end,
                or_(consents.c.expires_at.is_(None), and_(consents.c.expires_at > end)),
            )
        )
    return Facts(calls, sessions, events, int(active or 0))


async def report(
    engine: AsyncEngine, period: Period, *, access_token_ttl: float, request_time: datetime
) -> dict[str, Any]:
    return compute(await load(engine, period, access_token_ttl), period, request_time)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant or date (``2026-11-23``, ``2026-11-23T10:00:00Z``); naive means UTC."""
    at = datetime.fromisoformat(text.strip())
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def period_from(start: str | None, end: str | None, now: datetime) -> Period:
    """The period named by optional ``from``/``to`` texts; ``ValueError`` names the one that is wrong."""
    to = now if end is None else _parse_named(end, "to")
    since = Period.default(to).start if start is None else _parse_named(start, "from")
    if to <= since:
        raise ValueError("from: must be before to")
    return Period(since, to)


def _parse_named(text: str, name: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an ISO 8601 date or instant") from None
