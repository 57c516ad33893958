"""Everything a running gateway holds, built once by the app's lifespan.

Endpoints reach it as ``request.app.state.services``. Each back-end sits behind a small
protocol; ``create_app`` takes test doubles or real objects for any of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from consent.changes import ConsentChanges
from consent.sql import SqlConsentStore
from gateway.clock import Clock
from gateway.limiter import Limiter
from gateway.limiter.memory import MemoryLimiter
from gateway.metrics import Metrics
from gateway.oauth.clients import ClientStore
from gateway.oauth.keys import KeyRing
from gateway.oauth.login_delegation import LoginChallengeStore
from gateway.oauth.replay import MemoryReplayCache, ReplayCache
from gateway.oauth.revocation import RevocationList
from gateway.oauth.users import UserStore
from gateway.portal.sessions import SessionStore
from gateway.settings import Settings
from gateway.shutdown import Drain
from gateway.telemetry import Tracing
from policies import PolicySet

if TYPE_CHECKING:
    from gateway.oauth.server import AuthorizationServer
    from gateway.pipeline.runtime import PipelineRuntime


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
    consent_changes: ConsentChanges = field(default_factory=ConsentChanges)  # subscribe to committed consent changes
    consents: SqlConsentStore | None = None  # built in the lifespan, on consent_changes
    oauth: AuthorizationServer | None = None  # the authorization server's stores and token service
    limiter: Limiter = field(default_factory=MemoryLimiter)  # rate limits (Redis with failover when configured)
    drain: Drain = field(default_factory=Drain)  # graceful shutdown: draining flag, requests in flight
    metrics: Metrics = field(default_factory=Metrics)  # OpenTelemetry instruments (record_* methods)
    tracing: Tracing = field(default_factory=Tracing.off)  # one provider for pipeline, database and Redis spans
    pipeline: PipelineRuntime | None = None  # published APIs, upstream client, consent cache, audit writer
    # Identity stores, built from the engine, clock and Redis above (replace them in tests if needed).
    clients: ClientStore = field(init=False)  # registered wallets
    users: UserStore = field(init=False)  # built-in login and its throttle
    sessions: SessionStore = field(init=False)  # portal sessions
    login_challenges: LoginChallengeStore = field(init=False)  # delegated-login challenges

    def __post_init__(self) -> None:
        self.clients = ClientStore(self.engine)
        self.users = UserStore(self.engine, clock=self.clock, redis=self.redis)
        self.sessions = SessionStore(self.engine, self.clock)
        self.login_challenges = LoginChallengeStore(self.engine, self.clock)
