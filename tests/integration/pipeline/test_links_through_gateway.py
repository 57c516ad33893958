"""Wallet → gateway (in-process) → sandbox bank (a real process): the answer's ``Links`` name the gateway."""

from __future__ import annotations

from typing import Any

from tests.integration.pipeline.conftest import BASE, ISSUER, Wallet

ACCOUNT = "acc-alice-current"
TRANSACTIONS = BASE + f"/accounts/{ACCOUNT}/transactions"


def _body(wallet: Wallet, path: str, permissions: set[str]) -> dict[str, Any]:
    response = wallet.get(path, wallet.consent(permissions, accounts=(ACCOUNT,)))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_self_link_of_a_single_account_is_the_gateway_url_the_wallet_called(wallet: Wallet) -> None:
    body = _body(wallet, BASE + f"/accounts/{ACCOUNT}", {"ReadAccountsBasic"})
    assert body["Links"] == {"Self": ISSUER + BASE + f"/accounts/{ACCOUNT}"}


def test_next_link_of_transactions_is_served_by_the_gateway(wallet: Wallet) -> None:
    permissions = {"ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}
    consent = wallet.consent(permissions, accounts=(ACCOUNT,))
    first = wallet.get(TRANSACTIONS, consent).json()
    assert first["Links"]["Next"].startswith(ISSUER + TRANSACTIONS + "?")
    second = wallet.get(first["Links"]["Next"].removeprefix(ISSUER), consent)
    assert second.status_code == 200, second.text
    assert second.json()["Meta"]["TotalPages"] == first["Meta"]["TotalPages"]
    assert second.json()["Data"]["Transaction"][0] not in first["Data"]["Transaction"]
