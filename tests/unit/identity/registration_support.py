"""Wallet-side helpers for the registration tests: keys, statements, requests."""

from __future__ import annotations

import json
from typing import Any

import jwt
from starlette.testclient import TestClient

from gateway.oauth.directory import (
    DEMO_DIRECTORY_ISSUER,
    demo_directory_files,
    ensure_demo_directory,
    issue_software_statement,
)
from gateway.oauth.keys import generate_jwk, public_jwk
from tests.unit.identity.portal import services


def wallet_jwks() -> dict[str, Any]:
    return {"keys": [public_jwk(generate_jwk("ES256")) | {"use": "sig", "alg": "ES256"}]}


def statement(client: TestClient, *, now: float | None = None, **claims: Any) -> str:
    svc = services(client)
    ensure_demo_directory(svc.settings.data_dir)
    claims.setdefault("redirect_uris", ["https://wallet.example/cb"])
    claims.setdefault("jwks", wallet_jwks())
    return issue_software_statement(svc.settings.data_dir, now=svc.clock() if now is None else now, **claims)


def signed_statement(client: TestClient, **claims: Any) -> str:
    """A statement the trusted demo directory signs with exactly ``claims`` (besides iss, iat, exp)."""
    svc = services(client)
    ensure_demo_directory(svc.settings.data_dir)
    key = json.loads(demo_directory_files(svc.settings.data_dir)[0].read_text())["keys"][0]
    now = int(svc.clock())
    body = {"iss": DEMO_DIRECTORY_ISSUER, "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, jwt.PyJWK(key).key, algorithm=key["alg"], headers={"kid": key["kid"], "typ": "JWT"})


def register(client: TestClient, ssa: str | None = None, **metadata: Any) -> Any:
    body = {"software_statement": statement(client) if ssa is None else ssa, **metadata}
    return client.post("/register", json=body)
