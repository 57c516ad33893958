"""One minimal gateway instance for the cross-instance test: the real limiter code over a shared Redis.

``uvicorn --factory tests.integration.limiter.instance_app:create`` serves ``POST /token``
limited by ``limit_endpoint`` (the helper the OAuth endpoints call), built as the gateway's
lifespan builds it. Configured by WALLETGATE_TEST_LIMITER_REDIS_URL, _POLICY and _BUDGET_MS.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.errors import GatewayError, handle_error
from gateway.limiter.build import build_limiter
from gateway.limiter.endpoints import limit_endpoint
from gateway.metrics import Metrics
from gateway.settings import load_settings
from policies.limits import load_limits


def create() -> Starlette:
    limits = load_limits(Path(os.environ["WALLETGATE_TEST_LIMITER_POLICY"]))
    settings = load_settings(
        environ={},
        overrides={
            "redis_url": os.environ["WALLETGATE_TEST_LIMITER_REDIS_URL"],
            "redis_budget_ms": int(os.environ.get("WALLETGATE_TEST_LIMITER_BUDGET_MS", "20")),
            "limiter_on_redis_failure": "closed",
            "data_dir": Path(tempfile.gettempdir()),
        },
    )
    services: Any = SimpleNamespace(policies=SimpleNamespace(limits=limits), limiter=None, metrics=Metrics())

    async def token(request: Request) -> Response:
        client = request.client.host if request.client else None
        headers = await limit_endpoint(services, "token", request.query_params.get("client_id"), client)
        return JSONResponse({"admitted": True}, headers=headers)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.limiter = build_limiter(settings, limits)
        yield
        await services.limiter.aclose()

    return Starlette(
        routes=[Route("/token", token, methods=["POST"]), Route("/healthz", healthz)],
        exception_handlers={GatewayError: handle_error},
        lifespan=lifespan,
    )
