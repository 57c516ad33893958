"""Build the authorization server's parts into ``Services`` at start-up, and its routes.

Redis, when configured, backs the replay cache (DPoP and client-assertion ``jti``s) and
spreads the access-token deny-list; otherwise both live in this process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute

from gateway.oauth import authorize, discovery, grants, introspection, par
from gateway.oauth.consent_events import ConsentTokenRevoker
from gateway.oauth.consents import ConsentPort
from gateway.oauth.replay import MemoryReplayCache, RedisReplayCache
from gateway.oauth.revocation import RevocationList
from gateway.oauth.server import SessionUser, build_authorization_server
from gateway.services import Services


def oauth_routes() -> list[BaseRoute]:
    return [*discovery.ROUTES, *par.ROUTES, *authorize.ROUTES, *grants.ROUTES, *introspection.ROUTES]


async def start_oauth(
    services: Services, *, consents: ConsentPort | None, session_user: SessionUser
) -> Callable[[], Awaitable[None]]:
    """Fill ``services.replay``, ``services.revocation`` and ``services.oauth``; returns the stopper."""
    if services.redis is not None:
        services.replay = RedisReplayCache(services.redis)
    else:
        services.replay = MemoryReplayCache(services.clock)
    services.revocation = RevocationList(services.clock, services.redis)
    services.oauth = build_authorization_server(services, consents=consents, session_user=session_user)
    services.revocation.load(await services.oauth.store.revoked_access(services.clock()))
    await services.revocation.start()
    return services.revocation.stop


def consent_token_revoker(services: Services) -> ConsentTokenRevoker:
    """The subscriber for consent changes (``ConsentChanges.subscribe``)."""
    if services.oauth is None:
        raise RuntimeError("start_oauth must run first")
    return ConsentTokenRevoker(services.oauth.store, services.revocation, services.clock)
