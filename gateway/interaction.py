"""ASGI middleware: every request gets an ``x-fapi-interaction-id``, echoed on the response.

A wallet's own id is kept when it is a UUID (FAPI) written in its one standard form, 8-4-4-4-12
hex digits (either case, echoed as sent); otherwise a new one is made, and the validate-request
step refuses a malformed header on API routes. ``uuid.UUID`` alone is not the check: it also takes
braces, a ``urn:`` prefix and hyphens anywhere, forms the bank and the logs would be handed as ids.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-fapi-interaction-id"


_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _valid_uuid(value: bytes) -> bool:
    return _UUID.fullmatch(value) is not None


def take_interaction_id(scope: Scope) -> str:
    """The request's interaction id (the wallet's, when a UUID; else a new one), kept on its state."""
    given = next((v for k, v in scope["headers"] if k == HEADER), None)
    value = given.decode("ascii") if given is not None and _valid_uuid(given) else str(uuid.uuid4())
    scope.setdefault("state", {})["interaction_id"] = value
    return value


class InteractionIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = take_interaction_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "x-fapi-interaction-id" not in headers:
                    headers["x-fapi-interaction-id"] = value
            await send(message)

        await self.app(scope, receive, send_with_id)
