"""DPoP refusals at /token (400 invalid_dpop_proof) and at a resource (/userinfo, 401)."""

from __future__ import annotations

import json

from tests.security.oauth.conftest import refused
from tests.unit.oauth.forge import hmac_signed
from tests.unit.oauth.harness import ISSUER
from tests.unit.oauth.keys import WalletKey

CC = {"grant_type": "client_credentials"}


def test_proof_with_wrong_htm_is_refused(wallet):
    refused(wallet.post("/token", CC, dpop=wallet.proof("GET", "/token")), 400, "invalid_dpop_proof", "htm 'GET'")


def test_proof_with_wrong_htu_is_refused(wallet):
    response = wallet.post("/token", CC, dpop=wallet.proof("POST", "/par"))
    refused(response, 400, "invalid_dpop_proof", f"htu '{ISSUER}/par' does not match")


def test_stale_proof_is_refused(gateway, wallet):
    response = wallet.post("/token", CC, dpop=wallet.proof("POST", "/token", now=gateway.clock() - 61))
    refused(response, 400, "invalid_dpop_proof", "iat is 61 s old")


def test_proof_from_the_future_is_refused(gateway, wallet):
    response = wallet.post("/token", CC, dpop=wallet.proof("POST", "/token", now=gateway.clock() + 61))
    refused(response, 400, "invalid_dpop_proof", "s in the future (at most 10 s is accepted)")


def test_replayed_proof_is_refused(wallet):
    proof = wallet.proof("POST", "/token")
    assert wallet.post("/token", CC, dpop=proof).status_code == 200
    refused(wallet.post("/token", CC, dpop=proof), 400, "invalid_dpop_proof", "was already used with this key")


def test_proof_carrying_a_private_key_is_refused(wallet):
    proof = wallet.proof("POST", "/token", header={"jwk": wallet.dpop_key.private_jwk})
    refused(wallet.post("/token", CC, dpop=proof), 400, "invalid_dpop_proof", "carries private key material")


def test_proof_with_symmetric_alg_is_refused(gateway, wallet):
    header = {"typ": "dpop+jwt", "jwk": wallet.dpop_key.public_jwk}
    claims = {"jti": "x", "htm": "POST", "htu": ISSUER + "/token", "iat": int(gateway.clock())}
    proof = hmac_signed(header, claims, json.dumps(wallet.dpop_key.public_jwk).encode())
    refused(wallet.post("/token", CC, dpop=proof), 400, "invalid_dpop_proof", "alg 'HS256' is not allowed")


def test_code_bound_by_dpop_jkt_refuses_another_key(gateway, wallet):
    from gateway.oauth.dpop import jwk_thumbprint

    bound = WalletKey()
    code = wallet.code(dpop_jkt=jwk_thumbprint(bound.public_jwk))
    refused(wallet.redeem(code), 400, "invalid_dpop_proof", "not the one named by dpop_jkt at /par")


def test_code_bound_by_dpop_jkt_accepts_that_key(gateway, wallet):
    from gateway.oauth.dpop import jwk_thumbprint

    code = wallet.code(dpop_jkt=jwk_thumbprint(wallet.dpop_key.public_jwk))
    assert wallet.redeem(code).status_code == 200


def user_token(gateway, wallet) -> str:
    response = wallet.redeem(wallet.code())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def userinfo(gateway, token: str, proof: str | None):
    headers = {"Authorization": f"DPoP {token}"} | ({"DPoP": proof} if proof else {})
    return gateway.http.get("/userinfo", headers=headers)


