"""``walletgate limits show --client ID``: a wallet's current usage against each limit, read without consuming."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from gateway.cli import UserFacingError, settings_from_args
from gateway.limiter import Decision, Hit, Limiter, LimiterUnavailable
from gateway.limiter.build import redis_client
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter
from gateway.limiter.rules import rule_book
from policies.limits import load_limits


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("limits", help="inspect rate limits", description="Inspect rate limits and quotas.")
    actions = p.add_subparsers(dest="limits_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="a wallet's usage against each limit",
        description="Print a wallet's current usage against each limit that is counted per wallet "
        "(read from Redis without consuming anything).",
    )
    show.add_argument("--client", required=True, metavar="ID", help="the wallet's OAuth client id")
    show.add_argument("--user", metavar="ID", help="also show this customer's attended limit")
    show.add_argument("--redis-url", help="Redis holding the shared counts (WALLETGATE_REDIS_URL)")
    show.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, redis_url=args.redis_url)
    book = rule_book(load_limits(settings.policies_dir / "limits.yaml", missing_ok=True))
    hits = book.wallet_hits(args.client)
    if args.user and book.user_attended is not None:
        hits.append(Hit(book.user_attended, f"user:{args.user}"))
    if not hits:
        print("no limit in the policy is counted per wallet")
        return 0
    if not settings.redis_url:
        print("(no WALLETGATE_REDIS_URL: each gateway process counts on its own; shown as unused)")
    decision = asyncio.run(_peek(settings.redis_url, hits))
    print(render(args.client, decision))
    return 0


async def _peek(redis_url: str, hits: list[Hit]) -> Decision:
    limiter: Limiter = RedisLimiter(redis_client(redis_url, 2.0)) if redis_url else MemoryLimiter()
    try:
        return await limiter.peek(hits)
    except LimiterUnavailable as exc:
        raise UserFacingError(f"cannot read the limits: {exc}") from None
    finally:
        await limiter.aclose()


def render(client_id: str, decision: Decision) -> str:
    """A table: each limit, its key, mode, calls used of the burst, remaining, and when it is full again."""
    at = datetime.fromtimestamp(decision.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [("limit", "key", "mode", "rate", "used", "remaining", "full again in")]
    for r in decision.results:
        rule = r.hit.rule
        rows.append(
            (
                rule.name,
                r.hit.key,
                rule.mode,
                f"{rule.limit}/{rule.period:g}s burst {rule.burst}",
                f"{rule.burst - r.remaining}/{rule.burst}",
                str(r.remaining),
                f"{r.reset:.2f}s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"wallet {client_id} at {at}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
