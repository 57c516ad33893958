"""Mint what the token endpoint hands out: RFC 9068 access tokens, ID tokens, refresh tokens, codes.

Every access token is sender-constrained: ``Binding`` carries the DPoP key thumbprint
(``cnf.jkt``) or the client certificate thumbprint (``cnf.x5t#S256``), and a token without
one is never minted. Tokens issued under a consent are recorded (jti, consent, exp) so that
revoking the consent can deny-list them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from gateway.clock import Clock
from gateway.oauth.consents import AUTHORIZATION_DETAILS_TYPE
from gateway.oauth.keys import KeyRing
from gateway.oauth.store import OAuthStore, RefreshGrant, digest
from gateway.settings import Settings

log = logging.getLogger("walletgate.oauth")

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret
# Access tokens are verified on every proxied call and signed once: PS256 verifies in a third of
# ES256's time (``gateway.oauth.keys``). Without a current PS256 key the default key signs them.
ACCESS_TOKEN_ALG = "PS256"  # noqa: S105 - an algorithm name, not a secret


@dataclass(frozen=True, slots=True)
class Binding:
    """The sender constraint of a token: exactly one of the two thumbprints."""

    jkt: str | None = None
    x5t: str | None = None

    def __post_init__(self) -> None:
        if (self.jkt is None) == (self.x5t is None):
            raise ValueError("a token is bound to exactly one of a DPoP key or a client certificate")

    @property
    def cnf(self) -> dict[str, str]:
        return {"jkt": self.jkt} if self.jkt else {"x5t#S256": str(self.x5t)}

    @property
    def token_type(self) -> str:
        return "DPoP" if self.jkt else "Bearer"


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_at: float


def new_secret() -> str:
    """256 bits of randomness, URL-safe: codes, refresh tokens, request_uri suffixes."""
    return secrets.token_urlsafe(32)


def left_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash/c_hash for SHA-256 algorithms (ES256, PS256)."""
    digest16 = hashlib.sha256(value.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(digest16).rstrip(b"=").decode("ascii")


class TokenService:
    def __init__(self, settings: Settings, keys: KeyRing, store: OAuthStore, clock: Clock) -> None:
        self.settings = settings
        self.keys = keys
        self.store = store
        self.clock = clock

    @property
    def issuer(self) -> str:
        return self.settings.issuer_url

    async def access_token(
        self,
        *,
        client_id: str,
        subject: str,
        scope: str,
        binding: Binding,
        consent_id: str | None = None,
        grant_id: str | None = None,
    ) -> IssuedAccessToken:
        now = int(self.clock())
        jti = uuid.uuid4().hex
        exp = now + self.settings.access_token_ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": subject,
            "client_id": client_id,
            "scope": scope,
            "jti": jti,
            "iat": now,
            "exp": exp,
            "cnf": binding.cnf,
        }
        if consent_id is not None:
            claims["consent_id"] = consent_id
            await self.store.record_access(jti, client_id, consent_id, grant_id, exp)
        return IssuedAccessToken(self.keys.sign(claims, typ=ACCESS_TOKEN_TYP, alg=ACCESS_TOKEN_ALG), jti, float(exp))

    def id_token(
        self,
        *,
        client_id: str,
        user_id: str,
        nonce: str | None,
        auth_time: float,
        access_token: str,
        alg: str = "ES256",
    ) -> str:
        """Signed with ``alg``, the client's ``id_token_signed_response_alg`` (OIDC Registration §2)."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "azp": client_id,
            "sub": user_id,
            "iat": now,
            "exp": now + self.settings.access_token_ttl,
            "auth_time": int(auth_time),
            "at_hash": left_hash(access_token),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if alg not in {key.alg for key in self.keys.current_keys}:
            log.warning(
                "client %s registered ID tokens in %s, but no current signing key is %s; signed with %s",
                client_id,
                alg,
                alg,
                self.keys.current.alg,
            )
        return self.keys.sign(claims, typ="JWT", alg=alg)

    async def refresh_token(
        self, *, client_id: str, user_id: str, consent_id: str, grant_id: str, scope: str, binding: Binding
    ) -> str:
        token = new_secret()
        grant = RefreshGrant(
            token_hash=digest(token),
            client_id=client_id,
            user_id=user_id,
            consent_id=consent_id,
            grant_id=grant_id,
            scope=scope,
            cnf_jkt=binding.jkt,
            cnf_x5t=binding.x5t,
            revoked_at=None,
        )
        await self.store.create_refresh(grant, self.clock())
        return token

    def response(
        self, issued: IssuedAccessToken, binding: Binding, scope: str, consent_id: str | None = None, **extra: str
    ) -> dict[str, Any]:
        """The RFC 6749 §5.1 token response body; user tokens also name their consent (RFC 9396 §7)."""
        body: dict[str, Any] = {
            "access_token": issued.token,
            "token_type": binding.token_type,
            "expires_in": self.settings.access_token_ttl,
            "scope": scope,
        }
        if consent_id is not None:
            body["consent_id"] = consent_id
            body["authorization_details"] = [{"type": AUTHORIZATION_DETAILS_TYPE, "consent_id": consent_id}]
        body.update(extra)
        return body
