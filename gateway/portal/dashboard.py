"""The consent dashboard and consent detail pages: what each wallet can see, and what it read.

``GET /dashboard`` lists the logged-in user's consents grouped by wallet, filtered by the plain
GET form's ``status`` and ``wallet``. ``GET /dashboard/consents/{id}`` shows one consent, its
event history, its access history (the gateway's audit records) and the forms that change it
(``gateway.portal.consent_actions``). A visitor who is not logged in is sent to
``/login?next=…``; another user's consent id gets the same 404 page as an unknown one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from consent.errors import ConsentNotFoundError
from consent.model import Consent, ConsentStatus
from consent.sql import SqlConsentStore
from consent.user_api import receipt_claims
from gateway.portal import consent_view
from gateway.portal.catalogue import Text, page_language
from gateway.portal.pages import add_page_headers, base_context, redirect, render
from gateway.portal.sessions import current_user

if TYPE_CHECKING:
    from gateway.services import Services

RECEIPT_TYP = "consent-receipt+jwt"
ACCESS_SHOWN = 50  # newest audit records on the detail page
_LIST_LIMIT = 200  # a user holds few consents; the filters run on this page
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9-]")
# The notice of a change (``?done=`` after the redirect) and the states it can be true in: a link
# (from the wallet, say) claiming "access is stopped" must not say so while the consent is active.
DONE: dict[str, frozenset[ConsentStatus]] = {
    "paused": frozenset({ConsentStatus.PAUSED}),
    "resumed": frozenset({ConsentStatus.AUTHORISED}),
    "amended": consent_view.CHANGEABLE,
    "revoked": frozenset({ConsentStatus.REVOKED}),
}


class LoginRequired(Exception):  # noqa: N818 - control flow, not an error shown to anyone
    """The visitor must log in first; carries the page to come back to."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def services_of(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def store_of(request: Request) -> SqlConsentStore | None:
    return services_of(request).consents


async def require_user(request: Request) -> str:
    user_id = await current_user(request)
    if not user_id:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        raise LoginRequired(target)
    return user_id


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    return redirect(request, "/login?next=" + quote(exc.next_path, safe=""))


async def page_context(request: Request, lang: str | None = None) -> dict[str, Any]:
    """base.html's context in the page's language, with ``t`` and the language switch's link."""
    chosen = page_language(request, lang)
    t = Text(chosen)
    query = {k: v for k, v in request.query_params.items() if k != "lang"} | {"lang": t("switch_lang")}
    context = await base_context(request)
    return context | {"lang": chosen, "t": t, "logout_label": t("log_out"), "switch_href": "?" + urlencode(query)}


def error_page(request: Request, context: dict[str, Any], key: str, status: int) -> Response:
    t: Text = context["t"]
    page = context | {"title": t(f"{key}_title"), "message": t(key), "link": "/dashboard", "link_text": t("back")}
    return render(request, "consent_error.html", page, status=status)


async def wallet_names(services: Services, consents: list[Consent]) -> dict[str, str]:
    names: dict[str, str] = {}
    for client_id in dict.fromkeys(c.client_id for c in consents):
        client = await services.clients.get(client_id)
        names[client_id] = client.client_name if client is not None else client_id
    return names


async def consent_summary(request: Request, consent: Consent, names: dict[str, str], t: Text) -> dict[str, Any]:
    services = services_of(request)
    store = cast(SqlConsentStore, services.consents)
    last = await store.access_history(consent_id=consent.consent_id, limit=1)
    wallet = names.get(consent.client_id, consent.client_id)
    return consent_view.summary(
        consent,
        services.policies,
        t,
        wallet=wallet,
        last_access=last[0] if last else None,
        windowed=consent_view.live_windowed_permissions(services),
    )


async def dashboard_page(request: Request) -> Response:
    try:
        user_id = await require_user(request)
    except LoginRequired as exc:
        return login_redirect(request, exc)
    context = await page_context(request)
    store = store_of(request)
    if store is None:
        return error_page(request, context, "unavailable", 503)
    everything = list((await store.list_for_user(user_id, limit=_LIST_LIMIT)).items)
    names = await wallet_names(services_of(request), everything)
    status = request.query_params.get("status", "")
    status = status if status in consent_view.STATUSES else ""
    wallet = request.query_params.get("wallet", "")
    wallet = wallet if wallet in names else ""
    shown = [
        c for c in everything if (not status or c.status.value == status) and (not wallet or c.client_id == wallet)
    ]
    t: Text = context["t"]
    items = [await consent_summary(request, c, names, t) for c in shown]
    page = context | {
        "groups": consent_view.group_by_wallet(items),
        "has_any": bool(everything),
        "statuses": consent_view.STATUSES,
        "wallets": sorted(names.items(), key=lambda kv: kv[1].lower()),
        "status": status,
        "wallet": wallet,
    }
    return render(request, "dashboard.html", page)


async def detail_context(request: Request, consent: Consent, context: dict[str, Any]) -> dict[str, Any]:
    services = services_of(request)
    store = cast(SqlConsentStore, services.consents)
    t: Text = context["t"]
    names = await wallet_names(services, [consent])
    item = await consent_summary(request, consent, names, t)
    events = await store.events(consent.consent_id)
    records = await store.access_history(consent_id=consent.consent_id, limit=ACCESS_SHOWN)
    done = request.query_params.get("done", "")
    return context | {
        "c": item,
        "events": [consent_view.event(e, t) for e in reversed(events)],
        "access": [consent_view.access(r, t) for r in records],
        "done": t(f"done_{done}") if consent.status in DONE.get(done, ()) else "",
        "problem": "",
        "base": f"/dashboard/consents/{quote(consent.consent_id, safe='')}",
    }


async def own_consent(request: Request) -> Consent | Response:
    """The logged-in user's consent named in the path, or the page to answer with instead.

    That page is the login redirect, a 503 when there is no store, or the same 404 for another
    user's consent as for an unknown id (no oracle).
    """
    try:
        user_id = await require_user(request)
    except LoginRequired as exc:
        return login_redirect(request, exc)
    store = store_of(request)
    if store is None:
        return error_page(request, await page_context(request), "unavailable", 503)
    try:
        return await store.get_for_user(request.path_params["consent_id"], user_id)
    except ConsentNotFoundError:
        return error_page(request, await page_context(request), "not_found", 404)


async def consent_page(request: Request, template: str) -> Response:
    """A page about one of the user's consents (detail, revoke confirmation)."""
    consent = await own_consent(request)
    if isinstance(consent, Response):
        return consent
    return render(request, template, await detail_context(request, consent, await page_context(request)))


async def detail_page(request: Request) -> Response:
    return await consent_page(request, "consent_detail.html")


async def receipt_download(request: Request) -> Response:
    """The consent as it stands, signed by the gateway (typ consent-receipt+jwt), as a file download."""
    consent = await own_consent(request)
    if isinstance(consent, Response):
        return consent
    services = services_of(request)
    store = cast("SqlConsentStore", store_of(request))  # own_consent answered 503 when there is none
    events = await store.events(consent.consent_id)
    claims = receipt_claims(consent, events, issuer=services.settings.issuer_url, now=services.clock())
    name = _UNSAFE_NAME.sub("", consent.consent_id)[:64]
    response = Response(services.keys.sign(claims, typ=RECEIPT_TYP), 200, media_type="application/jwt")
    response.headers["Content-Disposition"] = f'attachment; filename="consent-receipt-{name}.jwt"'
    return add_page_headers(response)
