"""The request checks of /par, /token, /introspect, /revoke and /userinfo that a wallet hits first.

Each test sends one bad request and reads the RFC 6749 error a wallet would see.
"""

from __future__ import annotations

import pytest

from tests.security.oauth.conftest import refused
from tests.security.oauth.test_dpop_binding import user_token, userinfo
from tests.unit.oauth.harness import ISSUER

CC = {"grant_type": "client_credentials", "scope": "accounts"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# -- reading the form ------------------------------------------------------------------------
def test_a_json_body_is_refused(gateway, wallet):
    response = gateway.http.post("/token", json=wallet.auth() | CC, headers={"DPoP": wallet.proof("POST", "/token")})
    refused(response, 400, "invalid_request", "the body must be application/x-www-form-urlencoded")


def test_a_repeated_parameter_is_refused(gateway, wallet):
    body = "&".join(f"{k}={v}" for k, v in (wallet.auth() | CC).items()) + "&scope=openid"
    headers = {"content-type": "application/x-www-form-urlencoded", "DPoP": wallet.proof("POST", "/token")}
    refused(gateway.http.post("/token", content=body, headers=headers), 400, "invalid_request", "scope is repeated")


def test_an_oversized_body_is_refused(gateway, wallet):
    response = wallet.post("/token", CC | {"padding": "x" * 70_000})
    refused(response, 400, "invalid_request", "the body is larger than 65536 bytes")


# -- client authentication -------------------------------------------------------------------
def test_client_id_that_is_not_the_assertions_subject_is_refused(gateway, wallet):
    response = wallet.post("/token", CC | {"client_id": gateway.register().client_id})
    refused(response, 401, "invalid_client", "client_id does not match the sub of client_assertion")


def test_wrong_client_assertion_type_is_refused(wallet):
    response = wallet.post("/token", CC | {"client_assertion_type": "urn:example:password"})
    refused(response, 401, "invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")


def test_malformed_client_assertion_is_refused(wallet):
    response = wallet.post("/token", CC | {"client_assertion": "not.a-jwt"})
    refused(response, 401, "invalid_client", "client_assertion is not a well-formed JWT")


def test_oversized_client_assertion_is_refused(wallet):
    response = wallet.post("/token", CC | {"client_assertion": "a" * 8193})
    refused(response, 401, "invalid_client", "client_assertion is longer than 8192 characters")


def test_assertion_without_jti_is_refused(wallet):
    response = wallet.post("/token", CC | wallet.auth(jti=None))
    refused(response, 401, "invalid_client", "client_assertion needs a jti claim")


def test_private_key_jwt_client_without_an_assertion_is_refused(wallet):
    response = wallet.post("/token", CC | {"client_id": wallet.client_id}, auth=False)
    refused(response, 401, "invalid_client", "this client authenticates with private_key_jwt")


def test_tls_client_sending_an_assertion_is_refused(gateway):
    tls = gateway.register(
        token_endpoint_auth_method="tls_client_auth", tls_client_auth_subject_dn="CN=tls-wallet", jwks=None
    )
    response = tls.post("/token", CC)
    refused(response, 401, "invalid_client", "this client authenticates with tls_client_auth, not a client_assertion")


# -- /par ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "error", "description"),
    [
        ({"response_type": "token"}, "invalid_request", "response_type must be 'code'"),
        ({"request": "eyJ.eyJ.sig"}, "invalid_request_object", "request objects are not supported"),
        ({"scope": None}, "invalid_scope", "scope is required"),
        ({"scope": "openid payments"}, "invalid_scope", "scope 'payments' is not allowed for this client"),
        ({"scope": "openid"}, "invalid_scope", "scope must include 'accounts'"),
        ({"code_challenge": "short"}, "invalid_request", "code_challenge must be a base64url SHA-256"),
        ({"state": "x" * 513}, "invalid_request", "state must be printable and at most 512 characters"),
        ({"nonce": "a\tb"}, "invalid_request", "nonce must be printable"),
        ({"authorization_details": None}, "invalid_request", "authorization_details with one"),
        ({"authorization_details": "{not json"}, "invalid_request", "authorization_details is not JSON"),
        ({"authorization_details": "[]"}, "invalid_request", "authorization_details must be a list of one object"),
        (
            {"authorization_details": '[{"type":"payment_initiation","consent_id":"c"}]'},
            "invalid_request",
            "authorization_details[0].type must be 'account_access_consent'",
        ),
        (
            {"authorization_details": '[{"type":"account_access_consent","consent_id":7}]'},
            "invalid_request",
            "authorization_details[0].consent_id must be a string",
        ),
    ],
)
def test_par_refuses_a_bad_parameter(gateway, wallet, params, error, description):
    refused(wallet.par(gateway.consent(wallet.client_id), **params), 400, error, description)


