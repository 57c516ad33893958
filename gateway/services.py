"""Everything a running gateway holds, built once by the app's lifespan.

Endpoints reach it as ``request.app.state.services``. Each back-end sits behind a small
protocol; ``create_app`` takes test doubles or real objects for any of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.limiter import Limiter
from gateway.limiter.memory import MemoryLimiter
from gateway.oauth.keys import KeyRing
from gateway.oauth.replay import MemoryReplayCache, ReplayCache
from gateway.oauth.revocation import RevocationList
from gateway.settings import Settings
from policies import PolicySet

if TYPE_CHECKING:
    from gateway.oauth.server import AuthorizationServer


@dataclass(slots=True)
class Services:
    settings: Settings
    policies: PolicySet
    keys: KeyRing
    clock: Clock
    engine: AsyncEngine
    redis: Any | None = None  # redis.asyncio.Redis when configured
    replay: ReplayCache = field(default_factory=MemoryReplayCache)  # DPoP / assertion jti (Redis when configured)
    revocation: RevocationList = field(default_factory=lambda: RevocationList(time.time))  # revoked access jtis
    oauth: AuthorizationServer | None = None  # the authorization server's stores and token service
    limiter: Limiter = field(default_factory=MemoryLimiter)  # rate limits (Redis with failover when configured)
