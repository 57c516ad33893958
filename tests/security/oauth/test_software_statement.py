"""Software statements that registration must refuse as ``invalid_software_statement``, never with a 500."""

from __future__ import annotations

import json

import jwt

from gateway.oauth import jws
from gateway.oauth.directory import DEMO_DIRECTORY_ISSUER, demo_directory_files
from tests.unit.identity.conftest import identity_engine, make_client
from tests.unit.identity.portal import services
from tests.unit.identity.registration_support import register, signed_statement, statement, wallet_jwks

__all__ = ["identity_engine", "make_client"]

METADATA = {"client_name": "W", "redirect_uris": ["https://w.example/cb"]}


def refused_statement(response, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_software_statement", body
    assert description in body["error_description"], body


def test_statement_whose_kid_is_not_a_string_is_refused(make_client):
    client = make_client()
    statement(client)  # the trusted demo directory exists
    svc = services(client)
    key = json.loads(demo_directory_files(svc.settings.data_dir)[0].read_text())["keys"][0]
    now = int(svc.clock())
    claims = {"iss": DEMO_DIRECTORY_ISSUER, "iat": now, "exp": now + 300, "jwks": wallet_jwks(), **METADATA}
    forged = jws.sign(claims, jwt.PyJWK(key).key, key["alg"], {"kid": 7, "typ": "JWT"})  # PyJWT will not make it
    refused_statement(register(client, forged), "software_statement is not a JWT")


def test_statement_whose_exp_is_nan_is_refused(make_client):
    client = make_client()
    never_expires = signed_statement(client, jwks=wallet_jwks(), exp=float("nan"), **METADATA)
    refused_statement(register(client, never_expires), "software_statement iat and exp must be finite numbers")
