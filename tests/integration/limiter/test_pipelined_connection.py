"""The limiter script's own Redis connection: many callers on one socket, each gets its own reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis
import redis.asyncio

from gateway.limiter.resp import PipelinedConnection, RespError
from tests.integration.limiter.conftest import RedisServer

pytestmark = pytest.mark.integration


def _connection(url: str) -> PipelinedConnection:
    found = PipelinedConnection.for_client(redis.asyncio.Redis.from_url(url))
    assert found is not None
    return found


async def test_concurrent_callers_each_get_their_own_reply(redis_url: str) -> None:
    connection = _connection(redis_url)
    try:
        replies = await asyncio.gather(*(connection.call("ECHO", f"caller-{i}") for i in range(200)))
        assert replies == [f"caller-{i}".encode() for i in range(200)]
    finally:
        connection.close()


async def test_it_uses_the_database_of_the_url(redis_url: str) -> None:
    connection, client = _connection(redis_url), redis.asyncio.Redis.from_url(redis_url)
    try:
        await connection.call("SET", "wg:test:db", "here")
        assert await client.get("wg:test:db") == b"here"
    finally:
        connection.close()
        await client.aclose()


async def test_an_error_reply_raises_and_later_replies_still_match(redis_url: str) -> None:
    connection = _connection(redis_url)
    try:
        with pytest.raises(RespError, match="NOSCRIPT"):
            await connection.call("EVALSHA", "0" * 40, 0)
        assert await connection.call("ECHO", "after") == b"after"
    finally:
        connection.close()


async def test_a_command_that_cannot_be_written_does_not_shift_the_next_reply(redis_url: str) -> None:
    """A value hiredis cannot pack (a lone surrogate is not UTF-8) fails its caller alone, awaiting no reply."""
    connection = _connection(redis_url)
    try:
        await connection.call("PING")
        with pytest.raises(UnicodeEncodeError):
            await connection.call("ECHO", "\ud800")
        async with asyncio.timeout(1.0):
            assert await connection.call("ECHO", "mine") == b"mine"
    finally:
        connection.close()


async def test_a_caller_that_gives_up_does_not_shift_the_next_reply(redis_url: str) -> None:
    connection = _connection(redis_url)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await connection.call("BLPOP", "wg:test:empty", "0.3")
        assert await connection.call("ECHO", "mine") == b"mine"
    finally:
        connection.close()


async def test_a_lost_server_fails_the_caller_and_the_next_call_reconnects(own_redis: RedisServer) -> None:
    connection = _connection(own_redis.url)
    try:
        assert await connection.call("PING") == b"PONG"
        own_redis.stop()
        with pytest.raises(ConnectionError):
            await connection.call("PING")
        own_redis.start()
        assert await connection.call("PING") == b"PONG"
    finally:
        connection.close()


@pytest.mark.parametrize("url", ["rediss://127.0.0.1:6379/0", "unix:///tmp/redis.sock"])
def test_tls_and_unix_socket_urls_keep_the_client(url: str) -> None:
    assert PipelinedConnection.for_client(redis.asyncio.Redis.from_url(url)) is None


def test_it_works_on_uvloop_which_uvicorn_runs(redis_url: str) -> None:
    import uvloop

    async def echo() -> list[bytes]:
        connection = _connection(redis_url)
        try:
            return list(await asyncio.gather(*(connection.call("ECHO", str(i)) for i in range(20))))
        finally:
            connection.close()

    assert uvloop.run(echo()) == [str(i).encode() for i in range(20)]


async def test_send_writes_the_command_before_returning(redis_url: str) -> None:
    connection, client = _connection(redis_url), redis.Redis.from_url(redis_url)
    try:
        await connection.call("PING")  # the connection is open
        sent = connection.send("SET", "wg:test:sent", "written")
        assert sent is not None
        assert _eventually(lambda: client.get("wg:test:sent") == b"written")  # the event loop never ran meanwhile
        assert await sent == b"OK"
    finally:
        connection.close()
        client.close()


async def test_send_returns_none_until_the_connection_is_open(redis_url: str) -> None:
    connection = _connection(redis_url)
    try:
        assert connection.send("PING") is None
        assert await connection.call("PING") == b"PONG"
        sent = connection.send("PING")
        assert sent is not None
        assert await sent == b"PONG"
    finally:
        connection.close()


def _eventually(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll without yielding to the event loop (a blocking wait)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
