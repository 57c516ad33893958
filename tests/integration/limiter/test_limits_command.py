"""``walletgate limits show --client ID`` reads a wallet's usage from Redis without consuming it."""

from __future__ import annotations

import asyncio

import pytest

from gateway.cli import main
from gateway.limiter.build import redis_client
from gateway.limiter.redis import RedisLimiter
from gateway.limiter.rules import rule_book
from policies import SHIPPED
from policies.limits import load_limits

pytestmark = pytest.mark.integration


async def _use_register(redis_url: str, times: int) -> None:
    limiter = RedisLimiter(redis_client(redis_url, 1.0))
    book = rule_book(load_limits(SHIPPED / "limits.yaml"))
    for _ in range(times):
        assert (await limiter.acquire(book.endpoint_hits("register", "wallet-1", "192.0.2.1"))).allowed
    await limiter.aclose()


def test_limits_show_prints_usage_against_each_wallet_limit(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_use_register(redis_url, 3))
    for _ in range(2):  # showing twice proves the first showing consumed nothing
        assert main(["limits", "show", "--client", "wallet-1", "--redis-url", redis_url]) == 0
    out = capsys.readouterr().out.splitlines()
    register = [line.split() for line in out if line.startswith("endpoint.register.client")]
    assert register[0][:7] == [
        "endpoint.register.client",
        "client:wallet-1",
        "enforce",
        "10/3600s",
        "burst",
        "10",
        "3/10",
    ]
    assert register[0][:8] == register[1][:8]  # same usage; only "full again in" moves on
    assert any(line.startswith("wallet.attended ") for line in out)


def test_limits_show_says_so_when_redis_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "show", "--client", "wallet-1", "--redis-url", "redis://127.0.0.1:1/0"]) == 2
    assert "walletgate: cannot read the limits: Redis limiter call failed" in capsys.readouterr().err
