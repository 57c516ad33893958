"""CSRF protection for every portal form: a per-session token, checked on each POST.

The token lives in the server-side session (``gateway.portal.sessions``) and is sent back in
the form field ``csrf_token``. A browser that sends an ``Origin`` header must also send this
site's own origin (or ``null``, which Chromium sends under ``Referrer-Policy: no-referrer``).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from gateway.errors import GatewayError
from gateway.portal.sessions import ensure_session, load_session

FIELD = "csrf_token"


class CsrfError(GatewayError):
    """The form did not carry this session's CSRF token (or came from another origin)."""

    status, code, message = 403, "UK.OBIE.Field.Invalid", "The form has expired or did not come from this site."


async def csrf_token(request: Request) -> str:
    """The session's CSRF token for a form, creating an anonymous session when needed."""
    return (await ensure_session(request)).csrf_token


async def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse the POST unless ``form[FIELD]`` equals the session's token and the origin is ours."""
    origin = request.headers.get("origin")
    # Under Referrer-Policy: no-referrer, Chromium sends "Origin: null" on same-site form posts; the token decides.
    if origin is not None and origin != "null" and origin not in _own_origins(request):
        raise CsrfError("The form was sent from another site.", path="Origin")
    sent = form.get(FIELD)
    session = await load_session(request)
    if session is None or not isinstance(sent, str) or not _same(sent, session.csrf_token):
        raise CsrfError(path=FIELD)


def _same(sent: str, token: str) -> bool:
    """Constant-time comparison of bytes: ``compare_digest`` raises on a ``str`` holding non-ASCII text."""
    return hmac.compare_digest(sent.encode(), token.encode())


def _own_origins(request: Request) -> tuple[str, str]:
    """The issuer's origin (as browsers see it behind a proxy) and the origin this request reached."""
    issuer = urlsplit(request.app.state.services.settings.issuer_url)
    return f"{issuer.scheme}://{issuer.netloc}", f"{request.url.scheme}://{request.url.netloc}"
