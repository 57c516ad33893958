"""``GET /admin/metrics?period=CURRENT|HISTORIC|ALL``: the CDR Get Metrics (v5) report, behind the admin token.

Version negotiation follows the CDR's ``x-v``/``x-min-v`` headers: the answer carries ``x-v: 5``; a
request whose range excludes 5 gets 406, a header that is not a positive integer 400. Without
``x-v`` (an operator's curl) version 5 is answered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.cdr_metrics import operation_tiers, parse_mode, report
from gateway.errors import GatewayError, HeaderInvalidError
from gateway.oauth.login_delegation import require_admin
from gateway.services import Services

VERSION = "5"  # the Get Metrics endpoint version answered (CDR x-v)


class ReportPeriodInvalidError(GatewayError):
    """CDR Get Metrics: ``period`` is an Enum of CURRENT, HISTORIC and ALL (400 Invalid Field)."""

    message = "The report period is invalid."


class VersionUnsupportedError(HeaderInvalidError):
    """CDR 406 Unsupported Version: no version from ``x-min-v`` to ``x-v`` is one this endpoint answers."""

    status, message = 406, "The requested version is not supported."


def check_version(headers: Headers) -> None:
    """Refuse a version range that excludes ours (``x-min-v`` at or above ``x-v`` is treated as absent)."""
    if headers.get("x-v") is None:
        return
    highest = _positive(headers, "x-v")
    lowest = _positive(headers, "x-min-v") if headers.get("x-min-v") is not None else highest
    lowest = min(lowest, highest)
    if not lowest <= int(VERSION) <= highest:
        raise VersionUnsupportedError(
            f"x-v: only version {VERSION} is answered; asked for {lowest} to {highest}", path="x-v"
        )


def _positive(headers: Headers, name: str) -> int:
    text = headers[name]
    if not text.isdigit() or int(text) < 1:
        raise HeaderInvalidError(f"{name}: {text!r} is not a positive integer", path=name)
    return int(text)


async def metrics_report(request: Request) -> Response:
    require_admin(request)
    check_version(request.headers)
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
