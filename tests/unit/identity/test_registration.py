from __future__ import annotations

from tests.unit.identity.portal import services
from tests.unit.identity.registration_support import register, statement, wallet_jwks


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_register_with_a_directory_statement_creates_the_client(make_client):
    client = make_client()
    jwks = wallet_jwks()
    ssa = statement(client, client_name="Budget Wallet", jwks=jwks, software_id="sw-1")
    response = register(client, ssa, token_endpoint_auth_signing_alg="ES256")
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_name"] == "Budget Wallet"
    assert body["software_id"] == "sw-1"
    assert body["jwks"] == jwks
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["registration_client_uri"] == f"https://testserver/register/{body['client_id']}"
    assert body["registration_access_token"]
    stored = client.portal.call(services(client).clients.get, body["client_id"])
    assert stored.client_name == "Budget Wallet"


def test_statement_claims_override_the_request_metadata(make_client):
    client = make_client()
    ssa = statement(client, redirect_uris=["https://wallet.example/cb"])
    body = register(client, ssa, redirect_uris=["https://evil.example/cb"], client_name="Evil").json()
    assert body["redirect_uris"] == ["https://wallet.example/cb"]
    assert body["client_name"] == "Demo Wallet"


def test_registration_access_token_reads_updates_and_deletes_the_client(make_client):
    client = make_client()
    created = register(client, statement(client, software_id="sw-9")).json()
    uri, token = created["registration_client_uri"], created["registration_access_token"]
    read = client.get(uri, headers=_bearer(token))
    assert read.status_code == 200
    assert read.json()["client_id"] == created["client_id"]
    token = read.json()["registration_access_token"]

    ssa = statement(client, software_id="sw-9", redirect_uris=["https://wallet.example/new"])
    updated = client.put(
        uri, json={"client_id": created["client_id"], "software_statement": ssa}, headers=_bearer(token)
    )
    assert updated.status_code == 200
    assert updated.json()["redirect_uris"] == ["https://wallet.example/new"]
    token = updated.json()["registration_access_token"]

    assert client.delete(uri, headers=_bearer(token)).status_code == 204
    assert client.get(uri, headers=_bearer(token)).status_code == 401
    assert client.portal.call(services(client).clients.get, created["client_id"]) is None


def test_each_management_call_rotates_the_registration_access_token(make_client):
    client = make_client()
    created = register(client).json()
    uri, first = created["registration_client_uri"], created["registration_access_token"]
    second = client.get(uri, headers=_bearer(first)).json()["registration_access_token"]
    assert second != first
    assert client.get(uri, headers=_bearer(first)).status_code == 401
    assert client.get(uri, headers=_bearer(second)).status_code == 200


def test_a_failed_update_keeps_the_registration_access_token(make_client):
    client = make_client()
    created = register(client).json()
    uri, token = created["registration_client_uri"], created["registration_access_token"]
    bad = client.put(uri, json={"client_id": "someone-else"}, headers=_bearer(token))
    assert bad.status_code == 400
    assert client.get(uri, headers=_bearer(token)).status_code == 200


def test_registration_access_token_is_stored_only_as_a_hash(make_client, sqlite_url):
    import sqlite3

    client = make_client()
    token = register(client).json()["registration_access_token"]
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump
