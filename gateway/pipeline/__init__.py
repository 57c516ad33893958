"""The path of every proxied call. Change the order here and nowhere else.

Each step is ``async def step(call: Call) -> None`` in its own module: it reads what earlier
steps set on the ``Call``, fills in its own fields, and refuses by raising a ``GatewayError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from gateway.pipeline.audit import audit
from gateway.pipeline.authenticate import authenticate
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import Call
from gateway.pipeline.limit import limit, spend_proof
from gateway.pipeline.minimise import minimise
from gateway.pipeline.proxy import proxy
from gateway.pipeline.route import route
from gateway.pipeline.tracing import traced
from gateway.pipeline.validate_request import validate_request
from gateway.pipeline.validate_response import validate_response

Step = Callable[[Call], Awaitable[None]]

BEFORE: tuple[Step, ...] = (route, authenticate, authorize, limit, validate_request)
AFTER: tuple[Step, ...] = (validate_response, minimise)
PASSTHROUGH_BEFORE: tuple[Step, ...] = (route,)  # benchmark only: the bare proxy hop


async def handle(call: Call) -> Response:
    if call.runtime.tracing.enabled:
        return await traced(call, BEFORE, proxy, AFTER, _settle)
    before, after = (PASSTHROUGH_BEFORE, ()) if call.runtime.passthrough else (BEFORE, AFTER)
    try:
        for step in before:
            await step(call)
        await proxy(call)
        for step in after:
            await step(call)
        return call.response(_settle)
    except Exception as exc:
        call.fail(exc)
        raise
    finally:
        await _settle(call)


async def _settle(call: Call) -> None:
    """After every call: spend a DPoP proof the limit step did not reach, and record the call.

    A relayed body settles when it ends (``Call.response``); one left unsent is closed here."""
    if call.proof_jti is not None:
        await spend_proof(call)
    stream = call.upstream_stream
    if stream is not None:
        if call.streaming and not stream.finished:
            return
        await stream.close()
    await audit(call)
