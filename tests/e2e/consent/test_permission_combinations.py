"""Over HTTP: a consent pairing a transactions permission with nothing it needs is refused at creation
(wallet API, Open Banking error body) and at amendment (user API), with the same message."""

from __future__ import annotations

from consent.model import ConsentStatus
from gateway.portal.sessions import cookie_name
from tests.e2e.consent.conftest import CONSENTS, Wallet, consent_body

DETAIL_NEEDS = (
    "ReadTransactionsDetail needs at least one of ReadTransactionsCredits, ReadTransactionsDebits in the same consent."
)


def test_wallet_api_refuses_transactions_detail_alone_naming_what_it_needs(wallet: Wallet, ob_schema) -> None:
    response = wallet.call("POST", CONSENTS, json=consent_body(["ReadAccountsDetail", "ReadTransactionsDetail"]))
    assert response.status_code == 400, response.text
    ob_schema("OBErrorResponse1", response.json())
    error = response.json()["Errors"][0]
    assert (error["Message"], error["Path"]) == (DETAIL_NEEDS, "Data.Permissions")


def test_user_api_refuses_an_amendment_leaving_transactions_detail_alone(wallet: Wallet) -> None:
    held = ["ReadAccountsDetail", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"]
    created = wallet.call("POST", CONSENTS, json=consent_body(held))
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    services = wallet.services
    assert services.consents is not None
    wallet.run(services.consents.authorise, consent_id, user_id="alice", account_ids=["acc-1"])
    session_id, session = wallet.run(services.sessions.create, "alice")
    headers = {"Cookie": f"{cookie_name(services.settings)}={session_id}", "x-csrf-token": session.csrf_token}
    kept = {"permissions": ["ReadAccountsDetail", "ReadTransactionsDetail"]}
    response = wallet.client.post(f"/api/me/consents/{consent_id}/amend", json=kept, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["Errors"][0]
    assert (error["Message"], error["Path"]) == (DETAIL_NEEDS, "permissions")
    consent = wallet.run(services.consents.get, consent_id)
    assert (consent.status, consent.permissions) == (ConsentStatus.AUTHORISED, frozenset(held))
