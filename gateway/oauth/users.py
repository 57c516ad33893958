"""The built-in user store: argon2id password hashes and a login throttle every replica shares.

``authenticate`` answers a wrong password and an unknown user with the same error after the
same work (the KDF runs against a dummy hash), so neither the message nor the timing tells
which user names exist. Failures are counted per user and per client IP over a sliding
window, in Redis when configured and in the database otherwise, so every replica agrees.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from redis.exceptions import RedisError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock, system_clock, utc
from gateway.errors import GatewayError, ServiceUnavailableError, TooManyRequestsError
from gateway.oauth.tables_identity import login_failures, users

DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("alice", "Alice Adams"),
    ("bob", "Bob Brown"),
    ("chen", "Chen Wei"),
    ("dara", "Dara Doyle"),
    ("emeka", "Emeka Eze"),
)
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60  # seconds
_MAX_USER_ID = 64
_MAX_PASSWORD = 1024


class InvalidCredentialsError(GatewayError):
    """The user name or the password is wrong (deliberately not saying which).

    Both cases name the ``password`` field: it does not match the user name given.
    """

    status, code, message = 401, "UK.OBIE.Field.Invalid", "The user name or password is wrong."

    def __init__(self) -> None:
        super().__init__(path="password")


class LoginThrottledError(TooManyRequestsError):
    """Too many failed logins for this user or from this address; ``retry_after`` seconds to wait."""

    message = "Too many failed logins; wait before trying again."

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            f"Too many failed logins; try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(self.retry_after)},
        )


class LoginUnavailableError(ServiceUnavailableError):
    """The shared login throttle cannot be reached, so no login is checked (fail closed)."""

    message = "Logging in is unavailable for a moment; try again shortly."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    display_name: str
    created_at: datetime


Entry = tuple[str, str]  # (key, entry id): one recorded attempt under one key


class FailureLog(Protocol):
    """Failed-login timestamps per key ("user:<id>", "ip:<addr>") over a sliding window."""

    async def add(self, keys: Iterable[str], at: float, window: float) -> list[Entry]: ...
    async def recent(self, key: str, since: float) -> list[tuple[str, float]]: ...
    async def discard(self, entries: Iterable[Entry]) -> None: ...
    async def clear(self, key: str) -> None: ...


class SqlFailureLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, keys: Iterable[str], at: float, window: float) -> list[Entry]:
        entries = [(k, uuid.uuid4().hex) for k in keys]
        async with self.engine.begin() as conn:
            await conn.execute(insert(login_failures), [{"id": i, "key": k, "at": at} for k, i in entries])
            await conn.execute(delete(login_failures).where(login_failures.c.at <= at - window))
        return entries

    async def recent(self, key: str, since: float) -> list[tuple[str, float]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(login_failures.c.id, login_failures.c.at).where(
                    login_failures.c.key == key, login_failures.c.at > since
                )
            )
            return [(r.id, r.at) for r in rows]

    async def discard(self, entries: Iterable[Entry]) -> None:
        ids = [i for _, i in entries]
        if ids:
            async with self.engine.begin() as conn:
                await conn.execute(delete(login_failures).where(login_failures.c.id.in_(ids)))

    async def clear(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(login_failures).where(login_failures.c.key == key))


class RedisFailureLog:
    """One sorted set per key, scored by time, expiring with the window.

    Without Redis the throttle cannot be enforced, so logins are refused (fail closed) with
    ``LoginUnavailableError`` rather than let guessing run unthrottled.
    """

    def __init__(self, redis: Any, prefix: str = "wg:login-failures:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def add(self, keys: Iterable[str], at: float, window: float) -> list[Entry]:
        entries = [(k, uuid.uuid4().hex) for k in keys]
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, entry in entries:
                    name = self.prefix + key
                    pipe.zadd(name, {entry: at})
                    pipe.zremrangebyscore(name, "-inf", at - window)
                    pipe.expire(name, math.ceil(window))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LoginUnavailableError() from exc
        return entries

    async def recent(self, key: str, since: float) -> list[tuple[str, float]]:
        try:
            found = await self.redis.zrangebyscore(self.prefix + key, f"({since}", "+inf", withscores=True)
        except (RedisError, OSError) as exc:
            raise LoginUnavailableError() from exc
        return [(member.decode() if isinstance(member, bytes) else str(member), float(at)) for member, at in found]

    async def discard(self, entries: Iterable[Entry]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, entry in entries:
                    pipe.zrem(self.prefix + key, entry)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LoginUnavailableError() from exc

    async def clear(self, key: str) -> None:
        try:
            await self.redis.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise LoginUnavailableError() from exc


def default_hasher() -> PasswordHasher:
    """argon2id with the library defaults (RFC 9106 second recommendation: 64 MiB, t=3, p=4)."""
    return PasswordHasher()


class UserStore:
    """Users of the built-in login, and the throttle in front of it."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = system_clock,
        redis: Any | None = None,
        hasher: PasswordHasher | None = None,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.hasher = hasher or default_hasher()
        self.failures: FailureLog = RedisFailureLog(redis) if redis is not None else SqlFailureLog(engine)
        self.max_failures = max_failures
        self.window = window
        self._dummy_hash: str | None = None

    async def create_user(self, user_id: str, password: str, display_name: str) -> User:
        if not user_id or len(user_id) > _MAX_USER_ID or user_id != user_id.strip():
            raise ValueError(f"user_id must be 1 to {_MAX_USER_ID} characters without surrounding spaces")
        if not password or len(password) > _MAX_PASSWORD:
            raise ValueError(f"password must be 1 to {_MAX_PASSWORD} characters")
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        user = User(user_id, display_name, utc(self.clock))
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(users).values(
                        user_id=user_id,
                        display_name=display_name,
                        password_hash=password_hash,
                        created_at=user.created_at,
                    )
                )
        except IntegrityError:
            raise ValueError(f"user {user_id!r} already exists") from None
        return user

    async def get(self, user_id: str) -> User | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.user_id == user_id))).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return User(row.user_id, row.display_name, created)

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())

    async def authenticate(self, username: str, password: str, ip: str | None) -> str:
        """The user id when the password is right; otherwise ``InvalidCredentialsError``.

        Raises ``LoginThrottledError`` (with ``retry_after``) without checking the password when
        the user or the address already has ``max_failures`` failures within the window. The
        attempt is recorded *before* the password is checked, so parallel guesses count against
        each other instead of all slipping through one check.
        """
        user_id = username.strip()
        keys = [f"user:{user_id[:_MAX_USER_ID]}"] + ([f"ip:{ip}"] if ip else [])
        now = self.clock()
        mine = await self.failures.add(keys, now, self.window)
        try:
            await self._refuse_if_throttled(mine, now)
        except LoginThrottledError:
            await self.failures.discard(mine)
            raise
        stored = await self._password_hash(user_id) if len(user_id) <= _MAX_USER_ID else None
        ok = await asyncio.to_thread(self._verify, stored, password[:_MAX_PASSWORD])
        if not ok or stored is None:
            raise InvalidCredentialsError()  # the recorded attempt stays: it is a failure
        await self.failures.discard(mine)
        await self.failures.clear(keys[0])
        if self.hasher.check_needs_rehash(stored):
            await self._rehash(user_id, password)
        return user_id

    async def _refuse_if_throttled(self, mine: list[Entry], now: float) -> None:
        for key, entry in mine:
            earlier = sorted(at for i, at in await self.failures.recent(key, now - self.window) if i != entry)
            if len(earlier) >= self.max_failures:
                # Open again when enough of the earlier failures have left the window.
                oldest_that_counts = earlier[-self.max_failures]
                raise LoginThrottledError(math.ceil(oldest_that_counts + self.window - now))

    async def _password_hash(self, user_id: str) -> str | None:
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(users.c.password_hash).where(users.c.user_id == user_id))).scalar()
        return str(value) if value is not None else None

    def _verify(self, stored: str | None, password: str) -> bool:
        """Run the KDF in every case, against a dummy hash when the user does not exist."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(uuid.uuid4().hex)
        try:
            return bool(self.hasher.verify(stored or self._dummy_hash, password)) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _rehash(self, user_id: str, password: str) -> None:
        new_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.engine.begin() as conn:
            await conn.execute(update(users).where(users.c.user_id == user_id).values(password_hash=new_hash))


async def seed_demo_users(store: UserStore) -> list[str]:
    """Create the shared demo users (password ``<id>-demo``) that are missing; return those created."""
    created = []
    for user_id, name in DEMO_USERS:
        if await store.get(user_id) is None:
            try:
                await store.create_user(user_id, f"{user_id}-demo", name)
            except ValueError:  # another replica seeded it first
                continue
            created.append(user_id)
    return created
