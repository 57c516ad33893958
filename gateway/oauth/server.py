"""The authorization server's parts, built once per app and reached as ``services.oauth``.

Endpoints take what they need from here; tests build one with in-memory or fake parts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.oauth.clients import ClientStore
from gateway.oauth.consents import ConsentPort
from gateway.oauth.dpop_nonce import DPoPNonces
from gateway.oauth.replay import ReplayCache
from gateway.oauth.revocation import RevocationList
from gateway.oauth.store import OAuthStore
from gateway.oauth.tokens import TokenService

if TYPE_CHECKING:
    from gateway.services import Services

SessionUser = Callable[[Request], Awaitable[str | None]]  # the logged-in user id, if any

SCOPES = ("openid", "accounts")
AUTHORIZATION_DECISION_WINDOW = 600.0  # seconds a shown authorization screen can still be answered


@dataclass(slots=True)
class AuthorizationServer:
    clients: ClientStore
    store: OAuthStore
    tokens: TokenService
    replay: ReplayCache
    revocation: RevocationList
    consents: ConsentPort | None
    session_user: SessionUser
    nonces: DPoPNonces | None = None  # set when settings.dpop_nonce_required

    def nonce_headers(self) -> dict[str, str]:
        """A fresh DPoP nonce for the client's next request (RFC 9449 §8.2), when nonces are required."""
        return {"DPoP-Nonce": self.nonces.current()} if self.nonces is not None else {}


def oauth_server(request: Request) -> tuple[Services, AuthorizationServer]:
    """The app's services and its authorization server (a 503-worthy bug if it was not built)."""
    services: Services = request.app.state.services
    if services.oauth is None:
        raise RuntimeError("the authorization server was not built in the lifespan")
    return services, services.oauth


def build_authorization_server(
    services: Services, *, consents: ConsentPort | None, session_user: SessionUser
) -> AuthorizationServer:
    store = OAuthStore(services.engine)
    return AuthorizationServer(
        clients=ClientStore(services.engine),
        store=store,
        tokens=TokenService(services.settings, services.keys, store, services.clock),
        replay=services.replay,
        revocation=services.revocation,
        consents=consents,
        session_user=session_user,
        nonces=DPoPNonces(services.keys, services.clock) if services.settings.dpop_nonce_required else None,
    )
