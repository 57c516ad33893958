"""A lost or slow Redis never hangs or crashes a request: fail open to a local share, or 503; then recover."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from gateway.errors import ServiceUnavailableError
from gateway.limiter import Hit, OnFailure, Rule
from gateway.limiter.build import redis_client
from gateway.limiter.failover import FailoverLimiter
from gateway.limiter.redis import RedisLimiter
from gateway.metrics import Metrics
from tests.integration.limiter.conftest import RedisServer
from tests.support.servers import free_port
from tests.unit.ops.test_metrics import sample

pytestmark = pytest.mark.integration

WALLET = Rule("wallet.attended", 10, 1.0, 10)
CLOSED_API = Rule("api.bank", 100, 1.0, 100, on_redis_failure="closed")
OPEN_API = Rule("api.bank", 100, 1.0, 100, on_redis_failure="open")


def _limiter(
    url: str, on_failure: OnFailure = "open", budget: float = 0.02, metrics: Metrics | None = None
) -> FailoverLimiter:
    return FailoverLimiter(
        RedisLimiter(redis_client(url, budget)),
        instances=2,
        on_failure=on_failure,
        budget=budget,
        probe_interval=0.05,
        metrics=metrics,
    )


def _dead_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


async def _wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_dead_redis_fails_open_to_this_instances_share(caplog: pytest.LogCaptureFixture) -> None:
    limiter = _limiter(_dead_url())
    with caplog.at_level(logging.WARNING, "walletgate.limiter"):
        decisions = [await limiter.acquire([Hit(WALLET, "wallet:w1")]) for _ in range(12)]
    await limiter.aclose()
    assert sum(d.allowed for d in decisions) == 5  # burst 10 shared by 2 instances
    assert limiter.switches == 1
    assert not limiter.healthy
    assert any("Redis lost" in r.getMessage() for r in caplog.records)


async def test_dead_redis_fails_closed_with_503_and_retry_after() -> None:
    limiter = _limiter(_dead_url(), on_failure="closed")
    with pytest.raises(ServiceUnavailableError) as refused:
        await limiter.acquire([Hit(WALLET, "wallet:w1")])
    await limiter.aclose()
    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": "1"}
    assert "shared limiter store is unavailable" in refused.value.message


async def test_an_api_that_fails_closed_overrides_an_open_default() -> None:
    limiter = _limiter(_dead_url(), on_failure="open")
    with pytest.raises(ServiceUnavailableError):
        await limiter.acquire([Hit(WALLET, "wallet:w1"), Hit(CLOSED_API, "api:bank")])
    await limiter.aclose()


async def test_an_api_that_fails_open_overrides_a_closed_default() -> None:
    limiter = _limiter(_dead_url(), on_failure="closed")
    decision = await limiter.acquire([Hit(WALLET, "wallet:w1"), Hit(OPEN_API, "api:bank")])
    await limiter.aclose()
    assert decision.allowed


@pytest.mark.parametrize("way", ["acquire", "begin"])  # begin: the script is written before the caller awaits
async def test_slow_redis_is_abandoned_after_the_budget(own_redis: RedisServer, way: str) -> None:
    limiter = _limiter(own_redis.url, budget=0.05)
    assert (await limiter.acquire([Hit(WALLET, "wallet:w1")])).allowed  # the pipelined connection is open
    blocker = redis.asyncio.Redis(port=own_redis.port)
    stall = asyncio.create_task(blocker.execute_command("DEBUG", "SLEEP", "1"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    decision = await (limiter.begin if way == "begin" else limiter.acquire)([Hit(WALLET, "wallet:w1")])
    waited = time.monotonic() - started
    await stall
    await blocker.aclose()
    assert decision.allowed  # answered locally
    assert limiter.switches == 1
    assert waited < 0.5  # the budget (50 ms) plus scheduling, not the 1 s stall
    await _wait_until(lambda: limiter.healthy)
    await limiter.aclose()


async def test_a_call_begun_on_dead_redis_fails_closed_with_503() -> None:
    limiter = _limiter(_dead_url(), on_failure="closed")
    with pytest.raises(ServiceUnavailableError):
        await limiter.begin([Hit(WALLET, "wallet:w1")])
    assert limiter.switches == 1
    await limiter.aclose()


async def test_redis_stopped_and_started_mid_run_switches_over_and_back(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    limiter = _limiter(own_redis.url, budget=0.1, metrics=metrics)
    hit = Hit(Rule("wallet.unattended", 1, 3600.0, 8), "wallet:w1")
    caplog.set_level(logging.WARNING, "walletgate.limiter")
    shared_before = sum([(await limiter.acquire([hit])).allowed for _ in range(3)])
    own_redis.stop()
    local = [await limiter.acquire([hit]) for _ in range(6)]
    assert not limiter.healthy
    assert sample(metrics.prometheus_text().decode(), "walletgate_limiter_failovers_total", to="local") == 1
    own_redis.start()
    await _wait_until(lambda: limiter.healthy)
    shared_after = sum([(await limiter.acquire([hit])).allowed for _ in range(10)])
    await limiter.aclose()
    assert shared_before == 3
    assert sum(d.allowed for d in local) == 4  # the local share: burst 8 / 2 instances
    assert shared_after == 8  # the restarted Redis (no persistence) counts from zero
    assert limiter.switches == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("Redis lost" in m for m in messages)
    assert any("Redis is back" in m for m in messages)
    text = metrics.prometheus_text().decode()
    assert sample(text, "walletgate_limiter_failovers_total", to="local") == 1
    assert sample(text, "walletgate_limiter_failovers_total", to="redis") == 1


class _Blackhole:
    """A TCP relay to Redis that can go silent on the connections it has, as a dead host or a moved
    address does (no reset, no answer), while new connections still reach Redis."""

    def __init__(self, target: str) -> None:
        url = urlsplit(target)
        self.target = (url.hostname or "127.0.0.1", url.port or 6379)
        self.db = url.path
        self.silenced: set[asyncio.StreamWriter] = set()
        self.open: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}{self.db}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    def silence_existing(self) -> None:
        self.silenced |= self.open

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.open.add(writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink, writer))
            self.tasks.add(task)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        while data := await source.read(65536):
            if client not in self.silenced:
                sink.write(data)
        sink.close()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.open:
            writer.close()
        if self.server is not None:
            self.server.close()


async def test_back_from_a_silent_redis_the_limiter_counts_on_a_fresh_connection(redis_url: str) -> None:
    """The hot path's own connection went silent (no reset): once the probe finds Redis again, calls do not
    go back to that connection, miss the budget and flap to local limiting each time."""
    relay = _Blackhole(redis_url)
    await relay.start()
    limiter = _limiter(relay.url, budget=0.1)
    hit = Hit(Rule("wallet.unattended", 1, 3600.0, 20), "wallet:w1")
    try:
        assert (await limiter.acquire([hit])).allowed  # the pipelined connection is open
        relay.silence_existing()
        await limiter.acquire([hit])  # misses the budget: counted locally
        assert not limiter.healthy
        await _wait_until(lambda: limiter.healthy)
        for _ in range(3):
            await limiter.acquire([hit])
        assert limiter.switches == 1
        assert limiter.healthy
    finally:
        await limiter.aclose()
        await relay.stop()
