"""Single use holds in the database itself (SQLite and PostgreSQL), even for concurrent redeems."""

from __future__ import annotations

import asyncio

import pytest

from consent.db import open_engine
from consent.migrate import upgrade
from gateway.oauth.errors import InvalidRequestUriError
from gateway.oauth.revocation import RevocationList, revoke_tokens
from gateway.oauth.store import CodeGrant, CodeReusedError, OAuthStore, RefreshGrant, digest

NOW = 1_790_000_000.0


@pytest.fixture
async def store(database_url):
    upgrade(database_url, "head")
    engine = open_engine(database_url)
    yield OAuthStore(engine)
    await engine.dispose()


def grant(code: str) -> CodeGrant:
    return CodeGrant(
        code_hash=digest(code),
        client_id="w1",
        user_id="alice",
        consent_id="c1",
        redirect_uri="https://w/cb",
        code_challenge="x" * 43,
        dpop_jkt=None,
        scope="openid accounts",
        nonce=None,
        auth_time=NOW,
        expires_at=NOW + 60,
    )


async def test_concurrent_redeems_of_one_code_have_one_winner(store):
    await store.create_code(grant("code-1"))
    results = await asyncio.gather(*(store.redeem_code("code-1", NOW) for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(r, CodeGrant) for r in results) == 1
    assert sum(isinstance(r, CodeReusedError) for r in results) == 4


async def test_request_uri_redeems_once_for_its_client_before_expiry(store):
    await store.create_par("urn:1", "w1", {"consent_id": "c1"}, NOW + 60)
    with pytest.raises(InvalidRequestUriError, match="pushed by another client"):
        await store.redeem_par("urn:1", "w2", "alice", NOW)
    assert await store.redeem_par("urn:1", "w1", "alice", NOW) == {"consent_id": "c1"}
    with pytest.raises(InvalidRequestUriError, match="already used"):
        await store.redeem_par("urn:1", "w1", "alice", NOW)
    await store.create_par("urn:2", "w1", {}, NOW + 60)
    with pytest.raises(InvalidRequestUriError, match="has expired"):
        await store.redeem_par("urn:2", "w1", "alice", NOW + 61)


async def test_consent_revocation_reaches_tokens_of_that_consent_only(store):
    await store.record_access("jti-a", "w1", "c1", None, NOW + 300)
    await store.record_access("jti-b", "w1", "c2", None, NOW + 300)
    await store.record_access("jti-old", "w1", "c1", None, NOW - 1)
    assert await store.revoke_by(now=NOW, consent_id="c1") == [("jti-a", NOW + 300)]
    assert await store.revoked_access(NOW) == [("jti-a", NOW + 300)]


async def test_revoking_a_grants_tokens_denies_its_live_access_tokens_only(store):
    deny_list = RevocationList(lambda: NOW)
    await store.record_access("jti-mine", "w1", "c1", "g1", NOW + 300)
    await store.record_access("jti-other", "w1", "c1", "g2", NOW + 300)
    await revoke_tokens(store, deny_list, now=NOW, grant_id="g1")
    assert (deny_list.is_revoked("jti-mine"), deny_list.is_revoked("jti-other")) == (True, False)
    assert await store.revoked_access(NOW) == [("jti-mine", NOW + 300)]


async def test_revocation_reaches_another_replica_through_redis(redis_url):
    from redis.asyncio import Redis

    clock = [NOW]
    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    first, second = RevocationList(lambda: clock[0], one), RevocationList(lambda: clock[0], two)
    await second.start()
    try:
        await first.revoke("jti-x", NOW + 300)
        for _ in range(100):
            if second.is_revoked("jti-x"):
                break
            await asyncio.sleep(0.02)
        assert second.is_revoked("jti-x")
        late = RevocationList(lambda: clock[0], two)
        await late.start()
        assert late.is_revoked("jti-x")
        await late.stop()
        clock[0] = NOW + 301
        assert not second.is_revoked("jti-x")
    finally:
        await second.stop()
        await one.aclose()
        await two.aclose()


async def test_sweep_removes_only_what_expired_before_the_cut(store):
    await store.create_code(grant("live-code"))  # expires NOW + 60
    await store.record_access("jti-live", "w1", "c1", None, NOW + 300)
    await store.record_access("jti-gone", "w1", "c1", None, NOW - 5)
    await store.create_par("urn:gone", "w1", {}, NOW - 10)
    assert await store.sweep(NOW) == 2
    assert isinstance(await store.redeem_code("live-code", NOW), CodeGrant)
    assert [jti for jti, _ in await store.revoke_by(now=NOW, consent_id="c1")] == ["jti-live"]


def refresh(token: str) -> RefreshGrant:
    return RefreshGrant(
        token_hash=digest(token),
        client_id="w1",
        user_id="alice",
        consent_id="c1",
        grant_id=digest(f"code-of-{token}"),
        scope="openid accounts",
        cnf_jkt=None,
        cnf_x5t=None,
        revoked_at=None,
    )


async def test_sweep_removes_refresh_tokens_revoked_before_the_cut_and_keeps_the_others(store):
    for token in ("rt-live", "rt-revoked-long-ago", "rt-revoked-lately"):
        await store.create_refresh(refresh(token), issued_at=NOW - 100)
    await store.revoke_refresh(digest("rt-revoked-long-ago"), NOW - 10)
    await store.revoke_refresh(digest("rt-revoked-lately"), NOW + 10)
    assert await store.sweep(NOW) == 1
    assert await store.get_refresh("rt-revoked-long-ago") is None
    assert (await store.get_refresh("rt-revoked-lately")).revoked_at == NOW + 10
    assert (await store.get_refresh("rt-live")).revoked_at is None
