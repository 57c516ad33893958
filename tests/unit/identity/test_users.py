from __future__ import annotations

import asyncio
import time

import pytest
from argon2 import PasswordHasher

from gateway.oauth.users import (
    InvalidCredentialsError,
    LoginThrottledError,
    UserStore,
    seed_demo_users,
)

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
async def store(identity_engine, frozen_clock):
    s = UserStore(identity_engine, clock=frozen_clock, hasher=FAST)
    await s.create_user("alice", "alice-demo", "Alice Adams")
    return s


async def test_authenticate_returns_the_user_id_for_the_right_password(store):
    assert await store.authenticate("alice", "alice-demo", "192.0.2.1") == "alice"


async def test_authenticate_refuses_a_wrong_password(store):
    with pytest.raises(InvalidCredentialsError, match="user name or password is wrong"):
        await store.authenticate("alice", "wrong", "192.0.2.1")


async def test_authenticate_refuses_an_unknown_user_with_the_same_error(store):
    with pytest.raises(InvalidCredentialsError, match="user name or password is wrong") as exc:
        await store.authenticate("mallory", "alice-demo", "192.0.2.1")
    assert exc.value.status == 401


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("mallory", "alice-demo")])
async def test_refused_credentials_are_an_invalid_password_field_for_known_and_unknown_users(store, username, password):
    with pytest.raises(InvalidCredentialsError) as exc:
        await store.authenticate(username, password, "192.0.2.1")
    assert (exc.value.code, exc.value.path) == ("UK.OBIE.Field.Invalid", "password")


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash, password):
        self.verified.append(hash)
        return super().verify(hash, password)


async def test_unknown_user_still_runs_the_kdf(identity_engine, frozen_clock):
    hasher = CountingHasher()
    store = UserStore(identity_engine, clock=frozen_clock, hasher=hasher)
    await store.create_user("alice", "alice-demo", "Alice")
    with pytest.raises(InvalidCredentialsError):
        await store.authenticate("mallory", "x", None)
    with pytest.raises(InvalidCredentialsError):
        await store.authenticate("alice", "x", None)
    assert len(hasher.verified) == 2
    assert all(h.startswith("$argon2id$") for h in hasher.verified)


async def test_unknown_user_and_wrong_password_take_comparable_time(identity_engine, frozen_clock):
    store = UserStore(identity_engine, clock=frozen_clock, hasher=PasswordHasher(), max_failures=1000)
    await store.create_user("alice", "alice-demo", "Alice")

    async def timed(user: str) -> float:
        start = time.perf_counter()
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate(user, "wrong", None)
        return time.perf_counter() - start

    await timed("mallory")  # builds the dummy hash once
    known = min([await timed("alice") for _ in range(3)])
    unknown = min([await timed("mallory") for _ in range(3)])
    # Both run one full argon2id verification; neither is a small fraction of the other.
    assert unknown > known / 3
    assert known > unknown / 3


async def test_password_is_stored_as_argon2id(store, identity_engine):
    hashed = await store._password_hash("alice")
    assert hashed is not None
    assert hashed.startswith("$argon2id$")
    assert "alice-demo" not in hashed


async def test_login_is_throttled_per_user_after_five_failures(store, frozen_clock):
    for i in range(5):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate("alice", "wrong", f"192.0.2.{i}")
        frozen_clock.advance(10)
    with pytest.raises(LoginThrottledError) as exc:
        await store.authenticate("alice", "alice-demo", "198.51.100.7")
    assert exc.value.status == 429
    assert exc.value.headers["Retry-After"] == str(exc.value.retry_after)
    assert 0 < exc.value.retry_after <= 900
    frozen_clock.advance(exc.value.retry_after)
    assert await store.authenticate("alice", "alice-demo", "198.51.100.7") == "alice"


async def test_login_is_throttled_per_ip_across_users(store, frozen_clock):
    for name in ("u1", "u2", "u3", "u4", "u5"):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate(name, "guess", "203.0.113.9")
    with pytest.raises(LoginThrottledError):
        await store.authenticate("alice", "alice-demo", "203.0.113.9")
    assert await store.authenticate("alice", "alice-demo", "203.0.113.10") == "alice"


async def test_success_clears_the_users_failures(store):
    for _ in range(4):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate("alice", "wrong", None)
    await store.authenticate("alice", "alice-demo", None)
    for _ in range(4):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate("alice", "wrong", None)
    assert await store.authenticate("alice", "alice-demo", None) == "alice"


async def test_throttle_is_shared_through_the_database(store, identity_engine, frozen_clock):
    other_replica = UserStore(identity_engine, clock=frozen_clock, hasher=FAST)
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate("alice", "wrong", None)
    with pytest.raises(LoginThrottledError):
        await other_replica.authenticate("alice", "alice-demo", None)


async def test_seed_demo_users_creates_the_five_shared_users_once(identity_engine, frozen_clock):
    store = UserStore(identity_engine, clock=frozen_clock, hasher=FAST)
    assert await seed_demo_users(store) == ["alice", "bob", "chen", "dara", "emeka"]
    assert await seed_demo_users(store) == []
    for user in ("alice", "bob", "chen", "dara", "emeka"):
        assert await store.authenticate(user, f"{user}-demo", None) == user


async def test_create_user_refuses_a_duplicate(store):
    with pytest.raises(ValueError, match="already exists"):
        await store.create_user("alice", "x", "Again")


async def test_parallel_guesses_cannot_slip_past_the_throttle(store):
    async def guess(i: int) -> str:
        try:
            await store.authenticate("alice", f"guess-{i}", None)
        except InvalidCredentialsError:
            return "checked"
        except LoginThrottledError:
            return "throttled"
        return "in"

    outcomes = await asyncio.gather(*(guess(i) for i in range(20)))
    assert outcomes.count("checked") <= 5
    assert outcomes.count("in") == 0


async def test_refused_attempts_do_not_extend_the_lockout(store, frozen_clock):
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            await store.authenticate("alice", "wrong", None)
    frozen_clock.advance(800)
    for _ in range(10):
        with pytest.raises(LoginThrottledError):
            await store.authenticate("alice", "alice-demo", None)
    frozen_clock.advance(101)
    assert await store.authenticate("alice", "alice-demo", None) == "alice"


async def test_a_successful_login_does_not_count_against_the_address(store):
    for _ in range(10):
        assert await store.authenticate("alice", "alice-demo", "192.0.2.99") == "alice"
