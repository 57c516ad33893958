"""The limiter: check and consume every limit that applies to one request, all or nothing.

A request names its limits as ``Hit``s (a ``Rule`` and the key it is counted under, such as
``wallet:<client_id>``). A ``Limiter`` checks them together: if any enforced hit refuses,
nothing is consumed; otherwise every hit is consumed. Hits in ``report`` mode are counted and
logged but never refuse. Back-ends: ``memory.MemoryLimiter`` (one process) and
``redis.RedisLimiter`` (shared by every instance), wrapped by ``failover.FailoverLimiter``.

A request may also carry a ``OneTimeKey`` (its DPoP proof's ``jti``): the limiter spends it in
the same step, so the gateway makes one Redis round trip per call, not two. A key already spent
refuses the request (``Decision.first_use`` is False) and consumes none of its hits; a fresh key
is spent even when a limit refuses, so a refused proof cannot be sent again.

Rules are GCRA (``gcra.py``): on average ``limit`` calls per ``period``, at most ``burst`` at
once, so no period-long window admits more than ``limit + burst``. The ``daily`` kind is the
Berlin Group frequencyPerDay quota: ``limit`` calls per UTC calendar day, reset at midnight.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

log = logging.getLogger("walletgate.limiter")

Kind = Literal["gcra", "daily"]
Mode = Literal["enforce", "report"]
OnFailure = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit: ``limit`` calls per ``period`` seconds, ``burst`` at once (``daily``: per UTC day)."""

    name: str  # e.g. "wallet.attended"; part of the storage key
    limit: int
    period: float
    burst: int
    kind: Kind = "gcra"
    mode: Mode = "enforce"
    on_redis_failure: OnFailure | None = None  # None: the limiter's default
    text: str = ""  # what the limit is, for error messages: "50 calls per 1s per wallet (customer present)"

    @property
    def interval(self) -> float:
        """Seconds between calls at the steady rate (GCRA's emission interval)."""
        return self.period / self.limit

    def share(self, instances: int) -> Rule:
        """This rule as one of ``instances`` equal local shares (Redis lost, failing open)."""
        if instances <= 1:
            return self
        if self.kind == "daily":
            return replace(self, limit=max(1, self.limit // instances), burst=max(1, self.burst // instances))
        return replace(self, period=self.period * instances, burst=max(1, self.burst // instances))


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule counted under one key for one request."""

    rule: Rule
    key: str  # e.g. "wallet:<client_id>"
    cost: int = 1

    @property
    def storage_key(self) -> str:
        return f"{self.rule.name}|{self.key}"


@dataclass(frozen=True, slots=True)
class HitResult:
    """What one hit's rule says about this request."""

    hit: Hit
    allowed: bool  # whether this rule alone would admit the request
    remaining: int  # calls still admitted at once after this request (before it, for a peek)
    reset: float  # seconds until the rule is back to full
    retry_after: float  # seconds until the request would be admitted (0 when allowed)


@dataclass(frozen=True, slots=True)
class OneTimeKey:
    """A value that may be used once within ``ttl`` seconds, such as ``dpop:<jkt>:<jti>``.

    ``token`` is what the request stores under ``key``: when a Redis call times out and the
    request tries again, finding its own token there means the first try spent it, not a replay.
    """

    key: str
    ttl: float
    token: str = field(default_factory=lambda: os.urandom(9).hex())


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on all of a request's hits; ``binding`` is the limit that decided it."""

    allowed: bool
    binding: HitResult | None  # refused: the enforced rule with the longest wait; else the tightest
    results: tuple[HitResult, ...]
    now: float  # the time the back-end decided at (Redis TIME for Redis)
    first_use: bool = True  # False: the request's OneTimeKey was spent before (nothing was counted)

    @property
    def remaining(self) -> int:
        return self.binding.remaining if self.binding else 0

    @property
    def reset(self) -> float:
        return self.binding.reset if self.binding else 0.0

    @property
    def retry_after(self) -> float:
        return self.binding.retry_after if self.binding else 0.0


class Limiter(Protocol):
    """Checks and consumes all of a request's hits atomically."""

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        """Admit (consuming every hit) or refuse (consuming none). ``now`` overrides the clock (tests).

        ``once`` is spent first: already spent, the request is refused with ``first_use`` False.
        """
        ...

    def begin(self, hits: Sequence[Hit], once: OneTimeKey | None = None) -> Awaitable[Decision]:
        """``acquire`` now, its decision awaited later: a shared back-end sends its call before returning,
        so the caller's own work overlaps the round trip. The result must be awaited."""
        ...

    async def peek(self, hits: Sequence[Hit], now: float | None = None) -> Decision:
        """What ``acquire`` would decide, consuming nothing (``walletgate limits show``)."""
        ...

    async def aclose(self) -> None: ...


class LimiterUnavailable(Exception):  # noqa: N818 - reads as a state, like ConnectionRefused
    """The shared back-end did not answer within its budget."""


def enforced_refusal(results: Sequence[HitResult]) -> bool:
    """Whether any enforced hit refuses: the request is refused and nothing is consumed."""
    return any(not r.allowed and r.hit.rule.mode == "enforce" for r in results)


def replayed(now: float) -> Decision:
    """The verdict on a request whose ``OneTimeKey`` was spent before: refused, nothing counted."""
    return Decision(False, None, (), now, first_use=False)


def decide(results: Sequence[HitResult], now: float) -> Decision:
    """Turn per-hit results into the request's verdict, logging what report-mode rules would refuse
    (``Metrics.record_limit_decision`` counts them)."""
    refused = [r for r in results if not r.allowed and r.hit.rule.mode == "enforce"]
    for r in results:
        if not r.allowed and r.hit.rule.mode == "report":
            log.info("limit %s would refuse %s (report mode)", r.hit.rule.name, r.hit.key)
    if refused:
        return Decision(False, max(refused, key=lambda r: r.retry_after), tuple(results), now)
    enforced = [r for r in results if r.hit.rule.mode == "enforce"] or list(results)
    binding = min(enforced, key=lambda r: (r.remaining, -r.reset)) if enforced else None
    return Decision(True, binding, tuple(results), now)
