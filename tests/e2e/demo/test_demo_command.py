"""`walletgate demo` brings up gateway + sandbox bank on embedded defaults and stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    data_dir = tmp_path_factory.mktemp("demo")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--port",
            "0",
            "--sandbox-port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(data_dir)},
    )
    assert proc.stdout is not None
    issuer = proc.stdout.readline().strip()
    if not issuer.startswith("http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"demo did not print the issuer first: {issuer!r} {proc.stderr.read() if proc.stderr else ''}")
    yield proc, issuer, data_dir
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_demo_prints_issuer_first_and_serves_discovery(demo: tuple[subprocess.Popen[str], str, Path]) -> None:
    _, issuer, _ = demo
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=5) as resp:  # noqa: S310
        meta = json.load(resp)
    assert meta["issuer"] == issuer


def test_demo_writes_wallet_credentials_any_client_can_use(demo: tuple[subprocess.Popen[str], str, Path]) -> None:
    _, issuer, data_dir = demo
    wallet = json.loads((data_dir / "demo-wallet.json").read_text(encoding="utf-8"))
    assert wallet["issuer"] == issuer
    assert wallet["private_jwk"]["d"]
    assert wallet["redirect_uri"].startswith("http://127.0.0.1:")
    assert (data_dir / "demo-wallet.json").stat().st_mode & 0o077 == 0


def test_demo_stops_both_processes_on_ctrl_c(demo: tuple[subprocess.Popen[str], str, Path]) -> None:
    proc, issuer, _ = demo
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{issuer}/healthz", timeout=2)  # noqa: S310
