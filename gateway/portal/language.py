"""``GET /language?lang=zh&next=/path``: the page's language switch where a ``?lang=`` cannot travel.

The authorization screen accepts only ``client_id`` and ``request_uri``, so its switch stores the
choice in the ``wg_lang`` cookie (read by ``catalogue.page_language``) and returns to ``next``,
which is only ever a path on this site.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from consent.user_api import LANGUAGES
from gateway.portal.catalogue import LANG_COOKIE
from gateway.portal.login import safe_next
from gateway.portal.pages import redirect
from gateway.portal.sessions import set_cookie

LANG_COOKIE_AGE = 365 * 24 * 3600


async def choose_language(request: Request) -> Response:
    response = redirect(request, safe_next(request.query_params.get("next"), "/dashboard"))
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        set_cookie(response, request.app.state.services.settings, LANG_COOKIE, str(chosen), LANG_COOKIE_AGE)
    return response
