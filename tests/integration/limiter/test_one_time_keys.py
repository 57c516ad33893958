"""A DPoP proof's jti is spent in the same limiter call as the request's limits (one Redis round trip)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
import redis
import redis.asyncio

from gateway.errors import ServiceUnavailableError
from gateway.limiter import Decision, Hit, Limiter, OneTimeKey, Rule
from gateway.limiter.build import redis_client
from gateway.limiter.failover import FailoverLimiter
from gateway.limiter.redis import RedisLimiter
from gateway.oauth.replay import REPLAY_PREFIX, RedisReplayCache
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

T0 = 1_790_000_000.0
TWO = Rule("wallet.attended", 2, 1.0, 2, text="2 calls per 1s")
PROOF = OneTimeKey("dpop:jkt-1:jti-1", 70)


async def test_a_fresh_key_is_spent_and_the_call_counted(limiter: Limiter) -> None:
    decision = await limiter.acquire([Hit(TWO, "wallet:w1")], T0, once=PROOF)
    assert decision.allowed
    assert decision.first_use
    assert (await limiter.peek([Hit(TWO, "wallet:w1")], T0)).remaining == 1


async def test_a_spent_key_refuses_the_call_and_counts_nothing(limiter: Limiter) -> None:
    await limiter.acquire([Hit(TWO, "wallet:w1")], T0, once=PROOF)
    again = await limiter.acquire([Hit(TWO, "wallet:w1")], T0, once=PROOF)
    assert not again.allowed
    assert not again.first_use
    assert (await limiter.peek([Hit(TWO, "wallet:w1")], T0)).remaining == 1


async def test_a_key_is_spent_even_when_a_limit_refuses(limiter: Limiter) -> None:
    hit = Hit(TWO, "wallet:w1")
    await limiter.acquire([hit], T0)
    await limiter.acquire([hit], T0)
    refused = await limiter.acquire([hit], T0, once=PROOF)
    assert refused.first_use
    assert not refused.allowed
    assert not (await limiter.acquire([], T0 + 5, once=PROOF)).first_use


async def test_a_key_is_spendable_without_hits(limiter: Limiter) -> None:
    assert (await limiter.acquire([], T0, once=PROOF)).first_use
    assert not (await limiter.acquire([], T0, once=PROOF)).first_use


async def test_different_keys_do_not_collide(limiter: Limiter) -> None:
    assert (await limiter.acquire([], T0, once=PROOF)).first_use
    assert (await limiter.acquire([], T0, once=OneTimeKey("dpop:jkt-1:jti-2", 70))).first_use


async def test_redis_shares_the_key_space_with_the_replay_cache(redis_url: str) -> None:
    """A jti spent at /token (RedisReplayCache) is spent for the pipeline too, and the other way round."""
    client = redis.asyncio.Redis.from_url(redis_url)
    await client.flushdb()
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    try:
        assert await RedisReplayCache(client).first_use(PROOF.key, PROOF.ttl)
        assert not (await limiter.acquire([], once=PROOF)).first_use
        other = OneTimeKey("dpop:jkt-1:jti-3", 70)
        assert (await limiter.acquire([], once=other)).first_use
        assert not await RedisReplayCache(client).first_use(other.key, other.ttl)
    finally:
        await limiter.aclose()
        await client.flushdb()
        await client.aclose()


async def test_redis_forgets_a_key_after_its_ttl(redis_url: str) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await client.flushdb()
        await limiter.acquire([], once=OneTimeKey("dpop:short", 0.05))
        ttl = await client.pttl("wg:replay:dpop:short")
        assert 0 < ttl <= 50
    finally:
        await limiter.aclose()
        await client.flushdb()
        await client.aclose()


async def test_without_redis_a_call_with_a_key_fails_closed_even_on_an_open_api() -> None:
    limiter = FailoverLimiter(
        RedisLimiter(redis_client(f"redis://127.0.0.1:{free_port()}/0", 0.02)),
        instances=2,
        on_failure="open",
        budget=0.02,
        probe_interval=0.05,
    )
    try:
        with pytest.raises(ServiceUnavailableError, match="replay cache is unavailable"):
            await limiter.acquire([Hit(TWO, "wallet:w1")], once=PROOF)
        assert (await limiter.acquire([Hit(TWO, "wallet:w1")])).allowed  # without a key: the local share
    finally:
        await limiter.aclose()


async def test_spending_alone_tells_its_own_earlier_spend_from_a_replay(redis_url: str) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    try:
        assert await limiter.spend_once(PROOF)
        assert await limiter.spend_once(PROOF)  # the same request trying again: its own token is there
        assert not await limiter.spend_once(OneTimeKey(PROOF.key, PROOF.ttl, token="another-request"))
    finally:
        await limiter.aclose()


class _AnswersLate(RedisLimiter):
    """Redis runs the script, but the answer comes after the budget (a congested event loop, say)."""

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        decision = await super().acquire(hits, now, once)
        await asyncio.sleep(0.2)
        return decision


async def test_a_call_whose_answer_missed_the_budget_is_not_taken_for_a_replay(redis_url: str) -> None:
    limiter = FailoverLimiter(
        _AnswersLate(redis_client(redis_url, 1.0)), instances=1, on_failure="open", budget=0.05, probe_interval=60
    )
    try:
        decision = await limiter.acquire([Hit(TWO, "wallet:w1")], once=PROOF)
        assert decision.first_use
        assert decision.allowed
        assert not limiter.healthy
    finally:
        await limiter.aclose()


async def test_while_redis_is_degraded_a_replay_is_still_refused(redis_url: str) -> None:
    limiter = FailoverLimiter(
        _AnswersLate(redis_client(redis_url, 1.0)), instances=1, on_failure="open", budget=0.05, probe_interval=60
    )
    try:
        await limiter.acquire([Hit(TWO, "wallet:w1")], once=PROOF)
        again = await limiter.acquire([Hit(TWO, "wallet:w1")], once=OneTimeKey(PROOF.key, PROOF.ttl, token="thief"))
        assert not again.first_use
        assert not again.allowed
    finally:
        await limiter.aclose()


async def test_begin_decides_as_acquire_does(limiter: Limiter) -> None:
    hit = Hit(TWO, "wallet:w1")
    first = await limiter.begin([hit], once=PROOF)
    assert first.allowed
    assert first.first_use
    again = await limiter.begin([hit], once=PROOF)
    assert not again.first_use
    assert (await limiter.peek([hit])).remaining == 1


async def test_begin_has_the_script_run_before_it_returns(redis_url: str) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    spent = redis.Redis.from_url(redis_url)
    try:
        await limiter.acquire([], once=OneTimeKey("dpop:jkt-1:warm-up", 70))  # opens the pipelined connection
        pending = limiter.begin([Hit(TWO, "wallet:w1")], once=PROOF)
        deadline = time.monotonic() + 2
        while not spent.exists(REPLAY_PREFIX + PROOF.key):  # a blocking wait: the event loop does not run
            assert time.monotonic() < deadline, "begin returned before the script was sent"
            time.sleep(0.005)
        assert (await pending).first_use
    finally:
        spent.close()
        await limiter.aclose()
