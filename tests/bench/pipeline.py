"""Pipeline overhead, side by side: ``python -m tests.bench.pipeline`` prints requests/s, p50 and p99.

One run starts the sandbox bank and, in front of it, the gateway twice (one uvicorn worker
each, started as ``walletgate serve`` starts it: no uvicorn access log and no uvicorn proxy-header
rewriting; PostgreSQL + Redis): once with the full pipeline (JWT + DPoP + consent + limits +
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

Beside requests/s and latency, each line shows the CPU each call cost the mode's own server (the
gateway, nginx), the bank, and the machine's own Redis and PostgreSQL (found by process name;
"-" where they run elsewhere), read from /proc: steadier from run to run than the latencies, and
what the latencies and throughput ratios come down to, since the servers share one core and the
scheduler mostly puts Redis and PostgreSQL on it too (the load generator keeps the other busy).

The whole set of phases runs ``WALLETGATE_BENCH_ROUNDS`` times (default 3), modes interleaved;
each figure is printed as the median over the rounds, with every round's value beside it, since
one run on this shared 2-core machine moves by 10-20 %.

Knobs: WALLETGATE_BENCH_SECONDS (per phase, default 4), WALLETGATE_BENCH_ROUNDS (default 3),
WALLETGATE_BENCH_CONNECTIONS (default 32), WALLETGATE_BENCH_POSTGRES_URL, WALLETGATE_BENCH_REDIS_URL.
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
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import NewConsent
from consent.sql import SqlConsentStore
from gateway.assertion import ASSERTION_HEADER, mint_assertion
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.oauth.keys import KeyRing, new_key_set, write_private_file
from gateway.oauth.tokens import ACCESS_TOKEN_ALG
from policies import load_policies
from tests.support.policies import shipped_policies_copy
from tests.support.servers import ROOT, ServerProcess, free_port, python_module

SECONDS = float(os.environ.get("WALLETGATE_BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("WALLETGATE_BENCH_ROUNDS", "3"))
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
    # CPU µs per call: "hop" (the mode's own server), "bank", "redis", "postgres" (the machine's own servers)
    cpu_us: dict[str, float] = field(default_factory=dict)

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

    def open_up(node: Any) -> Any:
        if isinstance(node, dict):
            if "rate" in node and "per" in node:
                return {**node, **OPEN}
            return {k: open_up(v) for k, v in node.items()}
        return node

    return shipped_policies_copy(folder, open_up)


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
    pids: dict[str, int] = field(default_factory=dict)  # mode → its server's process ("direct": the bank)
    gateway_env: dict[str, str] = field(default_factory=dict)  # the gateways' settings


def _start(folder: Path, exits: ExitStack) -> Stack:
    keys_file = folder / "signing.jwks.json"
    write_private_file(keys_file, new_key_set())  # as the demo makes it: ES256 signs the assertion, PS256 tokens
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
    pids = {"direct": _pid(bank)}
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
        server = start_gateway(factory, url[mode], env)
        exits.callback(server.stop)
        pids[mode] = _pid(server)
    urls = {"direct": url["bank"], "passthrough": url["passthrough"], "full": url["full"]}
    if NGINX.exists():
        conf = _nginx_conf(folder, ports["nginx"], ports["bank"])
        nginx = ServerProcess(_pinned([str(NGINX), "-c", str(conf), "-p", str(folder)]), url["nginx"]).start()
        exits.callback(nginx.stop)
        urls["nginx"] = url["nginx"]
        pids["nginx"] = _pid(nginx)
    return Stack(keys, issuer, urls, consent_id, pids, env)


def start_gateway(factory: str, url: str, env: dict[str, str], cwd: Path | None = None) -> ServerProcess:
    """One uvicorn worker on core 0, as ``walletgate serve`` starts it; ``cwd``: import the code from there."""
    port = url.rsplit(":", 1)[1]
    args = python_module("uvicorn", "--factory", factory, "--port", port, "--log-level", "warning")
    server = ServerProcess(_pinned([*args, "--no-access-log", "--no-proxy-headers"]), url, env=env, cwd=cwd or ROOT)
    return server.start()


def _pid(server: ServerProcess) -> int:
    assert server.proc is not None
    return server.proc.pid


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its child processes (nginx's worker), from /proc; 0 where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK + sum(_cpu_seconds(int(child)) for child in children)


def _service_pids(name: str) -> list[int]:
    """The processes called ``name`` on this machine (their /proc ``comm``)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


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
        self._token = stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)  # as the token endpoint signs it
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
    bank, hop = stack.pids["direct"], stack.pids.get(mode)
    watched = {"hop": [hop] if hop is not None else [], "bank": [bank]}
    watched |= {"redis": _service_pids("redis-server"), "postgres": _service_pids("postgres")}
    before = {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in watched.items()}
    asyncio.run(_drive(stack.urls[mode], iter(signer.headers(mode, budget)), connections, seconds, result))
    calls = len(result.latencies) + sum(result.errors.values())
    for name, pids in watched.items():
        if pids and calls:
            result.cpu_us[name] = (sum(_cpu_seconds(pid) for pid in pids) - before[name]) / calls * 1e6
    return result


