"""tls_client_auth (RFC 8705 §2) and certificate-bound tokens (RFC 8705 §3)."""

from __future__ import annotations

from gateway.oauth.mtls import x5t_s256
from tests.security.oauth.conftest import refused
from tests.unit.identity.certs import forwarded, make_certificate
from tests.unit.oauth.harness import ISSUER

HEADER = "x-ssl-client-cert"


def mtls_wallet(gateway):
    return gateway.register(
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn="CN=mtls-wallet,O=Wallet Ltd,C=GB",
        jwks=None,
        dpop_bound_access_tokens=False,
    )


def token(gateway, wallet, cert=None, **headers):
    if cert is not None:
        headers[HEADER] = forwarded(cert)
    form = {"grant_type": "client_credentials", "client_id": wallet.client_id, "scope": "accounts"}
    return gateway.http.post("/token", data=form, headers=headers)


def test_certificate_authenticates_and_binds_the_token(gateway):
    wallet, cert = mtls_wallet(gateway), make_certificate("mtls-wallet", org="Wallet Ltd")
    response = token(gateway, wallet, cert)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = gateway.services.keys.verify(body["access_token"], typ="at+jwt", audience=ISSUER, issuer=ISSUER)
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert)}


def test_certificate_with_another_subject_is_refused(gateway):
    wallet = mtls_wallet(gateway)
    refused(
        token(gateway, wallet, make_certificate("impostor", org="Wallet Ltd")),
        401,
        "invalid_client",
        "subject is not the registered one",
    )


def test_missing_certificate_is_refused(gateway):
    refused(token(gateway, mtls_wallet(gateway)), 401, "invalid_client", "tls_client_auth needs a client certificate")


def test_certificate_bound_token_without_the_certificate_is_refused(gateway):
    wallet, cert = mtls_wallet(gateway), make_certificate("mtls-wallet", org="Wallet Ltd")
    access = token(gateway, wallet, cert).json()["access_token"]
    response = gateway.http.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401
    assert "bound to a client certificate, and none was presented" in response.json()["error_description"]


def test_tls_client_may_still_bind_with_dpop(gateway):
    wallet, cert = mtls_wallet(gateway), make_certificate("mtls-wallet", org="Wallet Ltd")
    response = token(gateway, wallet, cert, DPoP=wallet.proof("POST", "/token"))
    assert response.json()["token_type"] == "DPoP"
