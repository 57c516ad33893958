"""Time as the gateway sees it: one injectable clock so tests can freeze or move it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]  # seconds since the epoch, like time.time


def system_clock() -> float:
    return time.time()


def utc(clock: Clock = system_clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
