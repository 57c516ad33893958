"""Revoking through one gateway process stops the other from serving the consent within 1 second.

Two gateway processes share PostgreSQL and Redis (and one sandbox bank). The wallet reads
/accounts through instance B (warming B's consent cache), deletes the consent through instance
A's wallet API, and then polls B until it refuses.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from consent.migrate import upgrade
from gateway.oauth.keys import KeyRing, generate_jwk, write_private_file
from tests.e2e.consent.conftest import CONSENTS
from tests.e2e.pipeline.harness import ANCHOR, BASE, Stack, Wallet
from tests.support.servers import ServerProcess, free_port, python_module

CURRENT = "acc-alice-current"


def _empty_schema(url: str) -> None:
    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    conn.close()


@pytest.fixture
def stacks(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Stack, Stack]]:
    _empty_schema(postgres_url)
    upgrade(postgres_url)
    keys_file = tmp_path / "signing.jwks.json"
    write_private_file(keys_file, {"keys": [generate_jwk("ES256") | {"use_state": "current"}]})
    keys = KeyRing.load(keys_file)
    public = tmp_path / "gateway.jwks.json"
    public.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    bank_port, port_a, port_b = free_port(), free_port(), free_port()
    issuer, bank_url = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{bank_port}"
    bank_args = ["--port", str(bank_port), "--issuer", issuer, "--jwks-file", str(public), "--anchor-date", ANCHOR]
    processes = [ServerProcess(python_module("sandbox", *bank_args), bank_url).start()]
    try:
        for name, port in (("a", port_a), ("b", port_b)):
            env = {
                "WALLETGATE_DATA_DIR": str(tmp_path / f"data-{name}"),
                "WALLETGATE_DATABASE_URL": postgres_url,
                "WALLETGATE_REDIS_URL": redis_url,
                "WALLETGATE_ISSUER": issuer,
                "WALLETGATE_PORT": str(port),
                "WALLETGATE_UPSTREAM_URL": bank_url,
                "WALLETGATE_SIGNING_KEYS_FILE": str(keys_file),
                "WALLETGATE_LOG_LEVEL": "warning",
                # A long cache lifetime: only the published invalidation can stop B within 1 s.
                "WALLETGATE_CONSENT_CACHE_TTL": "60",
            }
            args = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:app_from_env", "--port", str(port)]
            url = f"http://127.0.0.1:{port}"
            processes.append(ServerProcess([*args, "--log-level", "warning"], url, env=env).start())
        a = Stack(f"http://127.0.0.1:{port_a}", bank_url, postgres_url, keys, ())
        b = Stack(f"http://127.0.0.1:{port_b}", bank_url, postgres_url, keys, ())
        yield a, b
    finally:
        for process in reversed(processes):
            process.stop()


def test_revocation_through_one_instance_is_refused_by_the_other_within_one_second(stacks) -> None:
    a, b = stacks
    via_a = Wallet(a)  # tokens and DPoP proofs name the public URL (the shared issuer)
    via_b = Wallet(a)
    via_b.http.close()
    via_b.http = httpx.Client(base_url=b.gateway_url, timeout=10)  # ... but the calls reach instance B
    via_b._key, via_b.jwk = via_a._key, via_a.jwk  # one wallet, one DPoP key
    try:
        consent = via_b.consent({"ReadAccountsBasic"}, (CURRENT,))
        warm = via_b.get(BASE + "/accounts", consent)
        assert warm.status_code == 200, warm.text  # B's cache is now warm
        client_token = via_a.token(None, user=via_a.client_id)
        deleted = via_a.http.delete(
            f"{CONSENTS}/{consent.consent_id}",
            headers={
                "Authorization": f"DPoP {client_token}",
                "DPoP": via_a.proof("DELETE", f"{CONSENTS}/{consent.consent_id}", client_token),
            },
        )
        assert deleted.status_code == 204, deleted.text
        revoked_at = time.monotonic()
        while True:
            response = via_b.get(BASE + "/accounts", consent)
            elapsed = time.monotonic() - revoked_at
            if response.status_code != 200:
                break
            assert elapsed < 1.0, "instance B still served the revoked consent after 1 s"
            time.sleep(0.12)  # under the per-user limit of 10 calls a second
        assert elapsed < 1.0
        assert response.status_code in (401, 403), response.text
    finally:
        via_a.close()
        via_b.close()
