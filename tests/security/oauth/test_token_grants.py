"""Refusals at /token: PKCE verifier, code reuse/expiry/client/redirect_uri, refresh after revocation."""

from __future__ import annotations

from typing import Any

from consent.model import Actor
from tests.security.oauth.conftest import refused
from tests.unit.oauth.harness import ISSUER


def claims_of(gateway, token: str) -> dict[str, Any]:
    claims: dict[str, Any] = gateway.services.keys.verify(token, typ="at+jwt", audience=ISSUER, issuer=ISSUER)
    return claims


def test_wrong_code_verifier_is_refused(wallet):
    response = wallet.redeem(wallet.code(), verifier="w" * 43)
    refused(response, 400, "invalid_grant", "code_verifier does not match the code_challenge")


def test_missing_code_verifier_is_refused(wallet):
    form = {"grant_type": "authorization_code", "code": wallet.code(), "redirect_uri": wallet.redirect_uri}
    refused(wallet.post("/token", form), 400, "invalid_grant", "code_verifier is required")


def test_reused_code_fails_and_revokes_what_it_issued(gateway, wallet):
    code = wallet.code()
    first = wallet.redeem(code).json()
    refused(wallet.redeem(code), 400, "invalid_grant", "already used; the tokens issued for it are revoked")
    assert gateway.services.revocation.is_revoked(claims_of(gateway, first["access_token"])["jti"])
    again = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    refused(again, 400, "invalid_grant", "the refresh token was revoked")


def test_expired_code_is_refused(gateway, wallet):
    code = wallet.code()
    gateway.clock.advance(gateway.services.settings.authorization_code_ttl + 1)
    refused(wallet.redeem(code), 400, "invalid_grant", "the code has expired")


def test_code_of_another_client_is_refused(gateway, wallet):
    code = wallet.code()
    thief = gateway.register()
    refused(thief.redeem(code), 400, "invalid_grant", "the code was issued to another client")


def test_code_with_another_redirect_uri_is_refused(wallet):
    response = wallet.redeem(wallet.code(), redirect_uri="https://wallet.example/other")
    refused(response, 400, "invalid_grant", "redirect_uri differs from the one in the authorization request")


def test_unknown_code_is_refused(wallet):
    refused(wallet.redeem("made-up"), 400, "invalid_grant", "the authorization code is unknown")


def issued(gateway, wallet) -> tuple[str, dict[str, Any]]:
    consent_id = gateway.consent(wallet.client_id)
    response = wallet.redeem(wallet.code(consent_id))
    assert response.status_code == 200, response.text
    return consent_id, response.json()


def test_refresh_after_consent_revocation_is_refused_and_access_token_denied(gateway, wallet):
    consent_id, tokens = issued(gateway, wallet)
    gateway.run(gateway.services.consents.revoke, consent_id, actor=Actor.USER, actor_id="alice")
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    refused(response, 400, "invalid_grant", "the refresh token was revoked")
    assert gateway.services.revocation.is_revoked(claims_of(gateway, tokens["access_token"])["jti"])


def test_refresh_while_consent_is_paused_is_refused_with_a_clear_error(gateway, wallet):
    consent_id, tokens = issued(gateway, wallet)
    gateway.run(gateway.services.consents.pause, consent_id, actor=Actor.USER, actor_id="alice")
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    refused(response, 400, "invalid_grant", "is paused by the user")


def test_refresh_by_another_client_is_refused(gateway, wallet):
    _, tokens = issued(gateway, wallet)
    thief = gateway.register()
    response = thief.post("/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    refused(response, 400, "invalid_grant", "the refresh token was issued to another client")


def test_refresh_with_another_dpop_key_is_refused(gateway, wallet):
    _, tokens = issued(gateway, wallet)
    from tests.unit.oauth.keys import WalletKey

    wallet.dpop_key = WalletKey()
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    refused(response, 400, "invalid_dpop_proof", "bound to another DPoP key")


def test_token_without_sender_constraint_is_never_issued(wallet):
    response = wallet.post("/token", {"grant_type": "client_credentials"}, dpop=None)
    refused(response, 400, "invalid_dpop_proof", "a DPoP proof is required")


def test_client_credentials_refuses_openid_scope(wallet):
    response = wallet.post("/token", {"grant_type": "client_credentials", "scope": "openid"})
    refused(response, 400, "invalid_scope", "client_credentials may only ask for scope 'accounts'")


def test_unknown_grant_type_is_refused(wallet):
    response = wallet.post("/token", {"grant_type": "password"})
    refused(response, 400, "unsupported_grant_type", "grant_type 'password' is not supported")


def test_code_for_a_consent_revoked_before_redemption_is_refused(gateway, wallet):
    consent_id = gateway.consent(wallet.client_id)
    code = wallet.code(consent_id)
    gateway.run(gateway.services.consents.revoke, consent_id, actor=Actor.USER, actor_id="alice")
    refused(wallet.redeem(code), 400, "invalid_grant", f"consent {consent_id} is no longer authorised")
