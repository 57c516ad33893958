"""Check a DPoP proof completely (RFC 9449 §4.3) and name the key it proves possession of.

Used by the token endpoint (binding tokens to the key) and by the pipeline's authenticate
step (``ath`` ties the proof to the access token). Every refusal raises
``InvalidDPoPProofError`` with a message saying which check failed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.errors import InvalidDPoPProofError
from gateway.oauth import jws
from gateway.oauth.replay import ReplayCache

__all__ = [
    "DPOP_ALGORITHMS",
    "DPoPProof",
    "NonceCheck",
    "ReplayCache",
    "UseDPoPNonceError",
    "access_token_hash",
    "jwk_thumbprint",
    "normalise_htu",
    "verify_dpop_proof",
]

DPOP_ALGORITHMS = ("ES256", "PS256", "EdDSA")
_MAX_PROOF_LENGTH = 8192
_MAX_JTI_LENGTH = 256
# A public RSA operation costs in the sizes of n and e: 24 µs with a 2048-bit n and e = 65537, 5 ms with a
# 3072-bit n and e (OpenSSL bounds e only above 3072 bits of n). Anyone may send a proof with any key in it.
_RSA_KEY_BITS = (2048, 4096)
_RSA_PUBLIC_EXPONENT = 65537
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that passed every check: ``jkt`` is the RFC 7638 thumbprint of its key."""

    jkt: str
    jti: str
    iat: int
    htm: str
    htu: str


class NonceCheck(Protocol):
    """Server-issued DPoP nonces (RFC 9449 §8): the one to hand out now, and whether one is still good."""

    def current(self) -> str: ...

    def valid(self, nonce: str) -> bool: ...


class UseDPoPNonceError(InvalidDPoPProofError):
    """RFC 9449 §8: the server requires a nonce; the current one is in the ``DPoP-Nonce`` header."""

    message, oauth_error = "A DPoP nonce is required.", "use_dpop_nonce"

    def __init__(self, message: str, *, nonce: str) -> None:
        super().__init__(message, headers={"DPoP-Nonce": nonce})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (EC, RSA or OKP), base64url without padding."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(str(kty))
    if members is None:
        raise ValueError(f"cannot take the thumbprint of a key with kty {kty!r}")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise ValueError(f"the {kty} key lacks {', '.join(missing)}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(access_token: str) -> str:
    """The ``ath`` value for an access token: base64url(SHA-256(ASCII token))."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _normalise_path(path: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(0)[1:], 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    path = _PERCENT.sub(fix, path) or "/"
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    trailing = "/" if path.endswith(("/.", "/..")) else ""
    return "/" + "/".join(out) + trailing


def normalise_htu(url: str) -> str:
    """scheme://host[:port]/path, normalised per RFC 3986 §6.2.2 to 6.2.3; query and fragment dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an absolute http(s) URL")
    port = parts.port
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{_normalise_path(parts.path)}"


def _refuse(message: str) -> InvalidDPoPProofError:
    """The refusal; what the proof carried and the message quotes is escaped to ASCII, since the
    message also travels in the ``WWW-Authenticate`` header, which holds Latin-1 at most."""
    text = message.encode("ascii", "backslashreplace").decode("ascii")
    return InvalidDPoPProofError(f"DPoP proof: {text}", path="header.DPoP")


def _public_key(jwk: Any, alg: str) -> tuple[Any, str]:
    """The proof's embedded key, as a cryptography public key usable with ``alg``, and its thumbprint."""
    if not isinstance(jwk, dict):
        raise _refuse("the jwk header must be a JSON object holding the public key")
    private = [m for m in _PRIVATE_MEMBERS if m in jwk]
    if private:
        raise _refuse(f"the jwk header carries private key material ({', '.join(private)}); send the public key only")
    try:
        canonical = orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raise _refuse("the jwk header is not plain JSON") from None
    return _key_and_thumbprint(canonical, alg)


@functools.lru_cache(maxsize=4096)
def _key_and_thumbprint(canonical_jwk: bytes, alg: str) -> tuple[Any, str]:
    """Decoding a JWK into a key costs more than verifying with it; a wallet keeps one key for many calls."""
    jwk = orjson.loads(canonical_jwk)
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
        thumbprint = jwk_thumbprint(jwk)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, KeyError, TypeError) as exc:
        raise _refuse(f"the jwk header is not a usable {alg} public key ({exc})") from None
    if alg == "ES256" and not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
        raise _refuse("ES256 needs a P-256 key in the jwk header")
    if alg == "PS256" and not _usable_rsa(key):
        low, high = _RSA_KEY_BITS
        exponent = _RSA_PUBLIC_EXPONENT
        raise _refuse(
            f"PS256 needs an RSA key of {low} to {high} bits with public exponent {exponent} in the jwk header"
        )
    if alg == "EdDSA" and not isinstance(key, ed25519.Ed25519PublicKey):
        raise _refuse("EdDSA needs an Ed25519 key in the jwk header")
    return key, thumbprint


def _usable_rsa(key: Any) -> bool:
    low, high = _RSA_KEY_BITS
    return (
        isinstance(key, rsa.RSAPublicKey)
        and low <= key.key_size <= high
        and key.public_numbers().e == _RSA_PUBLIC_EXPONENT
    )


