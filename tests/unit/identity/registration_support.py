"""Wallet-side helpers for the registration tests: keys, statements, requests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from gateway.oauth.directory import ensure_demo_directory, issue_software_statement
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


def register(client: TestClient, ssa: str | None = None, **metadata: Any) -> Any:
    body = {"software_statement": statement(client) if ssa is None else ssa, **metadata}
    return client.post("/register", json=body)
