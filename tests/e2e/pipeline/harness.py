"""Real processes: the sandbox bank and the gateway under uvicorn; a wallet calling over loopback.

Consents are written straight into the gateway's database (its consent API is tested on its
own); access tokens are signed with the gateway's key file, as its token endpoint would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import Actor, Consent, NewConsent
from consent.sql import SqlConsentStore
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.oauth.keys import KeyRing, new_key_set, write_private_file
from gateway.oauth.tokens import ACCESS_TOKEN_ALG
from policies import load_policies
from tests.support.servers import ServerProcess, free_port, python_module

BASE = "/open-banking/v4.0/aisp"
ANCHOR = "2026-11-20"


@dataclass
class Stack:
    gateway_url: str
    bank_url: str
    database_url: str
    keys: KeyRing
    processes: tuple[ServerProcess, ...]
    env: dict[str, str] = field(default_factory=dict)  # the gateway's settings, for the CLI against it

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def publish(self, name: str, policy: str, openapi: str, admin_token: str) -> None:
        """Publish an API through the gateway's admin API, as a bank's administrator does."""
        body = {"policy": policy, "openapi": openapi}
        headers = {"Authorization": f"Bearer {admin_token}"}
        published = httpx.put(f"{self.gateway_url}/admin/apis/{name}", json=body, headers=headers, timeout=10)
        assert published.status_code == 200, published.text


def start_stack(
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
    as_deployed: bool = False,
    gateway_log: Path | None = None,
    database_url: str | None = None,
) -> Stack:
    """The sandbox bank and the gateway, each a process, on SQLite in ``folder`` (or ``database_url``).

    ``as_deployed``: the gateway runs as ``walletgate serve`` and the bank follows the gateway's
    ``/jwks`` (as a bank does that must see a key rotation); otherwise uvicorn runs the app
    factory and the bank reads the gateway's public keys from a file written here.
    """
    keys_file = folder / "signing.jwks.json"
    write_private_file(keys_file, new_key_set())  # as the demo makes it: access tokens PS256, the rest ES256
    keys = KeyRing.load(keys_file)
    public = folder / "gateway.jwks.json"
    public.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    database_url = database_url or f"sqlite:///{folder / 'walletgate.db'}"
    upgrade(database_url)
    bank_port, gateway_port = free_port(), free_port()
    gateway_url, bank_url = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{bank_port}"
    trust = ["--jwks-url", f"{gateway_url}/jwks"] if as_deployed else ["--jwks-file", str(public)]
    bank_args = ["--port", str(bank_port), "--issuer", gateway_url, *trust, "--anchor-date", ANCHOR]
    bank = ServerProcess(python_module("sandbox", *bank_args), bank_url).start()
    env = {
        "WALLETGATE_DATA_DIR": str(folder / "data"),
        "WALLETGATE_DATABASE_URL": database_url,
        "WALLETGATE_PORT": str(gateway_port),
        "WALLETGATE_UPSTREAM_URL": bank_url,
        "WALLETGATE_SIGNING_KEYS_FILE": str(keys_file),
        "WALLETGATE_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    if as_deployed:
        args = python_module("gateway.cli", "serve")
    else:
        args = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:app_from_env", "--port", str(gateway_port)]
        args += ["--log-level", "warning"]
    try:
        gateway = ServerProcess(args, gateway_url, env=env, log_path=gateway_log).start()
    except RuntimeError:
        bank.stop()
        raise
    return Stack(gateway_url, bank_url, database_url, keys, (bank, gateway), env)


class Wallet:
    """A wallet with a DPoP key talking to the gateway process over loopback."""

    def __init__(self, stack: Stack, client_id: str = "wallet-e2e") -> None:
        self.stack, self.client_id = stack, client_id
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=10)

    def close(self) -> None:
        self.http.close()

    def _store(self) -> tuple[Any, SqlConsentStore]:
        engine = open_engine(self.stack.database_url)
        return engine, SqlConsentStore(engine, load_policies(), time.time)

    def _with_store(self, work: Any) -> Any:
        async def run() -> Any:
            engine, store = self._store()
            try:
                return await work(store)
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def consent(self, permissions: set[str], accounts: tuple[str, ...], user: str = "alice", **extra: Any) -> Consent:
        """A consent the user has authorised for ``accounts``; ``extra``: more ``NewConsent`` fields."""

        async def work(store: SqlConsentStore) -> Consent:
            created = await store.create(self._new_consent(permissions, extra))
            return await store.authorise(created.consent_id, user_id=user, account_ids=list(accounts))

        return self._with_store(work)  # type: ignore[no-any-return]

    def awaiting_consent(self, permissions: set[str], **extra: Any) -> Consent:
        """A consent the wallet has created and no user has authorised yet."""

        async def work(store: SqlConsentStore) -> Consent:
            return await store.create(self._new_consent(permissions, extra))

        return self._with_store(work)  # type: ignore[no-any-return]

    def _new_consent(self, permissions: set[str], extra: dict[str, Any]) -> NewConsent:
        return NewConsent(
            client_id=self.client_id,
            permissions=frozenset(permissions),
            purposes=extra.pop("purposes", ("aggregation",)),
            expires_at=extra.pop("expires_at", datetime.now(UTC) + timedelta(days=60)),
            **extra,
        )

    def change(self, consent: Consent, verb: str) -> None:
        async def work(store: SqlConsentStore) -> None:
            await getattr(store, verb)(consent.consent_id, actor=Actor.USER, actor_id=consent.user_id or "")

        self._with_store(work)

    def token(self, consent: Consent | None, user: str = "alice", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.stack.gateway_url,
            "aud": self.stack.gateway_url,
            "sub": user,
            "client_id": self.client_id,
            "scope": "openid accounts",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "cnf": {"jkt": jwk_thumbprint(self.jwk)},
            "consent_id": consent.consent_id if consent else None,
        } | claims
        claims = {k: v for k, v in body.items() if v is not None}
        return self.stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)  # as the token endpoint signs it

    def proof(self, method: str, path: str, token: str | None, **claims: Any) -> str:
        body = {"jti": uuid.uuid4().hex, "htm": method, "htu": self.stack.gateway_url + path.partition("?")[0]}
        body |= {"iat": int(time.time())} | ({"ath": access_token_hash(token)} if token else {}) | claims
        return jwt.encode(body, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})

    def get(
        self,
        path: str,
        consent: Consent | None,
        *,
        token: str | None = None,
        proof: str | None = None,
        attended: bool = True,
        **headers: str,
    ) -> httpx.Response:
        """``attended``: the customer is present (``x-fapi-customer-ip-address``), so the call is not
        held to the consent's daily quota."""
        token = token or self.token(consent)
        sent = {"Authorization": f"DPoP {token}", "DPoP": proof or self.proof("GET", path, token)}
        sent |= ({"x-fapi-customer-ip-address": "198.51.100.7"} if attended else {}) | headers
        return self.http.get(path, headers=sent)


def stack_fixture(
    folder: Path,
    *,
    published: Iterable[tuple[str, str, str]] = (),
    admin_token: str = "",
    gateway_log: Path | None = None,
) -> Iterator[Stack]:
    """A running stack for a module's fixture, stopped after it; ``published``: (name, policy, OpenAPI
    text) of each API to publish through the admin API first, with ``admin_token``."""
    extra_env = {"WALLETGATE_ADMIN_TOKEN": admin_token} if admin_token else None
    stack = start_stack(folder, extra_env=extra_env, gateway_log=gateway_log)
    try:
        for name, policy, openapi in published:
            stack.publish(name, policy, openapi, admin_token)
        yield stack
    finally:
        stack.stop()
