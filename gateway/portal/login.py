"""The login and logout pages: the built-in user store, or a hand-over to the bank's own login.

``GET /login?next=/path`` shows the form (or, when ``settings.login_url`` is set, redirects to
the bank with a login challenge, see ``gateway.oauth.login_delegation``). ``next`` is only ever
a local path, so the page cannot be used as an open redirect. Wrong passwords, throttling and
expired forms are explained on the page, never as a bare error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.client_address import request_client_address
from gateway.oauth.login_delegation import start_delegated_login
from gateway.oauth.users import InvalidCredentialsError, LoginThrottledError, LoginUnavailableError
from gateway.portal.csrf import CsrfError, check_csrf, csrf_token
from gateway.portal.login_text import TEXT, page_language, text
from gateway.portal.pages import redirect, render
from gateway.portal.sessions import current_user, end_session, start_session

if TYPE_CHECKING:
    from gateway.services import Services

DEFAULT_NEXT = "/"
_MAX_NEXT = 4000


def safe_next(value: object, default: str = DEFAULT_NEXT) -> str:
    """``value`` when it is a path on this site; ``default`` for anything that could leave it."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > _MAX_NEXT:
        return default
    if value.startswith("//") or "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


async def _form(
    request: Request,
    next_path: str,
    lang: str,
    *,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    **kw: Any,
) -> Response:
    context = {
        "csrf_token": await csrf_token(request),
        "next": next_path,
        "username": username,
        "error": error,
        "lang": lang,
        "t": TEXT[lang],
    }
    return render(request, "login.html", context, status=status, **kw)


def _error_page(request: Request, status: int, lang: str, title: str, message: str, next_path: str) -> Response:
    context = {
        "lang": lang,
        "title": text(lang, title),
        "message": text(lang, message),
        "link": f"/login?{urlencode({'next': next_path, 'lang': lang})}",
        "link_text": text(lang, "log_in_again"),
    }
    return render(request, "error.html", context, status=status)


async def login_page(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if await current_user(request) is not None:
        return redirect(request, next_path)
    if _services(request).settings.login_url:
        return await start_delegated_login(request, next_path)
    return await _form(request, next_path, page_language(request))


async def _fields(request: Request) -> dict[str, str]:
    async with request.form(max_files=0, max_fields=10) as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


async def login_submit(request: Request) -> Response:
    services = _services(request)
    fields = await _fields(request)
    next_path, lang = safe_next(fields.get("next")), page_language(request, fields.get("lang"))
    if services.settings.login_url:
        return _error_page(request, 400, lang, "delegated_title", "delegated_only", next_path)
    try:
        await check_csrf(request, fields)
    except CsrfError:
        return _error_page(request, 403, lang, "retry_title", "form_expired", next_path)
    username = fields.get("username", "")[:200]
    try:
        address = request_client_address(request, services.settings)  # the browser's, not our proxy's
        user_id = await services.users.authenticate(username, fields.get("password", ""), address)
    except InvalidCredentialsError:
        error = text(lang, "wrong_credentials")
        return await _form(request, next_path, lang, username=username, error=error, status=401)
    except LoginThrottledError as exc:
        error = text(lang, "throttled", minutes=math.ceil(exc.retry_after / 60))
        return await _form(request, next_path, lang, username=username, error=error, status=429, headers=exc.headers)
    except LoginUnavailableError as exc:
        error = text(lang, "unavailable")
        return await _form(request, next_path, lang, username=username, error=error, status=503, headers=exc.headers)
    response = redirect(request, next_path)
    await start_session(request, response, user_id)
    return response


async def logout(request: Request) -> Response:
    fields = await _fields(request)
    lang = page_language(request, fields.get("lang"))
    try:
        await check_csrf(request, fields)
    except CsrfError:
        return _error_page(request, 403, lang, "retry_title", "logout_expired", DEFAULT_NEXT)
    response = redirect(request, "/login")
    await end_session(request, response)
    return response


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