# -- report --------------------------------------------------------------------------------------------


def _row(mode: str, connections: int, results: list[Result]) -> str:
    """One mode's line: the median over the rounds of each figure."""
    errors: dict[int, int] = {}
    for r in results:
        for status, count in r.errors.items():
            errors[status] = errors.get(status, 0) + count
    shown = ", ".join(f"{k}x{v}" for k, v in sorted(errors.items())) or "-"
    rate = statistics.median(r.rate for r in results)
    p50 = statistics.median(r.percentile(0.5) for r in results) * 1e3
    p99 = statistics.median(r.percentile(0.99) for r in results) * 1e3
    requests = sum(len(r.latencies) for r in results)
    cpu = {
        name: f"{statistics.median(r.cpu_us[name] for r in results):.0f}"
        if all(name in r.cpu_us for r in results) and not (name == "hop" and mode == "direct")
        else "-"
        for name in ("hop", "bank", "redis", "postgres")
    }
    return (
        f"{mode:<12} {connections:>5} {rate:>10.0f} {p50:>9.3f} {p99:>9.3f} {requests:>8} "
        f"{cpu['hop']:>9} {cpu['bank']:>9} {cpu['redis']:>9} {cpu['postgres']:>9}  {shown}"
    )


def _added(a: Result, b: Result, p: float = 0.5) -> float:
    """Microseconds ``a`` takes over ``b`` at percentile ``p``."""
    return (a.percentile(p) - b.percentile(p)) * 1e6


@dataclass
class Round:
    one: dict[str, Result]  # one connection, by mode
    many: dict[str, Result]  # CONNECTIONS connections, by mode

    def figures(self) -> dict[str, float]:
        """The figures the targets are about, for this round."""
        one, many = self.one, self.many
        figures = {
            "full/passthrough req/s": many["full"].rate / many["passthrough"].rate,
            "full/direct req/s": many["full"].rate / many["direct"].rate,
            "p99 full/passthrough": many["full"].percentile(0.99) / many["passthrough"].percentile(0.99),
            "added p50 us": _added(one["full"], one["direct"]),
            "added p99 us": _added(one["full"], one["direct"], 0.99),
        }
        if "nginx" in many:
            figures["full/nginx req/s"] = many["full"].rate / many["nginx"].rate
        for mode in one:
            if mode not in ("direct", "full"):  # the bare hops, for comparison with "added p50 us"
                figures[f"{mode} hop p50 us"] = _added(one[mode], one["direct"])
        return figures


TARGETS = {
    "full/passthrough req/s": ">= 0.50",
    "full/nginx req/s": ">= 0.12",
    "added p50 us": "<= 300",
    "added p99 us": "<= 600",
    "p99 full/passthrough": "<= 1.5",
}


def main() -> int:
    try:
        os.sched_setaffinity(0, {CLIENT_CORE})
    except (AttributeError, OSError):
        print("note: could not pin the load generator to one core", file=sys.stderr)
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="walletgate-bench-") as tmp, ExitStack() as exits:
        stack = _start(Path(tmp), exits)
        signer = Signer(stack)
        modes: list[str] = [m for m in ("direct", "nginx", "passthrough", "full") if m in stack.urls]
        for _ in range(ROUNDS):  # modes interleaved, so a slow spell of the machine touches every mode alike
            one = {m: _phase(stack, signer, m, 1, SECONDS, int(SECONDS * 4000)) for m in modes}
            many = {m: _phase(stack, signer, m, CONNECTIONS, SECONDS, int(SECONDS * 6000)) for m in modes}
            rounds.append(Round(one, many))
    print(
        f"GET {PATH} — {ROUNDS} rounds of {SECONDS:g} s per phase, medians over the rounds; "
        f"servers on core {SERVER_CORE}, load generator on core {CLIENT_CORE}"
    )
    print(
        f"{'mode':<12} {'conns':>5} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'requests':>8} "
        f"{'hop cpu':>9} {'bank cpu':>9} {'redis cpu':>9} {'pg cpu':>9}  non-200"
    )
    for connections, by_mode in ((1, "one"), (CONNECTIONS, "many")):
        for mode in modes:
            print(_row(mode, connections, [getattr(r, by_mode)[mode] for r in rounds]))
    print(
        "hop / bank / redis / pg cpu: CPU µs per call (user + system, /proc) of the mode's own server, the bank, "
        "and this machine's Redis and PostgreSQL"
    )
    if "nginx" not in stack.urls:
        print("nginx: skipped (/usr/sbin/nginx not found)")
    per_round = [r.figures() for r in rounds]
    print(f"figures ({CONNECTIONS} connections for req/s and p99 ratios; one connection for added latency):")
    for name in per_round[0]:
        values = [f[name] for f in per_round]
        spread = ", ".join(f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}" for v in values)
        median = statistics.median(values)
        shown = f"{median:.2f}" if abs(median) < 10 else f"{median:.0f}"
        target = f"   target {TARGETS[name]}" if name in TARGETS else ""
        print(f"  {name:<24} {shown:>8}  (rounds: {spread}){target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
