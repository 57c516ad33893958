"""The published-APIs route comes first, yet the gateway's own routes under a published base path still win."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.routing import Match, Route

from gateway.app import _routes
from gateway.pipeline.endpoint import PublishedApisRoute

BASE = "/open-banking/v4.0/aisp"


def _ok(_: Any) -> PlainTextResponse:
    return PlainTextResponse("gateway")


CONSENTS = Route(BASE + "/account-access-consents/{consent_id}", _ok, methods=["GET", "DELETE"])
TOKEN = Route("/token", _ok, methods=["POST"])


def _scope(path: str, method: str = "GET") -> dict[str, Any]:
    api = SimpleNamespace(base_path=BASE)

    def find(p: str) -> tuple[Any, str] | None:
        return (api, p[len(BASE) :] or "/") if p == BASE or p.startswith(BASE + "/") else None

    published = SimpleNamespace(find=find)
    services = SimpleNamespace(pipeline=SimpleNamespace(published=published))
    app = SimpleNamespace(state=SimpleNamespace(services=services))
    return {"type": "http", "path": path, "method": method, "root_path": "", "app": app}


def test_a_published_operation_matches() -> None:
    route = PublishedApisRoute([CONSENTS, TOKEN])
    assert route.matches(_scope(BASE + "/accounts"))[0] == Match.FULL


def test_a_path_a_gateway_route_serves_is_left_to_it() -> None:
    route = PublishedApisRoute([CONSENTS, TOKEN])
    assert route.matches(_scope(BASE + "/account-access-consents/c-1"))[0] == Match.NONE


def test_a_method_the_gateway_route_lacks_still_goes_to_the_published_api_as_before() -> None:
    route = PublishedApisRoute([CONSENTS, TOKEN])
    assert route.matches(_scope(BASE + "/account-access-consents/c-1", "PATCH"))[0] == Match.FULL


def test_a_path_outside_every_base_path_does_not_match() -> None:
    assert PublishedApisRoute([CONSENTS, TOKEN]).matches(_scope("/token", "POST"))[0] == Match.NONE


def test_the_app_tries_the_published_apis_first_with_every_other_route_behind_it() -> None:
    routes = _routes()
    first = routes[0]
    assert isinstance(first, PublishedApisRoute)
    assert not any(isinstance(route, PublishedApisRoute) for route in routes[1:])
    assert first._gateway_routes == tuple(routes[1:])
