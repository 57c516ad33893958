"""The audit record carries the status the wallet was sent, as the error handler renders the refusal."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request

from consent.model import AccessRecord
from gateway.errors import ForbiddenError, handle_error
from gateway.pipeline.audit import audit
from gateway.pipeline.call import AccessToken, Call
from policies import load_policies


class Sink:
    """Where the audit step queues its record (the audit writer's ``submit``)."""

    def __init__(self) -> None:
        self.records: list[AccessRecord] = []

    def submit(self, record: AccessRecord) -> None:
        self.records.append(record)


def _call(sink: Sink) -> Call:
    api = load_policies().apis["uk-ob-accounts-v4"]
    services: Any = SimpleNamespace(clock=time.time, settings=SimpleNamespace(audit_durable=False))
    return Call(
        services=services,
        runtime=SimpleNamespace(audit=sink),  # type: ignore[arg-type]
        method="GET",
        path="/open-banking/v4.0/aisp/accounts",
        url="http://gw.test/open-banking/v4.0/aisp/accounts",
        headers=Headers({}),
        query=QueryParams(""),
        body=b"",
        client_ip="127.0.0.1",
        interaction_id="i-1",
        started=time.perf_counter(),
        api=api,
        operation=api.operations["GetAccounts"],
        token=AccessToken("jti-1", "wallet-1", "alice", frozenset({"accounts"}), time.time() + 60, "c-1"),
    )


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
    call = _call(sink)
    call.fail(exc)
    await audit(call)
    assert [r.status for r in sink.records] == [await _sent(exc)] == [503]


@pytest.mark.parametrize("exc", [ForbiddenError("no"), ValueError("a bug")], ids=["refusal", "unexpected"])
async def test_audit_records_the_status_the_error_handler_sends(exc: Exception) -> None:
    sink = Sink()
    call = _call(sink)
    call.fail(exc)
    await audit(call)
    assert [r.status for r in sink.records] == [await _sent(exc)]
