"""``walletgate consents verify|sweep``: check the event hash chain; expire lapsed consents now.

The sweep changes consents as a running gateway's own sweep does (``gateway.commands.live_store``): the
expired consents' access tokens go on the deny-list and their refresh tokens are revoked, and with Redis
configured every running gateway hears of it at once (deny-list and consent cache).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError

from consent.db import open_engine
from consent.model import ChainBreak
from consent.sql import SqlConsentStore
from gateway.cli import settings_from_args
from gateway.clock import system_clock
from gateway.commands.live_store import TOLD, live_store, not_told, unusable
from gateway.settings import Settings, env_name
from policies import load_policies


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("consents", help="consent store maintenance", description="Consent store maintenance.")
    p.add_argument("--database-url", help="database to use (WALLETGATE_DATABASE_URL)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="check every consent's event hash chain", description="Recompute every event's hash."
    )
    verify.set_defaults(handler=run_verify)
    sweep = actions.add_parser(
        "sweep", help="expire lapsed consents now", description="Expire AWAU consents past their wait and "
        "AUTH/PAUS consents past their expiry, recording an event for each, and revoke their tokens. Running "
        "gateways hear of it at once through the Redis named by WALLETGATE_REDIS_URL.",
    )  # fmt: skip
    sweep.set_defaults(handler=run_sweep)


def _store(settings: Settings) -> SqlConsentStore:
    return SqlConsentStore(
        open_engine(settings.effective_database_url),
        load_policies(settings.policies_dir),
        system_clock,
        awaiting_authorisation_ttl=settings.awaiting_authorisation_ttl,
    )


async def _verify(settings: Settings) -> ChainBreak | None:
    store = _store(settings)
    try:
        return await store.verify_chain()
    except (SQLAlchemyError, OSError) as exc:
        raise unusable(exc) from None
    finally:
        await store.engine.dispose()


async def _sweep(settings: Settings) -> tuple[int, int]:
    """Expire lapsed consents with what a running gateway would use; (consents expired, tokens deny-listed)."""
    async with live_store(settings) as live:
        expired = await live.consents.sweep_expired()
        return expired, len(live.denied.jtis)


def run_verify(args: argparse.Namespace) -> int:
    broken = asyncio.run(_verify(settings_from_args(args, database_url=args.database_url)))
    if broken is not None:
        print(
            f"walletgate: consent {broken.consent_id} event {broken.seq}: {broken.problem} (the chain is broken here)",
            file=sys.stderr,
        )
        return 1
    print("consent event chains verified: every hash holds")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, database_url=args.database_url)  # and WALLETGATE_REDIS_URL
    expired, denied = asyncio.run(_sweep(settings))
    print(f"expired {expired} consent{'' if expired == 1 else 's'}")
    if expired == 0:
        return 0
    # On stderr: stdout stays the one line scripts read.
    tokens = f"{denied} access token{'' if denied == 1 else 's'} put on the deny-list"
    if settings.redis_url:
        print(f"{tokens}; {TOLD}", file=sys.stderr)
    else:
        learn = (
            "each already refuses an expired consent's access tokens by its expiry time, keeps its cached copy of "
            f"the consent until that expires ({env_name('consent_cache_ttl')}: {settings.consent_cache_ttl:g} s), "
            "and puts the tokens on its own deny-list when it restarts; the refresh tokens are refused at once"
        )
        print(f"{tokens}; {not_told(learn)}", file=sys.stderr)
    return 0
