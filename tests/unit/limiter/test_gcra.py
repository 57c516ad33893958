"""GCRA and the UTC-day quota: the arithmetic, and the promise that no window admits more than rate + burst."""

from __future__ import annotations

import random
from bisect import bisect_right

import pytest

from gateway.limiter.gcra import DAY, daily, daily_peek, gcra, gcra_peek, next_midnight, utc_day

T0 = 1_790_000_000.0


def _admit(arrivals: list[float], rate: int, period: float, burst: int) -> list[float]:
    tat: float | None = None
    admitted = []
    for now in arrivals:
        outcome = gcra(tat, now, period / rate, burst)
        if outcome.allowed:
            tat = outcome.state[0]
            admitted.append(now)
    return admitted


def test_gcra_admits_the_burst_at_once_then_refuses() -> None:
    admitted = _admit([T0] * 20, rate=10, period=1.0, burst=5)
    assert len(admitted) == 5


def test_gcra_admits_one_more_each_interval_after_the_burst() -> None:
    arrivals = [T0] * 5 + [T0 + 0.1 * k for k in range(1, 11)]
    assert len(_admit(arrivals, rate=10, period=1.0, burst=5)) == 15


def test_gcra_refusal_says_when_to_retry_and_consumes_nothing() -> None:
    tat = T0 + 0.5  # five calls of 0.1 s already queued, burst 5: full
    refused = gcra(tat, T0, 0.1, 5)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.1, abs=1e-6)  # the interval in whole 2**-22 s (gcra.tick)
    assert refused.remaining == 0
    assert refused.state == (tat, 0.0)
    assert gcra(tat, T0 + 0.1, 0.1, 5).allowed


def test_gcra_remaining_counts_down_from_the_burst() -> None:
    first = gcra(None, T0, 0.1, 5)
    assert (first.allowed, first.remaining) == (True, 4)
    assert first.reset == pytest.approx(0.1)


def test_gcra_cost_above_the_burst_is_never_admitted() -> None:
    assert not gcra(None, T0, 0.1, 5, cost=6).allowed


def test_gcra_peek_reports_without_consuming() -> None:
    peek = gcra_peek(T0 + 0.3, T0, 0.1, 5)
    assert (peek.allowed, peek.remaining, peek.state[0]) == (True, 2, T0 + 0.3)
    full = gcra_peek(T0 + 0.5, T0, 0.1, 5)
    assert (full.allowed, full.remaining) == (False, 0)
    assert full.retry_after == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize("seed", range(25))
def test_no_window_of_one_period_admits_more_than_rate_plus_burst(seed: int) -> None:
    """Property: for random traffic (bursts, lulls, steady floods), every closed window of one
    period holds at most rate + burst admitted calls - including windows across any boundary."""
    rng = random.Random(seed)
    rate, burst = rng.randint(1, 20), rng.randint(1, 30)
    period = rng.choice([1.0, 2.0, 60.0])
    now, arrivals = T0, []
    for _ in range(rng.randint(200, 800)):
        now += rng.choice([0.0, 0.0, rng.random() * period / rate, rng.random() * period])
        arrivals.append(now)
    admitted = _admit(arrivals, rate, period, burst)
    for i, start in enumerate(admitted):
        in_window = bisect_right(admitted, start + period) - i
        assert in_window <= rate + burst, (rate, burst, period, start)


@pytest.mark.parametrize("seed", range(5))
def test_steady_flood_gets_the_full_rate(seed: int) -> None:
    """The limit is not stricter than promised: a flood gets burst + rate per period, not less."""
    rng = random.Random(seed)
    rate, burst, period = rng.randint(2, 20), rng.randint(1, 10), 1.0
    step = period / rate / 7
    arrivals = [T0 + k * step for k in range(int(10 * period / step) + 1)]
    admitted = _admit(arrivals, rate, period, burst)
    assert len(admitted) in (burst + 10 * rate, burst + 10 * rate - 1)


def test_fixed_window_boundary_trick_gets_no_double_rate() -> None:
    """A fixed one-second window would admit 2x the rate around a boundary; GCRA admits rate + burst at most."""
    boundary = T0 + 1.0
    arrivals = [boundary - 0.001] * 50 + [boundary + 0.001] * 50
    assert len(_admit(arrivals, rate=10, period=1.0, burst=10)) == 10


def test_daily_quota_counts_per_utc_day_and_resets_at_midnight() -> None:
    start = utc_day(T0) * DAY + 23 * 3600  # 23:00 UTC
    state: tuple[float | None, float] = (None, 0.0)
    for expected_remaining in (3, 2, 1, 0):
        outcome = daily(*state, start, limit=4)
        assert outcome.allowed
        assert outcome.remaining == expected_remaining
        state = outcome.state
    refused = daily(*state, start, limit=4)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(3600.0)
    assert next_midnight(start) == start + 3600
    assert daily(*state, start + 3600, limit=4).allowed  # 00:00 UTC: a new day


def test_daily_peek_counts_what_is_left_today() -> None:
    used = daily(None, 0.0, T0, limit=4)
    peek = daily_peek(*used.state, T0, limit=4)
    assert (peek.allowed, peek.remaining) == (True, 3)


@pytest.mark.parametrize(("rate", "period"), [(21, 1.0), (24, 1.0), (14, 60.0), (1000, 1.0)])
def test_an_instant_burst_admits_exactly_the_burst_at_any_rate(rate: int, period: float) -> None:
    """Adding an interval to an epoch time rounds (ulp 2**-22 s); summed over a burst, the rounding
    must not refuse the burst-th call, nor admit one more."""
    assert len(_admit([T0] * (rate + 5), rate, period, burst=rate)) == rate


@pytest.mark.parametrize(("rate", "period"), [(21, 1.0), (24, 1.0), (14, 60.0)])
def test_remaining_counts_down_to_zero_at_the_last_call_of_a_burst(rate: int, period: float) -> None:
    tat: float | None = None
    remaining = []
    for _ in range(rate):
        outcome = gcra(tat, T0, period / rate, rate)
        tat = outcome.state[0]
        remaining.append(outcome.remaining)
    assert remaining == list(range(rate - 1, -1, -1))


def test_a_rate_given_back_never_leaves_more_than_the_burst() -> None:
    """A negative cost moves tat back, but never before now: a key is at most full."""
    given_back = gcra(None, T0, 0.2, 5, cost=-1)
    assert given_back.allowed
    assert (given_back.remaining, given_back.reset) == (5, 0.0)
    assert given_back.state == (T0, 0.0)
