"""Registration with forged, expired or missing statements, bad metadata, or someone else's token."""

from __future__ import annotations

import json

import jwt
import pytest

from gateway.oauth.directory import DEMO_DIRECTORY_ISSUER, ensure_demo_directory, issue_software_statement
from gateway.oauth.keys import generate_jwk
from tests.unit.identity.portal import services
from tests.unit.identity.registration_support import register, signed_statement, statement, wallet_jwks


def _oauth_error(response, status, error):
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert "\n" not in body["error_description"]
    return body["error_description"]


def test_registration_without_a_statement_is_refused(make_client):
    client = make_client()
    response = client.post("/register", json={"client_name": "W", "redirect_uris": ["https://w.example/cb"]})
    assert "software_statement is required" in _oauth_error(response, 400, "invalid_software_statement")


def test_registration_with_a_forged_statement_is_refused(make_client, tmp_path):
    client = make_client()
    ensure_demo_directory(tmp_path)  # another "directory" with its own key
    forged = issue_software_statement(
        tmp_path, redirect_uris=["https://w.example/cb"], jwks=wallet_jwks(), now=services(client).clock()
    )
    statement(client)  # make sure the trusted demo directory exists too
    description = _oauth_error(register(client, forged), 400, "invalid_software_statement")
    assert "not a key of the trusted directory" in description


def test_registration_with_a_self_signed_statement_using_the_directory_kid_is_refused(make_client):
    client = make_client()
    statement(client)
    trusted = services(client).settings.data_dir / "directory" / "directory.jwks.json"
    kid = json.loads(trusted.read_text())["keys"][0]["kid"]
    now = int(services(client).clock())
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": now, "exp": now + 60, "redirect_uris": ["https://w.example/cb"]}
    forged = jwt.encode(claims, jwt.PyJWK(generate_jwk("ES256")).key, algorithm="ES256", headers={"kid": kid})
    assert "signature does not verify" in _oauth_error(register(client, forged), 400, "invalid_software_statement")


def test_registration_with_an_expired_statement_is_refused(make_client):
    client = make_client()
    old = statement(client, now=services(client).clock() - 2 * 86400)
    assert "has expired" in _oauth_error(register(client, old), 400, "invalid_software_statement")


def test_registration_with_an_unsigned_statement_is_refused(make_client):
    client = make_client()
    now = int(services(client).clock())
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]  # unsigned is the point
    assert "alg 'none'" in _oauth_error(register(client, unsigned), 400, "invalid_software_statement")


def test_registration_with_http_redirect_is_refused_naming_the_field(make_client):
    client = make_client()
    ssa = statement(client, redirect_uris=["https://w.example/cb", "http://w.example/cb"])
    description = _oauth_error(register(client, ssa), 400, "invalid_redirect_uri")
    assert description.startswith("redirect_uris[1] 'http://w.example/cb'")


def test_registration_with_a_client_secret_method_is_refused(make_client):
    client = make_client()
    response = register(client, token_endpoint_auth_method="client_secret_basic")
    assert "token_endpoint_auth_method" in _oauth_error(response, 400, "invalid_client_metadata")


def test_registration_that_is_not_json_is_refused(make_client):
    client = make_client()
    response = client.post("/register", content=b"software_statement=x", headers={"content-type": "text/plain"})
    _oauth_error(response, 400, "invalid_client_metadata")


