"""``walletgate migrate``: bring the database schema to the newest revision."""

from __future__ import annotations

import argparse

from gateway.cli import settings_from_args


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "migrate", help="migrate the database", description="Apply Alembic migrations up to head (or --revision)."
    )
    p.add_argument("--database-url", help="database to migrate (WALLETGATE_DATABASE_URL)")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from consent.migrate import upgrade

    settings = settings_from_args(args, database_url=args.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, args.revision)
    print(f"migrated {settings.effective_database_url.split('@')[-1]} to {args.revision}")
    return 0
