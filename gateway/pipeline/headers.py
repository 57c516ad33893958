"""A call's request headers with constant-time look-ups.

Starlette's ``Headers`` scans the whole header list on every ``get``, ``[]`` and ``in``; the
pipeline asks a call's headers twenty-odd times (authorization, DPoP, the FAPI headers, the
forwarded ones, content type and length, trace context). ``RequestHeaders`` answers those from a
dictionary of each name's first value, built once; ``getlist``, ``items`` and the rest are
Starlette's, over the same list.
"""

from __future__ import annotations

from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.types import Scope

_T = TypeVar("_T")


class RequestHeaders(Headers):
    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        first: dict[str, str] = {}
        for key, value in reversed(self._list):  # the first of a repeated name wins, as in Headers
            first[key.decode("latin-1")] = value.decode("latin-1")
        self._first = first

    def __getitem__(self, key: str) -> str:
        try:
            return self._first[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    def get(self, key: str, default: _T | None = None) -> str | _T | None:  # type: ignore[override]
        return self._first.get(key.lower(), default)
