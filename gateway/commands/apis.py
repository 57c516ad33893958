"""``walletgate apis check|publish OPENAPI POLICY`` and ``walletgate apis unpublish NAME``.

``check`` loads the policy against the OpenAPI document exactly as the gateway would and
prints every problem (file, line, path) or a summary; nothing is changed. ``publish`` does
the same checks, refuses a base path another API already serves, then stores the pair in the
gateway's database (``WALLETGATE_DATABASE_URL``, migrated), from which every gateway instance
picks it up within a second, without a restart. ``unpublish`` withdraws a published API the
same way (an API shipped in the policies folder is removed there instead).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli import settings_from_args

if TYPE_CHECKING:
    from gateway.published_store import PublishedApiStore
    from gateway.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("apis", help="check or publish a bank API", description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (("check", "validate without publishing"), ("publish", "validate, then publish")):
        v = verbs.add_parser(verb, help=text, description=f"{text.capitalize()}: OPENAPI document and POLICY file.")
        v.add_argument("openapi", type=Path, metavar="OPENAPI", help="the API's OpenAPI 3.0/3.1 document")
        v.add_argument("policy", type=Path, metavar="POLICY", help="the policy file (schema: api.schema.json)")
        v.set_defaults(handler=run)
    gone = verbs.add_parser("unpublish", help="withdraw a published API", description="Withdraw a published API.")
    gone.add_argument("name", metavar="NAME", help="the API's name (its policy's name)")
    gone.set_defaults(handler=run_unpublish)


def run(args: argparse.Namespace) -> int:
    from gateway.publishing import check_api, publish
    from policies import load_policies
    from policies.errors import PolicyError

    settings = settings_from_args(args)
    policies = load_policies(settings.policies_dir)
    try:
        api = check_api(args.openapi, args.policy, policies)
        if args.verb == "publish":
            texts = args.policy.read_text(encoding="utf-8"), args.openapi.read_text(encoding="utf-8")
            asyncio.run(
                _with_store(settings, lambda store: publish(store, api, *texts, policies.apis, source=args.policy.name))
            )
    except PolicyError as exc:
        print(f"refused: {args.policy}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    done = "published" if args.verb == "publish" else "ok"
    print(f"{done}: {api.name} at {api.base_path} ({len(api.operations)} operations: {', '.join(api.operations)})")
    return 0


def run_unpublish(args: argparse.Namespace) -> int:
    from gateway.publishing import unpublish
    from policies import load_policies
    from policies.errors import PolicyError

    settings = settings_from_args(args)
    policies = load_policies(settings.policies_dir)
    try:
        asyncio.run(_with_store(settings, lambda store: unpublish(store, args.name, policies.apis)))
    except PolicyError as exc:
        print(f"refused: {' | '.join(exc.problems)}", file=sys.stderr)
        return 1
    print(f"unpublished: {args.name}")
    return 0


async def _with_store(settings: Settings, work: Callable[[PublishedApiStore], Awaitable[None]]) -> None:
    from consent.db import open_engine
    from gateway.published_store import PublishedApiStore

    engine = open_engine(settings.effective_database_url)
    try:
        await work(PublishedApiStore(engine))
    finally:
        await engine.dispose()
