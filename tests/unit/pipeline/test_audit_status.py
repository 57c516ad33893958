"""The audit record carries the status the wallet was sent, as the error handler renders the refusal."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from starlette.requests import Request

from gateway.errors import ForbiddenError, handle_error
from gateway.pipeline.audit import audit
from tests.support.audited import Sink, audited_call


async def _sent(exc: Exception) -> int:
    """The status the gateway's error handler answers ``exc`` with."""
    request = Request({"type": "http", "method": "GET", "path": "/open-banking/v4.0/aisp/accounts", "headers": []})
    return (await handle_error(request, exc)).status_code


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionError("redis away"),
        TimeoutError(),
        OperationalError("SELECT 1", {}, Exception("could not connect to server")),
    ],
    ids=["connection", "timeout", "database"],
)
async def test_audit_records_503_for_a_call_failed_by_an_unreachable_backend(exc: Exception) -> None:
    sink = Sink()
    call = audited_call(sink)
    call.fail(exc)
    await audit(call)
    assert [r.status for r in sink.records] == [await _sent(exc)] == [503]


@pytest.mark.parametrize("exc", [ForbiddenError("no"), ValueError("a bug")], ids=["refusal", "unexpected"])
async def test_audit_records_the_status_the_error_handler_sends(exc: Exception) -> None:
    sink = Sink()
    call = audited_call(sink)
    call.fail(exc)
    await audit(call)
    assert [r.status for r in sink.records] == [await _sent(exc)]
