"""Hand-made JWS objects that libraries refuse to produce: alg none, HMAC with a public key as secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWS with ``alg: none`` and an empty signature."""
    return _segments(header | {"alg": "none"}, claims) + "."


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWS keyed with ``secret`` (e.g. the victim's public key bytes)."""
    signing_input = _segments(header | {"alg": "HS256"}, claims)
    return signing_input + "." + b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
