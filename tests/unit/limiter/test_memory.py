"""The in-process limiter forgets keys once they are back to full, so memory stays bounded."""

from __future__ import annotations

from gateway.clock import FrozenClock
from gateway.limiter import Hit, Rule
from gateway.limiter.gcra import DAY
from gateway.limiter.memory import MemoryLimiter

RATE = Rule("wallet.attended", 10, 1.0, 10)
DAILY = Rule("consent.daily", 4, DAY, 4, kind="daily")


async def test_keys_back_to_full_are_swept() -> None:
    clock = FrozenClock()
    limiter = MemoryLimiter(clock, sweep_every=100)
    for i in range(99):
        await limiter.acquire([Hit(RATE, f"wallet:w{i}")])
    assert len(limiter) == 99
    clock.advance(1.0)
    await limiter.acquire([Hit(RATE, "wallet:last")])  # the 100th call sweeps
    assert len(limiter) == 1


async def test_daily_counts_are_kept_until_the_day_is_over() -> None:
    clock = FrozenClock(1_790_035_200.0 - 60)  # 23:59 UTC
    limiter = MemoryLimiter(clock, sweep_every=2)
    await limiter.acquire([Hit(DAILY, "consent:c1:op")])
    await limiter.acquire([Hit(RATE, "wallet:w1")])  # sweeps: today's quota stays
    assert len(limiter) == 2
    clock.advance(120)
    await limiter.acquire([Hit(RATE, "wallet:w2")])
    await limiter.acquire([Hit(RATE, "wallet:w3")])  # sweeps: yesterday's quota and the recovered rate go
    assert len(limiter) == 2
