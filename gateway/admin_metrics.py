"""``GET /admin/metrics?period=CURRENT|HISTORIC|ALL``: the CDR Get Metrics (v5) report, behind the admin token."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.cdr_metrics import operation_tiers, parse_mode, report
from gateway.errors import GatewayError
from gateway.oauth.login_delegation import require_admin
from gateway.services import Services

VERSION = "5"  # the Get Metrics endpoint version answered (CDR x-v)


class ReportPeriodInvalidError(GatewayError):
    """CDR Get Metrics: ``period`` is an Enum of CURRENT, HISTORIC and ALL (400 Invalid Field)."""

    message = "The report period is invalid."


async def metrics_report(request: Request) -> Response:
    require_admin(request)
    services: Services = request.app.state.services
    try:
        mode = parse_mode(request.query_params.get("period"))
    except ValueError as exc:
        raise ReportPeriodInvalidError(str(exc), path="period") from None
    apis = services.pipeline.published.apis if services.pipeline else services.policies.apis
    doc = await report(
        services.engine,
        datetime.fromtimestamp(services.clock(), UTC),
        mode,
        tiers=operation_tiers(apis.values()),
        access_token_ttl=services.settings.access_token_ttl,
        self_url=str(request.url),
    )
    return JSONResponse(doc, headers={"Cache-Control": "no-store", "x-v": VERSION})


def routes() -> list[BaseRoute]:
    return [Route("/admin/metrics", metrics_report, methods=["GET"])]
