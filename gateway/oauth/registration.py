"""Dynamic client registration (RFC 7591) and its management API (RFC 7592).

A wallet registers with ``POST /register`` and a ``software_statement`` signed by the trusted
directory, which is the source of trust: the statement's claims (software_id, client_name,
redirect_uris, token_endpoint_auth_method) take precedence over the request's (RFC 7591 §2.3);
it must name the redirect URIs (a request cannot add one the directory never vouched for); and
what the wallet authenticates with (jwks/jwks_uri, tls_client_auth_subject_dn) comes from the
statement only. A UK Open Banking Directory SSA names them its own way (``statement_metadata``
maps them) and follows UK OB's rules: the request may register some of the statement's
``software_redirect_uris`` (all of them when it names none), and scope ``accounts`` needs the
AISP role when the statement lists ``software_roles``. When the statement names no
token_endpoint_auth_method the request may choose one, but only with those credentials.
Metadata is checked by ``gateway.oauth.client_metadata``.
The registration access token is returned once per call, rotated on each management call and
stored only as a hash.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.client_address import request_client_address
from gateway.clock import utc
from gateway.errors import OAuthError
from gateway.limiter.endpoints import limit_endpoint
from gateway.oauth.client_metadata import (
    DEFAULT_SCOPE,
    InvalidClientMetadataError,
    InvalidRedirectUriError,
    client_from_metadata,
)
from gateway.oauth.clients import Client, ClientNotFoundError
from gateway.oauth.deregistration import Deregistration, deregister
from gateway.oauth.directory import (
    InvalidSoftwareStatementError,
    statement_metadata,
    trusted_directory_jwks,
    verify_software_statement,
)
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.services import Services

__all__ = [
    "InvalidClientMetadataError",
    "InvalidRedirectUriError",
    "InvalidRegistrationTokenError",
    "client_from_metadata",
    "routes",
]

_MAX_BODY = 64 * 1024
# Claims of the software statement that override the request's metadata.
_STATEMENT_CLAIMS = ("software_id", "client_name", "redirect_uris", "token_endpoint_auth_method")
# What the wallet authenticates with: taken from the statement only.
_CREDENTIAL_CLAIMS = ("jwks", "jwks_uri", "tls_client_auth_subject_dn")


class InvalidRegistrationTokenError(OAuthError):
    """RFC 7592 §2: the registration access token is missing, wrong, or its client is gone."""

    status, oauth_error, message = 401, "invalid_token", "The registration access token is invalid."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise InvalidClientMetadataError("send the metadata as application/json")
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise InvalidClientMetadataError(f"the metadata document is larger than {_MAX_BODY} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidClientMetadataError("the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise InvalidClientMetadataError("the body must be a JSON object")
    return doc


def _apply_statement(doc: dict[str, Any], services: Services) -> dict[str, Any]:
    """Verify the software statement and let its claims override the request's metadata."""
    statement = doc.get("software_statement")
    if not isinstance(statement, str) or not statement:
        raise InvalidSoftwareStatementError(
            "software_statement is required: a JWT signed by the trusted directory", path="software_statement"
        )
    settings = services.settings
    raw = verify_software_statement(
        statement,
        trusted_directory_jwks(settings),
        issuer=settings.directory_issuer,
        now=services.clock(),
        leeway=settings.clock_skew,
    )
    claims = statement_metadata(raw)
    if "redirect_uris" not in claims:
        raise InvalidSoftwareStatementError(
            "software_statement names no redirect_uris (nor UK OB software_redirect_uris): the request cannot "
            "supply them, the trusted directory must vouch for each one",
            path="software_statement.redirect_uris",
        )
    # The wallet's keys and certificate subject are what the directory vouches for: only the
    # statement may name them (this also keeps the gateway from fetching a jwks_uri the
    # directory never saw).
    for name in _CREDENTIAL_CLAIMS:
        if name in doc and doc[name] != claims.get(name):
            raise InvalidClientMetadataError(
                f"{name} must come from the software statement; omit it from the request", path=name
            )
    merged = {k: v for k, v in doc.items() if k != "software_statement" and k not in _CREDENTIAL_CLAIMS}
    merged.update({k: claims[k] for k in (*_STATEMENT_CLAIMS, *_CREDENTIAL_CLAIMS) if k in claims})
    if "software_redirect_uris" in raw:
        merged["redirect_uris"] = _chosen_redirect_uris(doc.get("redirect_uris"), raw["software_redirect_uris"])
    if "software_roles" in raw:
        _check_roles(raw["software_roles"], merged)
    return merged