def _checked_header(proof: str) -> tuple[jws.CompactJws, str]:
    if len(proof) > _MAX_PROOF_LENGTH:
        raise _refuse(f"longer than {_MAX_PROOF_LENGTH} characters")
    try:
        parsed = jws.parse(proof)
    except jwt.DecodeError:
        raise _refuse("not a well-formed JWS compact serialisation") from None
    except jwt.InvalidTokenError as exc:
        raise _refuse(f"cannot verify the JWS ({exc})") from None
    header = parsed.header
    if header.get("typ") != "dpop+jwt":
        raise _refuse(f"typ must be 'dpop+jwt', got {header.get('typ')!r}")
    alg = header.get("alg")
    if alg not in DPOP_ALGORITHMS:
        raise _refuse(f"alg {alg!r} is not allowed; use one of {', '.join(DPOP_ALGORITHMS)}")
    return parsed, str(alg)


def _signed_claims(proof: jws.CompactJws, key: Any, alg: str) -> dict[str, Any]:
    try:
        jws.verify_signature(proof, key, (alg,))
    except jwt.InvalidSignatureError:
        raise _refuse("the signature does not verify with the key in its jwk header") from None
    except jwt.InvalidTokenError as exc:
        raise _refuse(f"cannot verify the JWS ({exc})") from None
    try:
        return proof.claims()
    except jwt.DecodeError as exc:
        what = "is not a JSON object" if "json object" in str(exc) else "is not JSON"
        raise _refuse(f"the payload {what}") from None


def _require_string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise _refuse(f"the {name} claim is missing or not a string")
    return value


def _check_time(claims: Mapping[str, Any], now: float, window: float, future_skew: float) -> int:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise _refuse("the iat claim is missing or not a number")
    if iat > now + future_skew:
        raise _refuse(f"iat is {int(iat - now)} s in the future (at most {int(future_skew)} s is accepted)")
    if iat < now - window:
        raise _refuse(f"iat is {int(now - iat)} s old (at most {int(window)} s is accepted)")
    return int(iat)


def _check_target(claims: Mapping[str, Any], method: str, url: str) -> tuple[str, str]:
    htm = _require_string(claims, "htm")
    if htm != method:
        raise _refuse(f"htm {htm!r} does not match the request method {method!r}")
    htu = _require_string(claims, "htu")
    if htu == url.partition("?")[0]:  # the usual case: no normalising needed (url is the gateway's own, absolute)
        return htm, htu
    try:
        matches = normalise_htu(htu) == normalise_htu(url)
    except ValueError:
        raise _refuse(f"htu {htu!r} is not an absolute http(s) URL") from None
    if not matches:
        raise _refuse(f"htu {htu!r} does not match the request URL {normalise_htu(url)!r}")
    return htm, htu


def _check_bindings(
    claims: Mapping[str, Any], access_token: str | None, nonce: str | None, nonces: NonceCheck | None
) -> None:
    if access_token is not None:
        ath = claims.get("ath")
        if ath is None:
            raise _refuse("the ath claim is required when an access token is presented")
        if ath != access_token_hash(access_token):
            raise _refuse("ath does not match the hash of the presented access token")
    if nonce is not None:
        given = claims.get("nonce")
        if given != nonce:
            what = "is missing" if given is None else "is not the current nonce"
            raise UseDPoPNonceError(f"DPoP proof: the nonce claim {what}", nonce=nonce)
    if nonces is not None:
        given = claims.get("nonce")
        if not isinstance(given, str) or not nonces.valid(given):
            what = "is missing" if given is None else "is not a current server nonce"
            raise UseDPoPNonceError(f"DPoP proof: the nonce claim {what}", nonce=nonces.current())


async def verify_dpop_proof(
    proof: str | None,
    *,
    method: str,
    url: str,
    access_token: str | None,
    replay: ReplayCache,
    now: float,
    nonce: str | None = None,
    window: float = 60,
    future_skew: float = 10,
    nonces: NonceCheck | None = None,
) -> DPoPProof:
    """Run every RFC 9449 §4.3 check on ``proof``; the ``jti`` is spent only if all others pass.

    ``nonce`` demands one exact nonce; ``nonces`` accepts any nonce the server issued and still honours.
    """
    if not proof:
        raise InvalidDPoPProofError("A DPoP proof is required in the DPoP header.", path="header.DPoP")
    parsed, alg = _checked_header(proof)
    key, jkt = _public_key(parsed.header.get("jwk"), alg)
    claims = _signed_claims(parsed, key, alg)
    jti = _require_string(claims, "jti")
    if len(jti) > _MAX_JTI_LENGTH:
        raise _refuse(f"jti is longer than {_MAX_JTI_LENGTH} characters")
    htm, htu = _check_target(claims, method, url)
    iat = _check_time(claims, now, window, future_skew)
    _check_bindings(claims, access_token, nonce, nonces)
    if not await replay.first_use(f"dpop:{jkt}:{jti}", window + future_skew):
        raise _refuse(f"jti {jti!r} was already used with this key")
    return DPoPProof(jkt=jkt, jti=jti, iat=iat, htm=htm, htu=htu)
