"""``/token``: the three grants (authorization_code, refresh_token, client_credentials).

Every grant authenticates the client first, binds the tokens to the caller's DPoP key or
certificate, and answers with ``Cache-Control: no-store``. A code is single use: a second
redeem fails and revokes everything the first one issued (RFC 6749 §4.1.2, FAPI 2.0).
"""

from __future__ import annotations

import hmac
import re

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent.model import ConsentStatus
from gateway.client_address import request_client_address
from gateway.limiter.endpoints import limit_endpoint
from gateway.oauth.binding import token_binding
from gateway.oauth.client_auth import AuthenticatedClient, authenticate_client
from gateway.oauth.consents import find_consent
from gateway.oauth.errors import (
    InvalidDPoPAtTokenEndpointError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from gateway.oauth.http import json_no_store, peer_ip, read_form
from gateway.oauth.revocation import revoke_tokens
from gateway.oauth.server import AuthorizationServer, oauth_server
from gateway.oauth.store import CodeGrant, CodeReusedError, RefreshGrant
from gateway.oauth.tokens import Binding
from gateway.services import Services

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
CLIENT_CREDENTIALS_SCOPES = ("accounts",)


def _check_pkce(verifier: str | None, challenge: str) -> None:
    if not verifier:
        raise InvalidGrantError("code_verifier is required (PKCE)", path="code_verifier")
    if not _VERIFIER.match(verifier):
        raise InvalidGrantError("code_verifier must be 43 to 128 unreserved characters", path="code_verifier")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge", path="code_verifier")


async def _redeem(form: dict[str, str], client_id: str, services: Services, server: AuthorizationServer) -> CodeGrant:
    code = form.get("code")
    if not code:
        raise InvalidRequestError("code is required", path="code")
    try:
        grant = await server.store.redeem_code(code, services.clock())
    except CodeReusedError as exc:
        await revoke_tokens(server.store, server.revocation, now=services.clock(), grant_id=exc.grant_id)
        raise
    if grant.client_id != client_id:
        raise InvalidGrantError("the code was issued to another client", path="code")
    if grant.expires_at <= services.clock():
        raise InvalidGrantError("the code has expired", path="code")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise InvalidGrantError("redirect_uri differs from the one in the authorization request", path="redirect_uri")
    _check_pkce(form.get("code_verifier"), grant.code_challenge)
    return grant


async def _authorization_code(
    request: Request, form: dict[str, str], auth: AuthenticatedClient, services: Services, server: AuthorizationServer
) -> dict[str, object]:
    # The proof is checked before the code is spent: a nonce challenge (RFC 9449 §8) or a bad proof
    # must leave the code for the retry, not burn it.
    binding = await token_binding(request, auth, services, server)
    grant = await _redeem(form, auth.client.client_id, services, server)
    consent = await find_consent(server.consents, grant.consent_id)
    if consent is None or consent.status is not ConsentStatus.AUTHORISED:
        raise InvalidGrantError(f"consent {grant.consent_id} is no longer authorised", path="code")
    if grant.dpop_jkt is not None and binding.jkt != grant.dpop_jkt:
        raise InvalidDPoPAtTokenEndpointError(
            "the DPoP key is not the one named by dpop_jkt at /par", path="header.DPoP"
        )
    tokens = server.tokens
    issued = await tokens.access_token(
        client_id=grant.client_id,
        subject=grant.user_id,
        scope=grant.scope,
        binding=binding,
        consent_id=grant.consent_id,
        grant_id=grant.code_hash,
    )
    extra: dict[str, str] = {}
    if "refresh_token" in auth.client.grant_types:
        extra["refresh_token"] = await tokens.refresh_token(
            client_id=grant.client_id,
            user_id=grant.user_id,
            consent_id=grant.consent_id,
            grant_id=grant.code_hash,
            scope=grant.scope,
            binding=binding,
        )
    if "openid" in grant.scope.split():
        extra["id_token"] = tokens.id_token(
            client_id=grant.client_id,
            user_id=grant.user_id,
            nonce=grant.nonce,
            auth_time=grant.auth_time,
            access_token=issued.token,
            alg=auth.client.id_token_signed_response_alg,
        )
    return tokens.response(issued, binding, grant.scope, consent_id=grant.consent_id, **extra)


async def _check_refresh_consent(server: AuthorizationServer, grant: RefreshGrant, now: float) -> None:
    consent = await find_consent(server.consents, grant.consent_id)
    if consent is None:
        raise InvalidGrantError(f"consent {grant.consent_id} no longer exists", path="refresh_token")
    if consent.status is ConsentStatus.PAUSED:
        raise InvalidGrantError(
            f"consent {grant.consent_id} is paused by the user; it works again once they resume it",
            path="refresh_token",
        )
    expired = consent.expires_at is not None and consent.expires_at.timestamp() <= now
    if consent.status is ConsentStatus.EXPIRED or expired:
        raise InvalidGrantError(f"consent {grant.consent_id} has expired", path="refresh_token")
    if consent.status is not ConsentStatus.AUTHORISED:
        raise InvalidGrantError(
            f"consent {grant.consent_id} is {consent.status.value}; the refresh token is revoked", path="refresh_token"
        )


def _check_refresh_binding(grant: RefreshGrant, binding: Binding) -> None:
    if grant.cnf_jkt is not None and binding.jkt != grant.cnf_jkt:
        raise InvalidDPoPAtTokenEndpointError(
            "the refresh token is bound to another DPoP key than this proof's", path="header.DPoP"
        )
    if grant.cnf_x5t is not None and binding.x5t != grant.cnf_x5t:
        raise InvalidGrantError("the refresh token is bound to another client certificate", path="refresh_token")


async def _refresh_token(
    request: Request, form: dict[str, str], auth: AuthenticatedClient, services: Services, server: AuthorizationServer
) -> dict[str, object]:
    token = form.get("refresh_token")
    if not token:
        raise InvalidRequestError("refresh_token is required", path="refresh_token")
    grant = await server.store.get_refresh(token)
    if grant is None:
        raise InvalidGrantError("the refresh token is unknown", path="refresh_token")
    if grant.client_id != auth.client.client_id:
        raise InvalidGrantError("the refresh token was issued to another client", path="refresh_token")
    if grant.revoked_at is not None:
        raise InvalidGrantError("the refresh token was revoked", path="refresh_token")
    if "scope" in form and not set(form["scope"].split()) <= set(grant.scope.split()):
        raise InvalidScopeError("a refresh may only narrow the granted scope", path="scope")
    await _check_refresh_consent(server, grant, services.clock())
    binding = await token_binding(request, auth, services, server)
    _check_refresh_binding(grant, binding)
    scope = " ".join(form["scope"].split()) if "scope" in form else grant.scope
    issued = await server.tokens.access_token(
        client_id=grant.client_id,
        subject=grant.user_id,
        scope=scope,
        binding=binding,
        consent_id=grant.consent_id,
        grant_id=grant.grant_id,
    )
    return server.tokens.response(issued, binding, scope, consent_id=grant.consent_id, refresh_token=token)


async def _client_credentials(
    request: Request, form: dict[str, str], auth: AuthenticatedClient, services: Services, server: AuthorizationServer
) -> dict[str, object]:
    requested = form.get("scope", "accounts").split()
    refused = [s for s in requested if s not in CLIENT_CREDENTIALS_SCOPES or s not in auth.client.scope.split()]
    if refused or not requested:
        raise InvalidScopeError(f"client_credentials may only ask for scope 'accounts', not {refused}", path="scope")
    binding = await token_binding(request, auth, services, server)
    scope = " ".join(dict.fromkeys(requested))
    client_id = auth.client.client_id
    issued = await server.tokens.access_token(client_id=client_id, subject=client_id, scope=scope, binding=binding)
    # User tokens are recorded under their consent; this one is recorded so that deregistering the
    # client (RFC 7592 §2.3) can deny-list it too.
    await server.store.record_access(issued.jti, client_id, None, None, issued.expires_at)
    return server.tokens.response(issued, binding, scope)


_GRANTS = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
    "client_credentials": _client_credentials,
}


async def token(request: Request) -> Response:
    services, server = oauth_server(request)
    form = await read_form(request)
    source = request_client_address(request, services.settings)  # the wallet's, not our proxy's
    await limit_endpoint(services, "token", None, source)  # before any signature work
    auth = await authenticate_client(
        form, request.headers, peer_ip(request), clients=server.clients, settings=services.settings,
        replay=server.replay, now=services.clock(),
    )  # fmt: skip
    limits = await limit_endpoint(services, "token", auth.client.client_id, None)  # only once it is proven
    grant_type = form.get("grant_type", "")
    handler = _GRANTS.get(grant_type)
    if handler is None:
        raise UnsupportedGrantTypeError(f"grant_type {grant_type!r} is not supported", path="grant_type")
    if grant_type not in auth.client.grant_types:
        raise UnauthorizedClientError(f"this client is not registered for {grant_type}", path="grant_type")
    body = await handler(request, form, auth, services, server)
    services.metrics.record_token_issued(grant_type)
    return json_no_store(body, headers=server.nonce_headers() | limits)


ROUTES = [Route("/token", token, methods=["POST"])]
