"""Check an access token presented to one of our own resource endpoints (``/userinfo``).

The same checks the pipeline makes: signature and claims (RFC 9068), the deny-list, and the
sender constraint (DPoP proof with ``ath``, or the client certificate's thumbprint).
"""

from __future__ import annotations

from typing import Any

import jwt
from starlette.requests import Request

from gateway.errors import InvalidDPoPProofError, InvalidTokenError
from gateway.oauth.dpop import verify_dpop_proof
from gateway.oauth.http import endpoint_url, peer_ip
from gateway.oauth.mtls import client_certificate, x5t_s256
from gateway.oauth.server import AuthorizationServer
from gateway.oauth.tokens import ACCESS_TOKEN_TYP
from gateway.services import Services


def access_token_claims(token: str, services: Services, server: AuthorizationServer) -> dict[str, Any]:
    """Verified claims of one of our access tokens that is not revoked; ``InvalidTokenError`` otherwise."""
    issuer = services.settings.issuer_url
    try:
        claims = services.keys.verify(
            token, typ=ACCESS_TOKEN_TYP, audience=issuer, issuer=issuer, leeway=services.settings.clock_skew,
            required=("exp", "iat", "jti", "sub", "client_id", "cnf"), now=services.clock(),
        )  # fmt: skip
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError(f"the access token is invalid ({exc})") from None
    if server.revocation.is_revoked(str(claims["jti"])):
        raise InvalidTokenError("the access token was revoked")
    return claims


def _presented(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not token or scheme.lower() not in ("dpop", "bearer"):
        raise InvalidTokenError("send the access token as 'Authorization: DPoP <token>'", path="header.Authorization")
    return scheme.lower(), token.strip()


async def authenticate_access_token(
    request: Request, services: Services, server: AuthorizationServer
) -> dict[str, Any]:
    scheme, token = _presented(request)
    claims = access_token_claims(token, services, server)
    cnf = claims.get("cnf") or {}
    if "jkt" in cnf:
        if scheme != "dpop":
            raise InvalidTokenError("this token is DPoP-bound: use the DPoP authorization scheme")
        proof = await verify_dpop_proof(
            request.headers.get("dpop"),
            method=request.method,
            url=endpoint_url(request, services.settings.issuer_url),
            access_token=token,
            replay=server.replay,
            now=services.clock(),
        )
        if proof.jkt != cnf["jkt"]:
            raise InvalidDPoPProofError("DPoP proof: signed by another key than the one the token is bound to")
        return claims
    cert = client_certificate(request.headers, peer_ip(request), services.settings)
    if cert is None or x5t_s256(cert) != cnf.get("x5t#S256"):
        raise InvalidTokenError("this token is bound to a client certificate that was not presented")
    return claims
