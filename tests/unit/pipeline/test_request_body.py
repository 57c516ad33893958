"""How much of a proxied call's body the gateway reads: all of it up to a cap, and none that was not declared."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from starlette.requests import Request
from starlette.types import Message

from gateway.errors import PayloadTooLargeError
from gateway.pipeline.endpoint import MAX_BODY_BYTES, _body


def _request(headers: Sequence[tuple[bytes, bytes]], chunks: Sequence[bytes]) -> Request:
    messages = [{"type": "http.request", "body": c, "more_body": i + 1 < len(chunks)} for i, c in enumerate(chunks)]

    async def receive() -> Message:
        if not messages:
            raise AssertionError("the body was read past its end")
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": list(headers), "query_string": b""}
    return Request(scope, receive)


async def test_a_declared_length_body_is_read_whole() -> None:
    request = _request([(b"content-length", b"11")], [b'{"a":', b" 1234}"])
    assert await _body(request) == b'{"a": 1234}'


async def test_a_chunked_body_is_read_whole() -> None:
    request = _request([(b"transfer-encoding", b"chunked")], [b'{"a":', b" 1234}"])
    assert await _body(request) == b'{"a": 1234}'


async def test_a_call_declaring_no_body_is_not_read() -> None:
    async def receive() -> Message:
        raise AssertionError("a call without Content-Length or Transfer-Encoding has no body to read")

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    assert await _body(Request(scope, receive)) == b""


async def test_a_declared_length_past_the_cap_is_refused_unread() -> None:
    request = _request([(b"content-length", str(MAX_BODY_BYTES + 1).encode())], [])
    with pytest.raises(PayloadTooLargeError) as refused:
        await _body(request)
    assert refused.value.status == 413


async def test_a_chunked_body_is_refused_once_it_passes_the_cap() -> None:
    chunk = b"x" * (256 * 1024)
    request = _request([(b"transfer-encoding", b"chunked")], [chunk] * 5 + [b"never read"])
    with pytest.raises(PayloadTooLargeError):
        await _body(request)
