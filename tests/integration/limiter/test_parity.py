"""The Lua script and gcra.py are the same arithmetic: random traffic gets identical verdicts from both back-ends."""

from __future__ import annotations

import random

import pytest

from gateway.limiter import Decision, Hit, Rule
from gateway.limiter.build import redis_client
from gateway.limiter.gcra import DAY
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter

pytestmark = pytest.mark.integration

T0 = 1_790_035_200.0 - 30.0  # 30 s before midnight UTC, so daily quotas reset mid-run


def _rules(rng: random.Random) -> list[Rule]:
    rules = [
        Rule(
            f"r{n}",
            rng.randint(1, 20),
            rng.choice([0.5, 1.0, 3.0]),
            rng.randint(1, 10),
            mode=rng.choice(["enforce", "enforce", "report"]),
        )
        for n in range(3)
    ]
    rules.append(Rule("daily", rng.randint(1, 6), DAY, 6, kind="daily"))
    return rules


def _verdict(decision: Decision) -> list[tuple[bool, int, float, float]]:
    return [(r.allowed, r.remaining, round(r.reset, 6), round(r.retry_after, 6)) for r in decision.results]


@pytest.mark.parametrize("seed", range(6))
async def test_memory_and_redis_agree_on_random_traffic(seed: int, redis_url: str) -> None:
    rng = random.Random(seed)
    rules = _rules(rng)
    memory, shared = MemoryLimiter(), RedisLimiter(redis_client(redis_url, 1.0))
    now = T0
    for _ in range(300):
        now += rng.choice([0.0, 0.0, 0.001, rng.random() * 0.3, 0.25])
        hits = [
            Hit(rule, f"k{rng.randint(0, 2)}", rng.choice([1, 1, 2])) for rule in rng.sample(rules, rng.randint(1, 4))
        ]
        peek = rng.random() < 0.1
        a = await (memory.peek(hits, now) if peek else memory.acquire(hits, now))
        b = await (shared.peek(hits, now) if peek else shared.acquire(hits, now))
        assert (a.allowed, _verdict(a)) == (b.allowed, _verdict(b)), (seed, now, hits)
    await shared.aclose()


@pytest.mark.parametrize("seed", range(4))
async def test_memory_and_redis_agree_on_fast_rates_and_give_backs(seed: int, redis_url: str) -> None:
    """Rates whose interval rounds when added to an epoch time, and negative costs (calls given back)."""
    rng = random.Random(1000 + seed)
    rules = [Rule(f"f{n}", rng.randint(15, 400), rng.choice([1.0, 60.0]), rng.randint(10, 400)) for n in range(2)]
    rules.append(Rule("daily", rng.randint(1, 6), DAY, 6, kind="daily"))
    memory, shared = MemoryLimiter(), RedisLimiter(redis_client(redis_url, 1.0))
    now = T0
    for _ in range(400):
        now += rng.choice([0.0, 0.0, 0.0, 0.0005, rng.random() * 0.05])
        hits = [Hit(rule, f"k{rng.randint(0, 1)}", rng.choice([1, 1, 1, 2, -1])) for rule in rules]
        a, b = await memory.acquire(hits, now), await shared.acquire(hits, now)
        assert (a.allowed, _verdict(a)) == (b.allowed, _verdict(b)), (seed, now, hits)
    await shared.aclose()
