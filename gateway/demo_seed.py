"""Seed a demo database: the demo users and one registered demo wallet with its own keys.

The wallet's credentials (client_id, private JWK, redirect URI, issuer) go to a JSON file
readable by the owner only, so any OAuth client can play the wallet. Seeding is idempotent:
a second run on the same data folder keeps the users and the wallet it already has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.oauth.clients import Client, ClientStore
from gateway.oauth.keys import generate_jwk, public_jwk, write_private_file
from gateway.oauth.users import UserStore, seed_demo_users
from gateway.settings import Settings

DEMO_WALLET_ID = "demo-wallet"
DEMO_WALLET_NAME = "Demo Budget Wallet"
DEMO_REDIRECT_PORT = 8765


async def seed_demo(settings: Settings, engine: AsyncEngine, wallet_file: Path) -> Path:
    await seed_demo_users(UserStore(engine))
    existing = json.loads(wallet_file.read_text(encoding="utf-8")) if wallet_file.exists() else None  # noqa: ASYNC240
    await _seed_wallet(settings, ClientStore(engine), wallet_file, existing)
    return wallet_file


async def _seed_wallet(
    settings: Settings, clients: ClientStore, wallet_file: Path, existing: dict[str, Any] | None
) -> None:
    redirect_uri = f"http://127.0.0.1:{DEMO_REDIRECT_PORT}/callback"
    private = existing["private_jwk"] if existing else generate_jwk("ES256")
    client = Client(
        client_id=DEMO_WALLET_ID,
        client_name=DEMO_WALLET_NAME,
        redirect_uris=(redirect_uri,),
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name, not a secret
        jwks={"keys": [public_jwk(private) | {"use": "sig", "alg": private["alg"]}]},
        token_endpoint_auth_signing_alg=private["alg"],
        default_purpose="aggregation",
    )
    if await clients.get(DEMO_WALLET_ID) is None:
        await clients.create(client)
    else:
        await clients.update(client)
    write_private_file(
        wallet_file,
        {
            "issuer": settings.issuer_url,
            "client_id": DEMO_WALLET_ID,
            "client_name": DEMO_WALLET_NAME,
            "redirect_uri": redirect_uri,
            "token_endpoint_auth_method": "private_key_jwt",
            "private_jwk": private,
        },
    )
