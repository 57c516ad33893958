from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis

from consent.db import metadata, open_engine
from gateway.oauth import tables_identity
from gateway.oauth.users import InvalidCredentialsError, LoginThrottledError, UserStore

pytestmark = pytest.mark.integration
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def test_redis_throttle_is_shared_by_replicas(database_url, redis_url, frozen_clock):
    engine = open_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
    redis = Redis.from_url(redis_url)
    try:
        a = UserStore(engine, clock=frozen_clock, redis=redis, hasher=FAST)
        b = UserStore(engine, clock=frozen_clock, redis=redis, hasher=FAST)
        await a.create_user("bob", "bob-demo", "Bob")
        for _ in range(5):
            with pytest.raises(InvalidCredentialsError):
                await a.authenticate("bob", "nope", "192.0.2.50")
        with pytest.raises(LoginThrottledError):
            await b.authenticate("bob", "bob-demo", "192.0.2.51")
        with pytest.raises(LoginThrottledError):
            await b.authenticate("chen", "x", "192.0.2.50")
        frozen_clock.advance(901)
        assert await b.authenticate("bob", "bob-demo", "192.0.2.51") == "bob"
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_database_throttle_works_on_each_backend(database_url, frozen_clock):
    engine = open_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
    try:
        store = UserStore(engine, clock=frozen_clock, hasher=FAST)
        await store.create_user("dara", "dara-demo", "Dara")
        for _ in range(5):
            with pytest.raises(InvalidCredentialsError):
                await store.authenticate("dara", "nope", None)
        with pytest.raises(LoginThrottledError):
            await store.authenticate("dara", "dara-demo", None)
    finally:
        await engine.dispose()


async def test_login_fails_closed_when_redis_is_gone(sqlite_url, frozen_clock, port):
    from gateway.oauth.users import LoginUnavailableError

    engine = open_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
    dead = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    try:
        store = UserStore(engine, clock=frozen_clock, redis=dead, hasher=FAST)
        await store.create_user("emeka", "emeka-demo", "Emeka")
        with pytest.raises(LoginUnavailableError) as exc:
            await store.authenticate("emeka", "emeka-demo", None)
        assert exc.value.status == 503
    finally:
        await dead.aclose()
        await engine.dispose()


async def test_parallel_guesses_are_throttled_through_redis(sqlite_url, redis_url, frozen_clock):
    import asyncio

    engine = open_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
    redis = Redis.from_url(redis_url)
    try:
        store = UserStore(engine, clock=frozen_clock, redis=redis, hasher=FAST)
        await store.create_user("chen", "chen-demo", "Chen")

        async def guess(i: int) -> type[Exception]:
            try:
                await store.authenticate("chen", f"guess-{i}", "192.0.2.7")
            except (InvalidCredentialsError, LoginThrottledError) as exc:
                return type(exc)
            raise AssertionError("a wrong password logged in")

        outcomes = await asyncio.gather(*(guess(i) for i in range(20)))
        assert outcomes.count(InvalidCredentialsError) <= 5
        assert outcomes.count(LoginThrottledError) >= 15
    finally:
        await redis.aclose()
        await engine.dispose()
