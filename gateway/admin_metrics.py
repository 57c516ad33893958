"""``GET /admin/metrics?from=ISO&to=ISO``: the CDR Get Metrics report, behind the admin token."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.cdr_metrics import period_from, report
from gateway.errors import GatewayError
from gateway.oauth.login_delegation import require_admin
from gateway.services import Services


class ReportPeriodInvalidError(GatewayError):
    code, message = "UK.OBIE.Field.InvalidDate", "The report period is invalid."


async def metrics_report(request: Request) -> Response:
    require_admin(request)
    services: Services = request.app.state.services
    now = datetime.fromtimestamp(services.clock(), UTC)
    try:
        period = period_from(request.query_params.get("from"), request.query_params.get("to"), now)
    except ValueError as exc:
        name = str(exc).partition(":")[0]
        raise ReportPeriodInvalidError(str(exc), path=name) from None
    doc = await report(services.engine, period, access_token_ttl=services.settings.access_token_ttl, request_time=now)
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [Route("/admin/metrics", metrics_report, methods=["GET"])]
