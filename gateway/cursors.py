"""Make and read the opaque page cursors of the user API: a keyset position (a time and a row key).

A cursor is base64url, unpadded, of ``"<microseconds since the epoch>.<key>"``. Reading accepts only
what making gives: the one spelling of a position, a time from the epoch to the year 9999, and a key
that the caller's pattern matches in full; anything else reads as None (the route answers 400).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

__all__ = ["decode", "encode"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT = re.compile(r"(0|[1-9][0-9]{0,17})\.(.+)", re.DOTALL)
_MAX = 96  # characters; the longest cursor the user API gives (a consent's) has 74


def encode(at: datetime, key: str) -> str:
    """The cursor for the position ``(at, key)``; ``at`` is timezone-aware."""
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{key}".encode()).rstrip(b"=").decode()


def decode(raw: str, key: re.Pattern[str]) -> tuple[datetime, str] | None:
    """The position ``raw`` was made from by ``encode``, or None when no cursor reads as ``raw``: too long,
    not canonical base64url, not ``"<microseconds>.<key>"`` with a key ``key`` matches, or out of range."""
    if not 0 < len(raw) <= _MAX or not raw.isascii():
        return None
    try:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        match = _TEXT.fullmatch(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii"))
    except ValueError:
        return None
    if match is None or key.fullmatch(match[2]) is None:
        return None
    try:
        at = _EPOCH + timedelta(microseconds=int(match[1]))
    except OverflowError:  # past the year 9999
        return None
    return (at, match[2]) if encode(at, match[2]) == raw else None  # one spelling per cursor: nothing else
