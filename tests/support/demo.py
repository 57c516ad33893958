"""A real ``walletgate demo`` process and the demo wallet's command-line client, for tests that drive it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import ROOT, stop_process

WALLET_REDIRECT = "http://127.0.0.1:8765/callback"


@dataclass
class Demo:
    """``walletgate demo`` on free ports; ``issuer`` is the first line it printed."""

    data_dir: Path
    proc: subprocess.Popen[str] | None = None
    issuer: str = ""

    def start(self) -> Demo:
        env = {**os.environ, "HOME": str(self.data_dir)}
        args = [sys.executable, "-m", "gateway.cli", "demo", "--port", "0", "--sandbox-port", "0"]
        with self.stderr_file.open("w", encoding="utf-8") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [*args, "--data-dir", str(self.data_dir)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        self.issuer = self.proc.stdout.readline().strip()
        if not self.issuer.startswith("http://127.0.0.1:"):
            self.stop()
            errors = self.stderr_file.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"walletgate demo did not print its issuer first: {self.issuer!r}\n{errors}")
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def stderr_file(self) -> Path:
        """Where the demo's log goes (read when it fails to start)."""
        return self.data_dir / "demo.stderr.log"

    @property
    def wallet_file(self) -> Path:
        return self.data_dir / "demo-wallet.json"

    def register_wallet(self, name: str, client_id: str) -> Path:
        """Register another wallet (same keys as the demo wallet) under ``name``; returns its wallet file."""
        creds = json.loads(self.wallet_file.read_text(encoding="utf-8"))
        public = {k: v for k, v in creds["private_jwk"].items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        jwks = self.data_dir / f"{client_id}.jwks.json"
        jwks.write_text(json.dumps({"keys": [public]}), encoding="utf-8")
        command = [sys.executable, "-m", "gateway.cli", "clients", "register", "--name", name]
        command += ["--client-id", client_id, "--redirect-uri", WALLET_REDIRECT, "--jwks", str(jwks)]
        subprocess.run([*command, "--data-dir", str(self.data_dir)], cwd=ROOT, check=True, capture_output=True)
        wallet = self.data_dir / f"{client_id}-wallet.json"
        wallet.write_text(json.dumps(creds | {"client_id": client_id}), encoding="utf-8")
        wallet.chmod(0o600)
        return wallet


@dataclass
class WalletCli:
    """``python -m sandbox.wallet`` for one wallet file: the wallet app, as a separate process."""

    wallet_file: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "sandbox.wallet", "--wallet", str(self.wallet_file), *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    def start_consent(self, *extra: str) -> str:
        """Create a consent and push the authorization request; returns the URL the user opens."""
        done = self.run("consent", "--no-wait", *extra)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1].strip()

    def callback(self, redirect_url: str) -> None:
        done = self.run("callback", redirect_url)
        assert done.returncode == 0, done.stderr

    def accounts(self) -> subprocess.CompletedProcess[str]:
        return self.run("accounts")


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
