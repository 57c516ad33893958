"""``python -m sandbox``: run the sandbox bank as its own process.

    python -m sandbox --host 127.0.0.1 --port 8100 --issuer http://127.0.0.1:8000 \\
        (--jwks-url URL | --jwks-file FILE) [--audience URL] [--anchor-date YYYY-MM-DD] [--page-size N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import uvicorn

from sandbox.app import BankConfig, create_app
from sandbox.seed import today_utc
from sandbox.trust import FileKeys, KeySource, UrlKeys


def _anchor(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="The WalletGate sandbox bank: UK OB Account and Transaction API v4.0 for seeded demo users.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8100, help="port to listen on (default: %(default)s)")
    p.add_argument("--issuer", required=True, help="the gateway's issuer URL; assertions must carry it as iss")
    keys = p.add_mutually_exclusive_group(required=True)
    keys.add_argument("--jwks-url", help="the gateway's JWKS URL (usually ISSUER/jwks)")
    keys.add_argument("--jwks-file", type=Path, help="a file holding the gateway's JWKS (public or private keys)")
    p.add_argument("--audience", help="this bank's base URL as the gateway names it in aud (default: http://HOST:PORT)")
    p.add_argument("--anchor-date", type=_anchor, help="last day of the seeded history (default: today, UTC)")
    p.add_argument("--page-size", type=_positive, default=50, help="records per page (default: %(default)s)")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    source: KeySource
    if args.jwks_file is not None:
        try:
            source = FileKeys(args.jwks_file)
        except (OSError, ValueError) as exc:
            print(f"sandbox: --jwks-file {args.jwks_file}: {exc}", file=sys.stderr)
            return 2
    else:
        source = UrlKeys(args.jwks_url)
    config = BankConfig(
        issuer=args.issuer,
        audience=args.audience or f"http://{args.host}:{args.port}",
        anchor=args.anchor_date or today_utc(),
        page_size=args.page_size,
    )
    uvicorn.run(create_app(config, source), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
