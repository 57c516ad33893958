"""Build the authorization server's parts into ``Services`` at start-up, and its routes.

Redis, when configured, backs the replay cache (DPoP and client-assertion ``jti``s) and
spreads the access-token deny-list; otherwise both live in this process. The signing-key file
is looked at once a second and the key ring reloaded when it changes (``walletgate keys rotate``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import BaseRoute

from gateway.errors import backend_unavailable
from gateway.oauth import authorize, discovery, grants, introspection, par
from gateway.oauth.consent_events import ConsentTokenRevoker
from gateway.oauth.consents import ConsentPort
from gateway.oauth.keys import GATEWAY_KEY_ALGORITHMS, KeyFileWatch
from gateway.oauth.replay import MemoryReplayCache, RedisReplayCache
from gateway.oauth.revocation import RevocationList
from gateway.oauth.server import SessionUser, build_authorization_server
from gateway.services import Services

log = logging.getLogger("walletgate.oauth")
SWEEP_EVERY = 300.0
SWEEP_AFTER = 3600.0
KEY_FILE_CHECK_EVERY = 1.0


def oauth_routes() -> list[BaseRoute]:
    return [*discovery.ROUTES, *par.ROUTES, *authorize.ROUTES, *grants.ROUTES, *introspection.ROUTES]


async def start_oauth(
    services: Services, *, consents: ConsentPort | None, session_user: SessionUser
) -> Callable[[], Awaitable[None]]:
    """Fill ``services.replay``, ``.revocation`` and ``.oauth``, and watch the key file; returns the stopper."""
    if services.redis is not None:
        services.replay = RedisReplayCache(services.redis)
    else:
        services.replay = MemoryReplayCache(services.clock)
    services.revocation = RevocationList(services.clock, services.redis)
    services.oauth = build_authorization_server(services, consents=consents, session_user=session_user)
    services.revocation.load(await services.oauth.store.revoked_access(services.clock()))
    await services.revocation.start()
    tasks = [asyncio.create_task(_sweep_forever(services), name="oauth-sweeper")]
    if services.keys.path is not None:
        watch = KeyFileWatch(services.keys, algorithms=GATEWAY_KEY_ALGORITHMS)  # the rule load_keys applies
        tasks.append(asyncio.create_task(_watch_key_file(watch, KEY_FILE_CHECK_EVERY), name="key-file-watch"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.revocation.stop()

    return stop


async def _sweep_forever(services: Services) -> None:
    """Every few minutes, drop grants that expired more than an hour ago (the audit lives in consent events)."""
    if services.oauth is None:
        return
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        try:
            await services.oauth.store.sweep(services.clock() - SWEEP_AFTER)
        except SQLAlchemyError as exc:
            if backend_unavailable(exc):
                log.warning(
                    "sweeping expired oauth grants failed: the database cannot be reached (%s); will retry", exc
                )
            else:
                log.warning("sweeping expired oauth grants failed; will retry", exc_info=True)


async def _watch_key_file(watch: KeyFileWatch, every: float) -> None:
    """Look at the signing-key file every ``every`` seconds (off the event loop) and reload it when it changed."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(watch.check)
        except Exception:
            log.exception("checking the signing-key file %s failed; will look again", watch.path)


def consent_token_revoker(services: Services) -> ConsentTokenRevoker:
    """The subscriber for consent changes (``ConsentChanges.subscribe``)."""
    if services.oauth is None:
        raise RuntimeError("start_oauth must run first")
    return ConsentTokenRevoker(services.oauth.store, services.revocation, services.clock)
