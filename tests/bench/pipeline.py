"""Pipeline overhead, side by side: ``python -m tests.bench.pipeline`` prints requests/s, p50 and p99.

One run starts the sandbox bank and, in front of it, the gateway twice (one uvicorn worker
each, PostgreSQL + Redis): once with the full pipeline (JWT + DPoP + consent + limits +
request and response validation + filtering + audit) and once as a bare passthrough (routing
only: ``create_app(..., pipeline_passthrough=True)``, used by this benchmark alone), plus an
nginx reverse-proxy hop when ``/usr/sbin/nginx`` exists. The same request
(``GET /open-banking/v4.0/aisp/accounts``) is driven in four modes: direct to the bank,
through nginx, through the passthrough, through the full pipeline; first over one connection
(added latency), then over many (throughput). The servers share core 0; the load generator
is pinned to core 1. Every request carries a fresh bank assertion or DPoP proof, signed before
the clock starts, and every access token is verified (there is no verified-token cache).
Limits are raised in a private copy of the policies so that every call is admitted, but they
are still evaluated (one Redis round trip per call).

Knobs: WALLETGATE_BENCH_SECONDS (per phase, default 4), WALLETGATE_BENCH_CONNECTIONS
(default 32), WALLETGATE_BENCH_POSTGRES_URL, WALLETGATE_BENCH_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import psycopg2
import redis
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import NewConsent
from consent.sql import SqlConsentStore
from gateway.assertion import ASSERTION_HEADER, mint_assertion
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.oauth.keys import KeyRing, generate_jwk, write_private_file
from policies import SHIPPED, load_policies
from tests.support.servers import ROOT, ServerProcess, free_port, python_module

SECONDS = float(os.environ.get("WALLETGATE_BENCH_SECONDS", "4"))
CONNECTIONS = int(os.environ.get("WALLETGATE_BENCH_CONNECTIONS", "32"))
POSTGRES = os.environ.get("WALLETGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("WALLETGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
NGINX = Path("/usr/sbin/nginx")
PATH = "/open-banking/v4.0/aisp/accounts"
ACCOUNTS = ("acc-alice-current", "acc-alice-savings")
PERMISSIONS = frozenset({"ReadAccountsDetail"})
OPEN = {"rate": 1_000_000, "per": "1s", "burst": 1_000_000}
SERVER_CORE, CLIENT_CORE = "0", 1


@dataclass
class Result:
    mode: str
    connections: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# -- set-up --------------------------------------------------------------------------------------------


def _policies(folder: Path) -> Path:
    """A private copy of the shipped policies whose limits admit every call (they are still evaluated)."""
    target = folder / "policies"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "openapi").symlink_to(ROOT / "openapi")

    def open_up(node: Any) -> Any:
        if isinstance(node, dict):
            if "rate" in node and "per" in node:
                return {**node, **OPEN}
            return {k: open_up(v) for k, v in node.items()}
        return node

    limits_file = target / "limits.yaml"
    limits_file.write_text(yaml.safe_dump(open_up(yaml.safe_load(limits_file.read_text("utf-8")))), "utf-8")
    return target


def _database() -> tuple[str, Callable[[], None]]:
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES)
    name = f"walletgate_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    return admin.set(database=name).render_as_string(hide_password=False), drop


async def _consent(database_url: str) -> str:
    engine = open_engine(database_url)
    try:
        store = SqlConsentStore(engine, load_policies(), time.time)
        new = NewConsent(
            client_id="bench-wallet",
            permissions=PERMISSIONS,
            purposes=("aggregation",),
            expires_at=datetime.now(UTC) + timedelta(days=30),
            frequency_per_day=24,
        )
        created = await store.create(new)
        consent = await store.authorise(created.consent_id, user_id="alice", account_ids=list(ACCOUNTS))
        return consent.consent_id
    finally:
        await engine.dispose()


def _pinned(args: list[str]) -> list[str]:
    return ["taskset", "-c", SERVER_CORE, *args] if shutil.which("taskset") else args


def _nginx_conf(folder: Path, port: int, bank_port: int) -> Path:
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {folder}/nginx-body;
  proxy_temp_path {folder}/nginx-proxy;
  fastcgi_temp_path {folder}/nginx-fastcgi;
  uwsgi_temp_path {folder}/nginx-uwsgi;
  scgi_temp_path {folder}/nginx-scgi;
  upstream bank {{ server 127.0.0.1:{bank_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://bank; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
""",
        encoding="utf-8",
    )
    return conf


