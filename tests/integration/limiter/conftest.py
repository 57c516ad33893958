"""The same test bodies over both back-ends: in-process and a real Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from gateway.limiter import Limiter
from gateway.limiter.build import redis_client
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter
from tests.support.servers import free_port


@pytest.fixture(params=["memory", "redis", "redis-py"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    """``redis``: the script on its pipelined connection (the hot path); ``redis-py``: through the client."""
    backend: Limiter
    if request.param == "memory":
        backend = MemoryLimiter()
    else:
        client = redis_client(request.getfixturevalue("redis_url"), 1.0)
        backend = RedisLimiter(client, pipelined=request.param == "redis")
    yield backend
    await backend.aclose()


class RedisServer:
    """A redis-server of the test's own on a spare port, to stop and start mid-run."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--enable-debug-command",
                "local",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
