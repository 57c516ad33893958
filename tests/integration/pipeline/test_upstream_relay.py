"""The upstream client relays a body its caller accepts as it arrives, and reads the rest whole under a cap."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web

from gateway.errors import UpstreamError
from gateway.upstream import UpstreamClient, UpstreamInterruptedError, UpstreamOptions
from tests.support.servers import free_port

CHUNK = b"%PDF" + bytes(64 * 1024)
_GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@dataclass
class FileBank:
    url: str
    release: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    peers: list[object] = field(default_factory=list)
    accept_encoding: str | None = None


@pytest.fixture
async def bank() -> AsyncIterator[FileBank]:
    """``/file`` sends one chunk, then waits for ``release`` before the second; ``/big-json`` is 4 KiB of JSON."""
    port = free_port()
    state = FileBank(f"http://127.0.0.1:{port}")

    async def file(request: web.Request) -> web.StreamResponse:
        state.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
        await response.prepare(request)
        await response.write(CHUNK)
        await state.release.wait()
        await response.write(CHUNK)
        await response.write_eof()
        state.finished.set()
        return response

    async def broken(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
        await response.prepare(request)
        await response.write(CHUNK)
        raise ConnectionResetError("the bank drops the connection mid-file")

    async def big_json(request: web.Request) -> web.Response:
        return web.json_response({"Data": "x" * 4096})

    async def polite(request: web.Request) -> web.Response:
        """Compresses only when the caller asks for it, as a bank behind nginx's gzip does."""
        state.accept_encoding = request.headers.get("Accept-Encoding")
        if "gzip" in (state.accept_encoding or ""):
            return web.Response(body=gzip.compress(b'{"Data": {}}'), headers=_GZIP_JSON)
        return web.json_response({"Data": {}})

    async def pushy(request: web.Request) -> web.Response:
        """Compresses whatever the caller asked for."""
        return web.Response(body=gzip.compress(b'{"Data": {}}'), headers=_GZIP_JSON)

    app = web.Application()
    app.router.add_get("/file", file)
    app.router.add_get("/broken", broken)
    app.router.add_get("/big-json", big_json)
    app.router.add_get("/polite", polite)
    app.router.add_get("/pushy", pushy)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient(UpstreamOptions(read_timeout=2, max_body_bytes=1024))
    await c.start()
    yield c
    await c.close()


def _pdf(status: int, headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/pdf")


async def test_an_accepted_body_arrives_chunk_by_chunk_before_the_bank_has_finished(
    client: UpstreamClient, bank: FileBank
) -> None:
    response = await client.request(bank.url, "GET", bank.url + "/file", stream=_pdf)
    assert response.stream is not None
    assert response.body == b""
    chunks = response.stream.chunks()
    first = await anext(chunks)
    assert first.startswith(b"%PDF")
    assert not bank.finished.is_set()
    bank.release.set()
    rest = b"".join([chunk async for chunk in chunks])
    assert len(first) + len(rest) == 2 * len(CHUNK)
    await response.stream.close()


async def _relay_all(client: UpstreamClient, url: str) -> int:
    response = await client.request(url.rsplit("/", 1)[0], "GET", url, stream=_pdf)
    assert response.stream is not None
    received = 0
    try:
        async for chunk in response.stream.chunks():
            received += len(chunk)
    finally:
        await response.stream.close()
    return received


async def test_a_relayed_body_the_bank_breaks_off_raises_and_is_charged_to_the_breaker(
    client: UpstreamClient, bank: FileBank
) -> None:
    with pytest.raises(UpstreamInterruptedError):
        await _relay_all(client, bank.url + "/broken")
    assert client.breaker(bank.url).recovering  # a failure is on record


async def test_a_relayed_body_stalled_past_the_read_timeout_is_broken_off(
    client: UpstreamClient, bank: FileBank
) -> None:
    try:
        with pytest.raises(UpstreamInterruptedError, match="Timeout"):
            await _relay_all(client, bank.url + "/file")  # the second chunk never comes: read_timeout is 2 s
    finally:
        bank.release.set()  # lets the bank's handler end, so its server stops at once


async def test_a_relayed_body_has_no_size_cap(client: UpstreamClient, bank: FileBank) -> None:
    bank.release.set()
    response = await client.request(bank.url, "GET", bank.url + "/file", stream=_pdf)
    assert response.stream is not None
    assert sum([len(chunk) async for chunk in response.stream.chunks()]) > client.options.max_body_bytes
    await response.stream.close()


async def test_a_body_read_to_the_end_gives_its_connection_back(client: UpstreamClient, bank: FileBank) -> None:
    bank.release.set()
    for _ in range(2):
        response = await client.request(bank.url, "GET", bank.url + "/file", stream=_pdf)
        assert response.stream is not None
        _ = [chunk async for chunk in response.stream.chunks()]
        await response.stream.close()
    assert len(set(bank.peers)) == 1


async def test_a_body_left_unread_drops_its_connection(client: UpstreamClient, bank: FileBank) -> None:
    first = await client.request(bank.url, "GET", bank.url + "/file", stream=_pdf)
    assert first.stream is not None
    await first.stream.close()
    bank.release.set()
    second = await client.request(bank.url, "GET", bank.url + "/file", stream=_pdf)
    assert second.stream is not None
    await second.stream.close()
    assert len(set(bank.peers)) == 2


async def test_a_body_read_whole_is_refused_past_the_cap_saying_so(client: UpstreamClient, bank: FileBank) -> None:
    with pytest.raises(UpstreamError, match="larger than the gateway reads"):
        await client.request(bank.url, "GET", bank.url + "/big-json", stream=_pdf)


async def test_answers_past_the_cap_do_not_open_the_breaker(client: UpstreamClient, bank: FileBank) -> None:
    for _ in range(client.options.failure_threshold + 1):
        with pytest.raises(UpstreamError):
            await client.request(bank.url, "GET", bank.url + "/big-json")
    assert not client.breaker(bank.url).is_open


async def test_a_body_the_caller_does_not_accept_is_read_whole(client: UpstreamClient, bank: FileBank) -> None:
    bank.release.set()
    roomy = UpstreamClient(UpstreamOptions(read_timeout=2))
    await roomy.start()
    try:
        response = await roomy.request(bank.url, "GET", bank.url + "/file", stream=lambda status, headers: False)
    finally:
        await roomy.close()
    assert response.stream is None
    assert len(response.body) == 2 * len(CHUNK)


async def test_the_gateway_asks_the_bank_for_an_uncompressed_body(client: UpstreamClient, bank: FileBank) -> None:
    response = await client.request(bank.url, "GET", bank.url + "/polite")
    assert bank.accept_encoding == "identity"
    assert orjson.loads(response.body) == {"Data": {}}


async def test_a_body_compressed_anyway_is_refused_saying_so_without_charging_the_breaker(
    client: UpstreamClient, bank: FileBank
) -> None:
    for _ in range(client.options.failure_threshold + 1):
        with pytest.raises(UpstreamError, match=r"is compressed \(gzip\) although the gateway asked for none"):
            await client.request(bank.url, "GET", bank.url + "/pushy")
    assert not client.breaker(bank.url).is_open
