"""Liveness and readiness probes: ``/healthz`` (the process answers) and ``/readyz`` (it can serve).

``/readyz`` runs its checks concurrently, each bounded by ``CHECK_TIMEOUT`` seconds, and
answers 200 with every check's result, or 503 naming the checks that failed in ``failed``.
These bodies are probe reports for orchestrators and operators, not API errors, so they are
plain JSON rather than the Open Banking error format. A replica that is draining (see
``gateway.shutdown``) reports ``draining`` as failed so the load balancer stops sending to it.

Anyone who reaches the gateway reaches the probes (the reverse proxy passes every path on), so a
failed check answers with the kind of failure only (``ConnectionError``); the back-end's address
and its driver's message go to the log (``walletgate.health``, redacted like every line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.logs import redact_text
from gateway.services import Services

log = logging.getLogger("walletgate.health")

CHECK_TIMEOUT = 2.0  # seconds per check; probes usually time out after 1-5 s
_HEADERS = {"Cache-Control": "no-store"}

Check = Callable[[Services], Awaitable[str]]


async def healthz(request: Request) -> Response:
    """The process is alive and its event loop answers; nothing else is checked."""
    return JSONResponse({"status": "alive"}, headers=_HEADERS)


async def readyz(request: Request) -> Response:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting", "failed": ["startup"], "checks": {}}, 503, _HEADERS)
    checks: dict[str, Check] = {"database": _database, "policies": _policies}
    if services.redis is not None:
        checks["redis"] = _redis
    names = list(checks)
    results = await asyncio.gather(*(_run(name, checks[name], services) for name in names))
    report: dict[str, dict[str, Any]] = dict(zip(names, results, strict=True))
    if services.drain.draining:
        detail = f"shutting down; not taking new requests ({services.drain.in_flight} in flight)"
        report["draining"] = {"ok": False, "detail": detail}
    failed = [name for name, result in report.items() if not result["ok"]]
    body = {"status": "not ready" if failed else "ready", "failed": failed, "checks": report}
    return JSONResponse(body, 503 if failed else 200, _HEADERS)


async def _run(name: str, check: Check, services: Services) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(services), CHECK_TIMEOUT)
    except TimeoutError:
        ok, detail = False, f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # any failure of the back-end is the answer, not a crash
        ok, detail = False, type(exc).__name__
        log.warning("readiness check %s failed: %s", name, redact_text(f"{type(exc).__name__}: {exc}")[:300])
    else:
        ok = True
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _database(services: Services) -> str:
    async with services.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return f"{services.engine.dialect.name} answered SELECT 1"


async def _redis(services: Services) -> str:
    redis: Any = services.redis
    await redis.ping()
    return "PING answered"


async def _policies(services: Services) -> str:
    apis = len(services.policies.apis)
    if apis == 0:
        raise LookupError(f"no published APIs in {services.policies.folder}")
    return f"{apis} published API(s) loaded from {services.policies.folder.name}"


def probe_routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
