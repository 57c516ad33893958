"""Proxied calls take the pipeline's own lane and still get what every request gets: id, drain, log, metrics."""

from __future__ import annotations

import logging

import pytest

from gateway.logs import ACCESS_LOGGER
from tests.integration.pipeline.conftest import Wallet

ACCOUNTS = "/open-banking/v4.0/aisp/accounts"
GIVEN_ID = "0f7c3b5e-9d0a-4c1e-8a8b-3d2f1e0c9b7a"


def test_the_wallets_interaction_id_is_echoed(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    response = wallet.get(ACCOUNTS, consent, **{"x-fapi-interaction-id": GIVEN_ID})
    assert response.status_code == 200
    assert response.headers["x-fapi-interaction-id"] == GIVEN_ID


def test_a_refusal_carries_the_interaction_id_in_its_header_and_body(wallet: Wallet) -> None:
    response = wallet.client.get(ACCOUNTS, headers={"x-fapi-interaction-id": GIVEN_ID})
    assert response.status_code == 401
    assert response.headers["x-fapi-interaction-id"] == GIVEN_ID
    assert response.json()["Id"] == GIVEN_ID


def test_a_call_arriving_while_draining_is_refused_with_503_and_retry_after(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    wallet.services.drain.begin()
    response = wallet.get(ACCOUNTS, consent)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Connection"] == "close"
    assert response.headers["x-fapi-interaction-id"] == response.json()["Id"]


def test_no_call_is_left_counted_in_flight(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    assert wallet.client.get(ACCOUNTS).status_code == 401
    assert wallet.services.drain.in_flight == 0


def test_an_unexpected_error_is_a_500_with_the_id_to_quote_and_is_logged_once(
    wallet: Wallet, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(wallet.services.pipeline.upstream, "request", broken)  # type: ignore[union-attr]
    with caplog.at_level(logging.ERROR):
        response = wallet.get(ACCOUNTS, consent, **{"x-fapi-interaction-id": GIVEN_ID})
    assert response.status_code == 500
    assert response.json()["Id"] == GIVEN_ID
    assert response.headers["x-fapi-interaction-id"] == GIVEN_ID
    assert "a bug" not in response.text
    assert [r.exc_info is not None for r in caplog.records if "unexpected error" in r.getMessage()] == [True]


def test_each_call_is_logged_once_with_its_labels(wallet: Wallet, caplog: pytest.LogCaptureFixture) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    caplog.set_level(logging.INFO, ACCESS_LOGGER)
    response = wallet.get(ACCOUNTS, consent)
    (line,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert line.status == 200  # type: ignore[attr-defined]
    assert line.operation == "GetAccounts"  # type: ignore[attr-defined]
    assert line.client_id == wallet.client_id  # type: ignore[attr-defined]
    assert line.consent_id == consent.consent_id  # type: ignore[attr-defined]
    assert line.interaction_id == response.headers["x-fapi-interaction-id"]  # type: ignore[attr-defined]


def test_each_call_is_counted_once_in_the_request_metrics(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"})
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    text = wallet.services.metrics.prometheus_text().decode()
    (line,) = [
        row for row in text.splitlines() if row.startswith("walletgate_requests_total{") and "GetAccounts" in row
    ]
    assert 'status="200"' in line
    assert line.endswith(" 1.0")
