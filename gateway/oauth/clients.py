"""Registered wallet clients: the ``Client`` record, its SQL store, and its public keys.

A client authenticates with ``private_key_jwt`` (keys inline in ``jwks`` or published at
``jwks_uri``) or ``tls_client_auth`` (certificate subject DN). ``client_public_keys`` hands
the keys to whoever verifies a client assertion or a request object; keys fetched from a
``jwks_uri`` are cached per process (they are public, so replicas need not agree) and can be
re-fetched on an unknown ``kid`` no more than once every few seconds.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import OAuthError, ResourceNotFoundError
from gateway.oauth.errors import InvalidClientError
from gateway.oauth.store import digest
from gateway.oauth.tables_identity import clients as clients_table

AuthMethod = Literal["private_key_jwt", "tls_client_auth"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("private_key_jwt", "tls_client_auth")
CLIENT_SIGNING_ALGS = ("PS256", "ES256", "EdDSA")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")

JWKS_CACHE_TTL = 300.0  # seconds a fetched jwks_uri document is reused
JWKS_REFRESH_INTERVAL = 10.0  # at most one forced re-fetch per client this often
_JWKS_MAX_BYTES = 64 * 1024
_JWKS_TIMEOUT = 5.0


class ClientKeysError(InvalidClientError):
    """RFC 6749 §5.2 invalid_client: the client's keys cannot be obtained or are unusable."""

    message = "The client's keys are not available."


class ClientExistsError(OAuthError):
    """A client with this client_id is already registered."""

    oauth_error, message = "invalid_client_metadata", "A client with this client_id already exists."


class ClientNotFoundError(ResourceNotFoundError):
    """No registered client has this client_id."""

    oauth_error, message = "invalid_client", "No such client."


@dataclass(frozen=True, slots=True)
class Client:
    """One registered wallet (RFC 7591 metadata, already validated)."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: AuthMethod
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    tls_client_auth_subject_dn: str | None = None
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token", "client_credentials")
    scope: str = "openid accounts"
    default_purpose: str = "aggregation"
    software_id: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    id_token_signed_response_alg: str = "ES256"  # noqa: S105 - an algorithm name, not a secret
    dpop_bound_access_tokens: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.default_purpose == "marketing":
            raise ValueError("default_purpose may never be 'marketing': marketing needs its own explicit opt-in")
        if self.token_endpoint_auth_method not in AUTH_METHODS:
            raise ValueError(f"token_endpoint_auth_method must be one of {AUTH_METHODS}")

    def metadata(self) -> dict[str, Any]:
        """The RFC 7591 client metadata document (no secrets)."""
        doc: dict[str, Any] = {
            "client_id": self.client_id,
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
            "response_types": ["code"] if "authorization_code" in self.grant_types else [],
            "scope": self.scope,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "dpop_bound_access_tokens": self.dpop_bound_access_tokens,
            "client_id_issued_at": int(self.created_at.timestamp()),
        }
        optional = {
            "jwks": self.jwks,
            "jwks_uri": self.jwks_uri,
            "tls_client_auth_subject_dn": self.tls_client_auth_subject_dn,
            "software_id": self.software_id,
            "token_endpoint_auth_signing_alg": self.token_endpoint_auth_signing_alg,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        return doc


def _row(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        "tls_client_auth_subject_dn": client.tls_client_auth_subject_dn,
        "grant_types": list(client.grant_types),
        "scope": client.scope,
        "default_purpose": client.default_purpose,
        "software_id": client.software_id,
        "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "created_at": client.created_at,
    }


def _client(row: Any) -> Client:
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes
        created = created.replace(tzinfo=UTC)
    return Client(
        client_id=row.client_id,
        client_name=row.client_name,
        redirect_uris=tuple(row.redirect_uris),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        jwks=row.jwks,
        jwks_uri=row.jwks_uri,
        tls_client_auth_subject_dn=row.tls_client_auth_subject_dn,
        grant_types=tuple(row.grant_types),
        scope=row.scope,
        default_purpose=row.default_purpose,
        software_id=row.software_id,
        token_endpoint_auth_signing_alg=row.token_endpoint_auth_signing_alg,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        dpop_bound_access_tokens=bool(row.dpop_bound_access_tokens),
        created_at=created,
    )


class ClientStore:
    """Registered clients in the gateway's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, client_id: str) -> Client | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(clients_table).where(clients_table.c.client_id == client_id))).first()
        return _client(row) if row is not None else None

    async def create(self, client: Client, *, registration_token: str | None = None) -> Client:
        """Store a new client; ``registration_token`` (RFC 7592) is kept only as a hash."""
        values = _row(client) | {"registration_token_hash": digest(registration_token) if registration_token else None}
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(clients_table).values(**values))
        except IntegrityError:
            raise ClientExistsError(f"client_id {client.client_id!r} is already registered") from None
        return client

    async def update(self, client: Client) -> None:
        """Replace a client's metadata (its client_id, created_at and registration token stay)."""
        values = _row(client)
        values.pop("client_id")
        values.pop("created_at")
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(clients_table).where(clients_table.c.client_id == client.client_id).values(**values)
            )
        if result.rowcount == 0:
            raise ClientNotFoundError(f"no client {client.client_id!r}")
        forget_cached_keys(client.client_id)

    async def delete(self, client_id: str) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(clients_table).where(clients_table.c.client_id == client_id))
        if result.rowcount == 0:
            raise ClientNotFoundError(f"no client {client_id!r}")
        forget_cached_keys(client_id)

    async def list(self) -> list[Client]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(clients_table).order_by(clients_table.c.created_at))).all()
        return [_client(r) for r in rows]

    async def check_registration_token(self, client_id: str, token: str) -> bool:
        """Whether ``token`` is the client's registration access token (constant-time compare)."""
        async with self.engine.connect() as conn:
            stored = (
                await conn.execute(
                    select(clients_table.c.registration_token_hash).where(clients_table.c.client_id == client_id)
                )
            ).scalar_one_or_none()
        return stored is not None and hmac.compare_digest(stored, digest(token))

    async def rotate_registration_token(self, client_id: str, old: str, new: str) -> bool:
        """Replace the registration access token ``old`` by ``new``; ``False`` if ``old`` is no longer it."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(clients_table)
                .where(
                    clients_table.c.client_id == client_id,
                    clients_table.c.registration_token_hash == digest(old),
                )
                .values(registration_token_hash=digest(new))
            )
        return bool(result.rowcount == 1)


@dataclass(slots=True)
class _CachedKeys:
    uri: str
    keys: list[dict[str, Any]]
    fetched_at: float


_jwks_cache: dict[str, _CachedKeys] = {}
_jwks_locks: dict[str, asyncio.Lock] = {}


def forget_cached_keys(client_id: str) -> None:
    """Drop a client's cached jwks_uri document (after its metadata changed)."""
    _jwks_cache.pop(client_id, None)


