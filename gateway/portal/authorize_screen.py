"""Render the authorization screen: what the wallet asks for, in words a bank customer reads.

The screen shows the wallet's name, each data cluster with the permissions' plain text, the
purpose, how long access lasts, the transaction-history window and the user's accounts as
checkboxes (none ticked), with Approve and Reject side by side and equally prominent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from consent.model import Consent
from gateway.clock import utc
from gateway.oauth.clients import Client
from gateway.services import Services

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True, slots=True)
class ScreenContext:
    client: Client
    consent: Consent
    accounts: list[dict[str, Any]]
    request_uri: str
    csrf: str
    error: str = ""


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _date(value: datetime) -> str:
    return value.strftime("%-d %B %Y")


def _duration(consent: Consent, now: datetime) -> str:
    if consent.expires_at is None:
        return "Until you withdraw it"
    days = max(0, (consent.expires_at - now).days)
    return f"Until {_date(consent.expires_at)} ({days} days), unless you withdraw it sooner"


def _history(consent: Consent) -> str:
    start, end = consent.transaction_from, consent.transaction_to
    if start is None and end is None:
        return "All the history your bank holds"
    if start is None:
        return f"Up to {_date(end)}" if end else ""
    return f"From {_date(start)} to {_date(end)}" if end else f"From {_date(start)} onwards"


def _permissions(services: Services, consent: Consent) -> list[dict[str, Any]]:
    catalogue = services.policies.permissions
    codes = catalogue.expand(consent.permissions)
    groups = []
    for cluster in catalogue.clusters_of(codes):
        items = [
            p.text.get("en", p.code)
            for p in catalogue.permissions.values()
            if p.cluster == cluster.id and p.code in codes
        ]
        groups.append(
            {
                "title": cluster.title.get("en", cluster.id),
                "description": cluster.description.get("en", ""),
                "lines": items,
            }
        )
    return groups


def _purposes(services: Services, consent: Consent) -> list[dict[str, Any]]:
    shown = []
    for pid in consent.purposes:
        purpose = services.policies.purposes.get(pid)
        title = purpose.title.get("en", pid) if purpose else pid
        text = purpose.text.get("en", "") if purpose else ""
        shown.append({"title": title, "text": text, "opt_in": bool(purpose and purpose.requires_explicit_opt_in)})
    return shown


def _account(account: dict[str, Any]) -> dict[str, str]:
    ids = account.get("Account") or [{}]
    identification = str(ids[0].get("Identification", "")) if isinstance(ids, list) and ids else ""
    name = account.get("Nickname") or (ids[0].get("Name") if isinstance(ids, list) and ids else "") or "Account"
    subtype = _CAMEL.sub(" ", str(account.get("AccountSubType", ""))).capitalize()
    kind = " ".join(part for part in (subtype, str(account.get("Currency", ""))) if part)
    return {"id": str(account["AccountId"]), "name": str(name), "kind": kind, "ending": identification[-4:]}


def render_screen(services: Services, context: ScreenContext) -> HTMLResponse:
    now = utc(services.clock)
    purposes = _purposes(services, context.consent)
    html = _TEMPLATES.get_template("authorize.html").render(
        wallet=context.client.client_name,
        permissions=_permissions(services, context.consent),
        purposes=purposes,
        opt_in=[p for p in purposes if p["opt_in"]],
        duration=_duration(context.consent, now),
        history=_history(context.consent),
        accounts=[_account(a) for a in context.accounts],
        request_uri=context.request_uri,
        csrf=context.csrf,
        error=context.error,
    )
    return HTMLResponse(html, headers=_HEADERS)


def render_error_page(services: Services, message: str, *, status: int) -> HTMLResponse:
    html = _TEMPLATES.get_template("authorize.html").render(failure=message)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)
