"""Run the real gateway app under uvicorn, plus one slow route, for the ops tests.

``python -m tests.integration.ops.serve_app`` reads the usual ``WALLETGATE_*`` variables,
migrates the database and serves the app through a uvicorn factory that configures logging
like ``app_from_env``, with uvicorn's own signal handling. ``GET /_ops_test/slow?seconds=N&marker=FILE``
touches FILE, then answers after N seconds, so a test can hold a request in flight; ``/_ops_test/echo`` logs a
message built from the request (the redaction test checks that none of it reaches the log in
clear).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consent.migrate import upgrade
from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import load_settings


async def slow(request: Request) -> Response:
    if marker := request.query_params.get("marker"):
        Path(marker).touch()  # tells the test this request is now in flight
    await asyncio.sleep(float(request.query_params.get("seconds", "1")))
    return JSONResponse({"slept": True})


async def echo(request: Request) -> Response:
    body = (await request.body()).decode(errors="replace")
    logging.getLogger("walletgate.test.echo").warning(
        "echo %s %s", request.url, body, extra={"headers": dict(request.headers)}
    )
    raise ValueError(f"echo failed on {body}")


def build() -> Starlette:
    """The uvicorn factory: like ``gateway.app.app_from_env``, plus the test routes."""
    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    app.router.routes[:0] = [
        Route("/_ops_test/slow", slow, methods=["GET"]),
        Route("/_ops_test/echo/{rest:path}", echo, methods=["POST"]),
    ]
    return app


def main() -> None:
    log_file = os.environ.get("WALLETGATE_TEST_LOG_FILE")
    if log_file:
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    # As `walletgate serve` does: uvicorn configures its own logging first (access log on by
    # default here, so a leak through it would show), then the factory replaces it.
    uvicorn.run(build, factory=True, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
