"""The access token, its sender constraint and its consent, each refused through the gateway process.

Every token here is one the wallet could send: well formed, for the right resource, and wrong in
exactly one way. ``test_refusals_over_http`` has the first refusal of each step; this file has the
rest of the authenticate and authorize checks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from consent.model import Consent
from gateway.oauth.mtls import x5t_s256
from gateway.oauth.tokens import ACCESS_TOKEN_ALG
from gateway.settings import Settings
from tests.e2e.pipeline.harness import BASE, Stack, Wallet
from tests.unit.identity.certs import forwarded, make_certificate
from tests.unit.oauth.forge import hmac_signed

CURRENT = "acc-alice-current"
ACCOUNTS = BASE + "/accounts"
CLIENT_CERT_HEADER = Settings().client_cert_header


def _refused(response: httpx.Response, status: int, says: str) -> dict[str, Any]:
    """The Open Banking error body, with the interaction id to quote and a message that says why."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["Id"] == response.headers["x-fapi-interaction-id"]
    assert says in body["Message"], body
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith(("DPoP", "Bearer")), response.headers
    return body


def _consent(wallet: Wallet) -> Consent:
    return wallet.consent({"ReadAccountsBasic"}, (CURRENT,))


def _claims(wallet: Wallet, consent: Consent, **changes: Any) -> dict[str, Any]:
    """The claims of the token the gateway would issue, with ``changes`` (None removes a claim)."""
    claims: dict[str, Any] = jwt.decode(wallet.token(consent), options={"verify_signature": False})
    claims |= changes
    return {name: value for name, value in claims.items() if value is not None}


def _send(wallet: Wallet, consent: Consent, token: str, *, scheme: str = "DPoP") -> httpx.Response:
    proof = wallet.proof("GET", ACCOUNTS, token)
    headers = {"Authorization": f"{scheme} {token}", "DPoP": proof, "x-fapi-customer-ip-address": "198.51.100.7"}
    return wallet.http.get(ACCOUNTS, headers=headers)


def _gateway_kid(stack: Stack) -> str:
    return next(key.kid for key in stack.keys.current_keys if key.alg == ACCESS_TOKEN_ALG)


# -- the token itself -----------------------------------------------------------------------------------


def test_a_token_signed_by_another_key_under_the_gateways_key_id_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {"kid": _gateway_kid(stack), "typ": "at+jwt"}
    token = jwt.encode(_claims(wallet, consent), impostor, algorithm=ACCESS_TOKEN_ALG, headers=headers)
    _refused(_send(wallet, consent, token), 401, "Signature verification failed")


def test_a_token_hmac_signed_with_the_gateways_public_key_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    public = next(k for k in stack.keys.current_keys if k.alg == ACCESS_TOKEN_ALG).private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = hmac_signed({"kid": _gateway_kid(stack), "typ": "at+jwt"}, _claims(wallet, consent), pem)
    _refused(_send(wallet, consent, token), 401, "alg")


def test_a_signed_jwt_that_is_not_an_access_token_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    token = stack.keys.sign(_claims(wallet, consent), typ="JWT", alg=ACCESS_TOKEN_ALG)  # an ID token's typ
    _refused(_send(wallet, consent, token), 401, "typ")


def test_a_token_from_another_issuer_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    claims = _claims(wallet, consent, iss="https://other-issuer.test")
    _refused(_send(wallet, consent, stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)), 401, "Invalid issuer")


def test_a_token_not_valid_yet_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    claims = _claims(wallet, consent, nbf=int(time.time()) + 600)
    _refused(_send(wallet, consent, stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)), 401, "not yet valid")


def test_a_token_without_a_jti_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    claims = _claims(wallet, consent, jti=None)  # nothing a revocation could name
    _refused(_send(wallet, consent, stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)), 401, "jti")


# -- the sender constraint ------------------------------------------------------------------------------


def test_a_token_bound_to_no_key_and_no_certificate_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    claims = _claims(wallet, consent, cnf=None)
    token = stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)
    _refused(_send(wallet, consent, token), 401, "not sender-constrained")


def test_a_dpop_bound_token_sent_as_a_bearer_token_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    _refused(_send(wallet, consent, wallet.token(consent), scheme="Bearer"), 401, "DPoP scheme")


def test_a_dpop_bound_token_without_a_proof_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    headers = {"Authorization": f"DPoP {wallet.token(consent)}", "x-fapi-customer-ip-address": "198.51.100.7"}
    response = wallet.http.get(ACCOUNTS, headers=headers)
    _refused(response, 401, "DPoP")
    assert 'error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]


def test_a_proof_made_for_another_method_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    token = wallet.token(consent)
    response = wallet.get(ACCOUNTS, consent, token=token, proof=wallet.proof("POST", ACCOUNTS, token))
    _refused(response, 401, "htm")


