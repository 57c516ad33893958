"""Dynamic client registration (RFC 7591) and its management API (RFC 7592).

A wallet registers with ``POST /register`` and a ``software_statement`` signed by the trusted
directory; the statement's claims (software_id, client_name, redirect_uris, jwks/jwks_uri)
take precedence over the request's (RFC 7591 §2.3). Every metadata value is checked here,
once, by ``client_from_metadata``, which the CLI uses as well. The registration access token
is returned once and stored only as a hash.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.clock import utc
from gateway.errors import OAuthError
from gateway.oauth.clients import (
    AUTH_METHODS,
    CLIENT_SIGNING_ALGS,
    GRANT_TYPES,
    AuthMethod,
    Client,
    ClientKeysError,
    public_key_set,
)
from gateway.oauth.directory import InvalidSoftwareStatementError, trusted_directory_jwks, verify_software_statement
from gateway.settings import Settings
from policies.purposes import PurposeCatalogue

if TYPE_CHECKING:
    from gateway.services import Services

_MAX_BODY = 64 * 1024
_LOOPBACK_HOSTS = ("localhost",)
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Registration metadata the wallet may not send: it is the server's to assign.
_SERVER_ASSIGNED = ("registration_access_token", "registration_client_uri", "client_id_issued_at", "client_secret")
# Claims of the software statement that override the request's metadata.
_STATEMENT_CLAIMS = ("software_id", "client_name", "redirect_uris", "token_endpoint_auth_method")
_KEY_CLAIMS = ("jwks", "jwks_uri")  # taken from the statement only


class InvalidClientMetadataError(OAuthError):
    """RFC 7591 §3.2.2 invalid_client_metadata."""

    oauth_error, message = "invalid_client_metadata", "The client metadata is invalid."


class InvalidRedirectUriError(OAuthError):
    """RFC 7591 §3.2.2 invalid_redirect_uri."""

    oauth_error, message = "invalid_redirect_uri", "A redirect URI is invalid."


class InvalidRegistrationTokenError(OAuthError):
    """RFC 7592 §2: the registration access token is missing, wrong, or its client is gone."""

    status, oauth_error, message = 401, "invalid_token", "The registration access token is invalid."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')


def client_from_metadata(
    doc: Mapping[str, Any],
    *,
    settings: Settings,
    client_id: str,
    created_at: datetime,
    purposes: PurposeCatalogue | None = None,
) -> Client:
    """A ``Client`` from RFC 7591 metadata, or the error naming the first bad field.

    ``purposes`` (the policy's catalogue), when given, must know ``default_purpose``.
    """
    for name in _SERVER_ASSIGNED:
        if name in doc:
            raise InvalidClientMetadataError(f"{name} is assigned by the server; do not send it", path=name)
    method = _auth_method(doc)
    grant_types = _grant_types(doc)
    jwks, jwks_uri = _keys(doc, method, settings)
    return Client(
        client_id=client_id,
        client_name=_client_name(doc),
        redirect_uris=_redirect_uris(doc, grant_types, settings),
        token_endpoint_auth_method=method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        tls_client_auth_subject_dn=_subject_dn(doc, method),
        grant_types=grant_types,
        scope=_scope(doc),
        default_purpose=_default_purpose(doc, purposes),
        software_id=_optional_str(doc, "software_id", 200),
        token_endpoint_auth_signing_alg=_alg(doc, "token_endpoint_auth_signing_alg", None),
        id_token_signed_response_alg=_alg(doc, "id_token_signed_response_alg", "ES256") or "ES256",
        dpop_bound_access_tokens=_bool(doc, "dpop_bound_access_tokens", True),
        created_at=created_at,
    )


def _auth_method(doc: Mapping[str, Any]) -> AuthMethod:
    method = doc.get("token_endpoint_auth_method", "private_key_jwt")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadataError(
            f"token_endpoint_auth_method {method!r} is not supported; expected one of {', '.join(AUTH_METHODS)}",
            path="token_endpoint_auth_method",
        )
    return cast(AuthMethod, method)


def _grant_types(doc: Mapping[str, Any]) -> tuple[str, ...]:
    value = doc.get("grant_types", list(GRANT_TYPES))
    if not isinstance(value, list) or not value or not all(isinstance(g, str) for g in value):
        raise InvalidClientMetadataError("grant_types must be a non-empty list of strings", path="grant_types")
    for i, grant in enumerate(value):
        if grant not in GRANT_TYPES:
            raise InvalidClientMetadataError(
                f"grant_types[{i}] {grant!r} is not supported; expected some of {', '.join(GRANT_TYPES)}",
                path=f"grant_types[{i}]",
            )
    response_types = doc.get("response_types", ["code"])
    if response_types not in (["code"], []):
        raise InvalidClientMetadataError('response_types must be ["code"]', path="response_types")
    return tuple(dict.fromkeys(value))


def _client_name(doc: Mapping[str, Any]) -> str:
    name = _optional_str(doc, "client_name", 200)
    if not name or not name.strip():
        raise InvalidClientMetadataError("client_name is required", path="client_name")
    return name.strip()


def _optional_str(doc: Mapping[str, Any], name: str, max_len: int) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len or any(ord(c) < 0x20 for c in value):
        raise InvalidClientMetadataError(f"{name} must be a string of at most {max_len} characters", path=name)
    return value


def _redirect_uris(doc: Mapping[str, Any], grant_types: tuple[str, ...], settings: Settings) -> tuple[str, ...]:
    value = doc.get("redirect_uris", [])
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise InvalidRedirectUriError("redirect_uris must be a list of strings", path="redirect_uris")
    if "authorization_code" in grant_types and not value:
        raise InvalidRedirectUriError(
            "redirect_uris is required for the authorization_code grant", path="redirect_uris"
        )
    for i, uri in enumerate(value):
        problem = _redirect_uri_problem(uri, settings)
        if problem:
            raise InvalidRedirectUriError(f"redirect_uris[{i}] {uri!r}: {problem}", path=f"redirect_uris[{i}]")
    return tuple(dict.fromkeys(value))


def _redirect_uri_problem(uri: str, settings: Settings) -> str | None:
    if len(uri) > 2000 or any(ord(c) <= 0x20 or c == "\x7f" for c in uri):
        return "must be at most 2000 characters with no spaces or control characters"
    if "*" in uri:
        return "wildcards are not allowed"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "is not a valid URL"
    if "#" in uri:
        return "must not contain a fragment"
    if not parts.hostname:
        return "must be an absolute URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not contain user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return None if settings.demo else "http is allowed only on loopback in demo mode; use https"
    return "must use https"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _keys(doc: Mapping[str, Any], method: AuthMethod, settings: Settings) -> tuple[dict[str, Any] | None, str | None]:
    jwks, jwks_uri = doc.get("jwks"), doc.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadataError("send jwks or jwks_uri, not both", path="jwks_uri")
    if jwks is None and jwks_uri is None:
        if method == "private_key_jwt":
            raise InvalidClientMetadataError("private_key_jwt needs jwks or jwks_uri", path="jwks")
        return None, None
    if jwks is not None:
        try:
            keys = public_key_set(jwks, "jwks")
        except ClientKeysError as exc:
            raise InvalidClientMetadataError(exc.message, path="jwks") from None
        for i, key in enumerate(keys):
            if key.get("alg") is not None and key["alg"] not in CLIENT_SIGNING_ALGS:
                raise InvalidClientMetadataError(
                    f"jwks.keys[{i}] alg {key['alg']!r} is not accepted; "
                    f"expected one of {', '.join(CLIENT_SIGNING_ALGS)}",
                    path=f"jwks.keys[{i}].alg",
                )
        return {"keys": keys}, None
    if not isinstance(jwks_uri, str):
        raise InvalidClientMetadataError("jwks_uri must be a URL", path="jwks_uri")
    problem = _redirect_uri_problem(jwks_uri, settings)
    if problem:
        raise InvalidClientMetadataError(f"jwks_uri {jwks_uri!r}: {problem}", path="jwks_uri")
    return None, jwks_uri


def _subject_dn(doc: Mapping[str, Any], method: AuthMethod) -> str | None:
    dn = _optional_str(doc, "tls_client_auth_subject_dn", 1000)
    if method == "tls_client_auth" and not dn:
        raise InvalidClientMetadataError(
            "tls_client_auth needs tls_client_auth_subject_dn", path="tls_client_auth_subject_dn"
        )
    if dn is not None:
        from cryptography import x509

        try:
            x509.Name.from_rfc4514_string(dn)
        except ValueError:
            raise InvalidClientMetadataError(
                "tls_client_auth_subject_dn is not an RFC 4514 distinguished name", path="tls_client_auth_subject_dn"
            ) from None
    return dn


def _scope(doc: Mapping[str, Any]) -> str:
    value = doc.get("scope", "openid accounts")
    if not isinstance(value, str) or not value.split() or not all(_SCOPE_TOKEN.match(t) for t in value.split()):
        raise InvalidClientMetadataError("scope must be space-separated RFC 6749 scope tokens", path="scope")
    return " ".join(dict.fromkeys(value.split()))


def _default_purpose(doc: Mapping[str, Any], purposes: PurposeCatalogue | None) -> str:
    value = doc.get("default_purpose", "aggregation")
    if not isinstance(value, str) or not _PURPOSE.match(value):
        raise InvalidClientMetadataError("default_purpose must be a purpose name", path="default_purpose")
    if value == "marketing":
        raise InvalidClientMetadataError(
            "default_purpose may not be marketing: marketing needs the user's own opt-in", path="default_purpose"
        )
    if purposes is not None and purposes.get(value) is None:
        raise InvalidClientMetadataError(
            f"default_purpose {value!r} is not a purpose this gateway's policy defines", path="default_purpose"
        )
    return value


def _alg(doc: Mapping[str, Any], name: str, default: str | None) -> str | None:
    value = doc.get(name, default)
    if value is not None and value not in CLIENT_SIGNING_ALGS:
        raise InvalidClientMetadataError(
            f"{name} {value!r} is not accepted; expected one of {', '.join(CLIENT_SIGNING_ALGS)}", path=name
        )
    return cast(str | None, value)


def _bool(doc: Mapping[str, Any], name: str, default: bool) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise InvalidClientMetadataError(f"{name} must be true or false", path=name)
    return value


# --- HTTP endpoints -------------------------------------------------------------------------


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
    claims = verify_software_statement(
        statement,
        trusted_directory_jwks(settings),
        issuer=settings.directory_issuer,
        now=services.clock(),
        leeway=settings.clock_skew,
    )
    # The wallet's keys are what the directory vouches for: only the statement may name them
    # (this also keeps the gateway from fetching a jwks_uri the directory never saw).
    for name in _KEY_CLAIMS:
        if name in doc and doc[name] != claims.get(name):
            raise InvalidClientMetadataError(
                f"{name} must come from the software statement; omit it from the request", path=name
            )
    merged = {k: v for k, v in doc.items() if k != "software_statement" and k not in _KEY_CLAIMS}
    merged.update({k: claims[k] for k in (*_STATEMENT_CLAIMS, *_KEY_CLAIMS) if k in claims})
    return merged


def _client_response(client: Client, settings: Settings, **extra: Any) -> dict[str, Any]:
    return client.metadata() | {"registration_client_uri": f"{settings.issuer_url}/register/{client.client_id}"} | extra


async def register(request: Request) -> Response:
    """RFC 7591 §3.1: register a wallet that presents a software statement."""
    services = _services(request)
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
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


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
    if client.software_id is not None and not hmac.compare_digest(
        str(metadata.get("software_id", "")), client.software_id
    ):
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
    """RFC 7592 §2.3: deregister the client."""
    client = await _authorised_client(request)
    await _services(request).clients.delete(client.client_id)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [
        Route("/register", register, methods=["POST"]),
        Route("/register/{client_id}", read_registration, methods=["GET"]),
        Route("/register/{client_id}", update_registration, methods=["PUT"]),
        Route("/register/{client_id}", delete_registration, methods=["DELETE"]),
    ]
