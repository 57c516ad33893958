"""Delegated login, as Ory Hydra does it: the bank logs its customer in, the gateway trusts its word.

1. ``/login`` (with ``settings.login_url`` set) stores a challenge and redirects the browser to
   ``login_url?login_challenge=…``; a cookie binds the challenge to that browser.
2. The bank authenticates its customer and calls ``PUT /admin/login/{challenge}/accept`` with
   ``{"subject": user_id}`` (or ``/reject``), authenticated with ``settings.admin_token``. The
   answer's ``redirect_to`` carries a one-time verifier.
3. The bank sends the browser to ``redirect_to`` (``/login/callback``); the challenge is used
   up, the session starts, and the browser continues to the original ``next`` path.

Challenges live ``CHALLENGE_TTL`` seconds, are settled once and consumed once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.clock import Clock, system_clock
from gateway.errors import GatewayError, ResourceInvalidFormatError, ResourceNotFoundError
from gateway.oauth.store import digest
from gateway.oauth.tables_identity import login_challenges
from gateway.portal.login_text import page_language, text
from gateway.portal.pages import redirect, render
from gateway.portal.sessions import clear_cookie, secure_cookies, set_cookie, start_session
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.services import Services

CHALLENGE_TTL = 600  # seconds from /login to the callback
_MAX_SUBJECT = 64
_MAX_BODY = 8 * 1024


class AdminUnauthorizedError(GatewayError):
    """The admin API needs ``Authorization: Bearer <admin token>`` (RFC 6750 §3: 401, WWW-Authenticate)."""

    status, code, message = 401, "UK.OBIE.Header.Invalid", "The admin token is missing or wrong."
    oauth_error = "invalid_token"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("path", "Authorization")
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="walletgate-admin"')


class LoginChallengeNotFoundError(ResourceNotFoundError):
    message = "No such login challenge, or it has expired."


class LoginChallengeSettledError(GatewayError):
    """The challenge was already accepted or rejected (each is settled once)."""

    status, code, message = 409, "UK.OBIE.Field.Invalid", "The login challenge has already been settled."


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    challenge: str
    next_path: str
    state: str  # pending | accepted | rejected | used
    subject: str | None
    error: str | None
    created_at: float
    expires_at: float


class LoginChallengeStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.clock = clock

    async def create(self, next_path: str) -> tuple[str, str]:
        """A new pending challenge; returns (challenge, browser binding value for the cookie)."""
        challenge, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(login_challenges).values(
                    challenge=challenge,
                    next_path=next_path,
                    created_at=now,
                    expires_at=now + CHALLENGE_TTL,
                    state="pending",
                    binding_hash=digest(binding),
                )
            )
        return challenge, binding

    async def get(self, challenge: str) -> LoginChallenge | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(login_challenges).where(login_challenges.c.challenge == challenge))
            ).first()
        if row is None or row.expires_at <= self.clock():
            return None
        return LoginChallenge(
            row.challenge, row.next_path, row.state, row.subject, row.error, row.created_at, row.expires_at
        )

    async def settle(self, challenge: str, *, subject: str | None = None, error: str | None = None) -> str:
        """Accept (``subject``) or reject (``error``) a pending challenge; returns the one-time verifier."""
        verifier = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(login_challenges)
                .where(
                    login_challenges.c.challenge == challenge,
                    login_challenges.c.state == "pending",
                    login_challenges.c.expires_at > self.clock(),
                )
                .values(
                    state="accepted" if subject is not None else "rejected",
                    subject=subject,
                    error=error,
                    verifier_hash=digest(verifier),
                )
            )
        if result.rowcount != 1:
            if await self.get(challenge) is None:
                raise LoginChallengeNotFoundError(path="challenge")
            raise LoginChallengeSettledError(path="challenge")
        return verifier

    async def consume(self, challenge: str, verifier: str, binding: str) -> LoginChallenge | None:
        """Use a settled challenge up, once, from the browser that started it; ``None`` if not allowed."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(login_challenges)
                .where(
                    login_challenges.c.challenge == challenge,
                    login_challenges.c.state.in_(("accepted", "rejected")),
                    login_challenges.c.verifier_hash == digest(verifier),
                    login_challenges.c.binding_hash == digest(binding),
                    login_challenges.c.expires_at > self.clock(),
                )
                .values(state="used")
            )
            if result.rowcount != 1:
                return None
            row = (await conn.execute(select(login_challenges).where(login_challenges.c.challenge == challenge))).one()
        state = "accepted" if row.subject is not None else "rejected"
        return LoginChallenge(
            row.challenge, row.next_path, state, row.subject, row.error, row.created_at, row.expires_at
        )


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def binding_cookie_name(settings: Settings) -> str:
    return "__Host-wg_login" if secure_cookies(settings) else "wg_login"


