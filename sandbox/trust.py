"""Check the gateway's assertion on every request: the bank answers only calls the gateway vouches for.

The assertion (header ``x-walletgate-assertion``) is a JWT with header ``typ``
``wg-assertion+jwt``, signed with an asymmetric key (ES256, PS256 or EdDSA) published in the
gateway's JWKS. It must name this bank as ``aud`` and the gateway as ``iss``, live at most 60 s
(``exp - iat``), and is accepted once: its ``jti`` is remembered until it expires. Its claims
say which user is asking and which of the user's accounts the call may see (``["*"]`` = all,
only for the account-selection call that has no consent yet).

The sandbox never imports the gateway, so the header name and ``typ`` are repeated here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import jwt

from sandbox.errors import UnauthorisedError

ASSERTION_HEADER = "x-walletgate-assertion"
TYP = "wg-assertion+jwt"
ALLOWED_ALGORITHMS = frozenset({"ES256", "PS256", "EdDSA"})
MAX_LIFETIME = 60
LEEWAY = 5
JWKS_REFETCH_INTERVAL = 30.0
JWKS_DEFAULT_MAX_AGE = 300.0

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the gateway says is asking, and what the call may see."""

    user_id: str
    client_id: str
    consent_id: str | None
    accounts: frozenset[str] | None  # None: every account of the user
    permissions: frozenset[str]
    purposes: frozenset[str]
    interaction_id: str

    def may_see(self, account_id: str) -> bool:
        return self.accounts is None or account_id in self.accounts


class KeySource(Protocol):
    async def key(self, kid: str) -> jwt.PyJWK | None: ...


def _parse_jwks(data: Any, where: str) -> dict[str, jwt.PyJWK]:
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{where}: expected a JWK set with a 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in data["keys"]:
        kid, alg = jwk.get("kid"), jwk.get("alg")
        if not kid or alg not in ALLOWED_ALGORITHMS:
            continue  # keys the bank would never accept are not loaded at all
        public = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        keys[kid] = jwt.PyJWK(public)
    return keys


class FileKeys:
    """The gateway's JWKS read from a file; read again when the file changes (key rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._load()

    def _load(self) -> None:
        mtime = self.path.stat().st_mtime
        if mtime != self._mtime:
            self._keys = _parse_jwks(json.loads(self.path.read_text(encoding="utf-8")), str(self.path))
            self._mtime = mtime

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys:
            self._load()
        return self._keys.get(kid)


class UrlKeys:
    """The gateway's JWKS fetched over HTTP and cached, following the gateway's key rotation.

    The set is fetched again once it is older than the ``max-age`` the gateway sent (default
    five minutes), so a key the gateway dropped stops being trusted and a ``next`` key is known
    before it signs. An unknown kid fetches the set at once, unless the last fetch already
    failed to find a kid: then not for 30 s, so a stream of forged kids cannot turn the bank
    into a load generator against the gateway. After a failed fetch it tries again after one
    second (the gateway may just be starting) and keeps the keys it had.
    """

    def __init__(
        self,
        url: str,
        clock: Clock = time.monotonic,
        interval: float = JWKS_REFETCH_INTERVAL,
        retry: float = 1.0,
        max_age: float = JWKS_DEFAULT_MAX_AGE,
    ) -> None:
        self.url = url
        self._clock = clock
        self._interval = interval
        self._retry = retry
        self._default_max_age = max_age
        self._keys: dict[str, jwt.PyJWK] = {}
        self._next_fetch = float("-inf")  # the earliest fetch for an unknown kid
        self._stale_at = float("-inf")  # when the cached set is fetched again, known kid or not
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys or self._clock() >= self._stale_at:
            async with self._lock:
                now = self._clock()
                if now >= self._stale_at or (kid not in self._keys and now >= self._next_fetch):
                    await self._fetch(kid)
        return self._keys.get(kid)

    async def _fetch(self, wanted: str) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(self.url) as resp:
                resp.raise_for_status()
                self._keys = _parse_jwks(await resp.json(content_type=None), self.url)
                max_age = _max_age(resp.headers.get("Cache-Control"), self._default_max_age, self._retry)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            now = self._clock()
            self._next_fetch = now + self._retry
            self._stale_at = now + (self._interval if self._keys else self._retry)  # keep the keys we had
            return
        now = self._clock()
        self._stale_at = now + max_age
        self._next_fetch = now + (self._retry if wanted in self._keys else self._interval)


def _max_age(cache_control: str | None, default: float, floor: float) -> float:
    """The ``max-age`` of a ``Cache-Control`` header, at least ``floor``; ``default`` without one."""
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip('"').isdigit():
            return max(float(value.strip('"')), floor)
    return default


class ReplayCache:
    """``jti`` values seen, each kept until its assertion has expired (plus the clock skew).

    Expiry times arrive nearly in order, so the oldest sit at the left of a queue and are
    dropped in amortised O(1) per request, without pauses to scan the whole set.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._queue: deque[tuple[float, str]] = deque()

    def first_use(self, jti: str, expires_at: float, now: float) -> bool:
        while self._queue and self._queue[0][0] + LEEWAY < now:
            self._seen.discard(self._queue.popleft()[1])
        if jti in self._seen:
            return False
        self._seen.add(jti)
        self._queue.append((expires_at, jti))
        return True

    def __len__(self) -> int:
        return len(self._seen)


