"""With an OTLP endpoint configured, spans leave the process over OTLP/HTTP."""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.telemetry import tracing_for
from tests.support.servers import free_port


async def test_spans_are_exported_to_the_configured_endpoint() -> None:
    received: list[str] = []

    async def collect(request: web.Request) -> web.Response:
        received.append(request.path)
        await request.read()
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    port = free_port()
    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        tracing = tracing_for(f"http://127.0.0.1:{port}")
        assert tracing.enabled
        with tracing.server_span("GET /accounts", {"walletgate.interaction_id": "i-1"}), tracing.step("route"):
            pass
        await asyncio.to_thread(tracing.shutdown)  # flushes the batch (the exporter blocks, so off the loop)
    finally:
        await runner.cleanup()
    assert received == ["/v1/traces"]
