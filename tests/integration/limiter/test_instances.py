"""Three gateway processes sharing one Redis admit, together, what the limit allows and never more."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.servers import ServerProcess, free_port, python_module

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

RATE, BURST = 1, 300  # one call an hour on top of a burst of 300: the burst is what a quick flood may get
POLICY = (
    f"endpoints:\n  on_redis_failure: closed\n  token:\n    per_client: {{rate: {RATE}, per: 1h, burst: {BURST}}}\n"
)


@pytest.fixture
def instances(tmp_path: Path, redis_url: str) -> Iterator[list[str]]:
    policy = tmp_path / "limits.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    servers = []
    for _ in range(3):
        port = free_port()
        server = ServerProcess(
            python_module(
                "uvicorn",
                "--factory",
                "tests.integration.limiter.instance_app:create",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ),
            f"http://127.0.0.1:{port}",
            env={
                "WALLETGATE_TEST_LIMITER_REDIS_URL": redis_url,
                "WALLETGATE_TEST_LIMITER_POLICY": str(policy),
                # A busy two-core test machine must not make these instances fail over mid-test.
                "WALLETGATE_TEST_LIMITER_BUDGET_MS": "1000",
            },
        )
        servers.append(server.start())
    yield [s.url for s in servers]
    for server in servers:
        server.stop()


async def _flood(urls: list[str], total: int) -> tuple[Counter[int], list[str], list[dict[str, str]]]:
    statuses: Counter[int] = Counter()
    retry_after: list[str] = []
    bodies: list[dict[str, str]] = []
    targets = itertools.cycle(urls)
    gate = asyncio.Semaphore(30)
    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> None:
            async with gate, session.post(f"{url}/token?client_id=wallet-1") as resp:
                statuses[resp.status] += 1
                if resp.status == 429:
                    retry_after.append(resp.headers["Retry-After"])
                    bodies.append(await resp.json())

        await asyncio.gather(*(one(next(targets)) for _ in range(total)))
    return statuses, retry_after, bodies


async def test_three_instances_admit_the_shared_limit_and_never_more(instances: list[str]) -> None:
    statuses, retry_after, bodies = await _flood(instances, 2 * BURST)
    admitted = statuses[200]
    assert set(statuses) <= {200, 429}, statuses  # no 503: Redis answered throughout
    assert admitted <= RATE + BURST
    assert abs(admitted - BURST) <= BURST / 100
    assert statuses[429] == 2 * BURST - admitted
    assert all(int(value) >= 1 for value in retry_after)
    assert bodies[0] == {
        "error": "temporarily_unavailable",
        "error_description": f"Rate limit exceeded: {RATE} /token calls per 1h per client (client:wallet-1); "
        f"retry after {retry_after[0]} s.",
    }
