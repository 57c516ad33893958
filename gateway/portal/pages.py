"""How every portal page is sent: Jinja2 with autoescape on, and the same safety headers.

``render`` and ``redirect`` are what page handlers return; both add ``PAGE_HEADERS`` (a strict
Content-Security-Policy with no inline script or style, no framing, no referrer, no caching)
and the cookie of a session created while handling the request. Other page authors add their
templates next to ``base.html`` and extend it; ``base.html`` reads ``lang`` (default ``en``) and,
when ``session_user`` and ``csrf_token`` are given, shows a logout button (``logout_label``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.portal.csrf import csrf_token
from gateway.portal.login_text import page_language
from gateway.portal.sessions import apply_session_cookie, current_user

TEMPLATES = Path(__file__).resolve().parent / "templates"

PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


async def base_context(request: Request) -> dict[str, Any]:
    """What ``base.html`` reads: ``lang``, and for a logged-in user ``session_user`` and ``csrf_token``."""
    context: dict[str, Any] = {"lang": page_language(request)}
    user = await current_user(request)
    if user is not None:
        context |= {"session_user": user, "csrf_token": await csrf_token(request)}
    return context


def add_page_headers(response: Response) -> Response:
    """Put the portal's safety headers on ``response`` (for pages not sent through ``render``)."""
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
    return response


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = templates.get_template(template).render({"request_path": request.url.path, **(context or {})})
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    apply_session_cookie(request, response)
    add_page_headers(response)
    return response


def redirect(request: Request, location: str, *, status: int = 303) -> RedirectResponse:
    response = RedirectResponse(location, status_code=status)
    apply_session_cookie(request, response)
    add_page_headers(response)
    return response
