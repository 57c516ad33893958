"""The proxy step against a real loopback upstream that records what it was sent."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from gateway.oauth.keys import KeyRing
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.proxy import proxy
from gateway.pipeline.route import route
from gateway.pipeline.runtime import PipelineRuntime
from gateway.publishing import PublishedApis
from gateway.settings import Settings
from tests.support.servers import free_port
from tests.unit.pipeline.conftest import (  # noqa: F401 - fixtures
    BASE,
    ISSUER,
    MemoryConsents,
    accounts_api,
    consents,
    keys,
    make_call,
    runtime,
    services,
    settings,
)


@pytest.fixture
async def recorder(runtime: PipelineRuntime, settings: Settings) -> AsyncIterator[list[web.Request]]:  # noqa: F811
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"Data": {"Transaction": []}, "Links": {"Self": "x"}, "Meta": {}})

    port = free_port()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    local = dataclasses.replace(settings, upstream_url=f"http://127.0.0.1:{port}")
    runtime.published = PublishedApis(local, runtime.published.apis, runtime.published._catalogue)
    yield seen
    await runner.cleanup()


async def test_proxy_sends_the_signed_assertion_and_the_clipped_window(
    make_call: Callable[..., Call],  # noqa: F811
    consents: MemoryConsents,  # noqa: F811
    recorder: list[web.Request],
    keys: KeyRing,  # noqa: F811
) -> None:
    consent = consents.add(consent_id="c-1")
    call = make_call(
        path=BASE + "/accounts/acc-1/transactions?fromBookingDateTime=2020-01-01T00:00:00",
        headers={"authorization": "DPoP secret-token", "dpop": "proof", "x-fapi-customer-ip-address": "10.1.1.1"},
    )
    await route(call)
    call.token = AccessToken("j", "wallet-1", "alice", frozenset({"accounts"}), 0.0, "c-1", "k")
    await authorize(call)
    await proxy(call)
    assert call.upstream_status == 200
    (sent,) = recorder
    assert sent.path == "/open-banking/v4.0/aisp/accounts/acc-1/transactions"
    assert sent.query["fromBookingDateTime"] == "2024-01-01T00:00:00"
    assert sent.query["toBookingDateTime"] == "2024-12-31T00:00:00"
    assert sent.headers["x-fapi-interaction-id"] == call.interaction_id
    assert sent.headers["x-fapi-customer-ip-address"] == "10.1.1.1"
    assert "authorization" not in sent.headers
    assert "dpop" not in sent.headers
    port = sent.url.port
    claims: dict[str, Any] = keys.verify(
        sent.headers["x-walletgate-assertion"],
        typ="wg-assertion+jwt",
        audience=f"http://127.0.0.1:{port}",
        issuer=ISSUER,
    )
    assert claims["sub"] == "alice"
    assert claims["client_id"] == "wallet-1"
    assert claims["consent_id"] == consent.consent_id
    assert claims["accounts"] == ["acc-1"]
    assert "ReadTransactionsBasic" in claims["permissions"]
    assert claims["purposes"] == ["aggregation"]
    assert claims["exp"] - claims["iat"] <= 60


async def _proxied(make_call: Callable[..., Call], consents: MemoryConsents, headers: dict[str, str]) -> Call:  # noqa: F811
    consents.add(consent_id="c-1")
    call = make_call(path=BASE + "/accounts", headers=headers)
    await route(call)
    call.token = AccessToken("j", "wallet-1", "alice", frozenset({"accounts"}), 0.0, "c-1", "k")
    await authorize(call)
    await proxy(call)
    return call


async def test_proxy_passes_the_wallets_trace_context_to_the_bank_when_not_tracing(
    make_call: Callable[..., Call],  # noqa: F811
    consents: MemoryConsents,  # noqa: F811
    recorder: list[web.Request],
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await _proxied(make_call, consents, {"traceparent": traceparent})
    (sent,) = recorder
    assert sent.headers["traceparent"] == traceparent


@pytest.mark.parametrize(
    "traceparent",
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "x" * 55],
)
async def test_proxy_does_not_pass_a_malformed_trace_context_to_the_bank(
    make_call: Callable[..., Call],  # noqa: F811
    consents: MemoryConsents,  # noqa: F811
    recorder: list[web.Request],
    traceparent: str,
) -> None:
    await _proxied(make_call, consents, {"traceparent": traceparent, "tracestate": "vendor=1"})
    (sent,) = recorder
    assert "traceparent" not in sent.headers
    assert "tracestate" not in sent.headers


async def test_proxy_sends_its_own_span_as_parent_when_tracing(
    make_call: Callable[..., Call],  # noqa: F811
    consents: MemoryConsents,  # noqa: F811
    recorder: list[web.Request],
    runtime: PipelineRuntime,  # noqa: F811
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from gateway.telemetry import Tracing

    runtime.tracing = Tracing.with_provider(TracerProvider())
    with runtime.tracing.server_span(
        "test", {}, carrier={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    ):
        await _proxied(make_call, consents, {})
    (sent,) = recorder
    _version, trace_id, parent_id, _flags = sent.headers["traceparent"].split("-")
    assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parent_id != "00f067aa0ba902b7"
