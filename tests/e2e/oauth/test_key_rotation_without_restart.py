"""`walletgate keys rotate` takes effect in a running gateway and sandbox bank, with no restart of either.

Real processes: the bank (``python -m sandbox --jwks-url``, so it learns keys from the gateway's
``/jwks``) and the gateway (``walletgate serve``) reading ``WALLETGATE_SIGNING_KEYS_FILE``. The
rotate command rewrites that file; the gateway must notice within about a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import pytest

from gateway.oauth import jws
from gateway.oauth.tokens import ACCESS_TOKEN_ALG
from tests.e2e.pipeline.harness import BASE, Stack, Wallet, start_stack
from tests.support.servers import ROOT
from tests.unit.oauth.keys import WalletKey

pytestmark = pytest.mark.e2e

PICKED_UP_WITHIN = 5.0  # the watcher looks once a second; allow for a loaded test machine
CLIENT_ID = "wallet-rotation"
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("rotation")
    running = start_stack(folder, as_deployed=True, gateway_log=folder / "gateway.log")
    try:
        yield running, running.env
    finally:
        running.stop()


def _walletgate(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _within(seconds: float, probe: Callable[[], T | None]) -> T:
    """The first truthy value ``probe`` returns within ``seconds``; fails the test if none comes."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"not picked up within {seconds} s"
        time.sleep(0.1)


def _published_kids(stack: Stack) -> set[str]:
    return {k["kid"] for k in httpx.get(stack.gateway_url + "/jwks").json()["keys"]}


def _register(stack: Stack, env: dict[str, str], folder: Path) -> WalletKey:
    key = WalletKey()
    jwks = folder / "wallet.jwks.json"
    jwks.write_text(json.dumps(key.jwks()), encoding="utf-8")
    _walletgate(
        env, "clients", "register", "--name", "Rotation Wallet", "--client-id", CLIENT_ID,
        "--redirect-uri", "http://127.0.0.1:9/callback", "--jwks", str(jwks),
    )  # fmt: skip
    return key


def _client_credentials(stack: Stack, key: WalletKey) -> str:
    form = {
        "grant_type": "client_credentials",
        "scope": "accounts",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": key.assertion(CLIENT_ID, stack.gateway_url),
    }
    proof = key.dpop("POST", stack.gateway_url + "/token")
    response = httpx.post(stack.gateway_url + "/token", data=form, headers={"DPoP": proof})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _create_consent(stack: Stack, key: WalletKey, token: str) -> Any:
    url = stack.gateway_url + f"{BASE}/account-access-consents"
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": key.dpop("POST", url, access_token=token),
        "x-idempotency-key": f"rotation-{time.monotonic_ns()}",
    }
    body = {"Data": {"Permissions": ["ReadAccountsDetail"]}, "Risk": {}}
    return httpx.post(url, json=body, headers=headers)


def _kid(token: str) -> str:
    return str(jws.parse(token).header["kid"])


def _token_signed_by(kid: str, stack: Stack, key: WalletKey) -> str | None:
    token = _client_credentials(stack, key)
    return token if _kid(token) == kid else None


def test_rotation_reaches_the_running_gateway_and_bank_without_a_restart(stack, tmp_path):
    stack, env = stack
    processes = [p.proc.pid for p in stack.processes if p.proc is not None]
    wallet = Wallet(stack, client_id=CLIENT_ID)
    key = _register(stack, env, tmp_path)
    old_kids = {k.alg: k.kid for k in stack.keys.current_keys}  # PS256 signs access tokens, ES256 the rest
    consent = wallet.consent({"ReadAccountsDetail"}, ("acc-alice-current",))
    assert wallet.get(f"{BASE}/accounts", consent).status_code == 200  # the bank has fetched the old JWKS

    _walletgate(env, "keys", "rotate")
    stack.keys.reload()
    next_kids = {k.alg: k.kid for k in stack.keys.keys if k.state == "next"}
    assert set(next_kids) == set(old_kids)  # one next key per current key
    _within(PICKED_UP_WITHIN, lambda: set(next_kids.values()) <= _published_kids(stack))
    assert _kid(_client_credentials(stack, key)) == old_kids[ACCESS_TOKEN_ALG]  # published, not yet signing

    _walletgate(env, "keys", "rotate")
    token = _within(PICKED_UP_WITHIN, lambda: _token_signed_by(next_kids[ACCESS_TOKEN_ALG], stack, key))
    assert _create_consent(stack, key, token).status_code == 201  # the gateway verifies what it now signs
    assert set(old_kids.values()) <= _published_kids(stack)  # kept until the tokens they signed have expired

    response = wallet.get(f"{BASE}/accounts", consent)  # the assertion is signed with the new ES256 key
    assert response.status_code == 200, response.text
    assert [p.proc.pid for p in stack.processes if p.proc is not None] == processes
    assert all(p.proc is not None and p.proc.poll() is None for p in stack.processes)
    wallet.close()
