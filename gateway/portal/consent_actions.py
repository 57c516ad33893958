"""The dashboard's changes to a consent: pause, resume, narrow, and revoke after a confirmation page.

Every change is a POST form carrying the session's CSRF token; a form without it gets a 403
page and changes nothing. After a change the browser is sent (303) to the detail page, which
shows the new state. A change the consent's rules refuse (e.g. narrowing to nothing) shows the
detail page again with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from consent.errors import ConsentError, ConsentNotFoundError
from consent.model import Actor, Consent
from consent.sql import SqlConsentStore
from gateway.portal import consent_view
from gateway.portal.catalogue import Text
from gateway.portal.csrf import CsrfError, check_csrf
from gateway.portal.dashboard import (
    LoginRequired,
    consent_page,
    detail_context,
    error_page,
    login_redirect,
    page_context,
    require_user,
    services_of,
    store_of,
)
from gateway.portal.pages import redirect, render

_MAX_FIELDS = 200

Change = Callable[[Request, SqlConsentStore, Consent, str, dict[str, list[str]]], Awaitable[Consent]]


async def _form(request: Request) -> dict[str, list[str]]:
    async with request.form(max_files=0, max_fields=_MAX_FIELDS) as form:
        fields: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
        return fields


def _one(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[0]


def _detail_url(consent: Consent, lang: str, done: str | None = None) -> str:
    query = {"lang": lang} | ({"done": done} if done else {})
    return f"/dashboard/consents/{quote(consent.consent_id, safe='')}?{urlencode(query)}"


async def _guarded(request: Request, change: Change, done: str) -> Response:
    """Log-in, CSRF and ownership checks shared by every change, then ``change`` and the redirect."""
    try:
        user_id = await require_user(request)
    except LoginRequired as exc:
        return login_redirect(request, exc)
    fields = await _form(request)
    context = await page_context(request, _one(fields, "lang") or None)
    store = store_of(request)
    if store is None:
        return error_page(request, context, "unavailable", 503)
    try:
        await check_csrf(request, {"csrf_token": _one(fields, "csrf_token")})
    except CsrfError:
        return error_page(request, context, "form_expired", 403)
    try:
        consent = await store.get_for_user(request.path_params["consent_id"], user_id)
    except ConsentNotFoundError:
        return error_page(request, context, "not_found", 404)
    try:
        changed = await change(request, store, consent, user_id, fields)
    except ConsentError as exc:
        page = await detail_context(request, consent, context)
        t: Text = context["t"]
        return render(request, "consent_detail.html", page | {"problem": t("problem", message=exc.message)}, status=400)
    return redirect(request, _detail_url(changed, context["lang"], done))


async def pause(request: Request, store: SqlConsentStore, c: Consent, user: str, f: dict[str, list[str]]) -> Consent:
    return await store.pause(c.consent_id, actor=Actor.USER, actor_id=user, reason="paused on the dashboard")


async def resume(request: Request, store: SqlConsentStore, c: Consent, user: str, f: dict[str, list[str]]) -> Consent:
    return await store.resume(c.consent_id, actor=Actor.USER, actor_id=user, reason="resumed on the dashboard")


async def revoke(request: Request, store: SqlConsentStore, c: Consent, user: str, f: dict[str, list[str]]) -> Consent:
    return await store.revoke(c.consent_id, actor=Actor.USER, actor_id=user, reason="stopped on the dashboard")


async def amend(request: Request, store: SqlConsentStore, c: Consent, user: str, f: dict[str, list[str]]) -> Consent:
    """Keep the ticked accounts and the permissions of the ticked data clusters."""
    policies = services_of(request).policies
    kept_clusters = set(f.get("cluster", []))
    permissions = [
        code for cl in consent_view.clusters(c, policies, "en") if cl.id in kept_clusters for code in cl.codes
    ]
    return await store.amend(
        c.consent_id,
        actor=Actor.USER,
        actor_id=user,
        account_ids=f.get("account_id", []),
        permissions=permissions,
        reason="narrowed on the dashboard",
    )


def action(change: Change, done: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await _guarded(request, change, done)

    endpoint.__name__ = f"{done}_consent"
    return endpoint


async def revoke_confirmation(request: Request) -> Response:
    """The consequences of stopping access, and the confirming form (GET changes nothing)."""
    return await consent_page(request, "consent_revoke.html")
