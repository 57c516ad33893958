"""Test keys and signed test objects: DPoP proofs and client assertions made the way a wallet would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt

from gateway.oauth.keys import generate_jwk, public_jwk


class WalletKey:
    """A wallet's private key with helpers to sign what a wallet sends."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        self.private_jwk = generate_jwk(alg)
        self.public_jwk = public_jwk(self.private_jwk)
        self.private = jwt.PyJWK(self.private_jwk).key

    def sign(self, claims: dict[str, Any], headers: dict[str, Any], alg: str | None = None, key: Any = None) -> str:
        return jwt.encode(claims, key if key is not None else self.private, algorithm=alg or self.alg, headers=headers)

    def dpop(
        self,
        method: str,
        url: str,
        *,
        now: float | None = None,
        access_token: str | None = None,
        jti: str | None = None,
        nonce: str | None = None,
        header: dict[str, Any] | None = None,
        **extra: Any,
    ) -> str:
        from gateway.oauth.dpop import access_token_hash

        claims: dict[str, Any] = {
            "jti": jti or uuid.uuid4().hex,
            "htm": method,
            "htu": url,
            "iat": int(time.time() if now is None else now),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(extra)
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk} | (header or {})
        return self.sign(claims, headers)

    def assertion(self, client_id: str, audience: Any, *, now: float | None = None, **overrides: Any) -> str:
        """A private_key_jwt client assertion (RFC 7523)."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": uuid.uuid4().hex,
            "iat": issued,
            "exp": issued + 60,
        }
        claims.update(overrides)
        return self.sign(claims, {"kid": self.private_jwk["kid"]})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk | {"alg": self.alg, "use": "sig"}]}


def jwk_json(jwk: dict[str, Any]) -> str:
    return json.dumps(jwk)
