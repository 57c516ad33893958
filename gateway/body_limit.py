"""A cap on every request body the gateway's own routes read, enforced before it is held in memory.

Starlette's ``request.body()`` reads the whole body before an endpoint can look at its size, so a
route that checks the size afterwards (the token endpoint's form, a consent request, a client's
metadata) would still hold a body of any size first. This middleware refuses with 413 a request
whose ``Content-Length`` is over the cap before a byte of its body is read, and stops a chunked
body as soon as it passes the cap. The cap is ``default`` bytes, larger under the path prefixes
of ``larger`` (the admin API that takes whole OpenAPI documents). Endpoints keep their own,
smaller, limits. Calls to published APIs take the pipeline's lane, which has the same cap.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import PayloadTooLargeError, handle_error

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
ADMIN_APIS_MAX_BODY_BYTES = 8 * 1024 * 1024  # a policy and its OpenAPI document, as JSON text
LARGER_BODIES = {"/admin/apis": ADMIN_APIS_MAX_BODY_BYTES}


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, default: int = DEFAULT_MAX_BODY_BYTES, larger: Mapping[str, int] = LARGER_BODIES
    ) -> None:
        self.app = app
        self.default = default
        self.larger = tuple(larger.items())

    def limit(self, path: str) -> int:
        for prefix, cap in self.larger:
            if path == prefix or path.startswith(prefix + "/"):
                return cap
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limit(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > cap:
            response = await handle_error(Request(scope), _too_large(cap))
            await response(scope, receive, send)
            return
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _too_large(cap)
            return message

        await self.app(scope, receive_capped, send)


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The request body is larger than {cap} bytes.", path="(body)")
