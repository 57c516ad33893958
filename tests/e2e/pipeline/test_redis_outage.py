"""Redis goes away under a running gateway, and comes back.

The gateway reaches Redis through a forwarder the test can cut. A DPoP-bound call cannot have its
proof's replay checked without Redis, so while Redis is away such calls are refused with 503 and
Retry-After (never served unchecked, never a 500); once Redis is back the gateway reconnects by
itself and serves them again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import redis

from consent.model import Consent
from tests.conftest import REDIS_TEST_URL, _unavailable
from tests.e2e.pipeline.harness import BASE, Stack, Wallet, start_stack
from tests.support.forwarder import Forwarder, forwarding

CURRENT = "acc-alice-current"
ACCOUNTS = BASE + "/accounts"


@pytest.fixture(scope="module")
def forwarder() -> Iterator[Forwarder]:
    url = redis.connection.parse_url(REDIS_TEST_URL)
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)  # a failure under CI, as every Redis test's
    client.flushdb()
    client.close()
    with forwarding(int(url.get("port", 6379))) as running:
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, forwarder: Forwarder) -> Iterator[Stack]:
    db = redis.connection.parse_url(REDIS_TEST_URL).get("db", 0)
    folder = tmp_path_factory.mktemp("redis-outage")
    env = {"WALLETGATE_REDIS_URL": f"redis://127.0.0.1:{forwarder.port}/{db}"}
    running = start_stack(folder, extra_env=env, gateway_log=folder / "gateway.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def wallet(stack: Stack, forwarder: Forwarder) -> Iterator[Wallet]:
    w = Wallet(stack)
    yield w
    forwarder.restore()
    w.close()


def _served_again(wallet: Wallet, consent: Consent) -> int:
    """The status of the first call that is served within 10 s (the gateway probes Redis once a second)."""
    deadline = time.monotonic() + 10
    while (status := wallet.get(ACCOUNTS, consent).status_code) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    return status


def _refused_for_now(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["Id"] == response.headers["x-fapi-interaction-id"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_dpop_bound_call_is_refused_for_now_while_redis_is_away(wallet: Wallet, forwarder: Forwarder) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    forwarder.cut()
    _refused_for_now(wallet.get(ACCOUNTS, consent))
    _refused_for_now(wallet.get(ACCOUNTS, consent))


def test_calls_are_served_again_once_redis_is_back(wallet: Wallet, forwarder: Forwarder) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    forwarder.cut()
    _refused_for_now(wallet.get(ACCOUNTS, consent))
    forwarder.restore()
    assert _served_again(wallet, consent) == 200


def test_a_proof_refused_while_redis_was_away_cannot_be_replayed_once_it_is_back(
    wallet: Wallet, forwarder: Forwarder
) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    token = wallet.token(consent)
    proof = wallet.proof("GET", ACCOUNTS, token)
    forwarder.cut()
    _refused_for_now(wallet.get(ACCOUNTS, consent, token=token, proof=proof))
    forwarder.restore()
    assert _served_again(wallet, consent) == 200
    time.sleep(1.0)  # the customer's limit (10 calls a second) is whole again
    assert wallet.get(ACCOUNTS, consent, token=token, proof=proof).status_code == 200  # never spent: still usable
    assert wallet.get(ACCOUNTS, consent, token=token, proof=proof).status_code == 401  # and only once


def test_an_outage_is_logged_in_lines_not_tracebacks(stack: Stack, wallet: Wallet, forwarder: Forwarder) -> None:
    log_path = stack.processes[1].log_path
    assert log_path is not None
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert _served_again(wallet, consent) == 200
    written_before = log_path.stat().st_size
    forwarder.cut()
    _refused_for_now(wallet.get(ACCOUNTS, consent))
    time.sleep(2.5)  # the listeners try to resubscribe, the limiter probes: each fails a few times
    forwarder.restore()
    assert _served_again(wallet, consent) == 200
    time.sleep(1.5)  # the listeners resubscribe
    log = log_path.read_bytes()[written_before:].decode()
    assert "Traceback" not in log, log
    assert log.count("consent invalidation channel lost") == 1, log
