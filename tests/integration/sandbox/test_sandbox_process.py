"""The sandbox bank as its own process, reached over a real socket like any upstream bank."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.oauth.keys import KeyRing
from tests.support.servers import ServerProcess, free_port, python_module
from tests.unit.sandbox.official import ResponseSchemas, load
from tests.unit.sandbox.support import BASE, ISSUER, assertion, headers, new_keyring, write_jwks

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys() -> KeyRing:
    return new_keyring()


@pytest.fixture(scope="module")
def bank(keys: KeyRing, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("sandbox")
    jwks = write_jwks(keys, folder / "jwks.json")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        python_module(
            "sandbox", "--host", "127.0.0.1", "--port", str(port), "--issuer", ISSUER,
            "--jwks-file", str(jwks), "--anchor-date", "2026-11-20", "--page-size", "20",
        ),
        url,
    ).start()  # fmt: skip
    try:
        yield url
    finally:
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert server.stop() in (0, -signal.SIGTERM)


def _get(url: str, token: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(url, headers=headers(token) if token else {})  # noqa: S310 - loopback test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.load(exc)


def test_sandbox_process_serves_accounts_to_a_vouched_call(bank: str, keys: KeyRing, uk_ob_accounts_v4: Path) -> None:
    status, response_headers, body = _get(f"{bank}{BASE}/accounts", assertion(keys, audience=bank))
    assert status == 200
    assert response_headers["content-type"] == "application/json; charset=utf-8"
    assert len(body["Data"]["Account"]) == 4
    schemas: ResponseSchemas = load(uk_ob_accounts_v4)
    assert schemas.errors("GetAccounts", body) == []


def test_sandbox_process_default_audience_is_its_own_url(bank: str, keys: KeyRing) -> None:
    status, _, body = _get(f"{bank}{BASE}/accounts", assertion(keys, audience="http://bank.test"))
    assert status == 401
    assert body["Errors"][0]["Message"] == "the assertion's aud is not this bank"


def test_sandbox_process_refuses_a_call_without_assertion(bank: str) -> None:
    status, _, body = _get(f"{bank}{BASE}/balances", None)
    assert status == 401
    assert body["Errors"][0]["ErrorCode"] == "U006"


def test_sandbox_process_links_point_back_at_itself(bank: str, keys: KeyRing) -> None:
    url = f"{bank}{BASE}/accounts/acc-alice-current/transactions?fromBookingDateTime=2026-10-01"
    status, _, body = _get(url, assertion(keys, audience=bank))
    assert status == 200
    assert len(body["Data"]["Transaction"]) == 20
    assert body["Links"]["Self"] == url
    assert body["Links"]["Next"].startswith(f"{bank}{BASE}/accounts/acc-alice-current/transactions?")
    status, _, second = _get(body["Links"]["Next"], assertion(keys, audience=bank))
    assert status == 200
    assert second["Links"]["Prev"] == body["Links"]["First"]


def test_sandbox_cli_refuses_a_missing_key_source() -> None:
    result = subprocess.run(
        python_module("sandbox", "--issuer", ISSUER), capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "one of the arguments --jwks-url --jwks-file is required" in result.stderr


def test_sandbox_process_fetches_the_gateway_jwks_from_a_url(keys: KeyRing, tmp_path: Path) -> None:
    write_jwks(keys, tmp_path / "jwks")
    jwks_port, bank_port = free_port(), free_port()
    jwks_url = f"http://127.0.0.1:{jwks_port}"
    gateway = ServerProcess(
        python_module("http.server", "--bind", "127.0.0.1", "--directory", str(tmp_path), str(jwks_port)),
        jwks_url,
        health_path="/jwks",
    ).start()
    bank_url = f"http://127.0.0.1:{bank_port}"
    bank = ServerProcess(
        python_module("sandbox", "--port", str(bank_port), "--issuer", ISSUER, "--jwks-url", f"{jwks_url}/jwks"),
        bank_url,
    ).start()
    try:
        status, _, body = _get(f"{bank_url}{BASE}/party", assertion(keys, "bob", audience=bank_url))
        assert status == 200
        assert body["Data"]["Party"]["PartyId"] == "party-bob"
    finally:
        bank.stop()
        gateway.stop()
