"""The happy path through the authorization server, one endpoint after another."""

from __future__ import annotations

import re

import jwt

from consent.model import ConsentStatus
from gateway.oauth.dpop import jwk_thumbprint
from tests.unit.oauth.harness import ISSUER


def test_discovery_lists_only_what_is_implemented(gateway):
    doc = gateway.http.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["require_pushed_authorization_requests"] is True
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "tls_client_auth"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert gateway.http.get("/.well-known/oauth-authorization-server").json() == doc
    keys = gateway.http.get("/jwks").json()["keys"]
    assert keys
    assert all("d" not in k for k in keys)


def test_client_credentials_issue_a_dpop_bound_at_jwt(gateway, wallet):
    body = wallet.client_credentials()
    assert body["token_type"] == "DPoP"
    header = jwt.get_unverified_header(body["access_token"])
    claims = gateway.services.keys.verify(body["access_token"], typ="at+jwt", audience=ISSUER, issuer=ISSUER)
    assert header["typ"] == "at+jwt"
    assert claims["cnf"] == {"jkt": jwk_thumbprint(wallet.dpop_key.public_jwk)}
    assert (claims["sub"], claims["client_id"], claims["scope"]) == (wallet.client_id, wallet.client_id, "accounts")
    assert claims["exp"] - claims["iat"] == gateway.services.settings.access_token_ttl


def test_access_tokens_are_signed_with_ps256_and_id_tokens_with_the_default_es256_key(gateway, wallet):
    consent_id = gateway.consent(wallet.client_id)
    body = wallet.redeem(wallet.approve(wallet.request_uri(consent_id), accounts=("acc-alice-2",))).json()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "PS256"  # verified on every proxied call
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"
    assert gateway.services.keys.current.alg == "ES256"


def test_discovery_names_every_algorithm_the_gateway_signs_id_tokens_with(gateway):
    doc = gateway.http.get("/.well-known/openid-configuration").json()
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "PS256"]


def test_a_client_registered_for_ps256_id_tokens_gets_them(gateway):
    wallet = gateway.register(id_token_signed_response_alg="PS256")
    consent_id = gateway.consent(wallet.client_id)
    body = wallet.redeem(wallet.approve(wallet.request_uri(consent_id), accounts=("acc-alice-2",))).json()
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "PS256"
    assert gateway.services.keys.verify(body["id_token"], typ=None, audience=wallet.client_id, issuer=ISSUER)


def test_each_issued_token_is_counted_by_grant_type(gateway, wallet):
    wallet.client_credentials()
    wallet.client_credentials()
    text = gateway.services.metrics.prometheus_text().decode()
    assert 'walletgate_tokens_issued_total{grant_type="client_credentials"} 2.0' in text


def test_token_endpoint_limit_decisions_are_counted(gateway, wallet):
    wallet.client_credentials()
    text = gateway.services.metrics.prometheus_text().decode()
    assert re.search(
        r'walletgate_limiter_decisions_total\{decision="allowed",rule="endpoint\.token[^"]*"\} [1-9]', text
    ), text


def test_code_flow_authorises_consent_and_issues_tokens(gateway, wallet):
    consent_id = gateway.consent(wallet.client_id)
    request_uri = wallet.request_uri(consent_id)
    code = wallet.approve(request_uri, accounts=("acc-alice-2",))
    response = wallet.redeem(code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = gateway.services.keys.verify(body["access_token"], typ="at+jwt", audience=ISSUER, issuer=ISSUER)
    assert (claims["sub"], claims["consent_id"]) == ("alice", consent_id)
    id_token = gateway.services.keys.verify(body["id_token"], typ=None, audience=wallet.client_id, issuer=ISSUER)
    assert id_token["nonce"] == "n-1"
    consent = gateway.run(gateway.services.consents.get, consent_id)
    assert consent.status is ConsentStatus.AUTHORISED
    assert consent.account_ids == ("acc-alice-2",)
    refreshed = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] == body["refresh_token"]


def test_token_response_names_the_consent_as_authorization_details(gateway, wallet):
    consent_id = gateway.consent(wallet.client_id)
    body = wallet.redeem(wallet.code(consent_id)).json()
    assert body["authorization_details"] == [{"type": "account_access_consent", "consent_id": consent_id}]
