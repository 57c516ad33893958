"""Server-issued DPoP nonces (RFC 9449 §8) that every replica can check without shared state.

A nonce is a small JWT signed with the gateway's key, naming the 30-second window it was
issued in; it is honoured for ``LIFETIME`` seconds. Turned on by ``dpop_nonce_required``.
"""

from __future__ import annotations

import jwt

from gateway.clock import Clock
from gateway.oauth.keys import KeyRing

LIFETIME = 90
_WINDOW = 30
_TYP = "wg-dpop-nonce+jwt"


class DPoPNonces:
    def __init__(self, keys: KeyRing, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock
        self._window = -1
        self._nonce = ""

    def current(self) -> str:
        window = int(self._clock() // _WINDOW)
        if window != self._window:
            self._nonce = self._keys.sign({"w": window}, typ=_TYP)
            self._window = window
        return self._nonce

    def valid(self, nonce: str) -> bool:
        try:
            claims = self._keys.verify(nonce, typ=_TYP, required=())
        except jwt.InvalidTokenError:
            return False
        window = claims.get("w")
        if not isinstance(window, int):
            return False
        return 0 <= self._clock() - window * _WINDOW <= LIFETIME
