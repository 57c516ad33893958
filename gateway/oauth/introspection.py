"""``/introspect`` (RFC 7662), ``/revoke`` (RFC 7009) and ``/userinfo`` (OIDC Core §5.3).

Introspection and revocation need client authentication, and a client sees or revokes only
its own tokens: for anyone else's token introspection answers ``{"active": false}`` and
revocation does nothing (RFC 7009 §2.1: the answer is 200 either way). The bank's resource
servers introspect any token with ``Authorization: Bearer <settings.admin_token>``.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent.model import ConsentStatus
from gateway.errors import ForbiddenError, GatewayError
from gateway.oauth.client_auth import authenticate_client
from gateway.oauth.consents import find_consent
from gateway.oauth.errors import InvalidRequestError, UnsupportedTokenTypeError
from gateway.oauth.http import json_no_store, peer_ip, read_form
from gateway.oauth.resource import access_token_claims, authenticate_access_token
from gateway.oauth.revocation import revoke_tokens
from gateway.oauth.server import AuthorizationServer, oauth_server
from gateway.oauth.store import RefreshGrant
from gateway.services import Services

_INTROSPECTED = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "cnf", "consent_id")
_HINTS = ("access_token", "refresh_token")


def _resource_server(request: Request, services: Services) -> bool:
    """Whether the caller is the bank's own resource server (it holds the admin token)."""
    expected = str(services.settings.admin_token)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Bytes: compare_digest refuses str with non-ASCII characters (a header may carry any Latin-1).
    return (
        bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
    )


async def _authenticated_form(
    request: Request, *, resource_servers: bool = False
) -> tuple[Services, AuthorizationServer, dict[str, str], str | None]:
    """The form, and the client it came from (``None`` for a resource server)."""
    services, server = oauth_server(request)
    form = await read_form(request)
    client_id: str | None = None
    if not (resource_servers and _resource_server(request, services)):
        auth = await authenticate_client(
            form, request.headers, peer_ip(request), clients=server.clients, settings=services.settings,
            replay=server.replay, now=services.clock(),
        )  # fmt: skip
        client_id = auth.client.client_id
    if not form.get("token"):
        raise InvalidRequestError("token is required", path="token")
    hint = form.get("token_type_hint")
    if hint is not None and hint not in _HINTS:
        raise UnsupportedTokenTypeError(f"token_type_hint {hint!r} is not one of {', '.join(_HINTS)}")
    return services, server, form, client_id


def _as_access_token(token: str, services: Services, server: AuthorizationServer) -> dict[str, Any] | None:
    if token.count(".") != 2:
        return None
    try:
        return access_token_claims(token, services, server)
    except GatewayError:
        return None


async def _live_refresh(token: str, server: AuthorizationServer) -> RefreshGrant | None:
    grant = await server.store.get_refresh(token)
    if grant is None or grant.revoked_at is not None:
        return None
    consent = await find_consent(server.consents, grant.consent_id)
    return grant if consent is not None and consent.status is ConsentStatus.AUTHORISED else None


async def _consent_allows(claims: dict[str, Any], server: AuthorizationServer, now: float) -> bool:
    """A user token is active only while its consent is authorised and unexpired, as the pipeline requires.

    A paused consent's tokens are not deny-listed (they work again on resume), so this is asked each time.
    """
    if "consent_id" not in claims:
        return True
    consent = await find_consent(server.consents, str(claims["consent_id"]))
    if consent is None or consent.status is not ConsentStatus.AUTHORISED:
        return False
    return consent.expires_at is None or consent.expires_at.timestamp() > now


async def introspect(request: Request) -> Response:
    services, server, form, client_id = await _authenticated_form(request, resource_servers=True)
    claims = _as_access_token(form["token"], services, server)
    if (
        claims is not None
        and client_id in (None, claims.get("client_id"))
        and await _consent_allows(claims, server, services.clock())
    ):
        body = {k: claims[k] for k in _INTROSPECTED if k in claims}
        return json_no_store({"active": True, "token_type": "DPoP" if "jkt" in claims["cnf"] else "Bearer", **body})
    grant = await _live_refresh(form["token"], server) if claims is None else None
    if grant is not None and client_id in (None, grant.client_id):
        return json_no_store(
            {
                "active": True,
                "token_type": "refresh_token",
                "client_id": grant.client_id,
                "sub": grant.user_id,
                "scope": grant.scope,
                "consent_id": grant.consent_id,
                "iss": services.settings.issuer_url,
            }
        )
    return json_no_store({"active": False})


async def revoke(request: Request) -> Response:
    services, server, form, client_id = await _authenticated_form(request)
    token = form["token"]
    claims = _as_access_token(token, services, server)
    if claims is not None:
        if client_id is not None and claims.get("client_id") == client_id:
            await server.revocation.revoke(str(claims["jti"]), float(claims["exp"]))
            await server.store.mark_access_revoked(str(claims["jti"]), client_id, float(claims["exp"]))
        return json_no_store({})
    grant = await server.store.get_refresh(token)
    if grant is not None and grant.client_id == client_id:
        # RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of its grant.
        await revoke_tokens(server.store, server.revocation, now=services.clock(), grant_id=grant.grant_id)
    return json_no_store({})


async def userinfo(request: Request) -> Response:
    services, _ = oauth_server(request)
    access = await authenticate_access_token(request, services)
    if "openid" not in access.scope:
        raise ForbiddenError("userinfo needs an access token with the openid scope", path="scope")
    return json_no_store({"sub": access.subject})


ROUTES = [
    Route("/introspect", introspect, methods=["POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
]