async def start_delegated_login(request: Request, next_path: str) -> Response:
    """Store a challenge for ``next_path`` and send the browser to the bank's login page."""
    services = _services(request)
    challenge, binding = await services.login_challenges.create(next_path)
    parts = urlsplit(services.settings.login_url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("login_challenge", challenge)])
    response = redirect(request, urlunsplit(parts._replace(query=query)))
    set_cookie(response, services.settings, binding_cookie_name(services.settings), binding, CHALLENGE_TTL)
    return response


def require_admin(request: Request) -> None:
    """Refuse the call unless it carries ``Authorization: Bearer <settings.admin_token>``."""
    expected = str(_services(request).settings.admin_token)
    if not expected:
        raise AdminUnauthorizedError("The admin API is disabled: no admin token is configured.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise AdminUnauthorizedError()


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise GatewayError(f"the body is larger than {_MAX_BODY} bytes")
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise ResourceInvalidFormatError("the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ResourceInvalidFormatError("the body must be a JSON object")
    return doc


def _callback_url(request: Request, challenge: str, verifier: str) -> str:
    query = urlencode({"login_challenge": challenge, "login_verifier": verifier})
    return f"{_services(request).settings.issuer_url}/login/callback?{query}"


async def read_challenge(request: Request) -> Response:
    require_admin(request)
    found = await _services(request).login_challenges.get(request.path_params["challenge"])
    if found is None:
        raise LoginChallengeNotFoundError(path="challenge")
    body = {"challenge": found.challenge, "state": found.state, "requested_at": found.created_at}
    return JSONResponse(body | {"expires_at": found.expires_at}, headers={"Cache-Control": "no-store"})


async def accept_login(request: Request) -> Response:
    """``PUT /admin/login/{challenge}/accept`` with ``{"subject": user_id}``."""
    require_admin(request)
    subject = (await _json(request)).get("subject")
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT or not subject.isprintable():
        raise GatewayError(f"subject must be a user id of 1 to {_MAX_SUBJECT} printable characters", path="subject")
    challenge = request.path_params["challenge"]
    verifier = await _services(request).login_challenges.settle(challenge, subject=subject)
    return JSONResponse(
        {"redirect_to": _callback_url(request, challenge, verifier)}, headers={"Cache-Control": "no-store"}
    )


async def reject_login(request: Request) -> Response:
    """``PUT /admin/login/{challenge}/reject`` with an optional ``{"error_description": …}``."""
    require_admin(request)
    doc = await _json(request)
    description = doc.get("error_description") or doc.get("error") or "The bank did not log you in."
    if not isinstance(description, str):
        raise GatewayError("error_description must be a string", path="error_description")
    challenge = request.path_params["challenge"]
    verifier = await _services(request).login_challenges.settle(challenge, error=" ".join(description.split())[:300])
    return JSONResponse(
        {"redirect_to": _callback_url(request, challenge, verifier)}, headers={"Cache-Control": "no-store"}
    )


async def login_callback(request: Request) -> Response:
    """Where the bank sends the browser back: finish the login, or explain why it did not happen."""
    services = _services(request)
    cookie = binding_cookie_name(services.settings)
    found = await services.login_challenges.consume(
        request.query_params.get("login_challenge", ""),
        request.query_params.get("login_verifier", ""),
        request.cookies.get(cookie, ""),
    )
    lang = page_language(request)
    if found is None:
        context = {
            "lang": lang,
            "title": text(lang, "not_completed_title"),
            "message": text(lang, "not_completed"),
            "link": "/login",
            "link_text": text(lang, "start_again"),
        }
        return render(request, "error.html", context, status=400)
    if found.subject is None:
        context = {
            "lang": lang,
            "title": text(lang, "refused_title"),
            "message": text(lang, "refused", reason=found.error),
            "link": f"/login?{urlencode({'next': found.next_path})}",
            "link_text": text(lang, "try_again"),
        }
        response: Response = render(request, "error.html", context, status=403)
    else:
        response = redirect(request, found.next_path)
        await start_session(request, response, found.subject)
    clear_cookie(response, services.settings, cookie)
    return response


def routes() -> list[Route]:
    return [
        Route("/login/callback", login_callback, methods=["GET"]),
        Route("/admin/login/{challenge}", read_challenge, methods=["GET"]),
        Route("/admin/login/{challenge}/accept", accept_login, methods=["PUT"]),
        Route("/admin/login/{challenge}/reject", reject_login, methods=["PUT"]),
    ]
