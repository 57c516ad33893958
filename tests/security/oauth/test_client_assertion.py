"""private_key_jwt refusals (FAPI 2.0 §5.3.2.1, RFC 7523): each bad assertion and its exact error."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from jwt.algorithms import OKPAlgorithm

from tests.security.oauth.conftest import refused
from tests.unit.oauth.forge import hmac_signed, unsigned
from tests.unit.oauth.harness import ISSUER
from tests.unit.oauth.keys import WalletKey

TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_with(wallet, assertion: str):
    form = {"grant_type": "client_credentials", "client_assertion_type": TYPE, "client_assertion": assertion}
    return wallet.gateway.http.post("/token", data=form, headers={"DPoP": wallet.proof("POST", "/token")})


def claims(wallet, **overrides):
    now = int(wallet.gateway.clock())
    base = {"iss": wallet.client_id, "sub": wallet.client_id, "aud": ISSUER, "jti": "j-1", "iat": now, "exp": now + 60}
    return base | overrides


def test_assertion_with_alg_none_is_refused(wallet):
    response = token_with(wallet, unsigned({"kid": wallet.key.private_jwk["kid"]}, claims(wallet)))
    refused(response, 401, "invalid_client", "client_assertion alg 'none' is not allowed")


def test_assertion_hmac_signed_with_the_public_key_is_refused(wallet):
    secret = json.dumps(wallet.key.public_jwk).encode()
    response = token_with(wallet, hmac_signed({"kid": wallet.key.private_jwk["kid"]}, claims(wallet), secret))
    refused(response, 401, "invalid_client", "client_assertion alg 'HS256' is not allowed")


def test_assertion_signed_rs256_is_refused(gateway):
    wallet = gateway.register()
    rsa = WalletKey("PS256")
    assertion = rsa.sign(claims(wallet), {"kid": rsa.private_jwk["kid"]}, alg="RS256")
    refused(token_with(wallet, assertion), 401, "invalid_client", "client_assertion alg 'RS256' is not allowed")


def test_assertion_with_unknown_kid_is_refused(wallet):
    assertion = wallet.key.sign(claims(wallet), {"kid": "no-such-key"})
    refused(token_with(wallet, assertion), 401, "invalid_client", "names kid 'no-such-key', which is not among")


def test_assertion_signed_by_another_key_is_refused(wallet):
    other = WalletKey("ES256")
    assertion = other.sign(claims(wallet), {"kid": wallet.key.private_jwk["kid"]})
    refused(token_with(wallet, assertion), 401, "invalid_client", "signature does not verify")


def test_expired_assertion_is_refused(wallet):
    now = int(wallet.gateway.clock())
    response = token_with(wallet, wallet.assertion(iat=now - 120, exp=now - 60))
    refused(response, 401, "invalid_client", "client_assertion has expired")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_assertion_is_refused(wallet, claim):
    now = int(wallet.gateway.clock())
    response = token_with(wallet, wallet.assertion(**{claim: now + 120}, exp=now + 180))
    refused(response, 401, "invalid_client", f"client_assertion is not yet valid ({claim} is in the future)")


def test_assertion_living_longer_than_five_minutes_is_refused(wallet):
    now = int(wallet.gateway.clock())
    response = token_with(wallet, wallet.assertion(exp=now + 3600))
    refused(response, 401, "invalid_client", "client_assertion exp is more than 300 s ahead")


def test_assertion_for_the_token_endpoint_url_is_refused(wallet):
    response = token_with(wallet, wallet.assertion(aud=ISSUER + "/token"))
    refused(response, 401, "invalid_client", f"aud must be the issuer identifier '{ISSUER}', got '{ISSUER}/token'")


def test_assertion_with_audience_array_is_refused(wallet):
    response = token_with(wallet, wallet.assertion(aud=[ISSUER]))
    refused(response, 401, "invalid_client", "as a single string")


def test_replayed_assertion_is_refused(wallet):
    assertion = wallet.assertion()
    assert token_with(wallet, assertion).status_code == 200
    refused(token_with(wallet, assertion), 401, "invalid_client", "client_assertion jti was already used")


def test_assertion_whose_iss_is_not_the_client_is_refused(wallet):
    response = token_with(wallet, wallet.assertion(iss="someone-else"))
    refused(response, 401, "invalid_client", "client_assertion iss must equal the client_id")


def test_unknown_client_is_refused(gateway):
    ghost = WalletKey()
    assertion = ghost.assertion("ghost", ISSUER, now=gateway.clock())
    form = {"grant_type": "client_credentials", "client_assertion_type": TYPE, "client_assertion": assertion}
    refused(gateway.http.post("/token", data=form), 401, "invalid_client", "unknown client 'ghost'")


def test_client_secret_is_refused(wallet):
    form = {"grant_type": "client_credentials", "client_id": wallet.client_id, "client_secret": "hunter2"}
    refused(wallet.gateway.http.post("/token", data=form), 401, "invalid_client", "client secrets are not accepted")


def test_missing_client_authentication_is_refused(wallet):
    form = {"grant_type": "client_credentials", "client_id": wallet.client_id}
    refused(wallet.gateway.http.post("/token", data=form), 401, "invalid_client", "client_assertion is required")


def test_assertion_in_another_alg_than_registered_is_refused(gateway):
    wallet = gateway.register(token_endpoint_auth_signing_alg="PS256")
    refused(token_with(wallet, wallet.assertion()), 401, "invalid_client", "is not the registered")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_assertion_with_a_nan_time_claim_is_refused(wallet, claim):
    # Python's JSON reads NaN; every comparison with it is false, so it passed the expiry and lifetime checks
    # and the jti was remembered for one second only: the assertion could be replayed for ever.
    response = token_with(wallet, wallet.assertion(**{claim: float("nan")}, jti=f"nan-{claim}"))
    refused(response, 401, "invalid_client", f"client_assertion {claim} must be a finite number")


def test_assertion_signed_eddsa_with_an_ed448_key_is_refused(gateway):
    # FAPI 2.0 §5.4.1: EdDSA only with the Ed25519 variant.
    key = ed448.Ed448PrivateKey.generate()
    public = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k-448"}
    wallet = gateway.register(jwks={"keys": [public]})
    assertion = jwt.encode(claims(wallet), key, algorithm="EdDSA", headers={"kid": "k-448"})
    refused(token_with(wallet, assertion), 401, "invalid_client", "EdDSA is accepted with Ed25519 keys only")


def test_assertion_signed_eddsa_with_an_ed25519_key_is_accepted(gateway):
    key = ed25519.Ed25519PrivateKey.generate()
    public = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k-25519"}
    wallet = gateway.register(jwks={"keys": [public]})
    assertion = jwt.encode(claims(wallet), key, algorithm="EdDSA", headers={"kid": "k-25519"})
    assert token_with(wallet, assertion).status_code == 200
