"""The demo wallet's own checks on the authorization callback (before any call to the gateway)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gateway.oauth.dpop import jwk_thumbprint
from sandbox.wallet.client import Wallet, WalletError
from sandbox.wallet.proofs import thumbprint

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    creds = tmp_path / "demo-wallet.json"
    creds.write_text(json.dumps({"issuer": ISSUER + "/", "client_id": "demo-wallet", "redirect_uri": "x"}))
    wallet = Wallet(creds)
    wallet.state["pending"] = {"verifier": "v", "state": "s-1", "nonce": "n"}
    wallet.save()
    return wallet


def _refusal(wallet: Wallet, query: dict[str, str]) -> str:
    with pytest.raises(WalletError) as caught:
        wallet.finish_authorization(query)
    return str(caught.value)


def test_callback_from_another_issuer_is_refused(wallet: Wallet) -> None:
    message = _refusal(wallet, {"iss": "http://evil.test", "state": "s-1", "code": "c"})
    assert message == f"callback iss 'http://evil.test' is not '{ISSUER}' (RFC 9207 mix-up defence)"


def test_callback_without_iss_is_refused(wallet: Wallet) -> None:
    assert "callback iss None is not" in _refusal(wallet, {"state": "s-1", "code": "c"})


def test_callback_with_another_state_is_refused(wallet: Wallet) -> None:
    assert _refusal(wallet, {"iss": ISSUER, "state": "s-2", "code": "c"}) == "callback state does not match the request"


def test_refused_authorization_is_reported_and_forgotten(wallet: Wallet) -> None:
    query = {"iss": ISSUER, "state": "s-1", "error": "access_denied", "error_description": "the user said no"}
    assert _refusal(wallet, query) == "authorization refused: access_denied the user said no"
    assert "pending" not in json.loads(wallet.state_file.read_text())
    assert _refusal(wallet, query) == "no authorization in progress; run the consent command first"


def test_no_tokens_before_an_approved_consent(wallet: Wallet) -> None:
    with pytest.raises(WalletError, match="no tokens yet; run the consent command and approve in the browser"):
        wallet.access_token()


def test_state_file_is_readable_by_its_owner_only(wallet: Wallet) -> None:
    assert stat.S_IMODE(wallet.state_file.stat().st_mode) == 0o600


def test_dpop_key_thumbprint_is_the_rfc_7638_one_the_gateway_computes(wallet: Wallet) -> None:
    assert thumbprint(wallet.state["dpop_jwk"]) == jwk_thumbprint(wallet.state["dpop_jwk"])
