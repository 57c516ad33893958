"""The bank down or broken, seen by the wallet: 502 with an Id to quote, nothing of the bank's internals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.pipeline.conftest import BASE, Wallet
from tests.support.servers import free_port


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {"upstream_url": f"http://127.0.0.1:{free_port()}"}  # nothing listens there


def test_unreachable_bank_is_502_with_the_interaction_id(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    response = wallet.get(BASE + "/accounts", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    assert response.status_code == 502
    body = response.json()
    assert body["Id"] == response.headers["x-fapi-interaction-id"]
    assert "127.0.0.1" not in response.text
    assert "quote the Id" in body["Message"]
    metrics = wallet.services.metrics.prometheus_text().decode()
    assert 'kind="connect"' in metrics
    assert 'operation="GetAccounts"' in metrics  # the request metrics are labelled from what the pipeline left


def test_breaker_opens_after_repeated_failures_and_answers_503_at_once(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    statuses = [
        wallet.get(BASE + "/accounts", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [502] * 5
    assert statuses[5] == 503
    last = wallet.get(BASE + "/accounts", consent, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    assert int(last.headers["Retry-After"]) >= 1
