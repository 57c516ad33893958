"""Both back-ends keep the same promises: all-or-nothing, report mode, the daily reset, peeking."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio

from gateway.limiter import Hit, Limiter, Rule
from gateway.limiter.build import redis_client
from gateway.limiter.failover import FailoverLimiter
from gateway.limiter.gcra import DAY, utc_day
from gateway.limiter.redis import SCRIPT_SHA, RedisLimiter

pytestmark = pytest.mark.integration

T0 = 1_790_000_000.0
PER_SECOND_5 = Rule("wallet.attended", 5, 1.0, 5, text="5 calls per 1s")
PER_SECOND_2 = Rule("user.attended", 2, 1.0, 2, text="2 calls per 1s")
FOUR_A_DAY = Rule("consent.daily", 4, DAY, 4, kind="daily", text="4 calls a day")


async def _admitted(limiter: Limiter, hits: list[Hit], times: int, now: float) -> int:
    return sum([(await limiter.acquire(hits, now)).allowed for _ in range(times)])


async def test_burst_is_admitted_then_refused_with_retry_after(limiter: Limiter) -> None:
    hit = Hit(PER_SECOND_5, "wallet:w1")
    assert await _admitted(limiter, [hit], 5, T0) == 5
    refused = await limiter.acquire([hit], T0)
    assert not refused.allowed
    assert refused.binding is not None
    assert refused.binding.hit == hit
    assert refused.retry_after == pytest.approx(0.2, abs=1e-3)
    assert refused.remaining == 0


async def test_calls_are_admitted_again_at_the_steady_rate(limiter: Limiter) -> None:
    hit = Hit(PER_SECOND_5, "wallet:w1")
    await _admitted(limiter, [hit], 5, T0)
    assert (await limiter.acquire([hit], T0 + 0.2)).allowed
    assert not (await limiter.acquire([hit], T0 + 0.2)).allowed


async def test_a_refusal_consumes_none_of_the_hits(limiter: Limiter) -> None:
    wallet, user = Hit(PER_SECOND_5, "wallet:w1"), Hit(PER_SECOND_2, "user:alice")
    assert await _admitted(limiter, [wallet, user], 2, T0) == 2
    refused = await limiter.acquire([wallet, user], T0)
    assert not refused.allowed
    assert refused.binding is not None
    assert refused.binding.hit == user
    peek = await limiter.peek([wallet], T0)
    assert peek.remaining == 3  # the refused request took nothing from the wallet's limit


async def test_the_binding_refusal_is_the_longest_wait(limiter: Limiter) -> None:
    wallet, daily = Hit(PER_SECOND_5, "wallet:w1"), Hit(FOUR_A_DAY, "consent:c1:GetAccounts")
    assert await _admitted(limiter, [wallet, daily], 4, T0) == 4
    await _admitted(limiter, [wallet], 1, T0)
    refused = await limiter.acquire([wallet, daily], T0)
    assert refused.binding is not None
    assert refused.binding.hit == daily


async def test_report_mode_counts_but_never_refuses(limiter: Limiter) -> None:
    shadow = Hit(Rule("op.bank.GetStatements", 1, 1.0, 1, mode="report"), "op:bank:GetStatements")
    enforced = Hit(PER_SECOND_5, "wallet:w1")
    results = [await limiter.acquire([enforced, shadow], T0) for _ in range(3)]
    assert [d.allowed for d in results] == [True, True, True]
    assert [r.allowed for r in results[1].results] == [True, False]  # observed: would have refused
    assert results[2].binding is not None
    assert results[2].binding.hit == enforced
    assert (await limiter.peek([shadow], T0)).remaining == 0


async def test_daily_frequency_resets_at_midnight_utc(limiter: Limiter) -> None:
    before_midnight = (utc_day(T0) + 1) * DAY - 60  # 23:59:00 UTC
    hit = Hit(FOUR_A_DAY, "consent:c1:GetTransactions")
    assert await _admitted(limiter, [hit], 4, before_midnight) == 4
    refused = await limiter.acquire([hit], before_midnight)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(60.0, abs=1e-3)
    assert (await limiter.acquire([hit], before_midnight + 60)).allowed  # 00:00:00 UTC


async def test_daily_frequency_is_counted_per_consent_and_operation(limiter: Limiter) -> None:
    await _admitted(limiter, [Hit(FOUR_A_DAY, "consent:c1:GetAccounts")], 4, T0)
    assert (await limiter.acquire([Hit(FOUR_A_DAY, "consent:c1:GetBalances")], T0)).allowed
    assert (await limiter.acquire([Hit(FOUR_A_DAY, "consent:c2:GetAccounts")], T0)).allowed


async def test_peek_reports_usage_without_consuming(limiter: Limiter) -> None:
    hit = Hit(PER_SECOND_5, "wallet:w1")
    await _admitted(limiter, [hit], 2, T0)
    for _ in range(3):
        peek = await limiter.peek([hit], T0)
        assert (peek.allowed, peek.remaining) == (True, 3)
        assert peek.reset == pytest.approx(0.4, abs=1e-3)


async def test_concurrent_requests_never_exceed_the_burst(limiter: Limiter) -> None:
    hit = Hit(PER_SECOND_5, "wallet:w1")
    decisions = await asyncio.gather(*(limiter.acquire([hit], T0) for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 5


async def test_no_hits_means_admitted_without_a_binding_rule(limiter: Limiter) -> None:
    decision = await limiter.acquire([], T0)
    assert decision.allowed
    assert decision.binding is None


async def test_redis_keys_expire_once_back_to_full(redis_url: str) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    await limiter.acquire([Hit(PER_SECOND_5, "wallet:w1"), Hit(FOUR_A_DAY, "consent:c1:op")])
    ttl_rate = await limiter.client.pttl("wg:rl:wallet.attended|wallet:w1")
    ttl_day = await limiter.client.pttl("wg:rl:consent.daily|consent:c1:op")
    await limiter.aclose()
    assert 0 < ttl_rate <= 202  # one interval (200 ms), rounded up
    assert 0 < ttl_day <= DAY * 1000 + 1000


async def test_redis_reloads_the_script_after_a_flush(redis_url: str) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    await limiter.client.script_flush()
    assert (await limiter.acquire([Hit(PER_SECOND_5, "wallet:w1")])).allowed
    assert (await limiter.client.script_exists(SCRIPT_SHA)) == [True]
    await limiter.aclose()


async def test_redis_decides_on_server_time_whatever_the_instance_clock(redis_url: str) -> None:
    skewed = FailoverLimiter(
        RedisLimiter(redis_client(redis_url, 1.0)),
        instances=2,
        on_failure="open",
        budget=1.0,
        clock=lambda: time.time() + 3600,
    )
    client = redis.asyncio.Redis.from_url(redis_url)
    seconds, micros = await client.time()
    await client.aclose()
    decision = await skewed.acquire([Hit(PER_SECOND_5, "wallet:w1")])
    await skewed.aclose()
    assert decision.now == pytest.approx(seconds + micros / 1e6, abs=2.0)


async def test_two_instances_share_one_count(redis_url: str) -> None:
    one, two = RedisLimiter(redis_client(redis_url, 1.0)), RedisLimiter(redis_client(redis_url, 1.0))
    hit = Hit(Rule("wallet.unattended", 1, 3600.0, 6), "wallet:w1")
    admitted = [(await (one if i % 2 else two).acquire([hit])).allowed for i in range(10)]
    await one.aclose()
    await two.aclose()
    assert sum(admitted) == 6


async def test_a_daily_count_given_back_can_be_used_again(limiter: Limiter) -> None:
    hit = Hit(FOUR_A_DAY, "consent:c1:GetTransactions")
    assert await _admitted(limiter, [hit], 4, T0) == 4
    await limiter.acquire([Hit(FOUR_A_DAY, hit.key, cost=-1)], T0)
    assert (await limiter.acquire([hit], T0)).allowed
    assert not (await limiter.acquire([hit], T0)).allowed


async def test_giving_back_never_goes_below_none_spent_today(limiter: Limiter) -> None:
    hit = Hit(FOUR_A_DAY, "consent:c1:GetTransactions")
    await limiter.acquire([Hit(FOUR_A_DAY, hit.key, cost=-1)], T0)
    await limiter.acquire([Hit(FOUR_A_DAY, hit.key, cost=-1)], T0)
    assert await _admitted(limiter, [hit], 5, T0) == 4


async def test_an_instant_burst_is_admitted_whole_whatever_the_rate(limiter: Limiter) -> None:
    """24 calls per 1s, burst 24: the float rounding of 24 intervals added to an epoch time refuses none."""
    hit = Hit(Rule("wallet.attended", 24, 1.0, 24), "wallet:w1")
    assert await _admitted(limiter, [hit], 25, T0) == 24


async def test_a_rate_given_back_never_exceeds_the_burst(limiter: Limiter) -> None:
    hit = Hit(PER_SECOND_5, "wallet:w1")
    given_back = await limiter.acquire([Hit(PER_SECOND_5, hit.key, cost=-1)], T0)
    assert given_back.allowed
    assert given_back.remaining == 5
    assert await _admitted(limiter, [hit], 6, T0) == 5
