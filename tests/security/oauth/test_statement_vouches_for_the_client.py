"""The software statement is the source of trust (RFC 7591 §2.3): the directory vouches for where a
wallet's users are sent back to and for what the wallet authenticates with; the request cannot add either."""

from __future__ import annotations

from tests.security.oauth.test_software_statement import refused_statement
from tests.unit.identity.conftest import make_client
from tests.unit.identity.portal import services
from tests.unit.identity.registration_support import register, signed_statement, statement, wallet_jwks

__all__ = ["make_client"]

SUBJECT_DN = "CN=wallet,O=Wallet Ltd,C=GB"


def _oauth_error(response, error: str) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    return str(body["error_description"])


def _update(client, created, ssa: str, **metadata):
    body = {"client_id": created["client_id"], "software_statement": ssa, **metadata}
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    return client.put(created["registration_client_uri"], json=body, headers=headers)


def _stored(client, client_id: str):
    return client.portal.call(services(client).clients.get, client_id)


def test_a_statement_without_redirect_uris_is_refused_even_when_the_request_names_some(make_client):
    client = make_client()
    ssa = signed_statement(client, client_name="W", software_id="sw-1", jwks=wallet_jwks())
    response = register(client, ssa, redirect_uris=["https://attacker.example/cb"])
    refused_statement(response, "software_statement names no redirect_uris")
    assert response.json()["error_description"].endswith("the trusted directory must vouch for each one")
    assert client.portal.call(services(client).clients.list) == []


def test_a_statement_without_redirect_uris_is_refused_for_a_client_credentials_only_wallet(make_client):
    client = make_client()
    ssa = signed_statement(client, client_name="W", jwks=wallet_jwks())
    response = register(client, ssa, grant_types=["client_credentials"])
    refused_statement(response, "software_statement names no redirect_uris")


def test_the_request_cannot_name_the_tls_client_auth_subject_dn(make_client):
    client = make_client()
    ssa = signed_statement(client, client_name="W", redirect_uris=["https://wallet.example/cb"])
    response = register(
        client, ssa, token_endpoint_auth_method="tls_client_auth", tls_client_auth_subject_dn=SUBJECT_DN
    )
    description = _oauth_error(response, "invalid_client_metadata")
    assert description == "tls_client_auth_subject_dn must come from the software statement; omit it from the request"
    assert response.json().get("error_uri") is None
    assert client.portal.call(services(client).clients.list) == []


def test_tls_client_auth_registers_with_the_subject_dn_the_statement_names(make_client):
    client = make_client()
    ssa = signed_statement(
        client, client_name="W", redirect_uris=["https://wallet.example/cb"], tls_client_auth_subject_dn=SUBJECT_DN
    )
    response = register(client, ssa, token_endpoint_auth_method="tls_client_auth")
    assert response.status_code == 201, response.text
    assert _stored(client, response.json()["client_id"]).tls_client_auth_subject_dn == SUBJECT_DN


def test_the_statements_auth_method_wins_over_the_requests(make_client):
    client = make_client()
    ssa = signed_statement(
        client,
        client_name="W",
        redirect_uris=["https://wallet.example/cb"],
        jwks=wallet_jwks(),
        token_endpoint_auth_method="private_key_jwt",
        tls_client_auth_subject_dn=SUBJECT_DN,
    )
    response = register(client, ssa, token_endpoint_auth_method="tls_client_auth")
    assert response.status_code == 201, response.text
    assert response.json()["token_endpoint_auth_method"] == "private_key_jwt"


def test_an_update_whose_statement_has_no_redirect_uris_is_refused_and_keeps_the_registered_ones(make_client):
    client = make_client()
    created = register(client, statement(client, software_id="sw-1")).json()
    ssa = signed_statement(client, client_name="W", software_id="sw-1", jwks=wallet_jwks())
    response = _update(client, created, ssa, redirect_uris=["https://attacker.example/cb"])
    refused_statement(response, "software_statement names no redirect_uris")
    assert _stored(client, created["client_id"]).redirect_uris == ("https://wallet.example/cb",)


def test_an_update_cannot_name_its_own_tls_client_auth_subject_dn(make_client):
    client = make_client()
    created = register(client, statement(client, software_id="sw-1")).json()
    ssa = signed_statement(client, client_name="W", software_id="sw-1", redirect_uris=["https://wallet.example/cb"])
    response = _update(
        client, created, ssa, token_endpoint_auth_method="tls_client_auth", tls_client_auth_subject_dn=SUBJECT_DN
    )
    description = _oauth_error(response, "invalid_client_metadata")
    assert description.startswith("tls_client_auth_subject_dn must come from the software statement")
    assert _stored(client, created["client_id"]).token_endpoint_auth_method == "private_key_jwt"
