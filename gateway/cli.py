"""The ``walletgate`` command.

Each command group lives in the module that owns its job and exposes
``register(subparsers)``; this module only assembles them and turns the errors a user can
cause (bad settings, bad policies, bad key files) into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from gateway.settings import Settings, SettingsError, describe, load_settings

# Modules that add their own commands (each defines ``register(subparsers)``).
COMMAND_MODULES: tuple[str, ...] = (
    "gateway.commands.serve",
    "gateway.commands.migrate",
    "gateway.commands.settings_cmd",
    "gateway.commands.consents",
    "gateway.commands.demo",
    "gateway.commands.limits",
    "gateway.commands.keys",
    "gateway.commands.directory",
    "gateway.commands.clients",
    "gateway.commands.apis",
    "gateway.commands.metrics",
)

Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    try:
        return version("walletgate")
    except PackageNotFoundError:
        return "0+unknown"


def settings_from_args(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Settings from the environment and ``--settings FILE``, with CLI flags on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    file = getattr(args, "settings_file", None)
    return load_settings(file=Path(file) if file else None, overrides=given)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="walletgate",
        description="Open-banking API gateway and consent manager.",
    )
    parser.add_argument("--version", action="version", version=f"walletgate {_version()}")
    parser.add_argument(
        "--settings", dest="settings_file", metavar="FILE", help="TOML settings file (also WALLETGATE_SETTINGS_FILE)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        for line in exc.problems:
            print(f"walletgate: setting {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except UserFacingError as exc:
        print(f"walletgate: {exc}", file=sys.stderr)
        return 2


class UserFacingError(Exception):
    """A problem the user can fix, printed as one line without a traceback."""


def read_json_file(path: Path, *, missing: str = "file not found") -> Any:
    """The JSON in a file the user named; a missing or unparsable file is one ``UserFacingError`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserFacingError(f"{path}: {missing}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"{path}: not valid JSON ({exc})") from None


__all__ = ["UserFacingError", "build_parser", "describe", "main", "read_json_file", "settings_from_args"]

if __name__ == "__main__":
    # Under ``python -m`` this file is ``__main__``; run the imported module's main so the
    # commands' exception classes are the ones caught here.
    from gateway.cli import main as _main

    raise SystemExit(_main())
