"""``walletgate apis check|publish OPENAPI POLICY``: validate, or publish, a bank API without code.

``check`` loads the policy against the OpenAPI document exactly as the gateway would and
prints every problem (file, line, path) or a summary; nothing is changed. ``publish`` does
the same checks, refuses a base path another API already serves, then stores the pair in the
gateway's database (``WALLETGATE_DATABASE_URL``, migrated), from which every gateway instance
picks it up within a second, without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli import settings_from_args

if TYPE_CHECKING:
    from gateway.settings import Settings
    from policies.apis import PublishedApi


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("apis", help="check or publish a bank API", description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (("check", "validate without publishing"), ("publish", "validate, then publish")):
        v = verbs.add_parser(verb, help=text, description=f"{text.capitalize()}: OPENAPI document and POLICY file.")
        v.add_argument("openapi", type=Path, metavar="OPENAPI", help="the API's OpenAPI 3.0/3.1 document")
        v.add_argument("policy", type=Path, metavar="POLICY", help="the policy file (schema: api.schema.json)")
        v.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gateway.publishing import check_api
    from policies import load_policies
    from policies.errors import PolicyError

    settings = settings_from_args(args)
    policies = load_policies(settings.policies_dir)
    try:
        api = check_api(args.openapi, args.policy, policies.permissions)
        if args.verb == "publish":
            texts = args.policy.read_text(encoding="utf-8"), args.openapi.read_text(encoding="utf-8")
            asyncio.run(_publish(settings, api, texts, policies.apis, source=args.policy.name))
    except PolicyError as exc:
        print(f"refused: {args.policy}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    done = "published" if args.verb == "publish" else "ok"
    print(f"{done}: {api.name} at {api.base_path} ({len(api.operations)} operations: {', '.join(api.operations)})")
    return 0


async def _publish(
    settings: Settings, api: PublishedApi, texts: tuple[str, str], shipped: Mapping[str, PublishedApi], *, source: str
) -> None:
    from consent.db import open_engine
    from gateway.published_store import PublishedApiStore
    from gateway.publishing import publish

    engine = open_engine(settings.effective_database_url)
    try:
        await publish(PublishedApiStore(engine), api, *texts, shipped, source=source)
    finally:
        await engine.dispose()
