"""What a token is bound to, and the DPoP proof sent with a pushed request (RFC 9449 §5, §10)."""

from __future__ import annotations

from gateway.oauth.dpop import jwk_thumbprint
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import ISSUER, REDIRECT_URI, s256
from tests.unit.oauth.keys import WalletKey

CC = {"grant_type": "client_credentials", "scope": "accounts"}


def _two_proofs(wallet, path: str) -> list[tuple[str, str]]:
    return [("DPoP", wallet.proof("POST", path)), ("DPoP", wallet.proof("POST", path))]


def test_token_request_with_two_dpop_headers_is_refused(gateway, wallet):
    response = gateway.http.post("/token", data=wallet.auth() | CC, headers=_two_proofs(wallet, "/token"))
    refused(response, 400, "invalid_dpop_proof", "send exactly one DPoP header")


def test_dpop_bound_client_without_a_proof_gets_no_token(wallet):
    response = wallet.post("/token", CC, dpop=None)
    refused(response, 400, "invalid_dpop_proof", "registered dpop_bound_access_tokens: a DPoP proof is required")


def test_client_with_neither_proof_nor_certificate_gets_no_bearer_token(gateway):
    wallet = gateway.register(dpop_bound_access_tokens=False)
    response = wallet.post("/token", CC, dpop=None)
    refused(response, 400, "invalid_request", "send a DPoP proof or present a client certificate")


def test_par_with_two_dpop_headers_is_refused(gateway, wallet):
    details = f'[{{"type":"account_access_consent","consent_id":"{gateway.consent(wallet.client_id)}"}}]'
    form = wallet.auth() | {
        "response_type": "code",
        "client_id": wallet.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid accounts",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
        "authorization_details": details,
    }
    response = gateway.http.post("/par", data=form, headers=_two_proofs(wallet, "/par"))
    refused(response, 400, "invalid_dpop_proof", "send exactly one DPoP header")


def _par_with_proof(gateway, wallet, proof: str, **params: str):
    return wallet.par(gateway.consent(wallet.client_id), dpop=proof, **params)


def test_par_proof_binds_the_code_to_its_key(gateway, wallet):
    request_uri = _par_with_proof(gateway, wallet, wallet.proof("POST", "/par")).json()["request_uri"]
    code = wallet.approve(request_uri)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": wallet.redirect_uri}
    another_key = WalletKey().dpop("POST", ISSUER + "/token", now=gateway.clock())
    response = wallet.post("/token", form | {"code_verifier": "v" * 43}, dpop=another_key)
    refused(response, 400, "invalid_dpop_proof", "not the one named by dpop_jkt at /par")


def test_par_with_a_bad_proof_is_refused(gateway, wallet):
    response = _par_with_proof(gateway, wallet, wallet.proof("POST", "/token"))
    refused(response, 400, "invalid_dpop_proof", f"htu '{ISSUER}/token' does not match")


def test_par_dpop_jkt_of_another_key_than_the_proof_is_refused(gateway, wallet):
    other = jwk_thumbprint(WalletKey().public_jwk)
    response = _par_with_proof(gateway, wallet, wallet.proof("POST", "/par"), dpop_jkt=other)
    refused(response, 400, "invalid_dpop_proof", "dpop_jkt does not match the key of the DPoP proof")


def test_par_with_a_malformed_dpop_jkt_is_refused(gateway, wallet):
    response = wallet.par(gateway.consent(wallet.client_id), dpop_jkt="not-a-thumbprint")
    refused(response, 400, "invalid_request", "dpop_jkt must be a base64url SHA-256 JWK thumbprint")
