"""The identity stores behave the same on SQLite and PostgreSQL (JSON columns, times, single use)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consent.db import metadata, open_engine
from gateway.oauth import tables_identity
from gateway.oauth.clients import Client, ClientStore
from gateway.oauth.keys import generate_jwk, public_jwk
from gateway.oauth.login_delegation import LoginChallengeSettledError, LoginChallengeStore
from gateway.portal.sessions import SessionStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(database_url):
    engine = open_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
    yield engine
    await engine.dispose()


async def test_client_store_round_trips_json_and_times(engine):
    store = ClientStore(engine)
    client = Client(
        client_id="w1",
        client_name="Wallet ✓",
        redirect_uris=("https://w.example/a", "https://w.example/b"),
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public_jwk(generate_jwk("EdDSA"))]},
        grant_types=("client_credentials",),
        created_at=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
    )
    await store.create(client, registration_token="tok")
    assert await store.get("w1") == client
    assert await store.rotate_registration_token("w1", "tok", "tok2")
    assert not await store.rotate_registration_token("w1", "tok", "tok3")
    assert await store.check_registration_token("w1", "tok2")


async def test_sessions_expire_and_are_deleted(engine, frozen_clock):
    store = SessionStore(engine, frozen_clock)
    raw, session = await store.create("alice")
    assert await store.get(raw) == session
    frozen_clock.advance(8 * 3600 + 1)
    assert await store.get(raw) is None
    raw2, _ = await store.create(None)
    await store.delete(raw2)
    assert await store.get(raw2) is None


async def test_login_challenge_is_settled_once_and_consumed_once(engine, frozen_clock):
    store = LoginChallengeStore(engine, frozen_clock)
    challenge, binding = await store.create("/next")
    verifier = await store.settle(challenge, subject="bob")
    with pytest.raises(LoginChallengeSettledError):
        await store.settle(challenge, error="no")
    assert await store.consume(challenge, verifier, "other-browser") is None
    used = await store.consume(challenge, verifier, binding)
    assert used is not None
    assert used.subject == "bob"
    assert used.next_path == "/next"
    assert await store.consume(challenge, verifier, binding) is None
