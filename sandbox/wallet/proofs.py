"""The JWTs a wallet signs: DPoP proofs and private_key_jwt client assertions."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_dpop_key() -> dict[str, Any]:
    key: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    return key


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: jwk[k] for k in ("kty", "crv", "x", "y", "n", "e") if k in jwk}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of the public key."""
    canonical = json.dumps(_public(jwk), sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest())


def dpop_proof(
    jwk: dict[str, Any], method: str, url: str, *, access_token: str | None = None, nonce: str | None = None
) -> str:
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "jti": uuid.uuid4().hex,
        "htm": method.upper(),
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()),
    }
    if access_token is not None:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
    if nonce is not None:
        claims["nonce"] = nonce
    key = jwt.PyJWK(jwk).key
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": _public(jwk)})


def client_assertion(private_jwk: dict[str, Any], client_id: str, issuer: str) -> str:
    """private_key_jwt (RFC 7523) with ``aud`` = the issuer identifier, as FAPI 2.0 requires."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": issuer, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}
    key = jwt.PyJWK(private_jwk).key
    return jwt.encode(claims, key, algorithm=private_jwk["alg"], headers={"kid": private_jwk["kid"]})


def pkce_pair() -> tuple[str, str]:
    verifier = b64url(uuid.uuid4().bytes + uuid.uuid4().bytes)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())
