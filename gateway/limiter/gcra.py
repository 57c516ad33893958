"""The arithmetic of the limits, free of storage: GCRA rates and the UTC-day quota.

GCRA (the generic cell rate algorithm) keeps one number per key, the theoretical arrival
time ``tat``: when the key would be back to empty at the steady rate. A request of ``cost``
is admitted when ``max(tat, now) + cost * interval - burst * interval <= now``. After a quiet
spell ``burst`` calls pass at once, then one per ``interval``; so any window of one period
admits at most ``limit + burst`` calls. There is no window edge to game.

Times are epoch seconds in doubles, exact only to ``ulp(now)`` (2**-22 s today). An interval
such as 1/24 s is rounded to a whole number of those units (``tick``), so that adding it to a
time is exact and a burst of ``burst`` calls at one instant is admitted whole, never one call
short by rounding summed over the burst. The rate moves by less than 2**-23 s per interval.
A negative ``cost`` gives calls back, never past full (``tat`` not before ``now``).

The Lua script in ``redis.py`` repeats these formulas line for line; change both together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY = 86400.0
# Float slack when comparing times, so that the burst-th call of an instant burst is not
# refused by rounding. One microsecond: the resolution of Redis TIME.
EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Outcome:
    """One rule's verdict and the state to store if the request is admitted."""

    allowed: bool
    remaining: int
    reset: float  # seconds until back to full
    retry_after: float  # seconds until admitted (0 when allowed)
    state: tuple[float, float]  # gcra: (tat, 0); daily: (day number, calls used that day)


def tick(interval: float, now: float) -> float:
    """``interval`` in whole units of ``now``'s float resolution (at least one): exact to add to times near ``now``."""
    unit = math.ulp(max(now, 1.0))
    return max(unit, math.floor(interval / unit + 0.5) * unit)


def gcra(tat: float | None, now: float, interval: float, burst: int, cost: int = 1) -> Outcome:
    """Whether a request of ``cost`` conforms, given the stored ``tat`` (None: never seen)."""
    interval = tick(interval, now)
    base = now if tat is None or tat < now else tat
    new_tat = max(now, base + cost * interval)
    allow_at = new_tat - burst * interval
    if allow_at - now > EPSILON:
        remaining = max(0, math.floor((now + burst * interval - base + EPSILON) / interval))
        return Outcome(False, remaining, base - now, allow_at - now, (base, 0.0))
    remaining = max(0, math.floor((now + burst * interval - new_tat + EPSILON) / interval))
    return Outcome(True, remaining, new_tat - now, 0.0, (new_tat, 0.0))


def gcra_peek(tat: float | None, now: float, interval: float, burst: int) -> Outcome:
    """The state of a key without consuming: calls it would admit now, and the wait if none."""
    trial = gcra(tat, now, interval, burst)
    interval = tick(interval, now)
    base = now if tat is None or tat < now else tat
    remaining = max(0, math.floor((now + burst * interval - base + EPSILON) / interval))
    return Outcome(trial.allowed, remaining, base - now, trial.retry_after, (base, 0.0))


def utc_day(now: float) -> int:
    """Days since the epoch in UTC; the quota's counter belongs to one such day."""
    return int(now // DAY)


def next_midnight(now: float) -> float:
    """The epoch time of the next 00:00 UTC."""
    return (utc_day(now) + 1) * DAY


def daily(day: float | None, used: float, now: float, limit: int, cost: int = 1) -> Outcome:
    """Whether a request of ``cost`` fits in today's (UTC) quota of ``limit`` calls. A negative
    ``cost`` gives calls back (never below none spent today)."""
    today = utc_day(now)
    spent = int(used) if day is not None and int(day) == today else 0
    reset = next_midnight(now) - now
    if spent + cost > limit:
        return Outcome(False, max(0, limit - spent), reset, reset, (float(today), float(spent)))
    after = max(0, spent + cost)
    return Outcome(True, limit - after, reset, 0.0, (float(today), float(after)))


def daily_peek(day: float | None, used: float, now: float, limit: int) -> Outcome:
    """Today's quota without consuming: calls left, and the wait until midnight if none."""
    trial = daily(day, used, now, limit)
    spent = trial.state[1] - (1 if trial.allowed else 0)
    return Outcome(trial.allowed, max(0, limit - int(spent)), trial.reset, trial.retry_after, (trial.state[0], spent))
