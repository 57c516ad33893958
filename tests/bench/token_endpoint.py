"""Token endpoint throughput: ``python -m tests.bench.token_endpoint`` prints tokens per second.

One gateway process (``walletgate serve``, one uvicorn worker, SQLite, in-process replay cache)
answers ``client_credentials`` requests authenticated with ``private_key_jwt`` (ES256) and bound
with a DPoP proof (ES256): each request costs the server two signature verifications, two
replay-cache checks and one token signature. Assertions and proofs are signed before the clock
starts, so the figure is the server's, not the client's. The endpoint's rate limits are raised
in a private copy of the policies so that every request is admitted.
Knobs: WALLETGATE_BENCH_TOKENS (default 2000), WALLETGATE_BENCH_CONCURRENCY (default 16),
WALLETGATE_BENCH_REDIS_URL (replay caches in Redis, as replicas run them; default in-process).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from consent.db import open_engine
from gateway.oauth.clients import Client, ClientStore
from tests.support.policies import shipped_policies_copy
from tests.support.servers import ServerProcess, free_port, python_module
from tests.unit.oauth.keys import WalletKey

TOKENS = int(os.environ.get("WALLETGATE_BENCH_TOKENS", "2000"))
CONCURRENCY = int(os.environ.get("WALLETGATE_BENCH_CONCURRENCY", "16"))
REDIS_URL = os.environ.get("WALLETGATE_BENCH_REDIS_URL", "")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OPEN = {"rate": 1_000_000, "per": "1s", "burst": 1_000_000}


def _policies(folder: Path) -> Path:
    def open_token_endpoint(limits: dict[str, Any]) -> dict[str, Any]:
        limits["endpoints"]["token"] = {"per_client": OPEN, "per_address": OPEN}
        return limits

    return shipped_policies_copy(folder, open_token_endpoint)


async def _register(database_url: str, key: WalletKey) -> str:
    engine = open_engine(database_url)
    try:
        client = Client(
            client_id="bench-wallet",
            client_name="Bench Wallet",
            redirect_uris=("https://bench.example/cb",),
            token_endpoint_auth_method="private_key_jwt",
            jwks=key.jwks(),
        )
        await ClientStore(engine).create(client)
    finally:
        await engine.dispose()
    return client.client_id


def _requests(issuer: str, client_id: str, key: WalletKey, dpop: WalletKey) -> list[tuple[dict[str, str], str]]:
    url = issuer + "/token"
    now = time.time()
    return [
        (
            {
                "grant_type": "client_credentials",
                "scope": "accounts",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": key.assertion(client_id, issuer, now=now, jti=uuid.uuid4().hex),
            },
            dpop.dpop("POST", url, now=now),
        )
        for _ in range(TOKENS)
    ]


async def _fire(issuer: str, requests: list[tuple[dict[str, str], str]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = iter(requests)

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        for form, proof in queue:
            started = time.perf_counter()
            async with http.post(issuer + "/token", data=form, headers={"DPoP": proof}) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, latencies, failures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="wg-bench-token-") as tmp:
        folder = Path(tmp)
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        database_url = f"sqlite:///{folder / 'bench.db'}"
        env = {
            "WALLETGATE_DATA_DIR": str(folder / "data"),
            "WALLETGATE_DATABASE_URL": database_url,
            "WALLETGATE_POLICIES_DIR": str(_policies(folder)),
            "WALLETGATE_PORT": str(port),
            "WALLETGATE_ISSUER": issuer,
            "WALLETGATE_LOG_LEVEL": "warning",
            "WALLETGATE_REDIS_URL": REDIS_URL,
        }
        subprocess.run(python_module("gateway.cli", "migrate"), env={**os.environ, **env}, check=True)
        key, dpop = WalletKey("ES256"), WalletKey("ES256")
        client_id = asyncio.run(_register(database_url, key))
        server = ServerProcess(python_module("gateway.cli", "serve", "--workers", "1"), issuer, env=env,
                               log_path=folder / "gateway.log").start()  # fmt: skip
        try:
            requests = _requests(issuer, client_id, key, dpop)
            elapsed, latencies, failures = asyncio.run(_fire(issuer, requests))
        finally:
            server.stop()
        if failures:
            print(f"{failures} of {TOKENS} requests failed; see the gateway log", file=sys.stderr)
            return 1
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        replay = "Redis" if REDIS_URL else "in-process"
        print(f"token endpoint (client_credentials, private_key_jwt ES256, DPoP ES256), 1 worker, SQLite, "
              f"{replay} replay cache, {TOKENS} tokens, concurrency {CONCURRENCY}")  # fmt: skip
        print(f"  {TOKENS / elapsed:.0f} tokens/s   median {statistics.median(latencies) * 1000:.1f} ms   "
              f"p99 {p99 * 1000:.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