_JWT_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "the assertion has expired"),
    (jwt.InvalidAudienceError, "the assertion's aud is not this bank"),
    (jwt.InvalidIssuerError, "the assertion's iss is not the trusted gateway"),
    (jwt.ImmatureSignatureError, "the assertion is not valid yet (iat or nbf in the future)"),
    (jwt.MissingRequiredClaimError, "the assertion lacks a required claim"),
    (jwt.InvalidSignatureError, "the assertion's signature does not verify"),
)


class AssertionVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, audience: str, clock: Clock = time.time) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.clock = clock
        self.replays = ReplayCache()

    async def verify(self, token: str | None) -> Caller:
        """The caller the assertion names. Raises ``UnauthorisedError`` saying what was wrong."""
        if not token:
            raise UnauthorisedError(f"the {ASSERTION_HEADER} header is missing", path=ASSERTION_HEADER)
        header = self._header(token)
        key = await self.keys.key(str(header.get("kid") or ""))
        if key is None:
            raise UnauthorisedError("the assertion's kid is not in the gateway's JWKS", path=ASSERTION_HEADER)
        if key.algorithm_name != header["alg"]:
            raise UnauthorisedError("the assertion's alg does not match its key", path=ASSERTION_HEADER)
        claims = self._decode(token, key)
        caller = _caller(claims)
        if not self.replays.first_use(str(claims["jti"]), float(claims["exp"]), self.clock()):
            raise UnauthorisedError("the assertion has been used before (jti replayed)", path=ASSERTION_HEADER)
        return caller

    def _header(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise UnauthorisedError("the assertion is not a well-formed JWT", path=ASSERTION_HEADER) from None
        if str(header.get("typ", "")).lower() != TYP:
            raise UnauthorisedError(f"the assertion's typ must be {TYP}", path=ASSERTION_HEADER)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            allowed = ", ".join(sorted(ALLOWED_ALGORITHMS))
            raise UnauthorisedError(
                f"the assertion's alg {header.get('alg')!r} is not one of {allowed}", path=ASSERTION_HEADER
            )
        return header

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            message = next((text for kind, text in _JWT_FAILURES if isinstance(exc, kind)), "the assertion is invalid")
            raise UnauthorisedError(message, path=ASSERTION_HEADER) from None
        if not isinstance(claims["iat"], int | float) or claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise UnauthorisedError(f"the assertion lives longer than {MAX_LIFETIME} s", path=ASSERTION_HEADER)
        return claims


def _strings(claims: Mapping[str, Any], name: str) -> list[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnauthorisedError(f"the assertion's {name} must be a list of strings", path=ASSERTION_HEADER)
    return value


def _caller(claims: Mapping[str, Any]) -> Caller:
    user_id, consent_id = claims["sub"], claims.get("consent_id")
    if not isinstance(user_id, str) or not user_id:
        raise UnauthorisedError("the assertion's sub must name a user", path=ASSERTION_HEADER)
    if consent_id is not None and not isinstance(consent_id, str):
        raise UnauthorisedError("the assertion's consent_id must be a string or null", path=ASSERTION_HEADER)
    accounts = _strings(claims, "accounts")
    everything = "*" in accounts
    if everything and (consent_id is not None or accounts != ["*"]):
        raise UnauthorisedError('accounts ["*"] is only allowed alone and without a consent_id', path=ASSERTION_HEADER)
    return Caller(
        user_id=user_id,
        client_id=str(claims.get("client_id") or ""),
        consent_id=consent_id,
        accounts=None if everything else frozenset(accounts),
        permissions=frozenset(_strings(claims, "permissions")),
        purposes=frozenset(_strings(claims, "purposes")),
        interaction_id=str(claims.get("interaction_id") or ""),
    )
