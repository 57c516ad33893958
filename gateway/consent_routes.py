"""The wallet-facing consent endpoints (UK OB v4.0 account-access-consents).

Authorised by a client_credentials access token of the wallet (RFC 9068 JWT of this gateway,
sender-constrained by DPoP or mTLS). Bodies are parsed and rendered by ``consent.wallet_api``;
the store enforces purpose rules, idempotency and ownership. Another wallet's consent id gets
the same 404 as an unknown one.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from consent.model import Actor
from consent.sql import SqlConsentStore
from consent.wallet_api import FALLBACK_PURPOSE, body_hash, load_json, parse_consent_request, render_consent
from gateway.errors import HeaderInvalidError, InvalidTokenError, ServiceUnavailableError
from gateway.oauth.http import endpoint_url
from gateway.pipeline.authenticate import authenticate_request
from gateway.services import Services

BASE = "/open-banking/v4.0/aisp/account-access-consents"
IDEMPOTENCY_HEADER = "x-idempotency-key"
_MAX_IDEMPOTENCY_KEY = 128


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def _store(services: Services) -> SqlConsentStore:
    if services.consents is None:
        raise ServiceUnavailableError("The consent store is not running.")
    return services.consents


async def authenticate_wallet(request: Request) -> str:
    """The client id of the wallet whose client_credentials token (DPoP- or mTLS-bound) this request carries.

    Token and sender-constraint checks are the pipeline's (``authenticate_request``); consent
    management additionally needs the wallet's own token (not a user's) with the accounts scope.
    The DPoP ``htu`` is the public URL (issuer + path), as replicas behind a load balancer share it.
    """
    services = _services(request)
    query = request.url.query
    access = await authenticate_request(
        services,
        method=request.method,
        url=endpoint_url(request, services.settings.issuer_url) + (f"?{query}" if query else ""),
        headers=request.headers,
        client_ip=request.client.host if request.client else None,
    )
    if access.consent_id is not None or access.subject != access.client_id:
        raise InvalidTokenError("Consents are managed with the wallet's client_credentials token, not a user's token.")
    if "accounts" not in access.scope:
        raise InvalidTokenError("The access token lacks the 'accounts' scope.")
    return access.client_id


async def _default_purpose(services: Services, client_id: str) -> str:
    client = await services.clients.get(client_id)
    purpose = client.default_purpose if client is not None else FALLBACK_PURPOSE
    return purpose if services.policies.purposes.get(purpose) is not None else FALLBACK_PURPOSE


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY or not key.isprintable() or key.strip() != key:
        raise HeaderInvalidError(
            f"{IDEMPOTENCY_HEADER} must be 1 to {_MAX_IDEMPOTENCY_KEY} printable characters, no surrounding spaces.",
            path=f"header.{IDEMPOTENCY_HEADER}",
        )
    return key


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status, {"Cache-Control": "no-store"}, "application/json")


def _self_url(services: Services, consent_id: str) -> str:
    return f"{services.settings.issuer_url}{BASE}/{consent_id}"


async def create_consent(request: Request) -> Response:
    services = _services(request)
    client_id = await authenticate_wallet(request)
    doc = load_json(await request.body())
    new = parse_consent_request(doc, client_id=client_id, default_purpose=await _default_purpose(services, client_id))
    consent = await _store(services).create(new, idempotency_key=_idempotency_key(request), body_hash=body_hash(doc))
    return _json(render_consent(consent, self_url=_self_url(services, consent.consent_id)), 201)


async def get_consent(request: Request) -> Response:
    services = _services(request)
    client_id = await authenticate_wallet(request)
    consent = await _store(services).get_for_client(request.path_params["consent_id"], client_id)
    return _json(render_consent(consent, self_url=_self_url(services, consent.consent_id)), 200)


async def delete_consent(request: Request) -> Response:
    services = _services(request)
    client_id = await authenticate_wallet(request)
    await _store(services).revoke(
        request.path_params["consent_id"], actor=Actor.WALLET, actor_id=client_id, reason="deleted by the wallet"
    )
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route(BASE, create_consent, methods=["POST"]),
        Route(BASE + "/{consent_id}", get_consent, methods=["GET"]),
        Route(BASE + "/{consent_id}", delete_consent, methods=["DELETE"]),
    ]
