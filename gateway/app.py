"""Assemble the ASGI application: ``create_app(settings) -> Starlette``.

Settings are passed in, never read at import time. The lifespan builds every back-end once
into ``Services`` (``app.state.services``); arguments given to ``create_app`` replace the real
ones in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from consent.db import open_engine
from consent.errors import ConsentError
from consent.sql import SqlConsentStore
from consent.sweeper import sweep_forever
from gateway import admin_metrics, consent_routes, publishing, user_routes
from gateway.body_limit import BodyLimitMiddleware
from gateway.client_spans import limiter_redis, trace_clients
from gateway.clock import Clock, system_clock
from gateway.errors import GatewayError, handle_error
from gateway.health import probe_routes
from gateway.interaction import InteractionIdMiddleware
from gateway.limiter import Limiter
from gateway.limiter.build import build_limiter
from gateway.limiter.redis import RedisLimiter
from gateway.logs import configure_logging
from gateway.metrics import Metrics, metrics_routes
from gateway.oauth import login_delegation, registration
from gateway.oauth.keys import GATEWAY_KEY_ALGORITHMS, KeyRing
from gateway.oauth.wiring import consent_token_revoker, oauth_routes, start_oauth
from gateway.observation import RequestObservationMiddleware
from gateway.pipeline.endpoint import start_pipeline
from gateway.pipeline.lane import PublishedApisLane
from gateway.portal import dashboard_routes, login
from gateway.portal.sessions import current_user
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.services import Services
from gateway.settings import Settings, load_settings
from gateway.shutdown import Drain, DrainMiddleware, install_signal_drain
from gateway.telemetry import tracing_for
from policies import load_policies

CONSENT_SWEEP_INTERVAL = 60.0  # seconds between background sweeps that expire lapsed consents


def load_keys(settings: Settings) -> KeyRing:
    """Production reads the configured key file; demo mode creates one in the data folder."""
    if settings.signing_keys_file is not None:
        return KeyRing.load(settings.signing_keys_file, algorithms=GATEWAY_KEY_ALGORITHMS)
    return KeyRing.load_or_create(settings.data_dir / "keys" / "signing.jwks.json", algorithms=GATEWAY_KEY_ALGORITHMS)


def _gateway_routes() -> list[BaseRoute]:
    return [
        *probe_routes(),
        *metrics_routes(),
        *consent_routes.routes(),
        *user_routes.routes(),
        *registration.routes(),
        *login.routes(),
        *dashboard_routes.routes(),
        *login_delegation.routes(),
        *oauth_routes(),
        *publishing.admin_routes(),
        *admin_metrics.routes(),
    ]


def _trace_clients(services: Services) -> Callable[[], None]:
    """Database and Redis spans on the shared provider, only when tracing is on; returns undo."""
    provider = services.tracing.provider
    if provider is None:
        return lambda: None
    clients = (services.redis, limiter_redis(services.limiter))
    untrace = trace_clients(provider, services.engine.sync_engine, clients)
    shared = getattr(services.limiter, "shared", services.limiter)
    if not isinstance(shared, RedisLimiter):
        return untrace
    through_client = shared.traced()  # the script's pipelined connection has no spans

    def undo() -> None:
        through_client()
        untrace()

    return undo


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    keys: KeyRing | None = None,
    limiter: Limiter | None = None,
    pipeline_passthrough: bool = False,
) -> Starlette:
    policies = load_policies(settings.policies_dir)
    keyring = keys or load_keys(settings)
    drain = Drain()
    metrics = Metrics.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = engine or open_engine(settings.effective_database_url)
        redis = None
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(settings.redis_url)
        services = Services(
            settings=settings,
            policies=policies,
            keys=keyring,
            clock=clock or system_clock,
            engine=db,
            redis=redis,
            drain=drain,
            metrics=metrics,
            limiter=limiter or build_limiter(settings, policies.limits, clock or system_clock, metrics=metrics),
            tracing=tracing_for(settings.otlp_endpoint),
        )
        app.state.services = services
        untrace = _trace_clients(services)
        restore_signals = install_signal_drain(drain, settings.shutdown_grace)
        services.consents = SqlConsentStore(
            db, policies, services.clock, changes=services.consent_changes,
            awaiting_authorisation_ttl=settings.awaiting_authorisation_ttl,
        )  # fmt: skip
        sweeper = asyncio.create_task(sweep_forever(services.consents, CONSENT_SWEEP_INTERVAL))
        stop_oauth = await start_oauth(services, consents=services.consents, session_user=current_user)
        services.consent_changes.subscribe(consent_token_revoker(services))
        stop_pipeline = await start_pipeline(services, passthrough=pipeline_passthrough)
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            drain.begin()
            restore_signals()
            await stop_pipeline()
            await stop_oauth()
            if limiter is None:
                await services.limiter.aclose()
            if redis is not None:
                await redis.aclose()
            if engine is None:
                await db.dispose()
            untrace()
            services.tracing.shutdown()  # the owner's flush; the pipeline's stop did it already (a second does nothing)
            metrics.shutdown()

    handlers: dict[Any, Any] = {
        GatewayError: handle_error,
        ConsentError: handle_error,
        HTTPException: handle_error,  # the router's own 404 and 405, a malformed form's 400
        Exception: handle_error,
    }
    routes = _gateway_routes()
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(PublishedApisLane, gateway_routes=routes),  # proxied calls: the rest is done there
            Middleware(SecurityHeadersMiddleware, issuer_url=settings.issuer_url),  # the lane adds its own
            Middleware(InteractionIdMiddleware),
            Middleware(RequestObservationMiddleware, metrics=metrics),
            Middleware(DrainMiddleware, drain=drain),
            Middleware(BodyLimitMiddleware),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """uvicorn factory: ``uvicorn --factory gateway.app:app_from_env``."""
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