def _chosen_redirect_uris(requested: Any, vouched: list[str]) -> list[str]:
    """UK OB: the request's redirect URIs, each one of the statement's; the statement's when it names none."""
    if requested is None:
        return vouched
    if not isinstance(requested, list) or not all(isinstance(u, str) for u in requested):
        raise InvalidClientMetadataError("redirect_uris must be a list of strings", path="redirect_uris")
    for i, uri in enumerate(requested):
        if uri not in vouched:
            raise InvalidRedirectUriError(
                f"redirect_uris[{i}] {uri!r} is not one of the software statement's software_redirect_uris",
                path=f"redirect_uris[{i}]",
            )
    return requested


def _check_roles(roles: list[str], metadata: dict[str, Any]) -> None:
    """UK OB: account information (scope ``accounts``, which is also the default) needs the AISP role."""
    scope = metadata.get("scope", DEFAULT_SCOPE)
    if isinstance(scope, str) and "accounts" in scope.split() and "AISP" not in roles:
        raise InvalidClientMetadataError(
            f"scope {scope!r} includes 'accounts', which needs the AISP role; "
            f"the software statement's software_roles are {roles}",
            path="scope",
        )


def _client_response(client: Client, settings: Settings, **extra: Any) -> dict[str, Any]:
    return client.metadata() | {"registration_client_uri": f"{settings.issuer_url}/register/{client.client_id}"} | extra


async def register(request: Request) -> Response:
    """RFC 7591 §3.1: register a wallet that presents a software statement."""
    services = _services(request)
    # A new wallet has no client_id yet: registration is limited per source address.
    limits = await limit_endpoint(services, "register", None, request_client_address(request, services.settings))
    doc = await _json_body(request)
    statement = doc.get("software_statement")
    metadata = _apply_statement(doc, services)
    client = client_from_metadata(
        metadata,
        settings=services.settings,
        client_id=str(uuid.uuid4()),
        created_at=utc(services.clock),
        purposes=services.policies.purposes,
    )
    token = secrets.token_urlsafe(32)
    await services.clients.create(client, registration_token=token)
    body = _client_response(client, services.settings, registration_access_token=token, software_statement=statement)
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache", **limits})


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidRegistrationTokenError("send the registration access token as Authorization: Bearer")
    return token.strip()


async def _authorised_client(request: Request) -> Client:
    """The client named in the path, once the Bearer registration access token matches it."""
    services = _services(request)
    client_id = request.path_params["client_id"]
    if not await services.clients.check_registration_token(client_id, _bearer(request)):
        raise InvalidRegistrationTokenError("the registration access token does not match this client")
    client = await services.clients.get(client_id)
    if client is None:
        raise InvalidRegistrationTokenError("the registration access token does not match this client")
    return client


async def _rotated_token(request: Request, client: Client) -> str:
    """RFC 7592 §3: a fresh registration access token replaces the one just used (once, even if raced)."""
    new = secrets.token_urlsafe(32)
    if not await _services(request).clients.rotate_registration_token(client.client_id, _bearer(request), new):
        raise InvalidRegistrationTokenError("the registration access token was used concurrently; it is spent")
    return new


async def read_registration(request: Request) -> Response:
    """RFC 7592 §2.1: the client's current metadata, with a new registration access token."""
    client = await _authorised_client(request)
    token = await _rotated_token(request, client)
    body = _client_response(client, _services(request).settings, registration_access_token=token)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def update_registration(request: Request) -> Response:
    """RFC 7592 §2.2: replace the client's metadata (a fresh software statement is required)."""
    client = await _authorised_client(request)
    services = _services(request)
    doc = await _json_body(request)
    if doc.get("client_id") != client.client_id:
        raise InvalidClientMetadataError("client_id must be sent and equal the registered one", path="client_id")
    doc.pop("client_id")
    metadata = _apply_statement(doc, services)
    if metadata.get("software_id") != client.software_id:
        raise InvalidClientMetadataError(
            "the software statement's software_id differs from the registered one", path="software_id"
        )
    updated = client_from_metadata(
        metadata,
        settings=services.settings,
        client_id=client.client_id,
        created_at=client.created_at,
        purposes=services.policies.purposes,
    )
    await services.clients.update(updated)
    body = _client_response(updated, services.settings, registration_access_token=await _rotated_token(request, client))
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def delete_registration(request: Request) -> Response:
    """RFC 7592 §2.3: deregister the client and invalidate at once all it was granted
    (``gateway.oauth.deregistration`` says how and in which order)."""
    client = await _authorised_client(request)
    services = _services(request)
    parts = Deregistration(
        clients=services.clients,
        consents=services.consents,
        tokens=services.oauth.store if services.oauth is not None else None,
        revocation=services.revocation,
        clock=services.clock,
    )
    try:
        await deregister(client.client_id, parts)
    except ClientNotFoundError:
        raise InvalidRegistrationTokenError("the client was deleted meanwhile") from None
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [
        Route("/register", register, methods=["POST"]),
        Route("/register/{client_id}", read_registration, methods=["GET"]),
        Route("/register/{client_id}", update_registration, methods=["PUT"]),
        Route("/register/{client_id}", delete_registration, methods=["DELETE"]),
    ]