def test_a_proof_made_for_another_resource_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    token = wallet.token(consent)
    proof = wallet.proof("GET", BASE + f"/accounts/{CURRENT}/balances", token)
    _refused(wallet.get(ACCOUNTS, consent, token=token, proof=proof), 401, "htu")


def test_a_proof_made_long_ago_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    token = wallet.token(consent)
    proof = wallet.proof("GET", ACCOUNTS, token, iat=int(time.time()) - 600)
    _refused(wallet.get(ACCOUNTS, consent, token=token, proof=proof), 401, "iat")


def test_a_proof_made_for_another_access_token_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    token, other = wallet.token(consent), wallet.token(consent)
    _refused(wallet.get(ACCOUNTS, consent, token=token, proof=wallet.proof("GET", ACCOUNTS, other)), 401, "ath")


def _bound_to(wallet: Wallet, stack: Stack, consent: Consent, cert: x509.Certificate) -> str:
    claims = _claims(wallet, consent, cnf={"x5t#S256": x5t_s256(cert)})
    return stack.keys.sign(claims, typ="at+jwt", alg=ACCESS_TOKEN_ALG)


def _with_certificate(wallet: Wallet, token: str, certificate: str | None) -> httpx.Response:
    """A call as the TLS terminator (on loopback, a trusted proxy by default) forwards it."""
    headers = {"Authorization": f"Bearer {token}", "x-fapi-customer-ip-address": "198.51.100.7"}
    return wallet.http.get(ACCOUNTS, headers=headers | ({CLIENT_CERT_HEADER: certificate} if certificate else {}))


def test_a_certificate_bound_token_is_served_with_its_certificate(wallet: Wallet, stack: Stack) -> None:
    consent, cert = _consent(wallet), make_certificate()
    assert _with_certificate(wallet, _bound_to(wallet, stack, consent, cert), forwarded(cert)).status_code == 200


def test_a_certificate_bound_token_without_its_certificate_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    response = _with_certificate(wallet, _bound_to(wallet, stack, consent, make_certificate()), None)
    _refused(response, 401, "bound to a client certificate, and none was presented")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_certificate_bound_token_with_another_certificate_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent = _consent(wallet)
    token = _bound_to(wallet, stack, consent, make_certificate())
    response = _with_certificate(wallet, token, forwarded(make_certificate()))  # same subject, another key
    _refused(response, 401, "not the one the access token is bound to")


def test_an_unreadable_forwarded_certificate_is_refused_in_the_open_banking_format(
    wallet: Wallet, stack: Stack
) -> None:
    consent = _consent(wallet)
    response = _with_certificate(wallet, _bound_to(wallet, stack, consent, make_certificate()), "not-a-certificate")
    _refused(response, 401, "cannot be read")


def test_a_certificate_bound_token_sent_with_the_dpop_scheme_is_refused(wallet: Wallet, stack: Stack) -> None:
    consent, cert = _consent(wallet), make_certificate()
    token = _bound_to(wallet, stack, consent, cert)
    headers = {"Authorization": f"DPoP {token}", "DPoP": wallet.proof("GET", ACCOUNTS, token)}
    _refused(wallet.http.get(ACCOUNTS, headers=headers | {CLIENT_CERT_HEADER: forwarded(cert)}), 401, "Bearer scheme")


# -- the consent behind the token -----------------------------------------------------------------------


def test_a_token_naming_another_wallets_consent_is_refused(wallet: Wallet, stack: Stack) -> None:
    other = Wallet(stack, "wallet-other")
    try:
        theirs = other.consent({"ReadAccountsBasic"}, (CURRENT,))
    finally:
        other.close()
    body = _refused(wallet.get(ACCOUNTS, theirs), 403, "does not exist for this wallet")
    assert body["Errors"][0]["Path"] == "consent_id"


def test_a_token_naming_another_users_consent_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)  # Alice's
    token = wallet.token(consent, user="bob")
    _refused(wallet.get(ACCOUNTS, consent, token=token), 403, "does not exist for this wallet")


def test_a_token_with_no_consent_reads_no_account_data(wallet: Wallet) -> None:
    _refused(wallet.get(ACCOUNTS, None), 403, "carries no consent")


def test_a_token_without_the_operations_scope_is_refused(wallet: Wallet) -> None:
    consent = _consent(wallet)
    body = _refused(wallet.get(ACCOUNTS, consent, token=wallet.token(consent, scope="openid")), 403, "accounts")
    assert body["Errors"][0]["Path"] == "scope"


def test_an_expired_consent_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,), expires_at=datetime.now(UTC) + timedelta(seconds=1))
    time.sleep(1.2)
    _refused(wallet.get(ACCOUNTS, consent), 403, "EXPD")


def test_a_consent_no_user_has_authorised_yet_is_refused(wallet: Wallet) -> None:
    awaiting = wallet.awaiting_consent({"ReadAccountsBasic"})  # no user yet, so none the token's subject owns
    _refused(wallet.get(ACCOUNTS, awaiting), 403, "does not exist for this wallet")
