"""How /userinfo, which runs the pipeline's own token check, refuses what an attacker can put in front of it.

Each refusal is a 401 with the RFC 6750/9449 ``WWW-Authenticate`` header, never a 500.
"""

from __future__ import annotations

import json
import math
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.oauth.mtls import x5t_s256
from gateway.oauth.tokens import ACCESS_TOKEN_ALG
from tests.security.oauth.conftest import refused
from tests.security.oauth.test_dpop_binding import unauthorized, user_token, userinfo
from tests.security.oauth.test_mtls_binding import HEADER
from tests.unit.identity.certs import forwarded, make_certificate
from tests.unit.oauth.harness import ISSUER

CC = {"grant_type": "client_credentials"}


def test_a_proof_with_a_non_ascii_typ_is_refused_with_a_401(gateway, wallet):
    token = user_token(gateway, wallet)
    proof = wallet.proof("GET", "/userinfo", access_token=token, header={"typ": "dpop+jwt\u2603"})
    response = userinfo(gateway, token, proof)
    unauthorized(response, "invalid_dpop_proof", "typ must be 'dpop+jwt', got 'dpop+jwt\\u2603'")
    assert response.headers["www-authenticate"].isascii()


def test_a_proof_whose_jwk_has_a_non_ascii_curve_is_refused_with_a_401(gateway, wallet):
    token = user_token(gateway, wallet)
    jwk = wallet.dpop_key.public_jwk | {"crv": "P-256\u00e9\u2603"}
    proof = wallet.proof("GET", "/userinfo", access_token=token, header={"jwk": jwk})
    response = userinfo(gateway, token, proof)
    unauthorized(response, "invalid_dpop_proof", "the jwk header is not a usable ES256 public key")
    assert response.headers["www-authenticate"].isascii()


def test_an_access_token_in_a_percent_encoded_query_parameter_is_refused(gateway, wallet):
    token = user_token(gateway, wallet)
    headers = {"Authorization": f"DPoP {token}", "DPoP": wallet.proof("GET", "/userinfo", access_token=token)}
    response = gateway.http.get(f"/userinfo?access%5Ftoken={token}", headers=headers)
    unauthorized(response, "invalid_token", "Access tokens in the query string are refused")


def test_two_authorization_headers_are_refused_even_when_the_first_is_valid(gateway, wallet):
    token = user_token(gateway, wallet)
    headers = [
        ("Authorization", f"DPoP {token}"),
        ("Authorization", "DPoP another-token"),
        ("DPoP", wallet.proof("GET", "/userinfo", access_token=token)),
    ]
    response = gateway.http.get("/userinfo", headers=headers)
    unauthorized(response, "invalid_token", "Exactly one Authorization header is allowed")


def test_a_certificate_header_forwarded_twice_is_refused(gateway, wallet):
    """The client's own header first (the victim's public certificate), then the terminator's (its real one)."""
    victim = make_certificate("mtls-wallet", org="Wallet Ltd")
    claims = jwt.decode(user_token(gateway, wallet), options={"verify_signature": False}) | {
        "cnf": {"x5t#S256": x5t_s256(victim)}
    }
    stolen = gateway.services.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)
    headers = [
        ("Authorization", f"Bearer {stolen}"),
        (HEADER, forwarded(victim)),
        (HEADER, forwarded(make_certificate("mtls-wallet", org="Wallet Ltd"))),
    ]
    response = gateway.http.get("/userinfo", headers=headers)
    assert response.status_code == 401, response.text
    assert "header x-ssl-client-cert is sent more than once" in response.json()["error_description"]
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def _rsa_key_with_public_exponent_of(bits: int) -> rsa.RSAPrivateKey:
    """A real 2048-bit RSA key whose public exponent has ``bits`` bits (key generators only make 3 or 65537)."""
    primes = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    p, q = primes.p, primes.q
    phi = (p - 1) * (q - 1)
    e = (1 << (bits - 1)) | 1
    while math.gcd(e, phi) != 1:
        e += 2
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public).private_key()


def test_a_proof_key_with_a_huge_rsa_public_exponent_is_refused(gateway, wallet):
    """Verifying with a 2047-bit exponent costs ~50 times a normal verification (~200 times with a 3072-bit key)."""
    key = _rsa_key_with_public_exponent_of(2047)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    claims = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": ISSUER + "/token", "iat": int(gateway.clock())}
    proof = jwt.encode(claims, key, algorithm="PS256", headers={"typ": "dpop+jwt", "jwk": jwk})
    response = wallet.post("/token", CC, dpop=proof)
    refused(
        response, 400, "invalid_dpop_proof", "PS256 needs an RSA key of 2048 to 4096 bits with public exponent 65537"
    )
