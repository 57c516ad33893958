"""Compact JWS for the hot path: each token is split and decoded once, then verified and checked.

PyJWT parses a whole token again on every entry point (``get_unverified_header``, then
``decode``), and since 2.15 checks the base64url alphabet one character at a time in Python.
With an access token and a DPoP proof on every call, that parsing was a sixth of the gateway's
CPU. Here one regular expression checks each segment's alphabet and ``binascii`` decodes it;
signatures are verified and made by cryptography: ECDSA directly (PyJWT's conversion between
the JWS ``r || s`` form and DER cost more than the verification itself, ~20 µs of ~65), anything
else through PyJWT's algorithm objects. Every failure raises the PyJWT exception ``jwt.decode``
would, with the same message, so callers and their tests see no difference.

Refused outright: anything but three segments, padding or characters outside base64url, a
header or payload that is not a JSON object, ``alg`` outside the caller's list (``none``
included), and any ``crit`` header (no extension is understood, RFC 7515 §4.1.11 — this also
refuses RFC 7797 unencoded payloads).
"""

from __future__ import annotations

import binascii
import re
from calendar import timegm
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")
_ALGORITHMS = get_default_algorithms()
_TIME_CLAIMS = ("exp", "iat", "nbf")
_PADDING = (b"", b"", b"==", b"=")  # by len % 4; a remainder of 1 is never valid base64


@dataclass(frozen=True, slots=True)
class _Ecdsa:
    curve: type[ec.EllipticCurve]
    size: int  # bytes of r, and of s, in the JWS signature (RFC 7518 §3.4)
    scheme: ec.ECDSA


_ECDSA = {
    "ES256": _Ecdsa(ec.SECP256R1, 32, ec.ECDSA(hashes.SHA256())),
    "ES384": _Ecdsa(ec.SECP384R1, 48, ec.ECDSA(hashes.SHA384())),
    "ES512": _Ecdsa(ec.SECP521R1, 66, ec.ECDSA(hashes.SHA512())),
}


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header.get("alg"))

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object (``jwt.DecodeError`` otherwise)."""
        try:
            claims = orjson.loads(self.payload)
        except orjson.JSONDecodeError as exc:
            raise jwt.DecodeError(f"Invalid payload string: {exc}") from None
        if not isinstance(claims, dict):
            raise jwt.DecodeError("Invalid payload string: must be a json object")
        return claims


def _b64decode(segment: bytes) -> bytes:
    if _SEGMENT.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise jwt.DecodeError("Invalid crypto padding")
    try:
        return binascii.a2b_base64(segment.replace(b"-", b"+").replace(b"_", b"/") + _PADDING[len(segment) % 4])
    except binascii.Error:
        raise jwt.DecodeError("Invalid crypto padding") from None


def b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").replace(b"+", b"-").replace(b"/", b"_")


def parse(token: str | bytes) -> CompactJws:
    """Split and decode a compact JWS; ``jwt.DecodeError`` says what is malformed."""
    raw = token.encode("ascii", "replace") if isinstance(token, str) else token
    parts = raw.split(b".")
    if len(parts) != 3:
        raise jwt.DecodeError("Not enough segments" if len(parts) < 3 else "Too many segments")
    header_segment, payload_segment, signature_segment = parts
    try:
        header = orjson.loads(_b64decode(header_segment))
    except orjson.JSONDecodeError as exc:
        raise jwt.DecodeError(f"Invalid header string: {exc}") from None
    if not isinstance(header, dict):
        raise jwt.DecodeError("Invalid header string: must be a json object")
    if "crit" in header:
        raise jwt.InvalidTokenError("Unsupported critical extension")
    if "kid" in header and not isinstance(header["kid"], str):
        raise jwt.InvalidTokenError("Key ID header parameter must be a string")
    return CompactJws(
        header=header,
        payload=_b64decode(payload_segment),
        signing_input=header_segment + b"." + payload_segment,
        signature=_b64decode(signature_segment),
    )


def verify_signature(jws: CompactJws, key: Any, algorithms: Sequence[str]) -> None:
    """Check ``alg`` is one of ``algorithms`` and the signature verifies with ``key``."""
    alg = jws.header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in _ALGORITHMS:
        raise jwt.InvalidAlgorithmError("The specified alg value is not allowed")
    ecdsa = _ECDSA.get(alg)
    if ecdsa is not None and isinstance(key, ec.EllipticCurvePublicKey):
        verified = _verify_ecdsa(ecdsa, jws.signing_input, key, jws.signature)
    else:
        verified = _ALGORITHMS[alg].verify(jws.signing_input, key, jws.signature)
    if not verified:
        raise jwt.InvalidSignatureError("Signature verification failed")


def _verify_ecdsa(ecdsa: _Ecdsa, message: bytes, key: ec.EllipticCurvePublicKey, signature: bytes) -> bool:
    """A key on another curve than the algorithm's, or a signature of the wrong length, does not verify."""
    size = ecdsa.size
    if not isinstance(key.curve, ecdsa.curve) or len(signature) != 2 * size:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:size]), int.from_bytes(signature[size:]))
    try:
        key.verify(der, message, ecdsa.scheme)
    except InvalidSignature:
        return False
    return True


