"""Per-address limits through ``walletgate serve`` on a real socket, the test client standing in for a proxy.

Registration is limited per address before its body is read (the shipped policy: 20 an hour).
The TCP peer is 127.0.0.1 throughout; whether that is a trusted proxy is the test's setting.
Uvicorn must leave the peer alone (``proxy_headers=False``): were it to rewrite it from
X-Forwarded-For, the forged header from an untrusted peer would open a new bucket.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import ROOT, ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REGISTRATIONS_PER_ADDRESS = 20  # policies/limits.yaml: endpoints.register.per_address burst


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start ``walletgate serve`` (migrated, demo mode) trusting ``trusted_proxies``; its base URL."""
    started: list[ServerProcess] = []

    def start(trusted_proxies: str) -> str:
        port = free_port()
        env = {
            "WALLETGATE_MODE": "demo",
            "WALLETGATE_DATA_DIR": str(tmp_path / f"data-{port}"),
            "WALLETGATE_PORT": str(port),
            "WALLETGATE_LOG_LEVEL": "warning",
            "WALLETGATE_TRUSTED_PROXIES": trusted_proxies,
        }
        cli = [sys.executable, "-m", "gateway.cli"]
        subprocess.run([*cli, "migrate"], cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
        server = ServerProcess([*cli, "serve"], f"http://127.0.0.1:{port}", env=env, log_path=tmp_path / f"{port}.log")
        started.append(server.start())
        return server.url

    yield start
    for server in started:
        server.stop()


def _register(url: str, forwarded_for: str) -> int:
    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded_for}
    request = urllib.request.Request(f"{url}/register", data=b"{}", headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the test's loopback URL
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_wallets_behind_one_trusted_proxy_have_separate_registration_buckets(serve: Callable[[str], str]) -> None:
    url = serve("127.0.0.1, 10.244.0.0/16")
    for _ in range(REGISTRATIONS_PER_ADDRESS):
        assert _register(url, "203.0.113.1, 10.244.3.4") != 429  # the wallet, then an inner trusted hop
    assert _register(url, "203.0.113.1") == 429
    assert _register(url, "203.0.113.2") != 429


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_escape_its_bucket(
    serve: Callable[[str], str],
) -> None:
    url = serve("10.244.0.0/16")  # the peer, 127.0.0.1, is not a proxy we trust
    for n in range(REGISTRATIONS_PER_ADDRESS):
        assert _register(url, f"203.0.113.{n}") != 429
    assert _register(url, "203.0.113.200") == 429
