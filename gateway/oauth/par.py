"""``/par``: pushed authorization requests (RFC 9126), the only way to start an authorization.

The client authenticates, the request is checked completely here (so ``/authorize`` only
needs the returned ``request_uri``), and is stored for ``settings.par_ttl`` seconds, bound to
the client and usable once. PKCE S256 is required; ``dpop_jkt`` (or a DPoP proof sent with the
push) binds the eventual code to that key (RFC 9449 §10).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consent.model import ConsentStatus
from gateway.client_address import request_client_address
from gateway.limiter.endpoints import limit_endpoint
from gateway.oauth.binding import endpoint_proof
from gateway.oauth.client_auth import authenticate_client
from gateway.oauth.clients import Client
from gateway.oauth.consents import consent_from_request, find_consent
from gateway.oauth.errors import (
    InvalidDPoPAtTokenEndpointError,
    InvalidRequestError,
    InvalidRequestObjectError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from gateway.oauth.http import json_no_store, peer_ip, read_form
from gateway.oauth.server import SCOPES, AuthorizationServer, oauth_server
from gateway.oauth.tokens import new_secret
from gateway.services import Services

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
_CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_JKT = re.compile(r"^[A-Za-z0-9_-]{43}$")
_CLIENT_AUTH_PARAMS = ("client_assertion", "client_assertion_type")
_MAX_STATE = 512


def _check_pkce(form: dict[str, str]) -> str:
    challenge = form.get("code_challenge")
    method = form.get("code_challenge_method")
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE with S256)", path="code_challenge")
    if method != "S256":
        raise InvalidRequestError(
            f"code_challenge_method must be S256, got {method!r}"
            if method
            else "code_challenge_method S256 is required",
            path="code_challenge_method",
        )
    if not _CODE_CHALLENGE.match(challenge):
        raise InvalidRequestError("code_challenge must be a base64url SHA-256 (43 characters)", path="code_challenge")
    return challenge


def _check_scope(form: dict[str, str], client: Client) -> str:
    requested = form.get("scope", "").split()
    if not requested:
        raise InvalidScopeError("scope is required, e.g. 'openid accounts'", path="scope")
    allowed = set(SCOPES) & set(client.scope.split())
    unknown = [s for s in requested if s not in allowed]
    if unknown:
        raise InvalidScopeError(f"scope {' '.join(unknown)!r} is not allowed for this client", path="scope")
    if "accounts" not in requested:
        raise InvalidScopeError("scope must include 'accounts' to authorise an account-access consent", path="scope")
    return " ".join(dict.fromkeys(requested))


def _check_text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name)
    if value is not None and (len(value) > _MAX_STATE or not value.isprintable()):
        raise InvalidRequestError(f"{name} must be printable and at most {_MAX_STATE} characters", path=name)
    return value


async def _dpop_jkt(
    request: Request, form: dict[str, str], services: Services, server: AuthorizationServer
) -> str | None:
    jkt = form.get("dpop_jkt")
    if jkt is not None and not _JKT.match(jkt):
        raise InvalidRequestError("dpop_jkt must be a base64url SHA-256 JWK thumbprint", path="dpop_jkt")
    checked = await endpoint_proof(request, services, server)
    if checked is None:
        return jkt
    if jkt is not None and jkt != checked.jkt:
        raise InvalidDPoPAtTokenEndpointError("dpop_jkt does not match the key of the DPoP proof", path="dpop_jkt")
    return checked.jkt


async def _check_consent(server: AuthorizationServer, consent_id: str, client: Client) -> None:
    consent = await find_consent(server.consents, consent_id)
    if consent is None or consent.client_id != client.client_id:
        raise InvalidRequestError(f"consent {consent_id!r} is unknown to this client", path="authorization_details")
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise InvalidRequestError(
            f"consent {consent_id!r} is {consent.status.wallet_facing}, not awaiting authorisation",
            path="authorization_details",
        )


async def par(request: Request) -> Response:
    services, server = oauth_server(request)
    form = await read_form(request)
    now = services.clock()
    source = request_client_address(request, services.settings)  # the wallet's, not our proxy's
    await limit_endpoint(services, "par", None, source)  # before any signature work
    authenticated = await authenticate_client(
        form, request.headers, peer_ip(request), clients=server.clients, settings=services.settings,
        replay=server.replay, now=now,
    )  # fmt: skip
    client = authenticated.client
    limits = await limit_endpoint(services, "par", client.client_id, None)  # only once it is proven
    if "request" in form:
        raise InvalidRequestObjectError("request objects are not supported; push the parameters", path="request")
    if "request_uri" in form:
        raise InvalidRequestError("request_uri may not be pushed (RFC 9126 §2.1)", path="request_uri")
    if form.get("response_type") != "code":
        raise InvalidRequestError("response_type must be 'code'", path="response_type")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("this client is not registered for authorization_code")
    redirect_uri = form.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequestError(
            "redirect_uri is not one of the client's registered redirect_uris", path="redirect_uri"
        )
    consent_id = consent_from_request(form)
    params: dict[str, Any] = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": _check_scope(form, client),
        "code_challenge": _check_pkce(form),
        "state": _check_text(form, "state"),
        "nonce": _check_text(form, "nonce"),
        "consent_id": consent_id,
        "dpop_jkt": await _dpop_jkt(request, form, services, server),
    }
    await _check_consent(server, consent_id, client)
    request_uri = REQUEST_URI_PREFIX + new_secret()
    await server.store.create_par(request_uri, client.client_id, params, now + services.settings.par_ttl)
    body = {"request_uri": request_uri, "expires_in": services.settings.par_ttl}
    return json_no_store(body, 201, server.nonce_headers() | limits)


ROUTES = [Route("/par", par, methods=["POST"])]
