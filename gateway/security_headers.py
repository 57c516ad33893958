"""``X-Content-Type-Options: nosniff`` on every response and, behind TLS, ``Strict-Transport-Security``.

The published APIs' lane adds them to its own responses (``security_headers``), since it answers
before any other middleware; ``SecurityHeadersMiddleware``, right after the lane, adds them to
everything else, except a header a response already carries (the portal's own nosniff).
"""

from __future__ import annotations

import functools

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=31536000"  # one year (RFC 6797); only over TLS, which an https issuer means


@functools.lru_cache(maxsize=8)
def security_headers(issuer_url: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response of a gateway with this issuer carries."""
    headers: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
    if issuer_url.startswith("https://"):
        headers += ((b"strict-transport-security", HSTS),)
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, issuer_url: str) -> None:
        self.app = app
        self.headers = security_headers(issuer_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [header for header in self.headers if header[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
