"""``walletgate metrics report``: the CDR Get Metrics (v5) report, as JSON on stdout."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from gateway.cli import UserFacingError, settings_from_args
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.cdr_metrics import Mode


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("metrics", help="regulatory metrics", description="Regulatory metrics reports.")
    actions = p.add_subparsers(dest="metrics_command", metavar="ACTION", required=True)
    rep = actions.add_parser(
        "report",
        help="the CDR Get Metrics report",
        description="Print, as JSON, the report in the shape of Australia's CDR Get Metrics v5 "
        "(ResponseMetricsListV5), computed from the gateway's access records, consents and token tables: "
        "today and this month so far, the seven days and twelve months before (UTC).",
    )
    rep.add_argument(
        "--period",
        default="ALL",
        metavar="PERIOD",
        help="CURRENT (today, this month), HISTORIC (the days and months before) or ALL (default)",
    )
    rep.add_argument("--database-url", help="the gateway's database (WALLETGATE_DATABASE_URL)")
    rep.add_argument(
        "--data-dir", help="data folder: the default SQLite file and the published APIs (WALLETGATE_DATA_DIR)"
    )
    rep.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gateway.cdr_metrics import parse_mode

    try:
        mode = parse_mode(args.period)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from None
    settings = settings_from_args(args, database_url=args.database_url, data_dir=args.data_dir)
    doc = asyncio.run(_report(settings, mode, datetime.now(UTC)))
    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    return 0


async def _report(settings: Settings, mode: Mode, now: datetime) -> dict[str, Any]:
    from consent.db import open_engine
    from gateway.cdr_metrics import operation_tiers, report
    from gateway.publishing import load_overlay, overlay_dir
    from policies import PolicyError, load_policies

    policies = load_policies(settings.policies_dir)
    try:
        apis = {**policies.apis, **load_overlay(overlay_dir(settings), policies.permissions, policies.apis)}
    except PolicyError as exc:
        raise UserFacingError(f"published APIs: {'; '.join(exc.problems)}") from None
    engine = open_engine(settings.effective_database_url)
    try:
        return await report(
            engine,
            now,
            mode,
            tiers=operation_tiers(apis.values()),
            access_token_ttl=settings.access_token_ttl,
            self_url=f"{settings.issuer_url}/admin/metrics?period={mode}",
        )
    finally:
        await engine.dispose()
