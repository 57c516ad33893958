"""``walletgate consents verify|sweep``: check the event hash chain; expire lapsed consents now."""

from __future__ import annotations

import argparse
import asyncio
import sys

from consent.db import open_engine
from consent.model import ChainBreak
from consent.sql import SqlConsentStore
from gateway.cli import settings_from_args
from gateway.clock import system_clock
from gateway.settings import Settings
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
        "AUTH/PAUS consents past their expiry, recording an event for each.",
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
    finally:
        await store.engine.dispose()


async def _sweep(settings: Settings) -> int:
    store = _store(settings)
    try:
        return await store.sweep_expired()
    finally:
        await store.engine.dispose()


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
    expired = asyncio.run(_sweep(settings_from_args(args, database_url=args.database_url)))
    print(f"expired {expired} consent{'' if expired == 1 else 's'}")
    return 0
