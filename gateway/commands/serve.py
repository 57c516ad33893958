"""``walletgate serve``: run the gateway under uvicorn.

Uvicorn's own proxy-header handling is off (``proxy_headers=False``): it would replace the TCP
peer in ``scope["client"]`` with an X-Forwarded-For address, judged by its own exact-address list
(``forwarded_allow_ips``, 127.0.0.1 by default). The gateway needs the real peer to decide whether
to believe the client-certificate header, and reads X-Forwarded-For itself, once, by
``settings.trusted_proxies`` (``gateway.client_address``).
"""

from __future__ import annotations

import argparse
import os

from gateway.cli import UserFacingError, settings_from_args
from gateway.settings import Settings, env_name


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the gateway", description="Run the gateway under uvicorn.")
    p.add_argument("--host", help="listen address (WALLETGATE_HOST)")
    p.add_argument("--port", type=int, help="listen port (WALLETGATE_PORT)")
    p.add_argument("--workers", type=int, help="worker processes (WALLETGATE_WORKERS)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_from_args(args, host=args.host, port=args.port, workers=args.workers)
    _preflight(settings)
    # Workers re-read the settings from the environment: hand the flags on through it.
    for name in ("host", "port", "workers"):
        os.environ[env_name(name)] = str(getattr(settings, name))
    if args.settings_file:
        os.environ["WALLETGATE_SETTINGS_FILE"] = args.settings_file
    uvicorn.run(
        "gateway.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=False,  # gateway.client_address reads X-Forwarded-For; the peer must stay the peer
        access_log=False,
    )
    return 0


def _preflight(settings: Settings) -> None:
    """Read the keys and policies here, so a bad file is one clear line, not a worker's traceback."""
    from gateway.app import load_keys
    from gateway.oauth.keys import KeyFileError
    from policies import PolicyError, load_policies

    try:
        load_keys(settings)
        load_policies(settings.policies_dir)
    except KeyFileError as exc:
        raise UserFacingError(str(exc)) from None
    except PolicyError as exc:
        raise UserFacingError("policies refused:\n  " + "\n  ".join(exc.problems)) from None