def test_registration_in_another_content_type_is_refused_asking_for_json(make_client):
    client = make_client()
    body = json.dumps({"software_statement": statement(client)})
    response = client.post("/register", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert "application/json" in _oauth_error(response, 400, "invalid_client_metadata")


def test_update_in_another_content_type_is_refused_asking_for_json(make_client):
    client = make_client()
    created = register(client).json()
    body = json.dumps({"client_id": created["client_id"], "software_statement": statement(client)})
    headers = {"Authorization": f"Bearer {created['registration_access_token']}", "content-type": "text/plain"}
    response = client.put(created["registration_client_uri"], content=body, headers=headers)
    assert "application/json" in _oauth_error(response, 400, "invalid_client_metadata")


@pytest.mark.parametrize("client_id", ["someone-else", None, 7])
def test_update_whose_client_id_differs_from_the_urls_is_refused(make_client, client_id):
    client = make_client()
    created = register(client, statement(client, software_id="sw-a")).json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    body = {"client_id": client_id, "software_statement": statement(client, software_id="sw-a")}
    response = client.put(created["registration_client_uri"], json=body, headers=headers)
    assert _oauth_error(response, 400, "invalid_client_metadata").startswith("client_id must be sent")
    assert client.portal.call(services(client).clients.get, created["client_id"]) is not None


def test_registration_management_without_the_token_is_refused(make_client):
    client = make_client()
    uri = register(client).json()["registration_client_uri"]
    response = client.get(uri)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_another_clients_registration_token_is_refused(make_client):
    client = make_client()
    first = register(client).json()
    second = register(client).json()
    headers = {"Authorization": f"Bearer {second['registration_access_token']}"}
    assert client.get(first["registration_client_uri"], headers=headers).status_code == 401
    assert client.delete(first["registration_client_uri"], headers=headers).status_code == 401
    assert client.portal.call(services(client).clients.get, first["client_id"]) is not None


def test_update_with_another_softwares_statement_is_refused(make_client):
    client = make_client()
    created = register(client, statement(client, software_id="sw-a")).json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    body = {"client_id": created["client_id"], "software_statement": statement(client, software_id="sw-b")}
    response = client.put(created["registration_client_uri"], json=body, headers=headers)
    assert "software_id differs" in _oauth_error(response, 400, "invalid_client_metadata")


def test_update_with_a_statement_without_software_id_is_refused(make_client):
    client = make_client()
    created = register(client, statement(client, software_id="sw-a")).json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    ssa = signed_statement(client, redirect_uris=["https://wallet.example/cb"], jwks=wallet_jwks())
    response = client.put(
        created["registration_client_uri"], json={"client_id": created["client_id"], "software_statement": ssa},
        headers=headers,
    )  # fmt: skip
    assert "software_id differs" in _oauth_error(response, 400, "invalid_client_metadata")


def test_update_cannot_give_a_client_registered_without_software_id_one(make_client):
    client = make_client()
    ssa = signed_statement(client, client_name="W", redirect_uris=["https://wallet.example/cb"], jwks=wallet_jwks())
    created = register(client, ssa).json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    body = {"client_id": created["client_id"], "software_statement": statement(client, software_id="sw-b")}
    response = client.put(created["registration_client_uri"], json=body, headers=headers)
    assert "software_id differs" in _oauth_error(response, 400, "invalid_client_metadata")
    assert client.portal.call(services(client).clients.get, created["client_id"]).software_id is None


def test_update_without_a_statement_is_refused(make_client):
    client = make_client()
    created = register(client).json()
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    body = {"client_id": created["client_id"], "redirect_uris": ["https://evil.example/cb"]}
    response = client.put(created["registration_client_uri"], json=body, headers=headers)
    _oauth_error(response, 400, "invalid_software_statement")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token_endpoint_auth_method", ["private_key_jwt"]),
        ("token_endpoint_auth_method", 1),
        ("grant_types", "authorization_code"),
        ("scope", ["openid", "accounts"]),
        ("dpop_bound_access_tokens", "true"),
        ("token_endpoint_auth_signing_alg", {"alg": "ES256"}),
    ],
)
def test_request_metadata_of_the_wrong_json_type_is_refused_naming_the_field(make_client, field, value):
    client = make_client()
    response = register(client, **{field: value})
    assert _oauth_error(response, 400, "invalid_client_metadata").startswith(field)


@pytest.mark.parametrize("redirect_uris", ["https://wallet.example/cb", [1], {"uri": "https://wallet.example/cb"}])
def test_redirect_uris_that_are_not_a_list_of_strings_are_refused_as_invalid_metadata(make_client, redirect_uris):
    client = make_client()
    ssa = signed_statement(client, client_name="W", redirect_uris=redirect_uris, jwks=wallet_jwks())
    description = _oauth_error(register(client, ssa), 400, "invalid_client_metadata")
    assert description == "redirect_uris must be a list of strings"


def test_keys_sent_outside_the_statement_are_refused(make_client):
    client = make_client()
    response = register(client, jwks=wallet_jwks())
    assert "jwks must come from the software statement" in _oauth_error(response, 400, "invalid_client_metadata")


def test_jwks_uri_sent_outside_the_statement_is_refused(make_client):
    client = make_client()
    response = register(client, jwks_uri="https://169.254.169.254/latest/meta-data")
    assert "jwks_uri must come from the software statement" in _oauth_error(response, 400, "invalid_client_metadata")


def test_a_statement_without_keys_cannot_register_a_private_key_jwt_client(make_client):
    client = make_client()
    ssa = statement(client, jwks=None)
    assert "private_key_jwt needs jwks or jwks_uri" in _oauth_error(
        register(client, ssa), 400, "invalid_client_metadata"
    )
