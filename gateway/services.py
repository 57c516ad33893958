"""Everything a running gateway holds, built once by the app's lifespan.

Endpoints reach it as ``request.app.state.services``. Each back-end sits behind a small
protocol; ``create_app`` takes test doubles or real objects for any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.oauth.keys import KeyRing
from gateway.settings import Settings
from policies import PolicySet


@dataclass(slots=True)
class Services:
    settings: Settings
    policies: PolicySet
    keys: KeyRing
    clock: Clock
    engine: AsyncEngine
    redis: Any | None = None  # redis.asyncio.Redis when configured