@dataclass
class Stack:
    keys: KeyRing
    issuer: str
    urls: dict[str, str]  # mode → base URL
    consent_id: str


def _start(folder: Path, exits: ExitStack) -> Stack:
    keys_file = folder / "signing.jwks.json"
    write_private_file(keys_file, {"keys": [generate_jwk("ES256") | {"use_state": "current"}]})
    keys = KeyRing.load(keys_file)
    public = folder / "gateway.jwks.json"
    public.write_bytes(orjson.dumps(keys.jwks()))
    database_url, drop = _database()
    exits.callback(drop)
    upgrade(database_url)
    consent_id = asyncio.run(_consent(database_url))
    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    client.close()
    ports = {name: free_port() for name in ("bank", "full", "passthrough", "nginx")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    issuer = url["full"]
    bank_args = ["sandbox", "--port", str(ports["bank"]), "--issuer", issuer, "--jwks-file", str(public)]
    bank = ServerProcess(_pinned(python_module(*bank_args)), url["bank"]).start()
    exits.callback(bank.stop)
    env = {
        "WALLETGATE_DATA_DIR": str(folder / "data"),
        "WALLETGATE_DATABASE_URL": database_url,
        "WALLETGATE_REDIS_URL": REDIS,
        "WALLETGATE_ISSUER": issuer,
        "WALLETGATE_UPSTREAM_URL": url["bank"],
        "WALLETGATE_SIGNING_KEYS_FILE": str(keys_file),
        "WALLETGATE_POLICIES_DIR": str(_policies(folder)),
        "WALLETGATE_LOG_LEVEL": "warning",
    }
    for mode, factory in (
        ("full", "gateway.app:app_from_env"),
        ("passthrough", "tests.bench.pipeline:passthrough_app"),
    ):
        args = python_module("uvicorn", "--factory", factory, "--port", str(ports[mode]), "--log-level", "warning")
        server = ServerProcess(_pinned([*args, "--no-access-log"]), url[mode], env=env).start()
        exits.callback(server.stop)
    urls = {"direct": url["bank"], "passthrough": url["passthrough"], "full": url["full"]}
    if NGINX.exists():
        conf = _nginx_conf(folder, ports["nginx"], ports["bank"])
        nginx = ServerProcess(_pinned([str(NGINX), "-c", str(conf), "-p", str(folder)]), url["nginx"]).start()
        exits.callback(nginx.stop)
        urls["nginx"] = url["nginx"]
    return Stack(keys, issuer, urls, consent_id)


def passthrough_app() -> Any:
    """uvicorn factory for the passthrough gateway (benchmark only)."""
    from gateway.app import create_app
    from gateway.settings import load_settings

    return create_app(load_settings(), pipeline_passthrough=True)


# -- requests ------------------------------------------------------------------------------------------


class Signer:
    """Signs what each request needs before the clock starts: bank assertions or DPoP proofs."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._jwk = orjson.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        now = int(time.time())
        claims = {
            "iss": stack.issuer,
            "aud": stack.issuer,
            "sub": "alice",
            "client_id": "bench-wallet",
            "scope": "openid accounts",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 600,
            "cnf": {"jkt": jwk_thumbprint(self._jwk)},
            "consent_id": stack.consent_id,
        }
        self._token = stack.keys.sign(claims, typ="at+jwt")
        self._ath = access_token_hash(self._token)

    def headers(self, mode: str, count: int) -> list[dict[str, str]]:
        common = {"x-fapi-customer-ip-address": "198.51.100.7", "accept": "application/json"}
        if mode == "full":
            return [common | self._dpop() for _ in range(count)]
        return [common | {ASSERTION_HEADER: self._assertion()} for _ in range(count)]

    def _dpop(self) -> dict[str, str]:
        claims = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": self.stack.issuer + PATH, "iat": int(time.time())}
        proof = jwt.encode(
            claims | {"ath": self._ath}, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self._jwk}
        )
        return {"Authorization": f"DPoP {self._token}", "DPoP": proof}

    def _assertion(self) -> str:
        return mint_assertion(
            self.stack.keys,
            issuer=self.stack.issuer,
            audience=self.stack.urls["direct"],
            user_id="alice",
            client_id="bench-wallet",
            consent_id=self.stack.consent_id,
            accounts=ACCOUNTS,
            permissions=PERMISSIONS,
            purposes=("aggregation",),
            interaction_id=str(uuid.uuid4()),
            now=time.time(),
        )


async def _drive(url: str, pool: Iterator[dict[str, str]], connections: int, seconds: float, result: Result) -> None:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                headers = next(pool, None)
                if headers is None:
                    return
                started = time.perf_counter()
                async with session.get(url + PATH, headers=headers) as response:
                    await response.read()
                if response.status == 200:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors[response.status] = result.errors.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        result.elapsed = time.perf_counter() - started


def _phase(stack: Stack, signer: Signer, mode: str, connections: int, seconds: float, budget: int) -> Result:
    warm = iter(signer.headers(mode, 50))
    asyncio.run(_drive(stack.urls[mode], warm, min(connections, 4), 5.0, Result(mode, connections)))
    result = Result(mode, connections)
    asyncio.run(_drive(stack.urls[mode], iter(signer.headers(mode, budget)), connections, seconds, result))
    return result


# -- report --------------------------------------------------------------------------------------------


def _row(r: Result) -> str:
    errors = ", ".join(f"{k}x{v}" for k, v in sorted(r.errors.items())) or "-"
    return (
        f"{r.mode:<12} {r.connections:>5} {r.rate:>10.0f} {r.percentile(0.5) * 1e3:>9.3f} "
        f"{r.percentile(0.99) * 1e3:>9.3f} {len(r.latencies):>8}  {errors}"
    )


def _added(a: Result, b: Result) -> float:
    """Median microseconds ``a`` takes over ``b``."""
    return (a.percentile(0.5) - b.percentile(0.5)) * 1e6


def _ratio(a: Result | None, b: Result | None) -> str:
    return f"{a.rate / b.rate:.2f}x" if a and b and b.rate else "n/a"


def main() -> int:
    try:
        os.sched_setaffinity(0, {CLIENT_CORE})
    except (AttributeError, OSError):
        print("note: could not pin the load generator to one core", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="walletgate-bench-") as tmp, ExitStack() as exits:
        stack = _start(Path(tmp), exits)
        signer = Signer(stack)
        modes = [m for m in ("direct", "nginx", "passthrough", "full") if m in stack.urls]
        one = {m: _phase(stack, signer, m, 1, SECONDS, int(SECONDS * 4000)) for m in modes}
        many = {m: _phase(stack, signer, m, CONNECTIONS, SECONDS, int(SECONDS * 6000)) for m in modes}
    print(f"GET {PATH} — {SECONDS:g} s per phase; servers on core {SERVER_CORE}, load generator on core {CLIENT_CORE}")
    print(f"{'mode':<12} {'conns':>5} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'requests':>8}  non-200")
    for result in [*one.values(), *many.values()]:
        print(_row(result))
    if "nginx" not in stack.urls:
        print("nginx: skipped (/usr/sbin/nginx not found)")
    full, passthrough = many.get("full"), many.get("passthrough")
    print(f"full/passthrough ({CONNECTIONS} conns): {_ratio(full, passthrough)}   target >= 0.50x")
    print(f"full/direct      ({CONNECTIONS} conns): {_ratio(full, many.get('direct'))}")
    print(f"full/nginx       ({CONNECTIONS} conns): {_ratio(full, many.get('nginx'))}   target >= 0.12x")
    added50 = _added(one["full"], one["direct"])
    added99 = (one["full"].percentile(0.99) - one["direct"].percentile(0.99)) * 1e6
    print(f"added latency over direct (1 conn): p50 {added50:.0f} us (target <= 300), p99 {added99:.0f} us (<= 600)")
    hops = ", ".join(f"{mode} {_added(one[mode], one['direct']):.0f}" for mode in modes if mode != "direct")
    print(f"  of which, p50 us over direct by mode: {hops} (the hop alone, then the pipeline's steps on top)")
    if full and passthrough:
        print(
            f"p99 full/passthrough ({CONNECTIONS} conns): {full.percentile(0.99) / passthrough.percentile(0.99):.2f}x"
        )
    print(f"(p99 target under {CONNECTIONS} conns: <= 1.5x)")
    print("median of full 1-conn latencies (ms):", f"{statistics.median(one['full'].latencies) * 1e3:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
