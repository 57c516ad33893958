"""The gateway's own signing keys: load, generate (demo only), sign, verify, publish as JWKS.

The key file is a private JWK set. Each key carries a ``use_state`` member:
``next`` (published, not yet signing), ``current`` (the one key that signs), ``retired``
(published until ``retire_after``, a UNIX time after which every token it signed has
expired). The public JWKS lists every key that is not past its ``retire_after``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAPSSAlgorithm

from gateway.oauth import jws

SIGNING_ALGORITHMS = ("PS256", "ES256", "EdDSA")
# The gateway's own keys also sign ID tokens, which must be PS256 or ES256.
GATEWAY_KEY_ALGORITHMS = ("PS256", "ES256")
_PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "crv", "x", "y", "n", "e")


class KeyFileError(Exception):
    """The key file is missing, unreadable or inconsistent."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    state: str  # next | current | retired
    retire_after: float | None
    private: Any  # a cryptography private key
    jwk: Mapping[str, Any]  # the private JWK as stored

    @property
    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.jwk) | {"use": "sig", "alg": self.alg}


def generate_jwk(alg: str = "ES256", kid: str | None = None) -> dict[str, Any]:
    """A new private JWK for ``alg`` (PS256 → RSA 2048, ES256 → P-256, EdDSA → Ed25519)."""
    kid = kid or uuid.uuid4().hex
    data: dict[str, Any]
    if alg == "ES256":
        data = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    elif alg == "PS256":
        data = json.loads(RSAPSSAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    elif alg == "EdDSA":
        data = json.loads(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate()))
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}; expected one of {SIGNING_ALGORITHMS}")
    return data | {"kid": kid, "alg": alg, "use": "sig"}


def public_jwk(private_jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The public members of a JWK (no ``d``, ``p``, ``q``, … and no ``use_state``)."""
    return {k: private_jwk[k] for k in _PUBLIC_MEMBERS if k in private_jwk}


def _load_private(jwk: Mapping[str, Any]) -> Any:
    try:
        return jwt.PyJWK(dict(jwk)).key
    except (jwt.PyJWKError, ValueError, KeyError) as exc:
        raise KeyFileError(f"key {jwk.get('kid')!r}: not a usable private JWK ({exc})") from None


class KeyRing:
    """The signing keys of one gateway, read from a JWK set file."""

    def __init__(self, keys: Sequence[SigningKey], path: Path | None = None) -> None:
        kids = [k.kid for k in keys]
        if len(kids) != len(set(kids)):
            raise KeyFileError("duplicate kid in the key set")
        current = [k for k in keys if k.state == "current"]
        if len(current) != 1:
            raise KeyFileError(f"expected exactly one key with use_state 'current', found {len(current)}")
        self.keys = tuple(keys)
        self.path = path
        self.current = current[0]
        self._by_kid = {k.kid: k for k in keys}
        self._public = {k.kid: k.private.public_key() for k in keys}

    @classmethod
    def from_jwks(cls, data: Mapping[str, Any], path: Path | None = None) -> KeyRing:
        entries = data.get("keys")
        if not isinstance(entries, list) or not entries:
            raise KeyFileError(f"{path or 'key set'}: expected a JWK set with a non-empty 'keys' list")
        keys = []
        for jwk in entries:
            if not isinstance(jwk, dict):
                raise KeyFileError(f"{path or 'key set'}: every key must be a JSON object (a JWK)")
            alg = jwk.get("alg")
            if alg not in SIGNING_ALGORITHMS:
                raise KeyFileError(
                    f"{path or 'key set'}: key {jwk.get('kid')!r} has alg {alg!r}; expected one of {SIGNING_ALGORITHMS}"
                )
            if not jwk.get("kid"):
                raise KeyFileError(f"{path or 'key set'}: every key needs a kid")
            keys.append(
                SigningKey(
                    jwk["kid"], alg, jwk.get("use_state", "current"), jwk.get("retire_after"), _load_private(jwk), jwk
                )
            )
        return cls(keys, path)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        return cls.from_jwks(read_jwk_set(path, KeyFileError, "key file"), path)

    @classmethod
    def load_or_create(cls, path: Path, alg: str = "ES256") -> KeyRing:
        """Demo mode only: create a key file with one fresh key when none exists."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_private_file(path, {"keys": [generate_jwk(alg) | {"use_state": "current"}]})
        return cls.load(path)

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        """The public JWK set: every key that may still verify a live token, and the next one."""
        now = time.time() if now is None else now
        live = [k for k in self.keys if k.retire_after is None or k.retire_after > now]
        return {"keys": [k.public_jwk for k in live]}

    def verification_key(self, kid: str | None) -> SigningKey | None:
        return self._by_kid.get(kid) if kid else None

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT", extra_headers: Mapping[str, Any] | None = None) -> str:
        key = self.current
        return jws.sign(claims, key.private, key.alg, {"kid": key.kid, "typ": typ, **(extra_headers or {})})

    def verify(
        self,
        token: str,
        *,
        typ: str | None,
        audience: str | Iterable[str] | None = None,
        issuer: str | None = None,
        leeway: float = 0,
        required: Sequence[str] = ("exp", "iat"),
        now: float | None = None,
    ) -> dict[str, Any]:
        """Verify a JWT this gateway signed. Raises ``jwt.InvalidTokenError`` on any failure.

        The token is parsed once (``gateway.oauth.jws``); this runs on every proxied call.
        """
        parsed = jws.parse(token)
        header = parsed.header
        if typ is not None and str(header.get("typ", "")).lower() != typ.lower():
            raise jwt.InvalidTokenError(f"expected typ {typ!r}")
        key = self.verification_key(header.get("kid"))
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        if header.get("alg") != key.alg:
            raise jwt.InvalidAlgorithmError("alg does not match the key")
        jws.verify_signature(parsed, self._public[key.kid], (key.alg,))
        claims = parsed.claims()
        jws.check_claims(
            claims,
            now=time.time() if now is None else now,
            leeway=leeway,
            audience=audience,
            issuer=issuer,
            required=required,
        )
        return claims


def read_jwk_set(path: Path, error: type[Exception], what: str) -> dict[str, Any]:
    """The JWK set in the JSON file ``path``, or ``error`` naming the file (``what``) and the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise error(f"{path}: expected a JWK set with a non-empty 'keys' list")
    return data


def write_private_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON readable by the owner only, atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)
