"""The authenticate step's refusals of non-ASCII and percent-encoded tricks, through the gateway process.

Each is a 401 with the Open Banking body and the ``WWW-Authenticate`` header, never a 500.
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.e2e.pipeline.harness import BASE, Wallet

CURRENT = "acc-alice-current"
ACCOUNTS = BASE + "/accounts"


def _refused(response: httpx.Response, error: str, says: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert body["Id"] == response.headers["x-fapi-interaction-id"]
    assert says in body["Message"], body
    assert f'error="{error}"' in response.headers["WWW-Authenticate"]
    return body


def test_a_proof_for_a_non_ascii_url_is_refused_in_the_open_banking_format(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent)
    proof = wallet.proof("GET", ACCOUNTS, token, htu=wallet.stack.gateway_url + ACCOUNTS + "/\u00e9t\u00e9\u2603")
    body = _refused(wallet.get(ACCOUNTS, consent, token=token, proof=proof), "invalid_dpop_proof", "htu")
    assert "/\\xe9t\\xe9\\u2603' does not match the request URL" in body["Message"]


def test_an_access_token_in_a_percent_encoded_query_parameter_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    token = wallet.token(consent)
    path = f"{ACCOUNTS}?access%5Ftoken={token}"
    response = wallet.get(path, consent, token=token, proof=wallet.proof("GET", ACCOUNTS, token))
    _refused(response, "invalid_token", "Access tokens in the query string are refused")
