"""`walletgate demo` brings up gateway + sandbox bank on embedded defaults and stops cleanly."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.demo import Demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    demo = Demo(tmp_path_factory.mktemp("demo")).start()
    yield demo
    demo.stop()


def test_demo_prints_issuer_first_and_serves_discovery(demo: Demo) -> None:
    issuer = demo.issuer
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=5) as resp:  # noqa: S310
        meta = json.load(resp)
    assert meta["issuer"] == issuer


def test_demo_writes_wallet_credentials_any_client_can_use(demo: Demo) -> None:
    wallet = json.loads(demo.wallet_file.read_text(encoding="utf-8"))
    assert wallet["issuer"] == demo.issuer
    assert wallet["private_jwk"]["d"]
    assert wallet["redirect_uri"].startswith("http://127.0.0.1:")
    assert demo.wallet_file.stat().st_mode & 0o077 == 0


def test_demo_stops_both_processes_on_ctrl_c(demo: Demo) -> None:
    assert demo.proc is not None
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=30) == 0
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{demo.issuer}/healthz", timeout=2)  # noqa: S310
