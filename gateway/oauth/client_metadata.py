"""Check RFC 7591 client metadata once, for ``POST /register`` and ``walletgate clients register``.

``client_from_metadata`` turns a metadata document into a ``Client`` or raises the error that
names the first bad field: ``invalid_redirect_uri`` for a bad or missing redirect URI,
``invalid_client_metadata`` for everything else (a ``redirect_uris`` that is not a list of
strings included). FAPI 2.0 narrows the choices: ``private_key_jwt`` or ``tls_client_auth``,
PS256/ES256/EdDSA, https redirect URIs (loopback http only in demo mode), no wildcards.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography import x509

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
from gateway.oauth.keys import GATEWAY_KEY_ALGORITHMS
from gateway.settings import Settings
from policies.purposes import PurposeCatalogue

_LOOPBACK_HOSTS = ("localhost",)
DEFAULT_SCOPE = "openid accounts"  # what a client registers when its metadata names no scope
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Registration metadata the wallet may not send: it is the server's to assign.
_SERVER_ASSIGNED = ("registration_access_token", "registration_client_uri", "client_id_issued_at", "client_secret")


class InvalidClientMetadataError(OAuthError):
    """RFC 7591 §3.2.2 invalid_client_metadata."""

    oauth_error, message = "invalid_client_metadata", "The client metadata is invalid."


class InvalidRedirectUriError(OAuthError):
    """RFC 7591 §3.2.2 invalid_redirect_uri."""

    oauth_error, message = "invalid_redirect_uri", "A redirect URI is invalid."


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
        id_token_signed_response_alg=_id_token_alg(doc),
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
        raise InvalidClientMetadataError("redirect_uris must be a list of strings", path="redirect_uris")
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
        try:
            x509.Name.from_rfc4514_string(dn)
        except ValueError:
            raise InvalidClientMetadataError(
                "tls_client_auth_subject_dn is not an RFC 4514 distinguished name", path="tls_client_auth_subject_dn"
            ) from None
    return dn


def _scope(doc: Mapping[str, Any]) -> str:
    value = doc.get("scope", DEFAULT_SCOPE)
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


def _id_token_alg(doc: Mapping[str, Any]) -> str:
    """One the gateway signs ID tokens with (its keys: ``GATEWAY_KEY_ALGORITHMS``); EdDSA is for clients' own JWTs."""
    alg = _alg(doc, "id_token_signed_response_alg", "ES256") or "ES256"
    if alg not in GATEWAY_KEY_ALGORITHMS:
        raise InvalidClientMetadataError(
            f"id_token_signed_response_alg {alg!r} is not one the gateway signs ID tokens with; "
            f"expected one of {', '.join(GATEWAY_KEY_ALGORITHMS)}",
            path="id_token_signed_response_alg",
        )
    return alg


def _bool(doc: Mapping[str, Any], name: str, default: bool) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise InvalidClientMetadataError(f"{name} must be true or false", path=name)
    return value
