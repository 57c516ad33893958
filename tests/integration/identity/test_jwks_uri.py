from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from gateway.oauth import clients as clients_module
from gateway.oauth.clients import Client, ClientKeysError, client_public_keys
from gateway.oauth.keys import generate_jwk, public_jwk

pytestmark = pytest.mark.integration


@pytest.fixture
async def jwks_server(port):
    state: dict[str, Any] = {"jwks": {"keys": [public_jwk(generate_jwk("ES256"))]}, "hits": 0, "status": 200}

    async def serve(request):
        state["hits"] += 1
        return web.json_response(state["jwks"], status=state["status"])

    app = web.Application()
    app.router.add_get("/jwks", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/jwks", state
    await runner.cleanup()


def _client(uri, client_id="uri-wallet"):
    clients_module.forget_cached_keys(client_id)
    return Client(
        client_id=client_id,
        client_name="W",
        redirect_uris=("https://w.example/cb",),
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=uri,
    )


async def test_keys_are_fetched_from_jwks_uri_and_cached(jwks_server):
    uri, state = jwks_server
    client = _client(uri)
    assert await client_public_keys(client) == state["jwks"]["keys"]
    assert await client_public_keys(client) == state["jwks"]["keys"]
    assert state["hits"] == 1


async def test_refresh_refetches_but_not_more_than_every_few_seconds(jwks_server, monkeypatch):
    uri, state = jwks_server
    client = _client(uri)
    await client_public_keys(client)
    await client_public_keys(client, refresh=True)
    assert state["hits"] == 1  # within JWKS_REFRESH_INTERVAL
    monkeypatch.setattr(clients_module, "JWKS_REFRESH_INTERVAL", 0.0)
    state["jwks"] = {"keys": [public_jwk(generate_jwk("ES256"))]}
    assert await client_public_keys(client, refresh=True) == state["jwks"]["keys"]
    assert state["hits"] == 2


async def test_jwks_uri_answering_an_error_is_refused(jwks_server):
    uri, state = jwks_server
    state["status"] = 500
    with pytest.raises(ClientKeysError, match="answered HTTP 500"):
        await client_public_keys(_client(uri, "err-wallet"))


async def test_jwks_uri_serving_a_private_key_is_refused(jwks_server):
    uri, state = jwks_server
    state["jwks"] = {"keys": [generate_jwk("ES256")]}
    with pytest.raises(ClientKeysError, match="private or symmetric"):
        await client_public_keys(_client(uri, "priv-wallet"))


async def test_unreachable_jwks_uri_is_refused(port):
    with pytest.raises(ClientKeysError, match="could not be fetched"):
        await client_public_keys(_client(f"http://127.0.0.1:{port}/jwks", "dead-wallet"))
