"""The wallet-facing consent endpoints (UK OB v4.0 account-access-consents).

Authorised by a client_credentials access token of the wallet (RFC 9068 JWT of this gateway,
sender-constrained by DPoP or mTLS). Bodies are parsed and rendered by ``consent.wallet_api``;
the store enforces purpose rules, idempotency and ownership. Another wallet's consent id gets
the same 404 as an unknown one.
"""

from __future__ import annotations

import hmac
from typing import Any, cast

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from consent.model import Actor
from consent.sql import SqlConsentStore
from consent.wallet_api import FALLBACK_PURPOSE, body_hash, load_json, parse_consent_request, render_consent
from gateway.errors import HeaderInvalidError, InvalidDPoPProofError, InvalidTokenError, ServiceUnavailableError
from gateway.oauth.clients import ClientStore
from gateway.oauth.dpop import verify_dpop_proof
from gateway.oauth.mtls import client_certificate, x5t_s256
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
    """The client id of the wallet whose client_credentials token (and DPoP proof or certificate) this is.

    The one place this route checks credentials, so it can be swapped for the pipeline's shared
    ``authenticate_request`` once that lands.
    """
    services = _services(request)
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() not in ("dpop", "bearer") or not token.strip():
        raise InvalidTokenError("An access token is required: 'Authorization: DPoP <token>'.")
    token = token.strip()
    issuer = services.settings.issuer_url
    try:
        claims = services.keys.verify(
            token,
            typ="at+jwt",
            audience=issuer,
            issuer=issuer,
            leeway=services.settings.clock_skew,
            required=("exp", "iat", "jti", "sub", "client_id"),
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"The access token is invalid: {exc}.") from None
    if services.revocation.is_revoked(str(claims["jti"])):
        raise InvalidTokenError("The access token has been revoked.")
    client_id = str(claims["client_id"])
    if claims.get("consent_id") or claims["sub"] != client_id:
        raise InvalidTokenError("Consents are managed with the wallet's client_credentials token, not a user's token.")
    if "accounts" not in str(claims.get("scope", "")).split():
        raise InvalidTokenError("The access token lacks the 'accounts' scope.")
    await _check_sender(request, services, claims, scheme.lower(), token)
    return client_id


async def _check_sender(request: Request, services: Services, claims: dict[str, Any], scheme: str, token: str) -> None:
    cnf: dict[str, Any] = claims["cnf"] if isinstance(claims.get("cnf"), dict) else {}
    if cnf.get("jkt"):
        if scheme != "dpop":
            raise InvalidTokenError("A DPoP-bound access token must be sent with the DPoP scheme.")
        proofs = request.headers.getlist("dpop")
        if len(proofs) > 1:
            raise InvalidDPoPProofError("Exactly one DPoP header is allowed.", path="header.DPoP")
        proof = await verify_dpop_proof(
            proofs[0] if proofs else None,
            method=request.method,
            url=str(request.url),
            access_token=token,
            replay=services.replay,
            now=services.clock(),
        )
        if not hmac.compare_digest(proof.jkt, str(cnf["jkt"])):
            raise InvalidDPoPProofError("The DPoP proof is signed by a key the access token is not bound to.")
        return
    if cnf.get("x5t#S256"):
        peer = request.client.host if request.client else None
        cert = client_certificate(request.headers, peer, services.settings)
        if cert is None or not hmac.compare_digest(x5t_s256(cert), str(cnf["x5t#S256"])):
            raise InvalidTokenError("The access token is bound to a client certificate that was not presented.")
        return
    raise InvalidTokenError("The access token is not sender-constrained (no cnf claim).")


async def _default_purpose(services: Services, client_id: str) -> str:
    client = await ClientStore(services.engine).get(client_id)
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
