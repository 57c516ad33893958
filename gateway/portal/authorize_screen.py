"""Render the authorization screen: what the wallet asks for, in words a bank customer reads.

The screen shows the wallet's name and what it is, each data cluster with the permissions' plain
text, the purpose, who else the wallet passes the data on to (onward recipients), how long access
lasts (the days left counted from today's date), the transaction-history window (only when the
consent asks for data the window applies to: the operations published with ``date_window``), how
often the wallet may read while the user is away (the consent's daily frequency as the limiter
enforces it), the user's accounts as checkboxes (none ticked),
marketing as a separate unticked question, with Approve and Reject side by side and equally
prominent. Strings come from ``gateway.portal.catalogue`` (English or Simplified Chinese); the
page goes out through ``pages.render`` with the portal's strict headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from consent.model import Consent
from gateway.clock import utc
from gateway.oauth.clients import Client
from gateway.portal import consent_view
from gateway.portal.catalogue import Text, page_language
from gateway.portal.pages import PAGE_HEADERS, render
from gateway.services import Services


@dataclass(frozen=True, slots=True)
class ScreenContext:
    client: Client
    consent: Consent
    accounts: list[dict[str, Any]]
    request_uri: str
    csrf: str
    request: Request
    error: str = ""


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_EN = Text("en")
_CSP_SAFE = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'()*+,=%-]+")  # no spaces, quotes or semicolons


def _duration(consent: Consent, now: datetime, t: Text = _EN) -> str:
    """Until when, with the days left counted from today's date (``consent_view.days_left``)."""
    if consent.expires_at is None:
        return t("auth_forever")
    date, days = t.date(consent.expires_at), consent_view.days_left(consent.expires_at, now)
    if days <= 1:
        return t("auth_until_today" if days == 0 else "auth_until_tomorrow", date=date)
    return t("auth_until", date=date, days=days)


def _history(consent: Consent, t: Text = _EN) -> str:
    return consent_view.history_window(consent, t)


def _account(account: dict[str, Any]) -> dict[str, str]:
    ids = account.get("Account") or [{}]
    identification = str(ids[0].get("Identification", "")) if isinstance(ids, list) and ids else ""
    name = account.get("Nickname") or (ids[0].get("Name") if isinstance(ids, list) and ids else "") or "Account"
    subtype = _CAMEL.sub(" ", str(account.get("AccountSubType", ""))).capitalize()
    kind = " ".join(part for part in (subtype, str(account.get("Currency", ""))) if part)
    return {"id": str(account["AccountId"]), "name": str(name), "kind": kind, "ending": identification[-4:]}


def _switch_href(request: Request, t: Text) -> str:
    here = request.url.path + ("?" + request.url.query if request.url.query else "")
    return "/language?" + urlencode({"lang": t("switch_lang"), "next": here})


def _page(request: Request) -> dict[str, Any]:
    t = Text(page_language(request))
    return {"lang": t.lang, "t": t, "switch_href": _switch_href(request, t)}


def render_screen(services: Services, context: ScreenContext) -> HTMLResponse:
    page = _page(context.request)
    t: Text = page["t"]
    consent = context.consent
    purposes = consent_view.purposes(consent, services.policies, t.lang)
    opt_in = [p for p in purposes if _opt_in(services, p["id"])]
    wallet = context.client.client_name
    response = render(
        context.request,
        "authorize.html",
        page
        | {
            "wallet": wallet,
            "registered": t.date(context.client.created_at),
            "permissions": consent_view.shown_clusters(consent, services.policies, t.lang),
            "purposes": [p for p in purposes if p not in opt_in],
            "opt_in": opt_in,
            "opt_in_titles": ", ".join(p["title"] for p in opt_in),
            "recipients": consent_view.recipients(consent, t),
            "duration": _duration(consent, utc(services.clock), t),
            "history": _history(consent, t) if _has_window(services, consent) else "",
            "frequency": consent_view.daily_limit(consent, services.policies, t),
            "accounts": [_account(a) for a in context.accounts],
            "request_uri": context.request_uri,
            "csrf": context.csrf,
            "error": t("auth_choose_account") if context.error else "",  # the one error the screen is shown with
        },
    )
    response.headers["Content-Security-Policy"] = _policy_with_redirects(context.client)
    return response


def _policy_with_redirects(client: Client) -> str:
    """The portal's CSP, letting the decision form's redirect reach the wallet's registered redirect URIs.

    Browsers apply ``form-action`` to the redirect that follows a form post, so ``'self'`` alone
    would block the answer on its way back to the wallet.
    """
    targets = " ".join(uri for uri in client.redirect_uris if _CSP_SAFE.fullmatch(uri))
    policy = PAGE_HEADERS["Content-Security-Policy"]
    return policy.replace("form-action 'self'", f"form-action 'self' {targets}".rstrip())


def _has_window(services: Services, consent: Consent) -> bool:
    windowed = consent_view.live_windowed_permissions(services)
    return consent_view.has_history_window(consent, services.policies, windowed)


def _opt_in(services: Services, purpose_id: str) -> bool:
    purpose = services.policies.purposes.get(purpose_id)
    return bool(purpose and purpose.requires_explicit_opt_in)


def render_error_page(services: Services, message: str, *, status: int, request: Request) -> HTMLResponse:
    return render(request, "authorize.html", _page(request) | {"failure": message}, status=status)