async def client_public_keys(
    client: Client, http: aiohttp.ClientSession | None = None, *, refresh: bool = False
) -> list[dict[str, Any]]:
    """The client's public JWKs: inline ``jwks``, or fetched from ``jwks_uri`` through a cache.

    ``refresh=True`` (e.g. after an unknown ``kid``) re-fetches, but not more often than
    every ``JWKS_REFRESH_INTERVAL`` seconds, so a client cannot make us hammer its server.
    Raises ``ClientKeysError`` when no keys can be obtained.
    """
    if client.jwks is not None:
        return public_key_set(client.jwks, f"client {client.client_id} jwks")
    if not client.jwks_uri:
        raise ClientKeysError(f"client {client.client_id} has neither jwks nor jwks_uri")
    uri = client.jwks_uri
    lock = _jwks_locks.setdefault(client.client_id, asyncio.Lock())
    async with lock:
        now = time.monotonic()
        cached = _jwks_cache.get(client.client_id)
        if cached is not None and cached.uri == uri:
            age = now - cached.fetched_at
            if age < JWKS_CACHE_TTL and (not refresh or age < JWKS_REFRESH_INTERVAL):
                return cached.keys
        keys = await _fetch_jwks(uri, http)
        _jwks_cache[client.client_id] = _CachedKeys(uri, keys, now)
        return keys


async def _fetch_jwks(uri: str, http: aiohttp.ClientSession | None) -> list[dict[str, Any]]:
    own = http is None
    session = http or aiohttp.ClientSession()
    try:
        async with session.get(uri, timeout=aiohttp.ClientTimeout(total=_JWKS_TIMEOUT), allow_redirects=False) as resp:
            if resp.status != 200:
                raise ClientKeysError(f"jwks_uri {uri} answered HTTP {resp.status}")
            body = await resp.content.read(_JWKS_MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ClientKeysError(f"jwks_uri {uri} could not be fetched ({type(exc).__name__})") from None
    finally:
        if own:
            await session.close()
    if len(body) > _JWKS_MAX_BYTES:
        raise ClientKeysError(f"jwks_uri {uri} document is larger than {_JWKS_MAX_BYTES} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ClientKeysError(f"jwks_uri {uri} did not return JSON") from None
    return public_key_set(doc, f"jwks_uri {uri}")


_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def public_key_set(doc: Any, where: str) -> list[dict[str, Any]]:
    """The ``keys`` of a JWK set, refusing private or symmetric keys (``where`` names it in errors)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not doc["keys"]:
        raise ClientKeysError(f"{where}: expected a JWK set with a non-empty 'keys' list")
    keys: list[dict[str, Any]] = []
    for i, key in enumerate(doc["keys"]):
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise ClientKeysError(f"{where}: keys[{i}] is not a JWK")
        if key["kty"] == "oct" or any(m in key for m in _PRIVATE_MEMBERS):
            raise ClientKeysError(f"{where}: keys[{i}] is private or symmetric; publish public keys only")
        keys.append(key)
    return keys
