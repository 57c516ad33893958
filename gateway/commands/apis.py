"""``walletgate apis check|publish OPENAPI POLICY``: validate, or publish, a bank API without code.

``check`` loads the policy against the OpenAPI document exactly as the gateway would and
prints every problem (file, line, path) or a summary; nothing is changed. ``publish`` does
the same checks, then places the pair in the published-API overlay in DATA_DIR, which every
gateway instance sharing that folder picks up within a second, without a restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cli import settings_from_args


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("apis", help="check or publish a bank API", description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (("check", "validate without publishing"), ("publish", "validate, then publish")):
        v = verbs.add_parser(verb, help=text, description=f"{text.capitalize()}: OPENAPI document and POLICY file.")
        v.add_argument("openapi", type=Path, metavar="OPENAPI", help="the API's OpenAPI 3.0/3.1 document")
        v.add_argument("policy", type=Path, metavar="POLICY", help="the policy file (schema: api.schema.json)")
        v.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gateway.publishing import check_api, publish_files
    from policies import load_policies
    from policies.errors import PolicyError

    settings = settings_from_args(args)
    policies = load_policies(settings.policies_dir)
    try:
        if args.verb == "check":
            api = check_api(args.openapi, args.policy, policies.permissions)
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            api = publish_files(settings, args.openapi, args.policy, policies.permissions, policies.apis)
    except PolicyError as exc:
        print(f"refused: {args.policy}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    done = "published" if args.verb == "publish" else "ok"
    print(f"{done}: {api.name} at {api.base_path} ({len(api.operations)} operations: {', '.join(api.operations)})")
    return 0
