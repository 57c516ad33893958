"""Through the whole gateway: the limit step runs after authorize, and its headers and 429 reach the wallet.

The bank upstream is a dead port, so admitted calls end in 502 (503 once the upstream circuit
breaker opens), with the RateLimit headers; only the limiter can produce a 429. Such calls give
their daily count back under the shipped policy, so the daily-frequency tests count them with
``frequency_per_day.refund_bank_failures: false``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app
from policies import SHIPPED
from tests.e2e.consent.conftest import Wallet, consent_body
from tests.support.policies import shipped_policies_copy

pytestmark = pytest.mark.integration

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents"
ACCOUNTS = "/open-banking/v4.0/aisp/accounts"


@pytest.fixture
def policies_dir(tmp_path: Path) -> Path:
    """The shipped policies, with every call the gateway let through counting against the day."""

    def count_bank_failures(limits: dict[str, Any]) -> dict[str, Any]:
        limits["frequency_per_day"]["refund_bank_failures"] = False
        return limits

    return shipped_policies_copy(tmp_path, count_bank_failures)


@pytest.fixture(params=["memory", "redis"])
def wallet(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Any], sqlite_url: str, policies_dir: Path
) -> Iterator[Wallet]:
    yield from _wallet(request, settings_factory, sqlite_url, policies_dir)


@pytest.fixture(params=["memory", "redis"])
def shipped_wallet(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Any], sqlite_url: str
) -> Iterator[Wallet]:
    yield from _wallet(request, settings_factory, sqlite_url, SHIPPED)


def _wallet(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Any], sqlite_url: str, policies: Path
) -> Iterator[Wallet]:
    upgrade(sqlite_url)
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    settings = settings_factory(
        database_url=sqlite_url,
        upstream_url="http://127.0.0.1:9",
        issuer="http://testserver",
        redis_url=redis_url,
        policies_dir=policies,
    )
    with TestClient(create_app(settings)) as client:
        yield Wallet(client, "wallet-1")


def _user_token(wallet: Wallet) -> str:
    created = wallet.call("POST", CONSENTS, json=consent_body())
    assert created.status_code == 201
    consent_id = created.json()["Data"]["ConsentId"]
    assert wallet.services.consents is not None
    wallet.run(wallet.services.consents.authorise, consent_id, user_id="alice", account_ids=["acc-1"])
    return wallet.token(sub="alice", consent_id=consent_id)


def test_fifth_unattended_call_of_the_day_gets_429_naming_the_frequency_and_its_reset(wallet: Wallet) -> None:
    token = _user_token(wallet)
    admitted = [wallet.call("GET", ACCOUNTS, token=token) for _ in range(4)]
    assert [r.status_code for r in admitted] == [502] * 4
    assert [r.headers["RateLimit-Remaining"] for r in admitted] == ["3", "2", "1", "0"]
    assert admitted[0].headers["RateLimit-Limit"] == "4"
    refused = wallet.call("GET", ACCOUNTS, token=token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    body = refused.json()
    assert body["Code"] == "429 TooManyRequests"
    assert body["Errors"][0]["ErrorCode"] == "U042"
    assert body["Message"].startswith("Daily access frequency reached: the consent's 4 calls a day")
    assert "resets at midnight UTC" in body["Message"]


def test_attended_calls_are_not_counted_against_the_daily_frequency(wallet: Wallet) -> None:
    token = _user_token(wallet)
    present = {"x-fapi-customer-ip-address": "203.0.113.7"}
    attended = [wallet.call("GET", ACCOUNTS, token=token, headers=present) for _ in range(6)]
    assert {r.status_code for r in attended} <= {502, 503}
    assert attended[0].headers["RateLimit-Policy"] == "10;w=1"  # the customer's 10 calls/s binds
    unattended = [wallet.call("GET", ACCOUNTS, token=token).status_code for _ in range(5)]
    assert set(unattended[:4]) <= {502, 503}
    assert unattended[4] == 429


def test_calls_the_bank_failed_give_their_daily_count_back_under_the_shipped_policy(shipped_wallet: Wallet) -> None:
    token = _user_token(shipped_wallet)
    statuses = [shipped_wallet.call("GET", ACCOUNTS, token=token).status_code for _ in range(8)]
    assert 429 not in statuses
    assert set(statuses) <= {502, 503}
