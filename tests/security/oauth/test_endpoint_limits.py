"""The token and PAR endpoints are rate limited per source address and per authenticated client."""

from __future__ import annotations

import pytest

from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.rules import rule_book
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import Gateway, Wallet


@pytest.fixture(autouse=True)
def _limiter_on_the_frozen_clock(gateway: Gateway) -> None:
    """Limits refill with time; on the frozen clock a burst is exactly the policy's burst."""
    gateway.services.limiter = MemoryLimiter(clock=gateway.clock)


def _burst(gateway: Gateway, endpoint: str) -> int:
    [per_client] = rule_book(gateway.services.policies.limits).endpoint_hits(endpoint, "any", None)
    return per_client.rule.burst


def test_token_endpoint_refuses_a_client_past_its_limit(gateway: Gateway, wallet: Wallet) -> None:
    form = {"grant_type": "client_credentials", "scope": "accounts"}
    for _ in range(_burst(gateway, "token")):
        assert wallet.post("/token", form).status_code == 200
    response = wallet.post("/token", form)
    refused(response, 429, "temporarily_unavailable", "")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"


def test_token_responses_carry_rate_limit_headers(gateway: Gateway, wallet: Wallet) -> None:
    response = wallet.post("/token", {"grant_type": "client_credentials", "scope": "accounts"})
    assert response.status_code == 200
    assert int(response.headers["ratelimit-remaining"]) == _burst(gateway, "token") - 1


def test_one_clients_limit_does_not_refuse_another_client(gateway: Gateway, wallet: Wallet) -> None:
    form = {"grant_type": "client_credentials", "scope": "accounts"}
    for _ in range(_burst(gateway, "token") + 1):
        wallet.post("/token", form)
    assert gateway.register().post("/token", form).status_code == 200


def test_par_endpoint_refuses_a_client_past_its_limit(gateway: Gateway, wallet: Wallet) -> None:
    consent_id = gateway.consent(wallet.client_id)
    for _ in range(_burst(gateway, "par")):
        assert wallet.par(consent_id).status_code == 201
    refused(wallet.par(consent_id), 429, "temporarily_unavailable", "")
