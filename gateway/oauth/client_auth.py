"""Authenticate the client at /token, /par, /introspect and /revoke (FAPI 2.0 §5.3.2.1).

Two methods and no client secrets: ``private_key_jwt`` (RFC 7523 assertion signed PS256,
ES256 or EdDSA with an Ed25519 key; ``aud`` exactly the issuer identifier string; ``iss`` =
``sub`` = client id; ``exp`` finite and at most five minutes ahead; ``jti`` single use) and
``tls_client_auth`` (RFC 8705 §2.1: the certificate forwarded by a trusted TLS terminator
carries the registered subject DN).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509

from gateway.oauth.clients import Client, ClientStore, client_public_keys
from gateway.oauth.errors import InvalidClientError
from gateway.oauth.mtls import client_certificate, subject_dn_matches, x5t_s256
from gateway.oauth.replay import ReplayCache
from gateway.settings import Settings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("PS256", "ES256", "EdDSA")
MAX_ASSERTION_LIFETIME = 300
_MAX_ASSERTION_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    client: Client
    certificate_thumbprint: str | None  # x5t#S256 of the presented client certificate, if any


def _refuse(message: str, path: str = "client_assertion") -> InvalidClientError:
    return InvalidClientError(message, path=path)


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(assertion) > _MAX_ASSERTION_LENGTH:
        raise _refuse(f"client_assertion is longer than {_MAX_ASSERTION_LENGTH} characters")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise _refuse("client_assertion is not a well-formed JWT") from None
    return header, claims


def _claimed_client_id(form: Mapping[str, str], claims: Mapping[str, Any]) -> str:
    named = form.get("client_id")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _refuse("client_assertion has no sub claim")
    if named and named != subject:
        raise _refuse("client_id does not match the sub of client_assertion", "client_id")
    return subject


async def _verification_key(client: Client, kid: Any, alg: str) -> Any:
    for refresh in (False, True):
        keys = await client_public_keys(client, refresh=refresh)
        candidates = [k for k in keys if k.get("kid") == kid] if kid else keys
        if candidates or client.jwks is not None:
            break
    if kid and not candidates:
        raise _refuse(f"client_assertion names kid {kid!r}, which is not among the client's keys")
    if len(candidates) != 1:
        raise _refuse("client_assertion has no kid and the client has several keys; name one with kid")
    if alg == "EdDSA" and candidates[0].get("crv") != "Ed25519":
        raise _refuse("client_assertion alg EdDSA is accepted with Ed25519 keys only (FAPI 2.0 §5.4.1)")
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, KeyError, TypeError):
        raise _refuse(f"the client's key {kid!r} cannot verify {alg}") from None


def _not_finite(value: Any) -> bool:
    """A NaN or an infinity, which Python's JSON reads and every comparison waves through (NaN) or overflows."""
    return isinstance(value, float) and not math.isfinite(value)


def _check_claims(claims: Mapping[str, Any], client_id: str, issuer: str, now: float, skew: float) -> float:
    if claims.get("iss") != client_id:
        raise _refuse("client_assertion iss must equal the client_id")
    aud = claims.get("aud")
    if not isinstance(aud, str):
        raise _refuse(f"client_assertion aud must be the issuer identifier {issuer!r} as a single string")
    if aud != issuer:
        raise _refuse(f"client_assertion aud must be the issuer identifier {issuer!r}, got {aud!r}")
    for name in ("exp", "nbf", "iat"):
        if _not_finite(claims.get(name)):
            raise _refuse(f"client_assertion {name} must be a finite number")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise _refuse("client_assertion has no numeric exp claim")
    if exp <= now - skew:
        raise _refuse("client_assertion has expired")
    if exp > now + MAX_ASSERTION_LIFETIME + skew:
        raise _refuse(f"client_assertion exp is more than {MAX_ASSERTION_LIFETIME} s ahead")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or value > now + skew):
            raise _refuse(f"client_assertion is not yet valid ({name} is in the future)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise _refuse("client_assertion needs a jti claim (a string of at most 256 characters)")
    return float(exp)


async def _private_key_jwt(
    client: Client, assertion: str, header: Mapping[str, Any], settings: Settings, replay: ReplayCache, now: float
) -> None:
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise _refuse(f"client_assertion alg {alg!r} is not allowed; use one of {', '.join(ASSERTION_ALGORITHMS)}")
    registered = client.token_endpoint_auth_signing_alg
    if registered and alg != registered:
        raise _refuse(
            f"client_assertion alg {alg!r} is not the registered token_endpoint_auth_signing_alg {registered!r}"
        )
    key = await _verification_key(client, header.get("kid"), str(alg))
    try:
        payload = jwt.PyJWS().decode_complete(assertion, key=key, algorithms=[str(alg)])["payload"]
        claims = json.loads(payload)
    except jwt.InvalidTokenError:
        raise _refuse("client_assertion signature does not verify with the client's key") from None
    if not isinstance(claims, dict):
        raise _refuse("client_assertion payload is not a JSON object")
    exp = _check_claims(claims, client.client_id, settings.issuer_url, now, settings.clock_skew)
    ttl = max(1.0, exp - now + settings.clock_skew)
    if not await replay.first_use(f"assertion:{client.client_id}:{claims['jti']}", ttl):
        raise _refuse("client_assertion jti was already used")


def _tls_client_auth(client: Client, cert: x509.Certificate | None) -> None:
    if cert is None:
        raise _refuse("tls_client_auth needs a client certificate from the TLS terminator", "client_certificate")
    if not client.tls_client_auth_subject_dn or not subject_dn_matches(cert, client.tls_client_auth_subject_dn):
        raise _refuse("the client certificate's subject is not the registered one", "client_certificate")


async def authenticate_client(
    form: Mapping[str, str],
    headers: Mapping[str, str],
    peer_ip: str | None,
    *,
    clients: ClientStore,
    settings: Settings,
    replay: ReplayCache,
    now: float,
) -> AuthenticatedClient:
    """The registered client behind this request, or ``InvalidClientError`` saying why not."""
    if "client_secret" in form or headers.get("authorization", "").lower().startswith("basic "):
        raise _refuse("client secrets are not accepted; use private_key_jwt or tls_client_auth", "client_secret")
    cert = client_certificate(headers, peer_ip, settings)
    assertion = form.get("client_assertion")
    claims: dict[str, Any] = {}
    header: dict[str, Any] = {}
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise _refuse(f"client_assertion_type must be {ASSERTION_TYPE}", "client_assertion_type")
        header, claims = _unverified(assertion)
        client_id = _claimed_client_id(form, claims)
    else:
        client_id = form.get("client_id", "")
        if not client_id:
            raise _refuse(
                "no client authentication: send client_assertion or client_id with a certificate", "client_id"
            )
    client = await clients.get(client_id)
    if client is None:
        raise _refuse(f"unknown client {client_id!r}", "client_id")
    if client.token_endpoint_auth_method == "private_key_jwt":  # noqa: S105 - a method name
        if not assertion:
            raise _refuse("this client authenticates with private_key_jwt: client_assertion is required")
        await _private_key_jwt(client, assertion, header, settings, replay, now)
    else:
        if assertion:
            raise _refuse("this client authenticates with tls_client_auth, not a client_assertion")
        _tls_client_auth(client, cert)
    return AuthenticatedClient(client, x5t_s256(cert) if cert is not None else None)
