"""A routed, authenticated ``Call`` to the shipped accounts API whose audit record lands in a ``Sink``."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from starlette.datastructures import Headers, QueryParams

from consent.model import AccessRecord
from gateway.pipeline.call import AccessToken, Call
from policies import load_policies


class Sink:
    """Where the audit step queues its record (the audit writer's ``submit``)."""

    def __init__(self) -> None:
        self.records: list[AccessRecord] = []

    def submit(self, record: AccessRecord) -> None:
        self.records.append(record)


def audited_call(sink: Sink, **fields: Any) -> Call:
    """A GetAccounts call by wallet-1 for alice under consent c-1; ``fields`` set more of the ``Call``."""
    api = load_policies().apis["uk-ob-accounts-v4"]
    services: Any = SimpleNamespace(clock=time.time, settings=SimpleNamespace(audit_durable=False))
    runtime: Any = SimpleNamespace(audit=sink)
    return Call(
        services=services,
        runtime=runtime,
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
        **fields,
    )
