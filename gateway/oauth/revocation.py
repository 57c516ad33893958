"""The deny-list of revoked access-token ``jti``s that the pipeline checks on every call.

``is_revoked`` is a dictionary look-up (the hot path never waits on the network). ``revoke``
records the jti locally and, when Redis is configured, in a shared sorted set (score = the
token's expiry) and on a pub/sub channel, so every replica learns of it at once; a replica
that starts later reads the sorted set. Entries are dropped once the token has expired anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from gateway.clock import Clock
from gateway.oauth.store import OAuthStore

log = logging.getLogger("walletgate.oauth.revocation")

CHANNEL = "wg:revoked-jti"
SET_KEY = "wg:revoked-jti"


class RevocationList:
    def __init__(self, clock: Clock, redis: Any | None = None) -> None:
        self._clock = clock
        self._redis = redis
        self._until: dict[str, float] = {}
        self._listener: asyncio.Task[None] | None = None

    def is_revoked(self, jti: str) -> bool:
        until = self._until.get(jti)
        return until is not None and until > self._clock()

    async def revoke(self, jti: str, until: float) -> None:
        """Deny ``jti`` until ``until`` (its ``exp``), here and on every replica."""
        self._remember(jti, until)
        if self._redis is not None:
            now = self._clock()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(SET_KEY, {jti: until})
                pipe.zremrangebyscore(SET_KEY, "-inf", now)
                pipe.publish(CHANNEL, f"{jti} {until}")
                await pipe.execute()

    def load(self, entries: Iterable[tuple[str, float]]) -> None:
        """Seed from the database (revoked tokens that have not expired yet)."""
        for jti, until in entries:
            self._remember(jti, until)

    async def start(self) -> None:
        """Read the shared set and follow the channel (no-op without Redis)."""
        if self._redis is None:
            return
        pubsub = await self._subscribe()
        self._listener = asyncio.create_task(self._follow(pubsub), name="revocation-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _subscribe(self) -> Any:
        """Subscribe first, then read the set, so nothing revoked in between is missed."""
        redis = self._redis
        if redis is None:
            raise RuntimeError("no Redis to follow")
        pubsub = redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        shared = await redis.zrangebyscore(SET_KEY, self._clock(), "+inf", withscores=True)
        self.load((_text(jti), float(score)) for jti, score in shared)
        return pubsub

    async def _follow(self, pubsub: Any) -> None:
        from redis.exceptions import RedisError

        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        jti, _, until = _text(message["data"]).partition(" ")
                        with contextlib.suppress(ValueError):
                            self._remember(jti, float(until))
            except (RedisError, OSError):
                log.warning("the revocation channel was lost; reconnecting (tokens expire meanwhile anyway)")
            finally:
                await pubsub.aclose()
            pubsub = await self._resubscribe()

    async def _resubscribe(self) -> Any:
        from redis.exceptions import RedisError

        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            try:
                return await self._subscribe()
            except (RedisError, OSError):
                delay = min(delay * 2, 10.0)

    def _remember(self, jti: str, until: float) -> None:
        if until <= self._clock():
            return
        self._until[jti] = max(until, self._until.get(jti, 0.0))
        if len(self._until) > 10_000 and len(self._until) % 1000 == 0:
            now = self._clock()
            self._until = {k: v for k, v in self._until.items() if v > now}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def revoke_tokens(
    store: OAuthStore,
    revocation: RevocationList,
    *,
    now: float,
    consent_id: str | None = None,
    grant_id: str | None = None,
) -> None:
    """Revoke every token of a consent or of a grant (give one of the two).

    The database marks its refresh and access tokens revoked; each live access token's jti goes
    on the deny-list, which reaches every replica.
    """
    for jti, until in await store.revoke_by(now=now, consent_id=consent_id, grant_id=grant_id):
        await revocation.revoke(jti, until)


async def revoke_client_tokens(store: OAuthStore, revocation: RevocationList, *, now: float, client_id: str) -> None:
    """Revoke every token of a deregistered client and drop its pending grants (RFC 7592 §2.3).

    Its client_credentials tokens as well as its user tokens: each live access token's jti goes
    on the deny-list, which reaches every replica.
    """
    for jti, until in await store.revoke_client(client_id, now=now):
        await revocation.revoke(jti, until)
