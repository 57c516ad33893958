"""``walletgate metrics report``: the CDR Get Metrics report for a period, as JSON on stdout."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.cli import UserFacingError, settings_from_args


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("metrics", help="regulatory metrics", description="Regulatory metrics reports.")
    actions = p.add_subparsers(dest="metrics_command", metavar="ACTION", required=True)
    rep = actions.add_parser(
        "report",
        help="the CDR Get Metrics report",
        description="Print, as JSON, the report in the shape of Australia's CDR Get Metrics, computed from the "
        "gateway's access records, consents and token tables. Default period: the current UTC day and the "
        "seven before it.",
    )
    rep.add_argument("--from", dest="start", metavar="ISO", help="start of the period (ISO 8601, UTC if naive)")
    rep.add_argument("--to", dest="end", metavar="ISO", help="end of the period, exclusive (default: now)")
    rep.add_argument("--database-url", help="the gateway's database (WALLETGATE_DATABASE_URL)")
    rep.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gateway.cdr_metrics import period_from

    settings = settings_from_args(args, database_url=args.database_url)
    now = datetime.now(UTC)
    try:
        period = period_from(args.start, args.end, now)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from None
    doc = asyncio.run(_report(settings.effective_database_url, period, settings.access_token_ttl, now))
    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    return 0


async def _report(url: str, period: Any, ttl: float, now: datetime) -> dict[str, Any]:
    from consent.db import open_engine
    from gateway.cdr_metrics import report

    engine = open_engine(url)
    try:
        return await report(engine, period, access_token_ttl=ttl, request_time=now)
    finally:
        await engine.dispose()