def test_par_for_a_client_without_the_code_grant_is_refused(gateway):
    wallet = gateway.register(grant_types=("client_credentials",))
    response = wallet.par(gateway.consent(wallet.client_id))
    refused(response, 400, "unauthorized_client", "this client is not registered for authorization_code")


def test_par_for_a_consent_already_authorised_is_refused(gateway, wallet):
    consent_id = gateway.consent(wallet.client_id)
    wallet.approve(wallet.request_uri(consent_id))
    response = wallet.par(consent_id)
    refused(response, 400, "invalid_request", f"consent '{consent_id}' is AUTH, not awaiting authorisation")


# -- /token ----------------------------------------------------------------------------------
def test_token_request_without_a_code_is_refused(wallet):
    form = {"grant_type": "authorization_code", "redirect_uri": wallet.redirect_uri, "code_verifier": "v" * 43}
    refused(wallet.post("/token", form), 400, "invalid_request", "code is required")


def test_malformed_code_verifier_is_refused(wallet):
    refused(wallet.redeem(wallet.code(), verifier="short"), 400, "invalid_grant", "code_verifier must be 43 to 128")


def test_grant_type_the_client_did_not_register_is_refused(gateway):
    wallet = gateway.register(grant_types=("authorization_code",))
    refused(
        wallet.post("/token", CC), 400, "unauthorized_client", "this client is not registered for client_credentials"
    )


def test_refresh_without_a_token_is_refused(wallet):
    refused(wallet.post("/token", {"grant_type": "refresh_token"}), 400, "invalid_request", "refresh_token is required")


def test_unknown_refresh_token_is_refused(wallet):
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": "made-up"})
    refused(response, 400, "invalid_grant", "the refresh token is unknown")


def test_refresh_may_not_widen_the_scope(wallet):
    first = wallet.redeem(wallet.code(scope="accounts")).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "openid accounts"}
    refused(wallet.post("/token", form), 400, "invalid_scope", "a refresh may only narrow the granted scope")


# -- /introspect, /revoke, /userinfo ---------------------------------------------------------
def test_introspection_without_a_token_is_refused(wallet):
    refused(wallet.post("/introspect", {}, dpop=None), 400, "invalid_request", "token is required")


def test_revocation_with_an_unknown_token_type_hint_is_refused(wallet):
    response = wallet.post("/revoke", {"token": "t", "token_type_hint": "id_token"}, dpop=None)
    refused(response, 400, "unsupported_token_type", "token_type_hint 'id_token' is not one of")


def test_userinfo_needs_the_openid_scope(gateway, wallet):
    token = wallet.redeem(wallet.code(scope="accounts")).json()["access_token"]
    response = userinfo(gateway, token, wallet.proof("GET", "/userinfo", access_token=token))
    assert response.status_code == 403, response.text
    assert "userinfo needs an access token with the openid scope" in response.json()["error_description"]


def test_userinfo_refuses_a_dpop_token_sent_as_bearer(gateway, wallet):
    token = user_token(gateway, wallet)
    headers = {"Authorization": f"Bearer {token}", "DPoP": wallet.proof("GET", "/userinfo", access_token=token)}
    response = gateway.http.get("/userinfo", headers=headers)
    assert response.status_code == 401, response.text
    assert "A DPoP-bound access token must be sent with the DPoP scheme" in response.json()["error_description"]


def test_userinfo_refuses_a_token_this_gateway_did_not_sign(gateway, wallet):
    forged = wallet.key.sign({"sub": "alice", "iss": ISSUER}, {"typ": "at+jwt", "kid": "nope"})
    response = userinfo(gateway, forged, None)
    assert response.status_code == 401, response.text
    assert "The access token is invalid: unknown kid" in response.json()["error_description"]


def test_userinfo_refuses_an_expired_access_token(gateway, wallet):
    token = user_token(gateway, wallet)
    gateway.clock.advance(gateway.services.settings.access_token_ttl + gateway.services.settings.clock_skew + 1)
    response = userinfo(gateway, token, wallet.proof("GET", "/userinfo", access_token=token))
    assert response.status_code == 401, response.text
    assert "The access token is invalid: Signature has expired" in response.json()["error_description"]
