"""The upstream client against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web

from gateway.errors import ServiceUnavailableError, UpstreamError
from gateway.upstream import UpstreamClient, UpstreamOptions
from tests.support.servers import free_port


@dataclass
class Bank:
    url: str
    peers: list[object] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def bank() -> AsyncIterator[Bank]:
    port = free_port()
    state = Bank(f"http://127.0.0.1:{port}")

    def seen(request: web.Request) -> None:
        state.hits[request.path] = state.hits.get(request.path, 0) + 1
        state.peers.append(request.transport.get_extra_info("peername") if request.transport else None)

    async def ok(request: web.Request) -> web.Response:
        seen(request)
        return web.json_response({"Data": {"q": request.query.get("q"), "id": request.headers.get("x-id")}})

    async def slow(request: web.Request) -> web.Response:
        seen(request)
        await asyncio.sleep(3)
        return web.json_response({})

    async def broken(request: web.Request) -> web.Response:
        seen(request)
        return web.Response(status=500, text="Traceback: secret internals at db01.bank.local")

    async def hang_up(request: web.Request) -> web.Response:
        seen(request)
        if request.transport is not None:
            request.transport.abort()
        await asyncio.sleep(0.05)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/slow", slow)
    app.router.add_route("*", "/broken", broken)
    app.router.add_route("*", "/hang-up", hang_up)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient(UpstreamOptions(read_timeout=0.3, failure_threshold=3, open_seconds=5), clock=Clock())
    await c.start()
    yield c
    await c.close()


async def test_upstream_reuses_one_kept_alive_connection(client: UpstreamClient, bank: Bank) -> None:
    for _ in range(3):
        response = await client.request(bank.url, "GET", bank.url + "/ok", params={"q": "1"}, headers={"x-id": "a"})
        assert response.status == 200
    assert len(set(bank.peers)) == 1
    assert orjson.loads(response.body) == {"Data": {"q": "1", "id": "a"}}


async def test_upstream_slow_answer_becomes_502(client: UpstreamClient, bank: Bank) -> None:
    with pytest.raises(UpstreamError) as info:
        await client.request(bank.url, "GET", bank.url + "/slow")
    assert info.value.status == 502


async def test_upstream_500_becomes_502_without_its_internals(client: UpstreamClient, bank: Bank) -> None:
    with pytest.raises(UpstreamError) as info:
        await client.request(bank.url, "GET", bank.url + "/broken")
    assert info.value.status == 502
    assert "secret" not in info.value.message
    assert "db01" not in info.value.message


async def test_upstream_resends_idempotent_call_once_when_the_connection_drops(
    client: UpstreamClient, bank: Bank
) -> None:
    with pytest.raises(UpstreamError):
        await client.request(bank.url, "GET", bank.url + "/hang-up")
    assert bank.hits["/hang-up"] == 2  # bounded: the call and one resend


async def test_upstream_never_retries_a_post(client: UpstreamClient, bank: Bank) -> None:
    with pytest.raises(UpstreamError):
        await client.request(bank.url, "POST", bank.url + "/hang-up", body=b"{}")
    assert bank.hits["/hang-up"] == 1


async def test_upstream_refused_connection_becomes_502(client: UpstreamClient) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UpstreamError):
        await client.request(url, "GET", url + "/ok")


async def _trip(client: UpstreamClient, upstream: str, bank: Bank) -> None:
    """Three failed calls to ``upstream``: its breaker opens."""
    for _ in range(3):
        with pytest.raises(UpstreamError):
            await client.request(upstream, "GET", bank.url + "/broken")


def _wait_open_seconds(client: UpstreamClient) -> None:
    """Let the breaker's open period (5 s) pass on the client's clock."""
    clock = client._clock
    assert isinstance(clock, Clock)
    clock.now += 5.1


async def test_open_breaker_refuses_at_once_with_retry_after(client: UpstreamClient, bank: Bank) -> None:
    await _trip(client, bank.url, bank)
    with pytest.raises(ServiceUnavailableError) as info:
        await client.request(bank.url, "GET", bank.url + "/ok")
    assert info.value.status == 503
    assert info.value.headers["Retry-After"] == "5"
    assert "/ok" not in bank.hits


async def test_breaker_lets_one_trial_through_then_closes_on_success(client: UpstreamClient, bank: Bank) -> None:
    await _trip(client, bank.url, bank)
    _wait_open_seconds(client)
    assert (await client.request(bank.url, "GET", bank.url + "/ok")).status == 200
    assert not client.breaker(bank.url).is_open
    assert (await client.request(bank.url, "GET", bank.url + "/ok")).status == 200


async def test_breaker_reopens_when_the_trial_fails(client: UpstreamClient, bank: Bank) -> None:
    await _trip(client, bank.url, bank)
    _wait_open_seconds(client)
    with pytest.raises(UpstreamError):
        await client.request(bank.url, "GET", bank.url + "/broken")
    with pytest.raises(ServiceUnavailableError):
        await client.request(bank.url, "GET", bank.url + "/ok")


async def test_breakers_are_per_upstream(client: UpstreamClient, bank: Bank) -> None:
    await _trip(client, "bank-a", bank)
    assert (await client.request("bank-b", "GET", bank.url + "/ok")).status == 200
