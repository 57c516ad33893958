"""The regulatory report: Australia's CDR Get Metrics response (v5), from the gateway's own data.

Shape: the CDR Standards' Admin API, Get Metrics endpoint version 5 (``GET /admin/metrics``,
``x-v: 5``, response ``ResponseMetricsListV5`` with ``AvailabilityMetricsV2``,
``PerformanceMetricsV3``, ``InvocationMetricsV3``, ``AverageResponseMetricsV2``,
``SessionCountMetricsV2``, ``AverageTPSMetricsV2``, ``PeakTPSMetricsV2``, ``ErrorMetricsV2``,
``RejectionMetricsV3``, ``SecondaryHolderMetricsV2``, ``AuthorisationMetricsV2``), as published in
ConsumerDataStandardsAustralia/standards (the Admin API page's Get Metrics section, "Version 5,
MUST be implemented by May 13th 2024"); tiers and thresholds from its NFRs
(``slate/source/includes/nfrs/_performance-requirements.md``); ``RateString`` from its common
field types (``slate/source/includes/standards/_types.md``).

``compute`` is pure: the facts (calls since the first previous day, per-month call counts,
access-token issuances, consent events, the counts of active consents) and the clock give the
report. ``cdr_facts.load`` reads the facts from the database; ``report`` does both.

Windows, all in UTC (the CDR leaves the time zone to the holder, if consistent): ``currentDay`` is
today so far, ``previousDays`` yesterday first, ``currentMonth``/``previousMonths`` calendar months,
last month first. History goes back at most 7 days / 12 months, and no further than the first
access record or consent event the gateway holds ("if available"): a fresh gateway reports empty
``previous*`` lists rather than invented zeros. ``period`` is CURRENT (only ``current*``),
HISTORIC (only ``previous*``) or ALL.

How each figure is computed:

- Tiers. A recorded call is high priority, low priority or large payload by its operation's
  ``cdr_tier`` (``policies/apis.py``; an operation no longer published counts as low priority);
  a call without the customer present (no ``x-fapi-customer-ip-address``, ``attended`` false) is
  unattended unless it is large payload, which the CDR applies to any call. Thresholds (ms): high
  1000, low 1500, unattended 4000, large payload 6000, unauthenticated 1500.
- ``availability``: share of calls not answered with a 5xx in each month (the gateway records no
  outage windows, so availability is measured on calls). ``aggregate`` equals ``authenticated``.
- ``performance``: share of calls answered within their tier's threshold: ``aggregate`` per day,
  each tier per hour (``currentDay`` has one entry per hour begun so far, a previous day 24).
- Rates are ``RateString`` texts, truncated (never rounded up) to four decimals: ``"0.6666"``,
  ``"1.0"``. A window in which no call was recorded has no failed or slow call: ``"1.0"``.
- ``invocations``, ``averageResponse`` (seconds, at millisecond resolution; 0 for no calls),
  ``averageTps`` (calls / seconds of the day elapsed), ``peakTps`` (most calls in one second),
  ``errors`` (5xx, by status code), ``rejections`` (429, refused by the traffic limits).
- ``sessionCount``: access tokens issued (``oauth_access_tokens``; issue time = expiry - access-token
  TTL). Expired token rows are swept in the background, so a previous day may undercount.
- ``customerCount`` / ``recipientCount``: distinct users / wallets (software products) with an
  active consent (Authorised or Paused, not lapsed) now; ``activeAuthorisationCount`` counts them.
- ``authorisations``: per day, ``authorised``, ``revoked``, ``amended`` and ``expired`` consent
  events (revocation or expiry of a consent that was never authorised is an abandoned flow, not a
  revoked or expired authorisation). ``abandonedConsentFlowCount``: consents rejected by the user,
  or revoked or expired while awaiting authorisation.

What the gateway cannot observe is reported as the schema's zero or empty value:

- Unauthenticated traffic: calls the gateway answers without a token (discovery, JWKS) are not
  recorded, so every ``unauthenticated`` count and TPS is 0, its error maps empty, and its rates
  are absent (``currentMonth`` left out, empty lists) rather than claiming 0% or 100%.
- ``nonIndividual`` customers (the gateway does not know a customer's type; all are individual)
  and ``onceOff`` authorisations (the gateway has no single-use consent: every one is ongoing).
- Shared-responsibility tiers (``secondary``, ``largeSecondary``, ``secondaryHolder``): the gateway
  is not a secondary data holder; reported as zero.
- Abandonment stages before the user's answer (``preIdentification``, ``preAuthentication``,
  ``preAccountSelection``, ``preAuthorisation``) and ``failedTokenExchange``: the gateway cannot tell
  at which step a flow stopped, so they are 0 and only ``rejected`` is counted by stage; the
  stages may therefore sum to less than ``abandonedConsentFlowCount``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

Tier = Literal["unauthenticated", "highPriority", "lowPriority", "unattended", "largePayload"]
Mode = Literal["CURRENT", "HISTORIC", "ALL"]
MODES: tuple[Mode, ...] = ("CURRENT", "HISTORIC", "ALL")
THRESHOLDS_MS: Mapping[Tier, int] = {
    "unauthenticated": 1500,
    "highPriority": 1000,
    "lowPriority": 1500,
    "unattended": 4000,
    "largePayload": 6000,
}
TIERS: tuple[Tier, ...] = tuple(THRESHOLDS_MS)
PREVIOUS_DAYS, PREVIOUS_MONTHS = 7, 12
_POLICY_TIERS: Mapping[str, Tier] = {
    "high-priority": "highPriority",
    "low-priority": "lowPriority",
    "large-payload": "largePayload",
}
_DAY, _HOUR = timedelta(days=1), timedelta(hours=1)
T = TypeVar("T")


def parse_mode(text: str | None) -> Mode:
    """The ``period`` parameter (absent: ALL); ``ValueError`` names the accepted values."""
    if text is None:
        return "ALL"
    for mode in MODES:
        if text == mode:
            return mode
    raise ValueError(f"period: {text!r} is not one of {', '.join(MODES)}")


def classify(cdr_tier: str | None, attended: bool) -> Tier:
    """The CDR tier of one authenticated call to an operation of ``cdr_tier`` (None: low priority)."""
    tier = _POLICY_TIERS.get(cdr_tier or "", "lowPriority")
    return tier if attended or tier == "largePayload" else "unattended"


def rate(part: int, whole: int) -> str:
    """A CDR ``RateString``: ``part / whole`` truncated to four decimals; ``"1.0"`` when ``whole`` is 0."""
    if not whole:
        return "1.0"
    text = str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)).rstrip("0")
    return text + "0" if text.endswith(".") else text


@dataclass(frozen=True, slots=True)
class CallFact:
    at: datetime
    latency_ms: float
    status: int
    tier: Tier = "lowPriority"

    @property
    def within(self) -> bool:
        return self.latency_ms <= THRESHOLDS_MS[self.tier]


@dataclass(frozen=True, slots=True)
class Facts:
    calls: Sequence[CallFact] = ()  # recorded calls since the first previous day
    months: Mapping[datetime, tuple[int, int]] = field(default_factory=dict)  # month start: (calls, 5xx)
    sessions: Sequence[datetime] = ()  # when each access token was issued
    events: Sequence[tuple[datetime, str]] = ()  # authorised, revoked, amended, expired, rejected, abandoned
    active_authorisations: int = 0
    customers: int = 0
    recipients: int = 0
    since: datetime | None = None  # the first access record or consent event the gateway holds


def floor_day(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def floor_month(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _month_before(month: datetime) -> datetime:
    return floor_month(month - _DAY)


@dataclass(frozen=True, slots=True)
class Span:
    """The report's windows at ``now``: today and this month so far, and the previous ones with data."""

    now: datetime
    days: tuple[datetime, ...]  # today first, then yesterday and back
    months: tuple[datetime, ...]  # this month first, then last month and back

    @classmethod
    def at(cls, now: datetime, since: datetime | None) -> Span:
        now = now.astimezone(UTC)
        first = floor_day(since) if since is not None and since <= now else floor_day(now)
        today = floor_day(now)
        days = [today - timedelta(days=i) for i in range(PREVIOUS_DAYS + 1)]
        months = [floor_month(now)]
        while len(months) <= PREVIOUS_MONTHS and months[-1] > floor_month(first):
            months.append(_month_before(months[-1]))
        return cls(now, tuple(d for d in days if d >= first), tuple(months))

    @property
    def start(self) -> datetime:
        """The first instant the day figures need."""
        return self.days[-1]

    def day_end(self, day: datetime) -> datetime:
        return min(day + _DAY, self.now)

    def month_end(self, month: datetime) -> datetime:
        return min(floor_month(month + timedelta(days=32)), self.now)


