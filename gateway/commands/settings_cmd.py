"""``walletgate settings``: list every setting, or check the current ones."""

from __future__ import annotations

import argparse

from gateway.cli import settings_from_args
from gateway.settings import describe


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "settings",
        help="list or check settings",
        description="List every setting with its default, or check the current environment.",
    )
    p.add_argument("--check", action="store_true", help="load the settings and report problems")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.check:
        settings_from_args(args)
        print("settings OK")
        return 0
    rows = describe()
    if args.markdown:
        print("| variable | default | meaning |\n| --- | --- | --- |")
        for name, default, help_text in rows:
            print(f"| `{name}` | `{default}` | {help_text} |" if default else f"| `{name}` | | {help_text} |")
        return 0
    for name, default, help_text in rows:
        print(f"{name}\n    default: {default or '(empty)'}\n    {help_text}")
    return 0
