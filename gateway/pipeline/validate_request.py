"""Check headers, path and query parameters and the body against the operation's compiled schemas."""

from __future__ import annotations

import orjson

from gateway.errors import (
    FieldMissingError,
    GatewayError,
    HeaderInvalidError,
    HeaderMissingError,
    ResourceInvalidFormatError,
)
from gateway.pipeline.call import Call

_FAPI_HEADERS = frozenset({"x-fapi-interaction-id", "x-fapi-customer-ip-address", "x-fapi-auth-date"})


async def validate_request(call: Call) -> None:
    check_request(call)


def check_request(call: Call) -> None:
    """``validate_request`` without the coroutine: it waits for nothing, so it runs while the limiter's
    answer travels (``gateway.pipeline.handle``)."""
    if call.operation is None:
        raise GatewayError("The request was not routed.")
    spec = call.operation.spec
    problem = spec.path.problem(call.path_params)
    if problem is not None:
        raise GatewayError(f"Path parameter {problem.path}: {problem.message}.", path=problem.path)
    problem = spec.query.problem(call.query)
    if problem is not None:
        error = FieldMissingError if problem.missing else GatewayError
        raise error(f"Query parameter {problem.path}: {problem.message}.", path=problem.path)
    names = spec.header_names
    headers = {k: v for k, v in call.headers.items() if k in names or k in _FAPI_HEADERS}
    problem = spec.header.problem(headers)
    if problem is not None:
        header_error = HeaderMissingError if problem.missing else HeaderInvalidError
        raise header_error(f"Header {problem.path}: {problem.message}.", path=problem.path)
    _check_body(call)


def _check_body(call: Call) -> None:
    spec = call.operation.spec if call.operation else None
    if spec is None or spec.body is None:
        return
    if not call.body:
        if spec.body_required:
            raise FieldMissingError("The request body is required.", path="(body)")
        return
    try:
        document = orjson.loads(call.body)
    except orjson.JSONDecodeError:
        raise ResourceInvalidFormatError("The request body is not valid JSON.", path="(body)") from None
    problem = spec.body.first_problem(document)
    if problem is not None:
        error = FieldMissingError if problem.missing else GatewayError
        raise error(f"{problem.path}: {problem.message}.", path=problem.path)