def sign(claims: Mapping[str, Any], key: Any, alg: str, header: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` signed with ``key`` (the header gets ``alg``).

    As with ``jwt.encode``, ``datetime`` values of ``exp``, ``iat`` and ``nbf`` become NumericDates.
    """
    payload = dict(claims)
    for name in _TIME_CLAIMS:
        value = payload.get(name)
        if isinstance(value, datetime):
            payload[name] = timegm(value.utctimetuple())
    signing_input = b64encode(orjson.dumps({"alg": alg, **header})) + b"." + b64encode(orjson.dumps(payload))
    ecdsa = _ECDSA.get(alg)
    if ecdsa is not None and isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ecdsa.curve):
        r, s = decode_dss_signature(key.sign(signing_input, ecdsa.scheme))
        signature = r.to_bytes(ecdsa.size) + s.to_bytes(ecdsa.size)
    else:
        signature = _ALGORITHMS[alg].sign(signing_input, key)
    return (signing_input + b"." + b64encode(signature)).decode("ascii")


def check_claims(
    claims: Mapping[str, Any],
    *,
    now: float,
    leeway: float = 0,
    audience: str | Iterable[str] | None = None,
    issuer: str | None = None,
    required: Sequence[str] = (),
) -> None:
    """The registered-claim checks of ``jwt.decode`` (RFC 7519 §4.1), with its exceptions and messages."""
    for name in required:
        if claims.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    if "iat" in claims:
        iat = claims["iat"]
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise jwt.InvalidIssuedAtError("Issued At claim (iat) must be an integer.")
        if iat > now + leeway:
            raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims:
        nbf = _numeric(claims["nbf"], "Not Before claim (nbf) must be an integer.")
        if nbf > now + leeway:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if "exp" in claims:
        exp = _numeric(claims["exp"], "Expiration Time claim (exp) must be an integer.")
        if exp <= now - leeway:
            raise jwt.ExpiredSignatureError("Signature has expired")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise InvalidSubjectError("Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise InvalidJTIError("JWT ID must be a string")
    if audience is not None:
        _check_audience(claims, audience)
    if issuer is not None:
        if "iss" not in claims:
            raise jwt.MissingRequiredClaimError("iss")
        if claims["iss"] != issuer:
            raise jwt.InvalidIssuerError("Invalid issuer")


def _numeric(value: Any, message: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise jwt.DecodeError(message)
    return float(value)


def _check_audience(claims: Mapping[str, Any], audience: str | Iterable[str]) -> None:
    if not claims.get("aud"):
        raise jwt.MissingRequiredClaimError("aud")
    aud = claims["aud"]
    if isinstance(aud, str):
        aud = [aud]
    if not isinstance(aud, list) or not all(isinstance(a, str) for a in aud):
        raise jwt.InvalidAudienceError("Invalid claim format in token")
    wanted = [audience] if isinstance(audience, str) else list(audience)
    if not any(a in aud for a in wanted):
        raise jwt.InvalidAudienceError("Audience doesn't match")
