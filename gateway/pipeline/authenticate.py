"""Verify the access token locally and its sender constraint: set ``call.token``.

The token is an RFC 9068 JWT signed by this gateway (no database hit). It must be
sender-constrained: ``cnf.jkt`` with a DPoP proof for this request (RFC 9449, ``ath`` and a
replay cache), or ``cnf.x5t#S256`` with the client certificate that the trusted TLS
terminator forwards (RFC 8705). A revoked ``jti`` is refused. Tokens in the query string
(RFC 6750 §2.3) are refused outright: they end up in logs.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.datastructures import Headers

from gateway.errors import InvalidDPoPProofError, InvalidTokenError
from gateway.limiter import OneTimeKey
from gateway.oauth.dpop import verify_dpop_proof
from gateway.oauth.mtls import InvalidClientCertificateError, client_certificate, x5t_s256
from gateway.oauth.replay import ReplayCache
from gateway.pipeline.call import AccessToken, Call
from gateway.services import Services


class BearerTokenError(InvalidTokenError):
    """RFC 6750 §3: an mTLS-bound token is presented with the Bearer scheme."""

    scheme = "Bearer"


class DeferredReplayCheck:
    """Takes the DPoP proof's one-time key instead of spending it: the limit step spends it with the
    call's limits, in the same Redis round trip (see ``gateway.limiter``)."""

    __slots__ = ("once",)

    def __init__(self) -> None:
        self.once: OneTimeKey | None = None

    async def first_use(self, key: str, ttl: float) -> bool:
        self.once = OneTimeKey(key, ttl)
        return True


async def authenticate(call: Call) -> None:
    deferred = DeferredReplayCheck()
    call.token = await authenticate_request(
        call.services,
        method=call.method,
        url=call.url,
        headers=call.headers,
        client_ip=call.client_ip,
        replay=deferred,
    )
    call.proof_jti = deferred.once


async def authenticate_request(
    services: Services,
    *,
    method: str,
    url: str,
    headers: Headers,
    client_ip: str | None,
    replay: ReplayCache | None = None,
) -> AccessToken:
    """The verified access token of a request, or ``InvalidTokenError`` saying what is wrong.

    A DPoP proof's ``jti`` is spent in ``replay`` (default: ``services.replay``).
    """
    if _token_in_query(url.partition("?")[2]):
        raise InvalidTokenError("Access tokens in the query string are refused; use the Authorization header.")
    scheme, token = _credentials(headers)
    settings = services.settings
    try:
        claims = services.keys.verify(
            token,
            typ="at+jwt",
            audience=settings.issuer_url,
            issuer=settings.issuer_url,
            leeway=settings.clock_skew,
            required=("exp", "iat", "jti", "sub", "client_id"),
            now=services.clock(),
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"The access token is invalid: {exc}.") from None
    access = _access_token(claims)
    if services.revocation.is_revoked(access.jti):
        raise InvalidTokenError("The access token has been revoked.")
    if access.jkt is not None:
        await _check_dpop(
            services, access, scheme, token, method=method, url=url, headers=headers, replay=replay or services.replay
        )
    elif access.x5t_s256 is not None:
        _check_mtls(services, access, scheme, headers, client_ip)
    else:
        raise InvalidTokenError("The access token is not sender-constrained (no cnf claim).")
    return access


def _token_in_query(query: str) -> bool:
    """Whether the query has an ``access_token`` parameter, its name decoded as every parser decodes it
    (``access%5Ftoken`` is one too)."""
    return bool(query) and any(name == "access_token" for name, _ in parse_qsl(query, keep_blank_values=True))


def _credentials(headers: Headers) -> tuple[str, str]:
    values = headers.getlist("authorization")
    if len(values) > 1:  # RFC 9110 §11.6.2: one field; which one an intermediary read cannot be known
        raise InvalidTokenError("Exactly one Authorization header is allowed.")
    value = values[0] if values else ""
    if not value:
        raise InvalidTokenError("An access token is required in the Authorization header.")
    scheme, _, token = value.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("dpop", "bearer") or not token.strip():
        raise InvalidTokenError("The Authorization header must be 'DPoP <token>' or, for mTLS, 'Bearer <token>'.")
    return scheme, token.strip()


def _access_token(claims: Mapping[str, Any]) -> AccessToken:
    raw_cnf = claims.get("cnf")
    cnf: Mapping[str, Any] = raw_cnf if isinstance(raw_cnf, Mapping) else {}
    scope = claims.get("scope", "")
    consent_id = claims.get("consent_id")
    return AccessToken(
        jti=str(claims["jti"]),
        client_id=str(claims["client_id"]),
        subject=str(claims["sub"]),
        scope=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        expires_at=float(claims["exp"]),
        consent_id=str(consent_id) if consent_id else None,
        jkt=_text(cnf.get("jkt")),
        x5t_s256=_text(cnf.get("x5t#S256")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def _check_dpop(
    services: Services,
    access: AccessToken,
    scheme: str,
    token: str,
    *,
    method: str,
    url: str,
    headers: Headers,
    replay: ReplayCache,
) -> None:
    if scheme != "dpop":
        raise InvalidTokenError("A DPoP-bound access token must be sent with the DPoP scheme.")
    proofs = headers.getlist("dpop")
    if len(proofs) > 1:
        raise InvalidDPoPProofError("Exactly one DPoP header is allowed.", path="header.DPoP")
    proof = await verify_dpop_proof(
        proofs[0] if proofs else None,
        method=method,
        url=url,
        access_token=token,
        replay=replay,
        now=services.clock(),
    )
    if not hmac.compare_digest(proof.jkt, access.jkt or ""):
        raise InvalidDPoPProofError("The DPoP proof is signed by a key the access token is not bound to.")


def _check_mtls(
    services: Services, access: AccessToken, scheme: str, headers: Mapping[str, str], client_ip: str | None
) -> None:
    if scheme != "bearer":
        raise BearerTokenError("An mTLS-bound access token must be sent with the Bearer scheme.")
    try:
        cert = client_certificate(headers, client_ip, services.settings)
    except InvalidClientCertificateError as exc:  # an OAuth error elsewhere; on an API, the Open Banking body
        raise BearerTokenError(f"The client certificate cannot be read: {exc}.") from None
    if cert is None:
        raise BearerTokenError("The access token is bound to a client certificate, and none was presented.")
    if not hmac.compare_digest(x5t_s256(cert), access.x5t_s256 or ""):
        raise BearerTokenError("The client certificate is not the one the access token is bound to.")
