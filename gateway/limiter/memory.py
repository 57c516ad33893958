"""The in-process limiter: the embedded default, and each instance's share when Redis is lost.

State lives in one dict per process. ``acquire`` never awaits between reading and writing,
so on one event loop it is atomic without a lock. Keys that have recovered completely are
swept every ``sweep_every`` calls, so memory stays bounded by the keys active recently.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from gateway.limiter import Decision, Hit, HitResult, OneTimeKey, decide, enforced_refusal, replayed
from gateway.limiter.gcra import Outcome, daily, daily_peek, gcra, gcra_peek, utc_day


class MemoryLimiter:
    """Limits counted in this process only."""

    def __init__(self, clock: Callable[[], float] = time.time, *, sweep_every: int = 10_000) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._spent: dict[str, float] = {}  # OneTimeKey.key → until when it stays spent
        self._sweep_every = sweep_every
        self._calls = 0

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        return self.acquire_now(hits, self._clock() if now is None else now, once)

    def begin(self, hits: Sequence[Hit], once: OneTimeKey | None = None) -> Awaitable[Decision]:
        return self.acquire(hits, once=once)

    def acquire_now(self, hits: Sequence[Hit], now: float, once: OneTimeKey | None = None) -> Decision:
        """``acquire`` without the coroutine, for callers already on the hot path."""
        if once is not None:
            if self._spent.get(once.key, 0.0) > now:
                return replayed(now)
            self._spent[once.key] = now + once.ttl
        outcomes = [self._outcome(hit, now) for hit in hits]
        results = [_result(hit, o) for hit, o in zip(hits, outcomes, strict=True)]
        if not enforced_refusal(results):
            for hit, outcome in zip(hits, outcomes, strict=True):
                if outcome.allowed:
                    self._state[hit.storage_key] = outcome.state
        self._calls += 1
        if self._calls % self._sweep_every == 0:
            self._sweep(now)
        return decide(results, now)

    async def peek(self, hits: Sequence[Hit], now: float | None = None) -> Decision:
        at = self._clock() if now is None else now
        return decide([_result(hit, self._peek(hit, at)) for hit in hits], at)

    async def aclose(self) -> None:
        self._state.clear()
        self._spent.clear()

    def __len__(self) -> int:
        return len(self._state)

    def _outcome(self, hit: Hit, now: float) -> Outcome:
        rule, stored = hit.rule, self._state.get(hit.storage_key)
        if rule.kind == "daily":
            day, used = stored if stored else (None, 0.0)
            return daily(day, used, now, rule.limit, hit.cost)
        return gcra(stored[0] if stored else None, now, rule.interval, rule.burst, hit.cost)

    def _peek(self, hit: Hit, now: float) -> Outcome:
        rule, stored = hit.rule, self._state.get(hit.storage_key)
        if rule.kind == "daily":
            day, used = stored if stored else (None, 0.0)
            return daily_peek(day, used, now, rule.limit)
        return gcra_peek(stored[0] if stored else None, now, rule.interval, rule.burst)

    def _sweep(self, now: float) -> None:
        """Forget keys back to full: a GCRA key whose tat has passed, a quota from an earlier day."""
        today = utc_day(now)
        stale = [k for k, (a, b) in self._state.items() if (b == 0.0 and a <= now) or (b > 0.0 and a < today)]
        for key in stale:
            del self._state[key]
        self._spent = {k: until for k, until in self._spent.items() if until > now}


def _result(hit: Hit, outcome: Outcome) -> HitResult:
    return HitResult(hit, outcome.allowed, outcome.remaining, outcome.reset, outcome.retry_after)
