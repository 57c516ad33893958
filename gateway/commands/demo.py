"""``walletgate demo``: the whole thing on embedded defaults, in one command.

Migrates a SQLite database in the data folder, seeds the demo users and a demo wallet, starts
the sandbox bank and the gateway as two child processes on loopback, prints the issuer URL as
the first line once both answer, then what a newcomer needs. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from gateway.cli import UserFacingError, settings_from_args
from gateway.settings import Settings, env_name

DEMO_USERS = ("alice", "bob", "chen", "dara", "emeka")
DEMO_WALLET_FILE = "demo-wallet.json"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        help="run gateway + sandbox bank with demo data",
        description="Migrate, seed demo users and a demo wallet, start the sandbox bank and the gateway.",
    )
    p.add_argument("--port", type=int, help="gateway port; 0 picks a free one (WALLETGATE_PORT)")
    p.add_argument("--sandbox-port", type=int, help="sandbox bank port; 0 picks a free one (WALLETGATE_SANDBOX_PORT)")
    p.add_argument("--data-dir", help="folder for the database, keys and demo credentials (WALLETGATE_DATA_DIR)")
    p.set_defaults(handler=run)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def demo_settings(args: argparse.Namespace) -> Settings:
    base = settings_from_args(args, data_dir=args.data_dir)
    port = _free_port() if args.port == 0 else (args.port or base.port)
    sandbox_port = _free_port() if args.sandbox_port == 0 else (args.sandbox_port or base.sandbox_port)
    for name, value in (("port", port), ("sandbox_port", sandbox_port)):
        if _port_taken(value):
            raise UserFacingError(
                f"port {value} is already in use; pass --{name.replace('_', '-')} 0 to pick a free one"
            )
    return settings_from_args(
        args,
        data_dir=args.data_dir,
        port=port,
        sandbox_port=sandbox_port,
        upstream_url=f"http://127.0.0.1:{sandbox_port}",
        issuer=base.issuer or f"http://127.0.0.1:{port}",
    )


def run(args: argparse.Namespace) -> int:
    settings = demo_settings(args)
    if not settings.demo:
        raise UserFacingError("walletgate demo runs only in demo mode (WALLETGATE_MODE=demo)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    from consent.migrate import upgrade

    upgrade(settings.effective_database_url)
    wallet_file = asyncio.run(seed(settings))

    env = {**os.environ, **_env_for(settings)}
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    sandbox = _start(
        [
            sys.executable, "-m", "sandbox",
            "--host", "127.0.0.1", "--port", str(settings.sandbox_port),
            "--issuer", settings.issuer_url, "--jwks-url", f"{settings.issuer_url}/jwks",
        ],
        env, log_dir / "sandbox.log",
    )  # fmt: skip
    gateway = _start([sys.executable, "-m", "gateway.cli", "serve"], env, log_dir / "gateway.log")
    children = {"gateway": gateway, "sandbox bank": sandbox}
    stop = _install_stop_handlers()
    try:
        _wait_ready(f"{settings.issuer_url}/healthz", gateway, log_dir / "gateway.log")
        _wait_ready(f"http://127.0.0.1:{settings.sandbox_port}/healthz", sandbox, log_dir / "sandbox.log")
        print(settings.issuer_url, flush=True)
        print(walkthrough(settings, wallet_file), flush=True)
        while not stop.is_set() and all(c.poll() is None for c in children.values()):
            stop.wait(0.5)
        dead = [name for name, c in children.items() if c.poll() is not None]
        if dead and not stop.is_set():
            print(f"walletgate demo: the {dead[0]} exited; see {log_dir}", file=sys.stderr)
            return 1
        return 0
    finally:
        for child in children.values():
            _terminate(child)
        print("walletgate demo: stopped", file=sys.stderr)


class _StopFlag:
    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


def _install_stop_handlers() -> _StopFlag:
    flag = _StopFlag()

    def _handler(signum: int, _frame: object) -> None:
        flag.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    return flag


def _env_for(settings: Settings) -> dict[str, str]:
    return {
        env_name("mode"): settings.mode,
        env_name("data_dir"): str(settings.data_dir.resolve()),
        env_name("port"): str(settings.port),
        env_name("host"): "127.0.0.1",
        env_name("issuer"): settings.issuer_url,
        env_name("sandbox_port"): str(settings.sandbox_port),
        env_name("upstream_url"): settings.upstream_url,
        env_name("database_url"): settings.effective_database_url,
    }


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        # New session: Ctrl-C reaches the demo, which then stops the children in order.
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; a child that dies first is reported with its log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise UserFacingError(f"{url} will not answer: its process exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback URL we built
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise UserFacingError(f"{url} did not answer within {timeout:.0f}s; see {log}")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def seed(settings: Settings) -> Path:
    """Demo users and one demo wallet; idempotent, so the demo restarts on the same data folder."""
    from consent.db import open_engine
    from gateway.demo_seed import seed_demo

    engine = open_engine(settings.effective_database_url)
    try:
        return await seed_demo(settings, engine, settings.data_dir / DEMO_WALLET_FILE)
    finally:
        await engine.dispose()


def walkthrough(settings: Settings, wallet_file: Path) -> str:
    issuer = settings.issuer_url
    wallet = json.loads(wallet_file.read_text(encoding="utf-8"))
    users = "\n".join(f"    {u:<6} password {u}-demo" for u in DEMO_USERS)
    return f"""
WalletGate demo is running.

  Discovery        {issuer}/.well-known/openid-configuration
  JWKS             {issuer}/jwks
  Dashboard        {issuer}/dashboard
  API docs         {issuer}/docs   (OpenAPI: {issuer}/openapi.json)
  Sandbox bank     http://127.0.0.1:{settings.sandbox_port}  (answers only requests the gateway vouches for)

Demo users (log in on the authorization screen and the dashboard):
{users}

Demo wallet: client_id {wallet["client_id"]}
  credentials (client_id, private JWK, redirect URI, issuer): {wallet_file}

Try it (in another terminal, from this folder):
  .venv/bin/python -m sandbox.wallet --wallet {wallet_file} consent
      creates a consent, prints the authorization URL: open it, log in as alice, pick accounts, approve
  .venv/bin/python -m sandbox.wallet --wallet {wallet_file} accounts
      reads accounts, balances and transactions through the gateway with the DPoP-bound token
  Then open {issuer}/dashboard as alice: see what the wallet read, pause or revoke it, and run the
  accounts command again to see the gateway refuse.

Logs: {settings.data_dir / "logs"}    Stop: Ctrl-C
"""
