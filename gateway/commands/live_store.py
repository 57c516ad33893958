"""The consent store a command changes consents through, wired as a running gateway wires its own.

A command that changes consents (``clients delete``, ``consents sweep``) must have the effects a
gateway's own change has: the tokens of a consent that ends go on the deny-list
(``ConsentTokenRevoker``) and the consent caches forget it (``ConsentCache.on_change``). With
``WALLETGATE_REDIS_URL`` set, both reach every running gateway that shares that Redis at once; the
Redis is pinged before anything changes, so none of it happens unheard. Without Redis, running
gateways learn only what their database reads and cache expiry tell them (``not_told``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from consent.changes import ConsentChanges
from consent.db import open_engine
from consent.sql import SqlConsentStore
from gateway.cli import UserFacingError
from gateway.clock import Clock, system_clock
from gateway.consent_cache import ConsentCache
from gateway.oauth.consent_events import ConsentTokenRevoker
from gateway.oauth.revocation import RevocationList
from gateway.oauth.store import OAuthStore
from gateway.settings import Settings, env_name
from policies import load_policies

REDIS_TIMEOUT = 5.0  # seconds to connect to Redis
TOLD = "every running gateway that shares this Redis was told at once"


class CountingDenyList(RevocationList):
    """The deny-list, counting the distinct access tokens this command puts on it."""

    def __init__(self, clock: Clock, redis: Any | None) -> None:
        super().__init__(clock, redis)
        self.jtis: set[str] = set()

    async def revoke(self, jti: str, until: float) -> None:
        await super().revoke(jti, until)
        self.jtis.add(jti)


@dataclass(frozen=True, slots=True)
class LiveStore:
    """What a command changes consents and tokens through, as a running gateway would."""

    engine: AsyncEngine
    consents: SqlConsentStore
    tokens: OAuthStore
    denied: CountingDenyList


@contextlib.asynccontextmanager
async def live_store(settings: Settings) -> AsyncIterator[LiveStore]:
    """The gateway's database and (when set) its Redis, with the gateway's subscribers to consent changes
    in the gateway's order (token revocation, then consent-cache invalidation). An unreachable or unusable
    database or Redis, here or in the body, is one line (``UserFacingError``)."""
    policies = load_policies(settings.policies_dir)
    engine = open_engine(settings.effective_database_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT) if settings.redis_url else None
    changes = ConsentChanges()
    consents = SqlConsentStore(
        engine,
        policies,
        system_clock,
        changes=changes,
        awaiting_authorisation_ttl=settings.awaiting_authorisation_ttl,
    )
    tokens = OAuthStore(engine)
    denied = CountingDenyList(system_clock, redis)
    changes.subscribe(ConsentTokenRevoker(tokens, denied, system_clock))
    changes.subscribe(ConsentCache(consents, ttl=settings.consent_cache_ttl, redis=redis).on_change)
    try:
        if redis is not None:
            await redis.ping()  # before anything changes: running gateways must hear of all of it
        yield LiveStore(engine, consents, tokens, denied)
    except (RedisError, SQLAlchemyError, OSError) as exc:
        raise unusable(exc) from None
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def not_told(learn: str) -> str:
    """What to say when ``WALLETGATE_REDIS_URL`` is not set: running gateways were not told, and ``learn``."""
    return f"{env_name('redis_url')} is not set, so running gateways were not told: {learn}"


def unusable(exc: Exception) -> UserFacingError:
    """One line for a database or Redis that cannot be reached or used."""
    if isinstance(exc, RedisError):
        return UserFacingError(f"cannot use Redis ({env_name('redis_url')}): {_first_line(exc)}")
    if isinstance(exc, OperationalError | ProgrammingError):
        return UserFacingError(f"the database is not ready ({_first_line(exc.orig)}); run `walletgate migrate` first")
    if isinstance(exc, DBAPIError):
        return UserFacingError(f"the database refused ({env_name('database_url')}): {_first_line(exc.orig)}")
    return UserFacingError(f"cannot reach the database ({env_name('database_url')}): {_first_line(exc)}")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'no detail'}"
