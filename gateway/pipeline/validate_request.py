"""Check headers, path and query parameters and the body against the operation's compiled schemas.

The bank is sent the body as the wallet sent it, so it must read the document the gateway checked:
a body is refused on an operation that declares none, a JSON body is refused when labelled as
another media type or with a member named twice (parsers differ on which one counts). So is a
checked header sent twice: one copy would be checked and another one sent on. A query parameter
that spells a declared one in other letter cases is refused: it would reach the bank unchecked (a
booking date unclipped), and a bank that reads names case-insensitively would take it for the
declared one. Other undeclared query parameters pass: a bank's paging links carry its own.
"""

from __future__ import annotations

import json
from typing import Any

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
    for name in call.query:
        declared = spec.query.case_variant(name)
        if declared is not None:  # it would pass unchecked (and unclipped) to a bank that ignores case
            raise GatewayError(f"Query parameter {name}: names are case-sensitive; did you mean {declared}?", path=name)
    names = spec.header_names
    headers: dict[str, str] = {}
    for name, value in call.headers.items():
        if name in names or name in _FAPI_HEADERS:
            if name in headers:  # one copy would be checked, another sent on (``proxy`` sends the first)
                raise HeaderInvalidError(f"Header {name}: sent more than once.", path=name)
            headers[name] = value
    problem = spec.header.problem(headers)
    if problem is not None:
        header_error = HeaderMissingError if problem.missing else HeaderInvalidError
        raise header_error(f"Header {problem.path}: {problem.message}.", path=problem.path)
    _check_body(call)


def _check_body(call: Call) -> None:
    spec = call.operation.spec if call.operation else None
    if spec is None:
        return
    if spec.body is None:
        if call.body and not spec.body_required:
            raise ResourceInvalidFormatError(f"{spec.operation_id} takes no request body.", path="(body)")
        return
    if not call.body:
        if spec.body_required:
            raise FieldMissingError("The request body is required.", path="(body)")
        return
    _check_json_media_type(call.headers.get("content-type"))
    try:
        document = orjson.loads(call.body)
    except orjson.JSONDecodeError:
        raise ResourceInvalidFormatError("The request body is not valid JSON.", path="(body)") from None
    duplicated = _duplicated_member(call.body)
    if duplicated is not None:
        raise ResourceInvalidFormatError(f"The request body names the member {duplicated!r} twice.", path="(body)")
    problem = spec.body.first_problem(document)
    if problem is not None:
        error = FieldMissingError if problem.missing else GatewayError
        raise error(f"{problem.path}: {problem.message}.", path=problem.path)


def _check_json_media_type(content_type: str | None) -> None:
    """A JSON body labelled as JSON (UTF-8, the only encoding it is read in), or not labelled at all."""
    if content_type is None:
        return  # sent on as application/json (``proxy``)
    kind, _, parameters = content_type.partition(";")
    kind = kind.strip().lower()
    charsets = [
        value.strip().strip('"').lower()
        for name, _, value in (p.partition("=") for p in parameters.split(";"))
        if name.strip().lower() == "charset"
    ]
    if not kind.endswith(("/json", "+json")) or any(c != "utf-8" for c in charsets):
        raise HeaderInvalidError(
            f"Header content-type: the request body is JSON, not {content_type!r}.", path="content-type"
        )


class _DuplicatedError(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise _DuplicatedError(name)
        members[name] = value
    return members


def _duplicated_member(body: bytes) -> str | None:
    """The first member name an object of ``body`` (valid JSON) gives twice, if any."""
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _DuplicatedError as exc:
        return str(exc.args[0])
    return None
