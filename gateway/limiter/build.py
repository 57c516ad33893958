"""Build the gateway's limiter from settings: Redis (with failover) when configured, else in-process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.limiter import Limiter
from gateway.limiter.failover import FailoverLimiter
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter
from gateway.settings import Settings
from policies.limits import LimitPolicy

if TYPE_CHECKING:
    from gateway.metrics import Metrics


def redis_client(url: str, budget: float) -> Redis:
    """A client that gives up within ``budget`` seconds and never retries on its own."""
    return Redis.from_url(
        url,
        socket_timeout=budget,
        socket_connect_timeout=budget,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
    )


def build_limiter(
    settings: Settings,
    limits: LimitPolicy,
    clock: Callable[[], float] = time.time,
    *,
    metrics: Metrics | None = None,
) -> Limiter:
    """``FailoverLimiter`` over Redis when ``settings.redis_url`` is set, else ``MemoryLimiter``;
    ``metrics`` counts its switches between Redis and local limiting."""
    if not settings.redis_url:
        return MemoryLimiter(clock)
    budget = settings.redis_budget_ms / 1000
    return FailoverLimiter(
        RedisLimiter(redis_client(settings.redis_url, budget)),
        instances=limits.instances,
        on_failure=settings.limiter_on_redis_failure,
        budget=budget,
        clock=clock,
        metrics=metrics,
    )
