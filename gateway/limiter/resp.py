"""One Redis connection for the limiter's hot-path script, pipelining every caller's command.

redis-py's asyncio client costs about 50-65 µs of Python per command (connection pool,
command packing, response parsing, its own timeouts); on the gateway's hot path that was a
twentieth of a proxied call. This connection keeps only what the limiter needs: commands are
packed and replies parsed by hiredis (the parser redis-py itself uses), and concurrent callers
share one socket, their commands written as they come and their replies matched in order
(RESP answers in order), so under load many calls go out in one write.

Only plain TCP URLs (``redis://``) take this path; TLS and Unix-socket URLs keep redis-py.
A lost connection fails every waiting caller with ``ConnectionError`` and is made again on
the next call. Timeouts stay with the caller (``FailoverLimiter``'s budget): a caller that
gives up leaves its reply to be read and dropped, so later replies still match their callers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import hiredis
from redis.asyncio import Redis


class RespError(Exception):
    """Redis answered with an error reply (``NOSCRIPT ...``, ``WRONGTYPE ...``)."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.WriteTransport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # uvloop's transports are not its subclasses

    def write(self, command: tuple[Any, ...], reply: asyncio.Future[Any]) -> None:
        """Send ``command``; ``reply`` gets its answer. Packed first: a command that cannot be packed
        raises here and waits for no reply, so later replies still match their callers."""
        if self.transport is None:
            raise ConnectionError("Redis connection not open")
        data = hiredis.pack_command(command)
        self.waiting.append(reply)
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft()
            if future.done():  # its caller gave up
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(RespError(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionError("Redis closed the connection")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError(f"Redis connection lost: {self.lost}"))


class PipelinedConnection:
    """``await call("EVALSHA", sha, ...)``: one command, its reply; many callers, one socket."""

    def __init__(self, host: str, port: int, *, db: int = 0, username: str | None = None, password: str | None = None):
        self.host, self.port, self.db = host, port, db
        self._auth = (username, password) if password else None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    @classmethod
    def for_client(cls, client: Redis) -> PipelinedConnection | None:
        """The same server, database and credentials as ``client``, if it speaks plain TCP."""
        kwargs = client.connection_pool.connection_kwargs
        if "path" in kwargs or kwargs.get("ssl") or client.connection_pool.connection_class.__name__ != "Connection":
            return None
        return cls(
            str(kwargs.get("host", "localhost")),
            int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0) or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
        )

    async def call(self, *args: str | int | float | bytes) -> Any:
        future = self.send(*args)
        if future is None:
            future = self._write(await self._connect(), args)
        return await future

    def send(self, *args: str | int | float | bytes) -> asyncio.Future[Any] | None:
        """Write one command now and return the future of its reply, so the caller can work while it
        travels; None while the connection is not open (``call`` opens it)."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            return None
        return self._write(protocol, args)

    @staticmethod
    def _write(protocol: _Protocol, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol.write(command, future)
        return future

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
        setup: list[tuple[Any, ...]] = []
        if self._auth is not None:
            user, password = self._auth
            setup.append(("AUTH", user, password) if user else ("AUTH", password))
        if self.db:
            setup.append(("SELECT", self.db))
        futures = []
        for command in setup:
            future: asyncio.Future[Any] = loop.create_future()
            protocol.write(command, future)
            futures.append(future)
        try:
            for future in futures:
                await future
        except BaseException:
            protocol.close()
            raise
        self._protocol = protocol
        return protocol

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
        self._protocol = None
