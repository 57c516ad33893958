"""The user-facing consent API (JSON): my consents, their events and access history, and my changes.

Authenticated as the user by the portal session cookie; every state change also needs the
session's CSRF token in ``x-csrf-token``. Another user's consent gets the same 404 as an
unknown id. Text follows ``Accept-Language`` (en, zh).

The consent list and the access history page by cursor, newest first: each page's ``next_cursor``
(null on the last) is passed back unchanged as ``cursor`` for the next, with the same filters, and a
consent created or a read made between two pages neither repeats one nor hides one. A filtered page
is full unless it is the last. A cursor this API did not give (malformed or altered) is a 400 naming
``query.cursor``; ``offset`` is refused on both.

    GET  /api/me/consents                    ?status=&wallet=&purpose=&limit=&cursor=  → {consents, next_cursor}
    GET  /api/me/consents/{id}               one consent, permissions grouped by data cluster in plain words
    GET  /api/me/consents/{id}/events        its hash-chained events
    GET  /api/me/consents/{id}/access        ?limit=&cursor=  which wallet read what, when → {access, next_cursor}
    GET  /api/me/consents/{id}/receipt       application/jwt, typ consent-receipt+jwt, signed by the gateway
    POST /api/me/consents/{id}/revoke|pause|resume   optional {"reason": "..."}
    POST /api/me/consents/{id}/amend         {"account_ids": [...], "permissions": [...]} (narrow only)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from consent.model import AccessPosition, Actor, ConsentPosition
from consent.sql import SqlConsentStore
from consent.user_api import (
    language,
    parse_amendment,
    receipt_claims,
    render_access,
    render_detail,
    render_event,
    render_summary,
)
from consent.wallet_api import load_json
from gateway import cursors
from gateway.errors import FieldMissingError, GatewayError, ServiceUnavailableError
from gateway.portal.csrf import check_csrf
from gateway.portal.sessions import current_user
from gateway.services import Services

BASE = "/api/me/consents"
RECEIPT_TYP = "consent-receipt+jwt"
CSRF_HEADER = "x-csrf-token"

# The keys of the cursors (gateway.cursors): an access record's row id, a consent's id (a UUID, lower case).
_ROW_ID = re.compile(r"[1-9][0-9]{0,18}")
_ROW_ID_MAX = 2**63 - 1  # the column is a BIGINT
_CONSENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_Position = TypeVar("_Position", AccessPosition, ConsentPosition)


class LoginRequiredError(GatewayError):
    """No logged-in user on this request: the session cookie is missing, unknown, expired or anonymous.

    401 with U006 Header.Invalid, the published code for a credential that travels in a header (the
    ``Cookie``), as for a refused access token.
    """

    status, code, message = 401, "UK.OBIE.Header.Invalid", "Log in to see your consents."


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def _store(request: Request) -> SqlConsentStore:
    store = _services(request).consents
    if store is None:
        raise ServiceUnavailableError("The consent store is not running.")
    return store


async def authenticate_user(request: Request) -> str:
    """The logged-in user's id (portal session), or 401. The one place this API checks who is asking."""
    user_id = await current_user(request)
    if not user_id:
        raise LoginRequiredError()
    return user_id


async def _changing_user(request: Request) -> str:
    user_id = await authenticate_user(request)
    await check_csrf(request, {"csrf_token": request.headers.get(CSRF_HEADER)})
    return user_id


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, {"Cache-Control": "no-store"}, "application/json")


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only ("²".isdigit() is true, but int() refuses it), and never more than int() reads.
    digits = raw.lstrip("0") or "0"
    value = int(digits) if raw.isascii() and raw.isdigit() and len(digits) <= len(str(high)) else None
    if value is None or not low <= value <= high:
        raise GatewayError(f"{name} must be a whole number from {low} to {high}.", path=f"query.{name}")
    return value


def _lang(request: Request) -> str:
    return language(request.headers.get("accept-language"))


async def list_consents(request: Request) -> Response:
    user_id = await authenticate_user(request)
    query = request.query_params
    limit, after = _int(request, "limit", 20, 1, 100), _after(request, "The consent list", decode_consent_cursor)
    page = await _store(request).list_for_user(
        user_id,
        status=query.get("status"),
        client_id=query.get("wallet"),
        purpose=query.get("purpose"),
        limit=limit,
        after=after,
    )
    policies, lang = _services(request).policies, _lang(request)
    following = encode_consent_cursor(page.next) if page.next is not None else None
    return _json({"consents": [render_summary(c, policies, lang) for c in page.items], "next_cursor": following})


async def get_consent(request: Request) -> Response:
    user_id = await authenticate_user(request)
    consent = await _store(request).get_for_user(request.path_params["consent_id"], user_id)
    return _json(render_detail(consent, _services(request).policies, _lang(request)))


async def consent_events(request: Request) -> Response:
    user_id = await authenticate_user(request)
    store = _store(request)
    consent = await store.get_for_user(request.path_params["consent_id"], user_id)
    return _json({"events": [render_event(e) for e in await store.events(consent.consent_id)]})


