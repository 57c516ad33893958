"""Keep limiting when Redis is lost or slow: fail open to a local share, or fail closed with 503.

Every Redis call gets ``budget`` seconds (an asyncio timeout on top of the client's socket
timeouts). Past it, or on any Redis error, the limiter switches to degraded mode at once
(logged and counted) and stops calling Redis on the hot path; a background probe pings Redis
every ``probe_interval`` seconds and switches back, on a new connection, when it answers. While degraded, a
request carrying a ``OneTimeKey`` (a DPoP jti) still spends it in Redis, on its own, and is refused
with 503 if Redis does not answer (a replay check cannot be done locally); one whose hits say ``open``
is counted by a local ``MemoryLimiter`` against
``1/instances`` of each limit; one whose hits say ``closed`` is refused with 503.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from gateway.background import stop_task
from gateway.errors import ServiceUnavailableError
from gateway.limiter import Decision, Hit, LimiterUnavailable, OneTimeKey, OnFailure, Rule, replayed
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter

if TYPE_CHECKING:
    from gateway.metrics import Metrics

log = logging.getLogger("walletgate.limiter")

ONE_TIME_KEY_TIMEOUT = 1.0  # seconds a replay check may take once Redis missed its budget


class FailoverLimiter:
    """``RedisLimiter`` with a deadline, a local fallback and automatic recovery."""

    def __init__(
        self,
        shared: RedisLimiter,
        *,
        instances: int,
        on_failure: OnFailure,
        budget: float,
        probe_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.shared = shared
        self.local = MemoryLimiter(clock)
        self.instances = instances
        self.on_failure = on_failure
        self.budget = budget
        self.probe_interval = probe_interval
        self.healthy = True
        self.switches = 0  # healthy → degraded transitions since start
        self._clock = clock
        self._metrics = metrics
        self._shares: dict[Rule, Rule] = {}
        self._probe: asyncio.Task[None] | None = None

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        if self.healthy:
            try:
                async with asyncio.timeout(self.budget):
                    return await self.shared.acquire(hits, now, once)
            except (LimiterUnavailable, TimeoutError) as exc:
                self._lose(exc)
        return await self._without_shared(hits, now, once)

    def begin(self, hits: Sequence[Hit], once: OneTimeKey | None = None) -> Awaitable[Decision]:
        """``acquire``, with the Redis call written now (see ``RedisLimiter.begin``); its budget counts from now."""
        if not self.healthy:
            return self.acquire(hits, once=once)
        deadline = asyncio.get_running_loop().time() + self.budget
        return self._settle(self.shared.begin(hits, once), deadline, hits, once)

    async def _settle(
        self, answer: Awaitable[Decision], deadline: float, hits: Sequence[Hit], once: OneTimeKey | None
    ) -> Decision:
        try:
            async with asyncio.timeout_at(deadline):
                return await answer
        except (LimiterUnavailable, TimeoutError) as exc:
            self._lose(exc)
        return await self._without_shared(hits, None, once)

    async def _without_shared(self, hits: Sequence[Hit], now: float | None, once: OneTimeKey | None) -> Decision:
        """Redis is lost: the replay check alone in Redis, the limits locally or refused (see the module)."""
        if once is not None and not await self._spend_once(once):
            return replayed(self._clock() if now is None else now)
        return self._degraded(hits, now)

    async def _spend_once(self, once: OneTimeKey) -> bool:
        """The replay check on its own, straight to Redis: it cannot be done locally, so it fails closed."""
        try:
            async with asyncio.timeout(max(self.budget, ONE_TIME_KEY_TIMEOUT)):
                return await self.shared.spend_once(once)
        except (LimiterUnavailable, TimeoutError):
            raise ServiceUnavailableError(
                "The replay cache is unavailable; retry later.",
                headers={"Retry-After": str(max(1, math.ceil(self.probe_interval)))},
            ) from None

    async def peek(self, hits: Sequence[Hit], now: float | None = None) -> Decision:
        if self.healthy:
            try:
                async with asyncio.timeout(self.budget):
                    return await self.shared.peek(hits, now)
            except (LimiterUnavailable, TimeoutError) as exc:
                self._lose(exc)
        return await self.local.peek(self._local_hits(hits), now)

    async def aclose(self) -> None:
        await stop_task(self._probe)
        await self.local.aclose()
        await self.shared.aclose()

    def failure_mode(self, hits: Sequence[Hit]) -> OnFailure:
        """closed if any hit's rule says closed, else open if any says open, else the default."""
        said = {hit.rule.on_redis_failure for hit in hits}
        if "closed" in said:
            return "closed"
        return "open" if "open" in said else self.on_failure

    def _degraded(self, hits: Sequence[Hit], now: float | None) -> Decision:
        if self.failure_mode(hits) == "closed":
            raise ServiceUnavailableError(
                "Rate limits cannot be checked right now (the shared limiter store is unavailable); retry later.",
                headers={"Retry-After": str(max(1, math.ceil(self.probe_interval)))},
            )
        return self.local.acquire_now(self._local_hits(hits), self._clock() if now is None else now)

    def _local_hits(self, hits: Sequence[Hit]) -> list[Hit]:
        return [Hit(self._share(hit.rule), hit.key, hit.cost) for hit in hits]

    def _share(self, rule: Rule) -> Rule:
        shared = self._shares.get(rule)
        if shared is None:
            shared = self._shares[rule] = rule.share(self.instances)
        return shared

    def _lose(self, exc: BaseException) -> None:
        if not self.healthy:
            return
        self.healthy = False
        self.switches += 1
        if self._metrics is not None:
            self._metrics.record_limiter_failover("local")
        reason = str(exc) or f"no answer within {self.budget * 1000:.0f} ms"
        log.warning(
            "limiter: Redis lost (%s); open APIs now count locally (1/%d of each limit), closed APIs get 503",
            reason,
            self.instances,
        )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Ping Redis until it answers, reload the script, then switch back to shared counting."""
        while not self.healthy:
            await asyncio.sleep(self.probe_interval)
            try:
                async with asyncio.timeout(max(self.budget, 0.5)):
                    await self.shared.client.ping()
                    await self.shared.load()
            except Exception as exc:  # any failure: keep probing
                log.debug("limiter: Redis still unavailable (%s)", exc)
                continue
            self.shared.reconnect()  # the probe's connection answered; the hot path's may be dead
            self.healthy = True
            self._shares.clear()
            if self._metrics is not None:
                self._metrics.record_limiter_failover("redis")
            log.warning("limiter: Redis is back; limits are shared across instances again")
