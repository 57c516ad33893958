"""The wallet-facing consent API end to end, requests and responses checked against the official schema."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from consent.model import Actor
from gateway.oauth.clients import Client
from tests.e2e.consent.conftest import CONSENTS, Wallet, consent_body


def _in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


def test_create_returns_an_awaiting_consent_valid_against_the_official_schema(wallet: Wallet, ob_operation) -> None:
    body = consent_body(ExpirationDateTime=_in(30))
    ob_operation("/account-access-consents", "post", request=body)
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 201, response.text
    doc = response.json()
    ob_operation("/account-access-consents", "post", status=201, response=doc)
    data = doc["Data"]
    assert data["Status"] == "AWAU"
    assert data["Permissions"] == ["ReadAccountsBasic", "ReadBalances"]
    assert data["WalletGate"]["Purposes"] == ["aggregation"]
    assert doc["Links"]["Self"].endswith(f"{CONSENTS}/{data['ConsentId']}")
    assert response.headers["x-fapi-interaction-id"]


def test_request_with_purpose_extension_is_accepted_by_the_official_schema(wallet: Wallet, ob_schema) -> None:
    body = consent_body(
        ["ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits"],
        WalletGate={"Purposes": ["lending"], "Recipients": ["credit_bureau:acme"], "FrequencyPerDay": 2},
    )
    ob_schema("OBReadConsent1", body)
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 201, response.text
    ob_schema("OBReadConsentResponse1", response.json())
    ext = response.json()["Data"]["WalletGate"]
    assert ext == {"Purposes": ["lending"], "Recipients": ["credit_bureau:acme"], "FrequencyPerDay": 2}


def test_request_without_purpose_gets_the_wallets_registered_default(gateway: TestClient, wallet: Wallet) -> None:
    client = Client(
        client_id="wallet-1",
        client_name="Lender",
        redirect_uris=("https://wallet.example/cb",),
        token_endpoint_auth_method="private_key_jwt",
        default_purpose="lending",
    )
    wallet.run(wallet.services.clients.create, client)
    response = wallet.call("POST", CONSENTS, json=consent_body())
    assert response.json()["Data"]["WalletGate"]["Purposes"] == ["lending"]


def test_purpose_rule_breach_is_refused_naming_purpose_and_rule(wallet: Wallet, ob_schema) -> None:
    body = consent_body(["ReadTransactionsDetail", "ReadTransactionsDebits"], WalletGate={"Purposes": ["marketing"]})
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 400
    ob_schema("OBErrorResponse1", response.json())
    error = response.json()["Errors"][0]
    assert error["Message"] == (
        "Purpose 'marketing' breaks rule 'permissions': it may not carry "
        "ReadTransactionsDebits, ReadTransactionsDetail."
    )
    assert error["Path"] == "Data.Permissions"


def test_lending_longer_than_90_days_is_refused(wallet: Wallet) -> None:
    body = consent_body(ExpirationDateTime=_in(120), WalletGate={"Purposes": ["lending"]})
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 400
    assert "Purpose 'lending' breaks rule 'max_duration_days'" in response.json()["Errors"][0]["Message"]


@pytest.mark.parametrize("field", ["Status", "ConsentId", "CreationDateTime", "StatusUpdateDateTime"])
def test_server_owned_fields_are_refused_naming_them(wallet: Wallet, field: str, ob_schema) -> None:
    body = consent_body(**{field: "AUTH" if field == "Status" else "2026-01-01T00:00:00+00:00"})
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 400
    ob_schema("OBErrorResponse1", response.json())
    error = response.json()["Errors"][0]
    assert error["ErrorCode"] == "U005"
    assert error["Path"] == f"Data.{field}"
    assert f"Data.{field} is set by the server" in error["Message"]


def test_missing_permissions_are_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, json={"Data": {}, "Risk": {}})
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "Data.Permissions"


def test_idempotent_post_returns_the_same_consent(wallet: Wallet) -> None:
    headers = {"x-idempotency-key": "key-1"}
    first = wallet.call("POST", CONSENTS, json=consent_body(), headers=headers)
    again = wallet.call("POST", CONSENTS, json=consent_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()


def test_idempotency_key_reused_with_another_body_is_refused(wallet: Wallet, ob_schema) -> None:
    headers = {"x-idempotency-key": "key-1"}
    wallet.call("POST", CONSENTS, json=consent_body(), headers=headers)
    response = wallet.call("POST", CONSENTS, json=consent_body(["ReadBalances"]), headers=headers)
    assert response.status_code == 400
    ob_schema("OBErrorResponse1", response.json())
    assert response.json()["Errors"][0]["ErrorCode"] == "U013"
    assert "already used with a different request body" in response.json()["Errors"][0]["Message"]


def test_concurrent_posts_with_one_key_make_one_consent(wallet: Wallet) -> None:
    def post(_: int) -> str:
        response = wallet.call("POST", CONSENTS, json=consent_body(), headers={"x-idempotency-key": "race"})
        assert response.status_code == 201, response.text
        return str(response.json()["Data"]["ConsentId"])

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(post, range(8)))
    assert len(ids) == 1


def test_get_returns_the_consent_and_validates(wallet: Wallet, ob_operation) -> None:
    created = wallet.call("POST", CONSENTS, json=consent_body()).json()
    consent_id = created["Data"]["ConsentId"]
    response = wallet.call("GET", f"{CONSENTS}/{consent_id}")
    assert response.status_code == 200
    ob_operation("/account-access-consents/{ConsentId}", "get", status=200, response=response.json())
    assert response.json()["Data"]["ConsentId"] == consent_id


def test_another_wallets_consent_looks_like_an_unknown_one(wallet: Wallet, other_wallet: Wallet, ob_schema) -> None:
    consent_id = wallet.call("POST", CONSENTS, json=consent_body()).json()["Data"]["ConsentId"]
    theirs = other_wallet.call("GET", f"{CONSENTS}/{consent_id}")
    unknown = other_wallet.call("GET", f"{CONSENTS}/no-such-consent")
    assert theirs.status_code == unknown.status_code == 404
    ob_schema("OBErrorResponse1", theirs.json())
    assert theirs.json()["Errors"][0]["ErrorCode"] == unknown.json()["Errors"][0]["ErrorCode"] == "U011"
    assert other_wallet.call("DELETE", f"{CONSENTS}/{consent_id}").status_code == 404


def test_delete_revokes_an_authorised_consent(wallet: Wallet) -> None:
    consent_id = wallet.call("POST", CONSENTS, json=consent_body()).json()["Data"]["ConsentId"]
    store = wallet.services.consents
    assert store is not None
    wallet.run(store.authorise, consent_id, user_id="alice", account_ids=["acc-1"])
    response = wallet.call("DELETE", f"{CONSENTS}/{consent_id}")
    assert response.status_code == 204
    assert wallet.call("GET", f"{CONSENTS}/{consent_id}").json()["Data"]["Status"] == "CANC"
    again = wallet.call("DELETE", f"{CONSENTS}/{consent_id}")
    assert again.status_code == 400
    assert again.json()["Errors"][0]["ErrorCode"] == "U009"


def test_paused_consent_shows_as_authorised_with_a_reason(wallet: Wallet, ob_schema) -> None:
    consent_id = wallet.call("POST", CONSENTS, json=consent_body()).json()["Data"]["ConsentId"]
    store = wallet.services.consents
    assert store is not None
    wallet.run(store.authorise, consent_id, user_id="alice", account_ids=["acc-1"])
    wallet.run(store.pause, consent_id, actor=Actor.USER, actor_id="alice")
    doc = wallet.call("GET", f"{CONSENTS}/{consent_id}").json()
    ob_schema("OBReadConsentResponse1", doc)
    assert doc["Data"]["Status"] == "AUTH"
    assert doc["Data"]["StatusReason"][0]["StatusReasonCode"] == "PAUS"


def test_request_without_token_is_refused(gateway: TestClient) -> None:
    response = gateway.post(CONSENTS, json=consent_body())
    assert response.status_code == 401
    assert "An access token is required" in response.json()["Errors"][0]["Message"]


def test_user_token_is_refused_for_consent_management(wallet: Wallet) -> None:
    token = wallet.token(sub="alice", consent_id="c-1")
    response = wallet.call("POST", CONSENTS, json=consent_body(), token=token)
    assert response.status_code == 401
    assert "client_credentials token" in response.json()["Errors"][0]["Message"]


def test_token_without_accounts_scope_is_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, json=consent_body(), token=wallet.token(scope="payments"))
    assert response.status_code == 401
    assert "lacks the 'accounts' scope" in response.json()["Errors"][0]["Message"]


def test_token_without_dpop_proof_is_refused(wallet: Wallet) -> None:
    token = wallet.token()
    response = wallet.client.post(CONSENTS, json=consent_body(), headers={"Authorization": f"DPoP {token}"})
    assert response.status_code == 401
    assert "DPoP proof is required" in response.json()["Errors"][0]["Message"]


def test_token_signed_by_another_key_is_refused(wallet: Wallet) -> None:
    from gateway.oauth.keys import KeyRing, generate_jwk

    forged = KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]}).sign(
        {"sub": "wallet-1"}, typ="at+jwt"
    )
    response = wallet.call("POST", CONSENTS, json=consent_body(), token=forged)
    assert response.status_code == 401
    assert "The access token is invalid" in response.json()["Errors"][0]["Message"]


def test_unknown_extension_member_is_refused(wallet: Wallet) -> None:
    body = consent_body(WalletGate={"Purposes": ["aggregation"], "Purpose": "x"})
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 400
    error = response.json()["Errors"][0]
    assert (error["ErrorCode"], error["Path"]) == ("U005", "Data.WalletGate.Purpose")


def test_marketing_is_never_a_silent_default(wallet: Wallet) -> None:
    client = Client(
        client_id="wallet-1",
        client_name="Shop",
        redirect_uris=("https://wallet.example/cb",),
        token_endpoint_auth_method="private_key_jwt",
    )
    wallet.run(wallet.services.clients.create, client)
    response = wallet.call("POST", CONSENTS, json=consent_body())
    assert response.json()["Data"]["WalletGate"]["Purposes"] == ["aggregation"]


def test_non_empty_risk_is_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, json={"Data": {"Permissions": ["ReadBalances"]}, "Risk": {"x": 1}})
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "Risk"


def test_body_that_is_not_json_is_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Message"] == "The request body is not JSON."


def test_expiry_without_timezone_is_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, json=consent_body(ExpirationDateTime="2027-01-01T00:00:00"))
    assert response.status_code == 400
    error = response.json()["Errors"][0]
    assert (error["ErrorCode"], error["Path"], error["Message"]) == (
        "U003",
        "Data.ExpirationDateTime",
        "Data.ExpirationDateTime must include a timezone.",
    )


def test_malformed_idempotency_key_is_refused(wallet: Wallet) -> None:
    response = wallet.call("POST", CONSENTS, json=consent_body(), headers={"x-idempotency-key": "x" * 129})
    assert response.status_code == 400
    error = response.json()["Errors"][0]
    assert (error["ErrorCode"], error["Path"]) == ("U006", "header.x-idempotency-key")


def test_revoked_access_token_is_refused(wallet: Wallet) -> None:
    token = wallet.token(jti="revoked-jti")
    wallet.run(wallet.services.revocation.revoke, "revoked-jti", wallet.services.clock() + 300)
    response = wallet.call("POST", CONSENTS, json=consent_body(), token=token)
    assert response.status_code == 401
    assert response.json()["Errors"][0]["Message"] == "The access token has been revoked."


def test_wallet_can_delete_a_consent_still_awaiting_authorisation(wallet: Wallet) -> None:
    consent_id = wallet.call("POST", CONSENTS, json=consent_body()).json()["Data"]["ConsentId"]
    response = wallet.call("DELETE", f"{CONSENTS}/{consent_id}")
    assert response.status_code == 204
    assert wallet.call("GET", f"{CONSENTS}/{consent_id}").json()["Data"]["Status"] == "CANC"


_P = ["ReadBalances"]


@pytest.mark.parametrize(
    ("body", "code", "message", "path"),
    [
        ([], "U002", "body must be an object.", "body"),
        ({"Risk": {}}, "U004", "Data is required.", "Data"),
        ({"Data": {"Permissions": _P}}, "U004", "Risk is required.", "Risk"),
        (
            consent_body(["ReadBalances"], WalletGate="lending"),
            "U002",
            "Data.WalletGate must be an object.",
            "Data.WalletGate",
        ),
        (consent_body("ReadBalances"), "U002", "Data.Permissions must be a list of strings.", "Data.Permissions"),
        (consent_body(_P * 2), "U002", "Data.Permissions lists an entry twice.", "Data.Permissions"),
        (consent_body(["ReadMinds"]), "U002", "Unknown permission code 'ReadMinds'.", "Data.Permissions"),
        (consent_body(_P, Other=1), "U005", "Unknown member Data.Other.", "Data.Other"),
        (
            consent_body(_P, WalletGate={"Purposes": []}),
            "U002",
            "Data.WalletGate.Purposes must not be empty.",
            "Data.WalletGate.Purposes",
        ),
        (
            consent_body(_P, WalletGate={"Purposes": ["spying"]}),
            "U002",
            "Unknown purpose 'spying'; the policy defines aggregation, lending, marketing.",
            "Data.WalletGate.Purposes[0]",
        ),
        (
            consent_body(_P, WalletGate={"Purposes": ["aggregation"], "FrequencyPerDay": 0}),
            "U002",
            "FrequencyPerDay must be between 1 and 100.",
            "Data.WalletGate.FrequencyPerDay",
        ),
        (
            consent_body(_P, WalletGate={"Purposes": ["lending"], "Recipients": ["acme"]}),
            "U002",
            "Recipient 'acme' must be written 'kind:name'.",
            "Data.WalletGate.Recipients[0]",
        ),
        (
            consent_body(_P, ExpirationDateTime=5),
            "U003",
            "Data.ExpirationDateTime must be an ISO 8601 date-time string.",
            "Data.ExpirationDateTime",
        ),
        (
            consent_body(_P, ExpirationDateTime="soon"),
            "U003",
            "Data.ExpirationDateTime is not an ISO 8601 date-time: 'soon'.",
            "Data.ExpirationDateTime",
        ),
        (
            consent_body(_P, ExpirationDateTime="2020-01-01T00:00:00+00:00"),
            "U003",
            "ExpirationDateTime must be in the future.",
            "Data.ExpirationDateTime",
        ),
        (
            consent_body(
                _P,
                TransactionFromDateTime="2026-02-01T00:00:00+00:00",
                TransactionToDateTime="2026-01-01T00:00:00+00:00",
            ),
            "U003",
            "TransactionFromDateTime must not be after TransactionToDateTime.",
            "Data.TransactionFromDateTime",
        ),
    ],
)
def test_malformed_consent_request_is_refused_with_code_message_and_path(
    wallet: Wallet, ob_schema, body: object, code: str, message: str, path: str
) -> None:
    response = wallet.call("POST", CONSENTS, json=body)
    assert response.status_code == 400, response.text
    ob_schema("OBErrorResponse1", response.json())
    assert response.json()["Errors"] == [{"ErrorCode": code, "Message": message, "Path": path}]
