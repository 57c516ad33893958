"""Server-side portal sessions behind a secure, HttpOnly, SameSite=Lax cookie.

The cookie holds 256 random bits; the database keeps only their SHA-256, the user id (or
none for an anonymous session that only carries a CSRF token, e.g. on the login form) and the
session's CSRF token. Any replica can read any session. Logging in always issues a new id
(no session fixation); logging out deletes the row.

The cookie is ``__Host-wg_session`` with ``Secure`` whenever the browser can keep it: an https
issuer, or a loopback host (browsers treat http://127.0.0.1 and http://localhost as secure).
Only demo mode on plain http elsewhere falls back to ``wg_session`` without ``Secure``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from gateway.clock import Clock, system_clock
from gateway.oauth.tables_identity import sessions as sessions_table
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.services import Services

USER_SESSION_TTL = 8 * 3600  # seconds a login lasts
ANONYMOUS_SESSION_TTL = 3600  # seconds a login form stays usable
_STATE_KEY = "walletgate_session"
_PENDING_KEY = "walletgate_session_cookie"


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str | None
    csrf_token: str
    expires_at: float


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


class SessionStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.clock = clock

    async def create(self, user_id: str | None) -> tuple[str, Session]:
        """A new session; returns the raw id (for the cookie only) and the session."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        ttl = USER_SESSION_TTL if user_id is not None else ANONYMOUS_SESSION_TTL
        session = Session(user_id, secrets.token_urlsafe(32), now + ttl)
        async with self.engine.begin() as conn:
            await conn.execute(delete(sessions_table).where(sessions_table.c.expires_at <= now))
            await conn.execute(
                insert(sessions_table).values(
                    session_hash=_hash(session_id),
                    user_id=user_id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    async def get(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(sessions_table).where(sessions_table.c.session_hash == _hash(session_id)))
            ).first()
        if row is None or row.expires_at <= self.clock():
            return None
        return Session(row.user_id, row.csrf_token, row.expires_at)

    async def delete(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(sessions_table).where(sessions_table.c.session_hash == _hash(session_id)))


def secure_cookies(settings: Settings) -> bool:
    """Whether browsers will keep ``Secure`` cookies from this gateway (https, or a loopback host)."""
    parts = urlsplit(settings.issuer_url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_name(settings: Settings) -> str:
    return "__Host-wg_session" if secure_cookies(settings) else "wg_session"


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int | None) -> None:
    """A portal cookie: HttpOnly, SameSite=Lax, Path=/, no Domain, Secure where the browser keeps it."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path="/", secure=secure_cookies(settings), httponly=True, samesite="lax")


def _services(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def _cookie_value(request: Request) -> str | None:
    return request.cookies.get(cookie_name(_services(request).settings))


async def load_session(request: Request) -> Session | None:
    """The request's session (read once per request), or ``None``."""
    if hasattr(request.state, _STATE_KEY):
        return cast(Session | None, getattr(request.state, _STATE_KEY))
    raw = _cookie_value(request)
    session = await _services(request).sessions.get(raw) if raw else None
    setattr(request.state, _STATE_KEY, session)
    return session


async def current_user(request: Request) -> str | None:
    """The logged-in user's id, or ``None``."""
    session = await load_session(request)
    return session.user_id if session is not None else None


async def ensure_session(request: Request) -> Session:
    """The request's session, creating an anonymous one when there is none.

    A new session's cookie is set by ``apply_session_cookie`` (``gateway.portal.pages``'
    ``render`` and ``redirect`` call it), since no response exists yet.
    """
    session = await load_session(request)
    if session is not None:
        return session
    session_id, session = await _services(request).sessions.create(None)
    setattr(request.state, _STATE_KEY, session)
    setattr(request.state, _PENDING_KEY, session_id)
    return session


def _pop_pending(request: Request) -> str | None:
    value = getattr(request.state, _PENDING_KEY, None)
    if value is not None:
        delattr(request.state, _PENDING_KEY)
    return cast(str | None, value)


def apply_session_cookie(request: Request, response: Response) -> None:
    """Set the cookie of a session created during this request, if any."""
    session_id = _pop_pending(request)
    if session_id:
        set_cookie(response, _services(request).settings, cookie_name(_services(request).settings), session_id, None)


async def start_session(request: Request, response: Response, user_id: str) -> Session:
    """Log ``user_id`` in: drop any earlier session and set a fresh session cookie."""
    services = _services(request)
    old = _cookie_value(request)
    if old:
        await services.sessions.delete(old)
    session_id, session = await services.sessions.create(user_id)
    setattr(request.state, _STATE_KEY, session)
    _pop_pending(request)
    set_cookie(response, services.settings, cookie_name(services.settings), session_id, USER_SESSION_TTL)
    return session


async def end_session(request: Request, response: Response) -> None:
    """Log out: delete the session and clear its cookie."""
    services = _services(request)
    raw = _cookie_value(request)
    if raw:
        await services.sessions.delete(raw)
    setattr(request.state, _STATE_KEY, None)
    _pop_pending(request)
    clear_cookie(response, services.settings, cookie_name(services.settings))
