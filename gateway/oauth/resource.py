"""Check an access token presented to one of our own resource endpoints (``/userinfo``).

The pipeline's own check (``gateway.pipeline.authenticate.authenticate_request``): signature and
claims (RFC 9068), the deny-list, and the sender constraint (exactly one DPoP proof with a
matching ``ath``, or the client certificate's thumbprint). ``access_token_claims`` gives the
verified claims themselves, for introspection.
"""

from __future__ import annotations

from typing import Any

import jwt
from starlette.requests import Request

from gateway.errors import InvalidTokenError
from gateway.oauth.http import endpoint_url, peer_ip
from gateway.oauth.server import AuthorizationServer
from gateway.oauth.tokens import ACCESS_TOKEN_TYP
from gateway.pipeline.authenticate import authenticate_request
from gateway.pipeline.call import AccessToken
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


async def authenticate_access_token(request: Request, services: Services) -> AccessToken:
    """The request's verified, sender-constrained access token; ``InvalidTokenError`` otherwise.

    The DPoP ``htu`` is the public URL (issuer + path), as replicas behind a load balancer share it.
    """
    query = request.url.query
    return await authenticate_request(
        services,
        method=request.method,
        url=endpoint_url(request, services.settings.issuer_url) + (f"?{query}" if query else ""),
        headers=request.headers,
        client_ip=peer_ip(request),
    )
