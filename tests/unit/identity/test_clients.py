from __future__ import annotations

import pytest

from gateway.oauth.clients import (
    Client,
    ClientExistsError,
    ClientKeysError,
    ClientNotFoundError,
    ClientStore,
    client_public_keys,
)
from gateway.oauth.keys import generate_jwk, public_jwk


def _client(client_id: str = "wallet-1", **kw) -> Client:
    jwks = {"keys": [public_jwk(generate_jwk("ES256"))]}
    return Client(
        client_id=client_id,
        client_name="Demo Wallet",
        redirect_uris=("https://wallet.example/cb",),
        token_endpoint_auth_method="private_key_jwt",
        jwks=kw.pop("jwks", jwks),
        **kw,
    )


async def test_client_store_round_trips_a_client(identity_engine):
    store = ClientStore(identity_engine)
    client = _client()
    await store.create(client)
    assert await store.get("wallet-1") == client
    assert [c.client_id for c in await store.list()] == ["wallet-1"]


async def test_client_store_refuses_duplicate_client_id(identity_engine):
    store = ClientStore(identity_engine)
    await store.create(_client())
    with pytest.raises(ClientExistsError, match="already registered"):
        await store.create(_client())


async def test_client_store_updates_and_deletes(identity_engine):
    store = ClientStore(identity_engine)
    client = await store.create(_client())
    renamed = Client(**{**{f: getattr(client, f) for f in Client.__slots__}, "client_name": "Renamed"})
    await store.update(renamed)
    got = await store.get("wallet-1")
    assert got is not None
    assert got.client_name == "Renamed"
    await store.delete("wallet-1")
    assert await store.get("wallet-1") is None
    with pytest.raises(ClientNotFoundError):
        await store.delete("wallet-1")


async def test_registration_token_is_checked_against_its_hash(identity_engine):
    store = ClientStore(identity_engine)
    await store.create(_client(), registration_token="s3cret-token")
    assert await store.check_registration_token("wallet-1", "s3cret-token")
    assert not await store.check_registration_token("wallet-1", "other")
    assert not await store.check_registration_token("nobody", "s3cret-token")


def test_client_refuses_marketing_as_default_purpose():
    with pytest.raises(ValueError, match="marketing"):
        _client(default_purpose="marketing")


async def test_client_public_keys_returns_inline_jwks():
    client = _client()
    assert client.jwks is not None
    assert await client_public_keys(client) == client.jwks["keys"]


async def test_client_public_keys_refuses_private_keys():
    client = _client(jwks={"keys": [generate_jwk("ES256")]})
    with pytest.raises(ClientKeysError, match="private or symmetric"):
        await client_public_keys(client)
