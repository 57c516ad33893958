"""Remember one-time values (DPoP ``jti``, client-assertion ``jti``) for as long as they could be replayed.

``first_use(key, ttl)`` answers True exactly once per key within ``ttl`` seconds. The memory
cache serves one process; ``RedisReplayCache`` (``SET key 1 NX PX ttl``) serves every replica.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from gateway.clock import Clock
from gateway.errors import ServiceUnavailableError

REPLAY_PREFIX = "wg:replay:"  # shared with the limiter script, which spends DPoP jti values on the hot path


class ReplayCache(Protocol):
    async def first_use(self, key: str, ttl: float) -> bool:
        """True when ``key`` was not seen within the last ``ttl`` seconds (and remember it now)."""
        ...


class MemoryReplayCache:
    """A per-process replay cache; expired keys are swept whenever the table doubles past ``sweep_at``."""

    def __init__(self, clock: Clock = time.time, sweep_at: int = 10_000) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._min_sweep = sweep_at
        self._sweep_at = sweep_at

    async def first_use(self, key: str, ttl: float) -> bool:
        now = self._clock()
        until = self._seen.get(key)
        if until is not None and until > now:
            return False
        if len(self._seen) >= self._sweep_at:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            # Amortised: with many live keys, the next sweep waits until the table has doubled.
            self._sweep_at = max(self._min_sweep, 2 * len(self._seen))
        self._seen[key] = now + ttl
        return True


class RedisReplayCache:
    """A replay cache shared by every replica: one ``SET NX PX`` per check."""

    def __init__(self, redis: Any, prefix: str = REPLAY_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    async def first_use(self, key: str, ttl: float) -> bool:
        from redis.exceptions import RedisError

        try:
            stored = await self._redis.set(self._prefix + key, b"1", nx=True, px=max(1, int(ttl * 1000)))
        except RedisError:
            # Failing open would let a captured proof be replayed; fail closed.
            raise ServiceUnavailableError("The replay cache is unavailable; retry later.") from None
        return bool(stored)