def _pick(mode: Mode, current: Any, previous: list[Any], names: tuple[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if mode != "HISTORIC":
        out[names[0]] = current
    if mode != "CURRENT":
        out[names[1]] = previous
    return out


class _Days:
    """Day series over the span: ``{"currentDay": f(today), "previousDays": [f(yesterday), ...]}``."""

    def __init__(self, span: Span, mode: Mode, facts: Facts) -> None:
        self.span, self.mode = span, mode
        self.calls: dict[datetime, list[CallFact]] = {day: [] for day in span.days}
        for call in facts.calls:
            if span.start <= call.at < span.now:
                self.calls[floor_day(call.at)].append(call)

    def series(self, f: Callable[[datetime], T]) -> dict[str, Any]:
        values = [f(day) for day in self.span.days]
        return _pick(self.mode, values[0], values[1:], ("currentDay", "previousDays"))

    def counts(self, keep: Callable[[CallFact], bool]) -> dict[str, Any]:
        return self.series(lambda day: sum(1 for c in self.calls[day] if keep(c)))

    def tally(self, items: Iterable[datetime]) -> Callable[[datetime], int]:
        counts = Counter(floor_day(at) for at in items if self.span.start <= at < self.span.now)
        return lambda day: counts.get(day, 0)

    def hours(self, day: datetime, tier: Tier) -> list[str]:
        hours = int((self.span.day_end(day) - day) / _HOUR) + (1 if day == self.span.days[0] else 0)
        hours = min(hours, 24)
        per_hour: list[list[CallFact]] = [[] for _ in range(hours)]
        for call in self.calls[day]:
            if call.tier == tier:
                per_hour[int((call.at - day) / _HOUR)].append(call)
        return [rate(sum(1 for c in group if c.within), len(group)) for group in per_hour]


def _zeros(days: _Days) -> dict[str, Any]:
    return days.series(lambda _: 0)


def compute(facts: Facts, now: datetime, mode: Mode = "ALL", *, self_url: str) -> dict[str, Any]:
    """The ``ResponseMetricsListV5`` document at ``now`` from ``facts``."""
    span = Span.at(now, facts.since)
    days = _Days(span, mode, facts)
    return {
        "data": {
            "requestTime": _iso(span.now),
            "availability": _availability(facts, span, mode),
            "performance": _performance(days),
            "invocations": {
                **{tier: days.counts(_in_tier(tier)) for tier in TIERS},
                "secondary": _zeros(days),
                "largeSecondary": _zeros(days),
            },
            "averageResponse": _average_response(days),
            "sessionCount": days.series(days.tally(facts.sessions)),
            "averageTps": _authenticated_split(days, lambda day: _average_tps(days, day)),
            "peakTps": _authenticated_split(days, lambda day: _peak_tps(days.calls[day])),
            "errors": {
                "aggregate": days.counts(lambda c: c.status >= 500),
                "unauthenticated": days.series(lambda _: {}),
                "authenticated": days.series(lambda day: _by_status(days.calls[day])),
            },
            "rejections": {
                "authenticated": days.counts(lambda c: c.status == 429),
                "unauthenticated": _zeros(days),
            },
            "customerCount": facts.customers,
            "recipientCount": facts.recipients,
            "secondaryHolder": {"errors": _zeros(days), "rejections": _zeros(days)},
            "authorisations": _authorisations(facts, days),
        },
        "links": {"self": self_url},
        "meta": {},
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _availability(facts: Facts, span: Span, mode: Mode) -> dict[str, Any]:
    rates = [rate(calls - failed, calls) for calls, failed in (facts.months.get(m, (0, 0)) for m in span.months)]
    measured = _pick(mode, rates[0], rates[1:], ("currentMonth", "previousMonths"))
    unmeasured: dict[str, list[str]] = {"previousMonths": []} if mode != "CURRENT" else {}
    return {"aggregate": measured, "unauthenticated": unmeasured, "authenticated": dict(measured)}


def _performance(days: _Days) -> dict[str, Any]:
    out: dict[str, Any] = {
        "aggregate": days.series(lambda day: rate(sum(1 for c in days.calls[day] if c.within), len(days.calls[day])))
    }
    for tier in TIERS:
        if tier == "unauthenticated":
            out[tier] = days.series(lambda _: [])
        else:
            out[tier] = days.series(partial(days.hours, tier=tier))
    unused = {"primary": _empty_hours(days), "secondary": _empty_hours(days)}
    return {**out, "secondary": unused, "largeSecondary": unused}


def _empty_hours(days: _Days) -> dict[str, Any]:
    return days.series(lambda _: [])


def _in_tier(tier: Tier) -> Callable[[CallFact], bool]:
    return lambda call: call.tier == tier


def _average_seconds(days: _Days, day: datetime, tier: Tier) -> float:
    group = [c.latency_ms for c in days.calls[day] if c.tier == tier]
    return round(sum(group) / len(group) / 1000, 3) if group else 0


def _average_response(days: _Days) -> dict[str, Any]:
    out: dict[str, Any] = {tier: days.series(partial(_average_seconds, days, tier=tier)) for tier in TIERS}
    unused = {"primary": _zeros(days), "secondary": _zeros(days)}
    return {**out, "secondary": unused, "largeSecondary": unused}


def _authenticated_split(days: _Days, f: Callable[[datetime], float]) -> dict[str, Any]:
    measured = days.series(f)
    return {"aggregate": measured, "unauthenticated": _zeros(days), "authenticated": dict(measured)}


def _average_tps(days: _Days, day: datetime) -> float:
    seconds = (days.span.day_end(day) - day).total_seconds()
    return round(len(days.calls[day]) / seconds, 6) if seconds > 0 else 0


def _peak_tps(calls: Sequence[CallFact]) -> int:
    return max(Counter(int(c.at.timestamp()) for c in calls).values(), default=0)


def _by_status(calls: Sequence[CallFact]) -> dict[str, int]:
    errors = Counter(c.status for c in calls if c.status >= 500)
    return {str(status): errors[status] for status in sorted(errors)}


def _authorisations(facts: Facts, days: _Days) -> dict[str, Any]:
    def events(*kinds: str) -> Callable[[datetime], int]:
        return days.tally(at for at, kind in facts.events if kind in kinds)

    def people(f: Callable[[datetime], int]) -> Callable[[datetime], dict[str, int]]:
        return lambda day: {"individual": f(day), "nonIndividual": 0}

    new = people(events("authorised"))
    stages = ("preIdentification", "preAuthentication", "preAccountSelection", "preAuthorisation")
    return {
        "activeAuthorisationCount": {"individual": facts.active_authorisations, "nonIndividual": 0},
        "newAuthorisationCount": days.series(
            lambda day: {"onceOff": {"individual": 0, "nonIndividual": 0}, "ongoing": new(day)}
        ),
        "revokedAuthorisationCount": days.series(people(events("revoked"))),
        "amendedAuthorisationCount": days.series(people(events("amended"))),
        "expiredAuthorisationCount": days.series(people(events("expired"))),
        "abandonedConsentFlowCount": days.series(events("rejected", "abandoned")),
        "abandonmentsByStage": {
            **{stage: _zeros(days) for stage in stages},
            "rejected": days.series(events("rejected")),
            "failedTokenExchange": _zeros(days),
        },
    }


async def report(
    engine: AsyncEngine,
    now: datetime,
    mode: Mode = "ALL",
    *,
    tiers: Mapping[tuple[str, str], str],
    access_token_ttl: float,
    self_url: str,
) -> dict[str, Any]:
    from gateway.cdr_facts import load  # here, not at the top: cdr_facts builds this module's Facts

    facts = await load(engine, now, tiers=tiers, access_token_ttl=access_token_ttl)
    return compute(facts, now, mode, self_url=self_url)


def operation_tiers(apis: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(api name, operationId) to ``cdr_tier`` for the published APIs (``policies.apis.PublishedApi``)."""
    return {(api.name, op_id): op.cdr_tier for api in apis for op_id, op in api.operations.items()}