def encode_cursor(position: AccessPosition) -> str:
    """The opaque ``next_cursor`` for a page of the access history that ends at ``position``."""
    return cursors.encode(position.at, str(position.id))


def decode_cursor(raw: str) -> AccessPosition | None:
    """The position ``raw`` was made from by ``encode_cursor``, or None when no cursor this API gives reads
    as ``raw`` (see ``gateway.cursors.decode``; the row id is a positive BIGINT)."""
    found = cursors.decode(raw, _ROW_ID)
    return AccessPosition(found[0], int(found[1])) if found and int(found[1]) <= _ROW_ID_MAX else None


def encode_consent_cursor(position: ConsentPosition) -> str:
    """The opaque ``next_cursor`` for a page of the consent list that ends at ``position``."""
    return cursors.encode(position.created_at, position.consent_id)


def decode_consent_cursor(raw: str) -> ConsentPosition | None:
    """The position ``raw`` was made from by ``encode_consent_cursor``, or None when no cursor this API gives
    reads as ``raw`` (see ``gateway.cursors.decode``; the consent id is a lower-case UUID)."""
    found = cursors.decode(raw, _CONSENT_ID)
    return ConsentPosition(*found) if found else None


def _after(request: Request, listing: str, decode: Callable[[str], _Position | None]) -> _Position | None:
    """Where the requested page of ``listing`` starts: after the ``cursor`` parameter's position, or the
    newest when there is none; 400 naming ``query.offset`` or ``query.cursor`` for what this API refuses."""
    if "offset" in request.query_params:
        raise GatewayError(
            f"{listing} pages by cursor: pass the page's next_cursor as cursor, not an offset.",
            path="query.offset",
        )
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    position = decode(raw)
    if position is None:
        raise GatewayError(
            "cursor is not one this API gave: pass the next_cursor of the page before, unchanged.",
            path="query.cursor",
        )
    return position


async def consent_access(request: Request) -> Response:
    user_id = await authenticate_user(request)
    store = _store(request)
    consent = await store.get_for_user(request.path_params["consent_id"], user_id)
    limit, after = _int(request, "limit", 50, 1, 500), _after(request, "The access history", decode_cursor)
    page = await store.access_history(consent_id=consent.consent_id, limit=limit, after=after)
    following = encode_cursor(page.next) if page.next is not None else None
    return _json({"access": [render_access(r) for r in page], "next_cursor": following})


async def _reason(request: Request) -> str:
    body = await request.body()
    if not body:
        return ""
    doc = load_json(body)
    reason = doc.get("reason", "") if isinstance(doc, dict) else ""
    return reason[:500] if isinstance(reason, str) else ""


def _changer(action: str) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for one of the user's own changes: revoke, pause or resume."""

    async def endpoint(request: Request) -> Response:
        user_id = await _changing_user(request)
        store = _store(request)
        change = {"revoke": store.revoke, "pause": store.pause, "resume": store.resume}[action]
        consent = await change(
            request.path_params["consent_id"], actor=Actor.USER, actor_id=user_id, reason=await _reason(request)
        )
        return _json(render_detail(consent, _services(request).policies, _lang(request)))

    endpoint.__name__ = f"{action}_consent"
    return endpoint


async def amend_consent(request: Request) -> Response:
    user_id = await _changing_user(request)
    body = await request.body()
    if not body:
        raise FieldMissingError("The amendment body is required.", path="body")
    doc = load_json(body)
    account_ids, permissions = parse_amendment(doc)
    consent = await _store(request).amend(
        request.path_params["consent_id"],
        actor=Actor.USER,
        actor_id=user_id,
        account_ids=account_ids,
        permissions=permissions,
        reason=str(doc.get("reason", ""))[:500],
    )
    return _json(render_detail(consent, _services(request).policies, _lang(request)))


async def consent_receipt(request: Request) -> Response:
    """A JWS (typ consent-receipt+jwt) of the consent as it stands, signed with the gateway's key."""
    user_id = await authenticate_user(request)
    services, store = _services(request), _store(request)
    consent = await store.get_for_user(request.path_params["consent_id"], user_id)
    claims = receipt_claims(
        consent, await store.events(consent.consent_id), issuer=services.settings.issuer_url, now=services.clock()
    )
    token = services.keys.sign(claims, typ=RECEIPT_TYP)
    return Response(token, 200, {"Cache-Control": "no-store"}, "application/jwt")


def routes() -> list[BaseRoute]:
    item = BASE + "/{consent_id}"
    return [
        Route(BASE, list_consents, methods=["GET"]),
        Route(item, get_consent, methods=["GET"]),
        Route(item + "/events", consent_events, methods=["GET"]),
        Route(item + "/access", consent_access, methods=["GET"]),
        Route(item + "/receipt", consent_receipt, methods=["GET"]),
        Route(item + "/amend", amend_consent, methods=["POST"]),
        *(Route(f"{item}/{action}", _changer(action), methods=["POST"]) for action in ("revoke", "pause", "resume")),
    ]