def unauthorized(response, error: str, text: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == error
    assert text in response.json()["error_description"]
    assert f'error="{error}"' in response.headers["www-authenticate"]


def test_userinfo_answers_with_a_bound_token_and_proof(gateway, wallet):
    token = user_token(gateway, wallet)
    response = userinfo(gateway, token, wallet.proof("GET", "/userinfo", access_token=token))
    assert response.json() == {"sub": "alice"}


def test_access_token_with_another_keys_proof_is_refused(gateway, wallet):
    token = user_token(gateway, wallet)
    proof = WalletKey().dpop("GET", ISSUER + "/userinfo", now=gateway.clock(), access_token=token)
    unauthorized(
        userinfo(gateway, token, proof), "invalid_dpop_proof", "signed by a key the access token is not bound to"
    )


def test_proof_with_ath_of_another_token_is_refused(gateway, wallet):
    token = user_token(gateway, wallet)
    proof = wallet.proof("GET", "/userinfo", access_token="another-token")
    unauthorized(userinfo(gateway, token, proof), "invalid_dpop_proof", "ath does not match")


def test_two_dpop_headers_are_refused_even_when_both_proofs_are_valid(gateway, wallet):
    token = user_token(gateway, wallet)
    headers = [
        ("Authorization", f"DPoP {token}"),
        ("DPoP", wallet.proof("GET", "/userinfo", access_token=token)),
        ("DPoP", wallet.proof("GET", "/userinfo", access_token=token)),
    ]
    unauthorized(gateway.http.get("/userinfo", headers=headers), "invalid_dpop_proof", "Exactly one DPoP header")


def test_dpop_bound_token_without_proof_is_refused(gateway, wallet):
    token = user_token(gateway, wallet)
    unauthorized(userinfo(gateway, token, None), "invalid_dpop_proof", "A DPoP proof is required")


def test_revoked_access_token_is_refused(gateway, wallet):
    token = user_token(gateway, wallet)
    assert wallet.post("/revoke", {"token": token}, dpop=None).status_code == 200
    proof = wallet.proof("GET", "/userinfo", access_token=token)
    unauthorized(userinfo(gateway, token, proof), "invalid_token", "The access token has been revoked")


def test_introspection_reports_own_tokens_and_hides_others(gateway, wallet):
    token = user_token(gateway, wallet)
    mine = wallet.post("/introspect", {"token": token}, dpop=None).json()
    assert mine["active"] is True
    assert mine["consent_id"]
    other = gateway.register()
    assert other.post("/introspect", {"token": token}, dpop=None).json() == {"active": False}
    wallet.post("/revoke", {"token": token}, dpop=None)
    assert wallet.post("/introspect", {"token": token}, dpop=None).json() == {"active": False}


def test_resource_server_with_the_admin_token_introspects_any_token(tmp_path, settings_factory):
    from tests.unit.oauth.harness import running_gateway

    for gateway in running_gateway(tmp_path, settings_factory, admin_token="rs-secret-token-0123456789"):
        wallet = gateway.register()
        token = wallet.client_credentials()["access_token"]
        seen = gateway.http.post(
            "/introspect", data={"token": token}, headers={"Authorization": "Bearer rs-secret-token-0123456789"}
        )
        assert seen.json()["client_id"] == wallet.client_id
        wrong = gateway.http.post("/introspect", data={"token": token}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"


def test_introspection_with_a_non_ascii_bearer_is_a_client_error_not_a_500(tmp_path, settings_factory):
    from tests.unit.oauth.harness import running_gateway

    for gateway in running_gateway(tmp_path, settings_factory, admin_token="rs-secret-token-0123456789"):
        response = gateway.http.post("/introspect", data={"token": "t"}, headers={b"Authorization": b"Bearer caf\xe9"})
        refused(response, 401, "invalid_client", "no client authentication")


def test_introspection_of_an_access_token_whose_consent_is_paused_is_inactive(gateway, wallet):
    # The pipeline refuses the token while the consent is paused; a resource server asking here must hear so too.
    from consent.model import Actor

    consent_id = gateway.consent(wallet.client_id)
    token = wallet.redeem(wallet.code(consent_id)).json()["access_token"]
    assert wallet.post("/introspect", {"token": token}, dpop=None).json()["active"] is True
    gateway.run(gateway.services.consents.pause, consent_id, actor=Actor.USER, actor_id="alice")
    assert wallet.post("/introspect", {"token": token}, dpop=None).json() == {"active": False}
    gateway.run(gateway.services.consents.resume, consent_id, actor=Actor.USER, actor_id="alice")
    assert wallet.post("/introspect", {"token": token}, dpop=None).json()["active"] is True
