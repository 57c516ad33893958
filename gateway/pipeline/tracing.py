"""The pipeline run inside spans: one server span per call, one child per step and for the upstream call.

Used only when tracing is configured; ``handle`` runs the same steps without spans otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from opentelemetry.trace import SpanKind
from starlette.responses import Response

from gateway.pipeline.call import Call
from gateway.telemetry import finish_server_span

_Step = Callable[[Call], Awaitable[None]]


async def traced(call: Call, before: Sequence[_Step], proxy: _Step, after: Sequence[_Step], audit: _Step) -> Response:
    tracing = call.runtime.tracing
    name, attributes = f"{call.method} {call.path}", {"walletgate.interaction_id": call.interaction_id}
    with tracing.server_span(name, attributes, carrier=call.headers) as span:
        call.trace_id = format(span.get_span_context().trace_id, "032x")
        try:
            for step in before:
                with tracing.step(step.__name__):
                    await step(call)
            with tracing.step("upstream", SpanKind.CLIENT):
                await proxy(call)
            for step in after:
                with tracing.step(step.__name__):
                    await step(call)
            return call.response(audit)
        except Exception as exc:
            call.fail(exc)
            raise
        finally:
            with tracing.step("audit"):
                await audit(call)
            finish_server_span(span, _attributes(call), call.status or 500)


def _attributes(call: Call) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {"walletgate.interaction_id": call.interaction_id}
    if call.token is not None:
        attributes["walletgate.wallet"] = call.token.client_id
        if call.token.consent_id:
            attributes["walletgate.consent"] = call.token.consent_id
    if call.operation is not None:
        attributes["walletgate.operation"] = call.operation.operation_id
    if call.api is not None:
        attributes["walletgate.api"] = call.api.name
    return attributes
