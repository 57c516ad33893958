"""The path of every proxied call. Change the order here and nowhere else.

Each step is ``async def step(call: Call) -> None`` in its own module: it reads what earlier
steps set on the ``Call``, fills in its own fields, and refuses by raising a ``GatewayError``.
The checks that run while the limiter's answer travels are the plain functions behind two of
them (``check_request`` of ``validate_request``; ``prepare_upstream``, the headers ``proxy`` sends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from gateway.pipeline.audit import audit
from gateway.pipeline.authenticate import authenticate
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import Call
from gateway.pipeline.limit import begin_limit, give_back_daily, limit, spend_proof
from gateway.pipeline.minimise import minimise
from gateway.pipeline.proxy import prepare_upstream, proxy
from gateway.pipeline.route import route
from gateway.pipeline.tracing import traced
from gateway.pipeline.validate_request import check_request, validate_request
from gateway.pipeline.validate_response import validate_response

Step = Callable[[Call], Awaitable[None]]
Check = Callable[[Call], None]

BEFORE: tuple[Step, ...] = (route, authenticate, authorize)
# Then the limit step. Its Redis round trip overlaps these checks, which wait for nothing; a refusal
# of the limit step is still the answer when both refuse, as if they had run in order.
WHILE_COUNTING: tuple[Check, ...] = (check_request, prepare_upstream)
AFTER: tuple[Step, ...] = (validate_response, minimise)
TRACED_BEFORE: tuple[Step, ...] = (*BEFORE, limit, validate_request)  # with spans: one step at a time


async def handle(call: Call) -> Response:
    if call.runtime.tracing.enabled:
        return await traced(call, TRACED_BEFORE, proxy, AFTER, _settle)
    passthrough = call.runtime.passthrough
    try:
        if passthrough:  # benchmark only: the bare proxy hop
            await route(call)
        else:
            for step in BEFORE:
                await step(call)
            await _count_while_checking(call)
        await proxy(call)
        if not passthrough:
            for step in AFTER:
                await step(call)
        return call.response(_settle)
    except Exception as exc:
        call.fail(exc)
        raise
    finally:
        await _settle(call)


async def _count_while_checking(call: Call) -> None:
    """The limit step, with the ``WHILE_COUNTING`` checks run while the limiter's answer travels."""
    counted = begin_limit(call)
    try:
        for check in WHILE_COUNTING:
            check(call)
    except Exception:
        await counted  # the limit's refusal, if any, comes first
        raise
    await counted


async def _settle(call: Call) -> None:
    """After every call: spend a DPoP proof the limit step did not reach, give back the daily count
    of a call the bank failed, and record the call.

    A relayed body settles when it ends (``Call.response``); one left unsent is closed here."""
    if call.proof_jti is not None:
        await spend_proof(call)
    if call.daily_counted and call.error is not None:
        await give_back_daily(call)
    stream = call.upstream_stream
    if stream is not None:
        if call.streaming and not stream.finished:
            return
        await stream.close()
    await audit(call)
