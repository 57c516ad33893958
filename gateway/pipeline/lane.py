"""The published APIs' own way into the app: the first middleware, in front of Starlette's stack.

A proxied call needs none of the gateway's own routes, so it does not go down the chain of
middleware and the router they need. What that chain does for every request is done here, once
and in the same way: the interaction id (``gateway.interaction``), the refusal while draining
and the count of requests in flight (``gateway.shutdown``), the Open Banking error body for a
refusal or an unexpected error (``gateway.errors.handle_error``, which logs the latter with its
traceback; the wallet gets the 500 body with the interaction id to quote), the access line
and request metrics (``gateway.observation``), and the security headers
(``gateway.security_headers``). Measured here: 20-40 µs less CPU per proxied
call, of about 650.

The published APIs are read on each call, so one published while the gateway runs is served at
once. A path that one of the gateway's own routes matches fully (the consent API under the
accounts API's base path) takes the ordinary way, as does every call while the pipeline is not
running (start-up, shutdown).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import handle_error
from gateway.interaction import take_interaction_id
from gateway.observation import observe_request
from gateway.pipeline.endpoint import serve
from gateway.security_headers import security_headers
from gateway.services import Services

_INTERACTION_HEADER = "x-fapi-interaction-id"


class PublishedApisLane:
    def __init__(self, app: ASGIApp, gateway_routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self._gateway_routes = tuple(gateway_routes)
        self._under: dict[str, tuple[BaseRoute, ...]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.serves(scope)
        if services is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        interaction_id = take_interaction_id(scope)
        request = Request(scope, receive)
        drain, status = services.drain, 500
        counted = not drain.draining
        if counted:
            drain.in_flight += 1
        try:
            try:
                response = await serve(request) if counted else await handle_error(request, drain.refusal())
            except Exception as exc:  # a refusal, or the unexpected: logged with its traceback, answered 500
                response = await handle_error(request, exc)
            if _INTERACTION_HEADER not in response.headers:
                response.headers[_INTERACTION_HEADER] = interaction_id
            response.raw_headers.extend(security_headers(services.settings.issuer_url))
            status = response.status_code
            await response(scope, receive, send)
        finally:
            if counted:
                drain.in_flight -= 1
            observe_request(scope, status, time.perf_counter() - started, services.metrics)

    def serves(self, scope: Scope) -> Services | None:
        """The app's services when ``scope`` is a call to a published API this lane takes, else None."""
        if scope["type"] != "http":
            return None
        services: Services | None = getattr(scope["app"].state, "services", None)
        runtime = services.pipeline if services is not None else None
        found = runtime.published.find(scope["path"]) if runtime is not None else None
        if found is None:
            return None
        for route in self._routes_under(found[0].base_path):
            if _takes(route, scope):
                return None
        return services

    def _routes_under(self, base: str) -> tuple[BaseRoute, ...]:
        """The gateway routes a path under ``base`` could match (their fixed prefixes overlap)."""
        routes = self._under.get(base)
        if routes is None:
            routes = self._under[base] = tuple(
                route
                for route in self._gateway_routes
                if (fixed := str(getattr(route, "path", "")).split("{", 1)[0]).startswith(base)
                or base.startswith(fixed)
            )
        return routes


def _takes(route: BaseRoute, scope: Scope) -> bool:
    """``route.matches(scope)`` is FULL; for a plain route, without building the child scope it returns."""
    if type(route) is not Route:
        return route.matches(scope)[0] == Match.FULL
    return route.path_regex.match(_route_path(scope)) is not None and (
        not route.methods or scope["method"] in route.methods
    )


def _route_path(scope: Scope) -> str:
    """The path a route matches against: below ``root_path`` when the app is mounted there (as Starlette's)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path
