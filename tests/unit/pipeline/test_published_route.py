"""The published APIs' lane takes their calls first, yet the gateway's own routes under a published base path win."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.pipeline.lane import PublishedApisLane
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.settings import Settings

BASE = "/open-banking/v4.0/aisp"


def _ok(_: Any) -> PlainTextResponse:
    return PlainTextResponse("gateway")


async def _app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not reached")


CONSENTS = Route(BASE + "/account-access-consents/{consent_id}", _ok, methods=["GET", "DELETE"])
TOKEN = Route("/token", _ok, methods=["POST"])
LANE = PublishedApisLane(_app, [CONSENTS, TOKEN])


def _scope(path: str, method: str = "GET", *, running: bool = True) -> dict[str, Any]:
    api = SimpleNamespace(base_path=BASE)

    def find(p: str) -> tuple[Any, str] | None:
        return (api, p[len(BASE) :] or "/") if p == BASE or p.startswith(BASE + "/") else None

    published = SimpleNamespace(find=find)
    services = SimpleNamespace(pipeline=SimpleNamespace(published=published) if running else None)
    app = SimpleNamespace(state=SimpleNamespace(services=services))
    return {"type": "http", "path": path, "method": method, "root_path": "", "app": app}


def test_a_published_operation_takes_the_lane() -> None:
    assert LANE.serves(_scope(BASE + "/accounts")) is not None


def test_a_path_a_gateway_route_serves_is_left_to_it() -> None:
    assert LANE.serves(_scope(BASE + "/account-access-consents/c-1")) is None


def test_a_method_the_gateway_route_lacks_still_goes_to_the_published_api_as_before() -> None:
    assert LANE.serves(_scope(BASE + "/account-access-consents/c-1", "PATCH")) is not None


def test_a_path_outside_every_base_path_is_left_to_the_app() -> None:
    assert LANE.serves(_scope("/token", "POST")) is None


def test_nothing_takes_the_lane_while_the_pipeline_is_not_running() -> None:
    assert LANE.serves(_scope(BASE + "/accounts", running=False)) is None


def test_the_lane_is_the_apps_first_middleware_and_knows_every_gateway_route(settings: Settings) -> None:
    app = create_app(settings)
    lane, headers = app.user_middleware[:2]
    assert lane.cls is PublishedApisLane  # type: ignore[comparison-overlap]  # Starlette types cls as a factory
    assert lane.kwargs["gateway_routes"] == app.routes
    assert headers.cls is SecurityHeadersMiddleware  # type: ignore[comparison-overlap]  # the lane adds its own
