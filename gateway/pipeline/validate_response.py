"""Check the bank's answer against the operation's response schema (per API: enforce or report).

``enforce`` turns a response that breaks its schema into a 502 that names the field;
``report`` lets it pass, logs it and counts it per operation.
"""

from __future__ import annotations

import logging

import orjson

from gateway.errors import UpstreamError
from gateway.pipeline.call import Call

log = logging.getLogger("walletgate.pipeline.validate_response")


async def validate_response(call: Call) -> None:
    api, op, status = call.api, call.operation, call.upstream_status
    if api is None or op is None or status is None:
        raise UpstreamError("The bank's response is missing.")
    if not call.upstream_body:
        return
    try:
        call.response_json = orjson.loads(call.upstream_body)
    except orjson.JSONDecodeError:
        _broken(call, "the body is not JSON", "the body is not JSON")
        return
    validator = op.spec.response_validator(status)
    if validator is None:
        return
    problem = validator.first_problem(call.response_json)
    if problem is not None:
        _broken(call, f"at {problem.path}", f"{problem.path}: {problem.message}")


def _broken(call: Call, where: str, detail: str) -> None:
    """``where`` may reach the wallet; ``detail`` (which can quote data) goes only to the log."""
    api, op = call.api, call.operation
    if api is None or op is None:
        return
    if api.response_validation == "enforce":
        log.warning("%s %s: response breaks its schema: %s", api.name, op.operation_id, detail)
        raise UpstreamError(
            f"The bank's response to {op.operation_id} does not match its schema ({where}); quote the Id to report it."
        )
    call.runtime.published.count_schema_problem(api.name, op.operation_id)
    log.warning("%s %s: response breaks its schema (report mode): %s", api.name, op.operation_id, detail)
