"""A UK Open Banking Directory software statement (SSA) registers a wallet under its own claim names.

The UK OB Directory names the client's metadata ``software_redirect_uris``, ``software_client_name``,
``software_jwks_endpoint`` and lists the wallet's ``software_roles``; the request may register some
of the statement's redirect URIs (all of them when it names none), never another; a statement that
says one thing twice, differently, is refused; ``PUT /register/{client_id}`` follows the same rules.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.oauth.conftest import refused
from tests.unit.identity.conftest import make_client
from tests.unit.identity.portal import services
from tests.unit.identity.registration_support import register, signed_statement, wallet_jwks

__all__ = ["make_client"]

HOME = "https://wallet.example/cb"
APP = "https://app.wallet.example/cb"
JWKS_ENDPOINT = "https://keystore.directory.example/0015800001041REAAY/uk-sw-1.jwks"


def uk_ob_statement(client, **overrides: Any) -> str:
    """A statement shaped as the UK OB Directory issues it, signed by the trusted (demo) directory."""
    claims: dict[str, Any] = {
        "software_id": "uk-sw-1",
        "software_client_id": "uk-sw-1",
        "software_client_name": "Pocket Wallet",
        "software_client_description": "Budgeting across your banks",
        "software_version": "1.2",
        "software_environment": "production",
        "software_mode": "Live",
        "software_jwks_endpoint": JWKS_ENDPOINT,
        "software_redirect_uris": [HOME, APP],
        "software_roles": ["AISP"],
        "software_client_uri": "https://wallet.example",
        "software_logo_uri": "https://wallet.example/logo.png",
        "software_tos_uri": "https://wallet.example/terms",
        "software_policy_uri": "https://wallet.example/privacy",
        "org_id": "0015800001041REAAY",
        "org_name": "Wallet Ltd",
        "org_status": "Active",
    }
    claims.update(overrides)
    return signed_statement(client, **{k: v for k, v in claims.items() if v is not None})


def _stored(client, client_id: str):
    return client.portal.call(services(client).clients.get, client_id)


def _nothing_registered(client) -> bool:
    return bool(client.portal.call(services(client).clients.list) == [])


def _update(client, created, ssa: str, **metadata: Any):
    body = {"client_id": created["client_id"], "software_statement": ssa, **metadata}
    headers = {"Authorization": f"Bearer {created['registration_access_token']}"}
    return client.put(created["registration_client_uri"], json=body, headers=headers)


def test_a_uk_ob_statement_registers_its_redirect_uris_client_name_and_jwks_endpoint(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client))
    assert response.status_code == 201, response.text
    stored = _stored(client, response.json()["client_id"])
    assert stored.redirect_uris == (HOME, APP)
    assert stored.client_name == "Pocket Wallet"
    assert stored.jwks_uri == JWKS_ENDPOINT
    assert stored.jwks is None
    assert stored.software_id == "uk-sw-1"


def test_the_request_may_register_some_of_the_statements_software_redirect_uris(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client), redirect_uris=[APP])
    assert response.status_code == 201, response.text
    assert response.json()["redirect_uris"] == [APP]


def test_a_requested_redirect_uri_that_the_statement_does_not_list_is_refused(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client), redirect_uris=[HOME, "https://attacker.example/cb"])
    refused(
        response,
        400,
        "invalid_redirect_uri",
        "redirect_uris[1] 'https://attacker.example/cb' is not one of the software statement's software_redirect_uris",
    )
    assert _nothing_registered(client)


@pytest.mark.parametrize(
    ("rfc_name", "uk_name", "value"),
    [
        ("redirect_uris", "software_redirect_uris", ["https://other.example/cb"]),
        ("client_name", "software_client_name", "Other Wallet"),
        ("jwks_uri", "software_jwks_endpoint", "https://keys.other.example/jwks"),
    ],
)
def test_a_statement_naming_one_thing_under_both_names_differently_is_refused(make_client, rfc_name, uk_name, value):
    client = make_client()
    response = register(client, uk_ob_statement(client, **{rfc_name: value}))
    refused(
        response,
        400,
        "invalid_software_statement",
        f"software_statement names both {rfc_name} and {uk_name}, with different values",
    )
    assert _nothing_registered(client)


def test_a_statement_naming_one_thing_under_both_names_alike_registers(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client, redirect_uris=[HOME, APP], client_name="Pocket Wallet"))
    assert response.status_code == 201, response.text
    assert response.json()["redirect_uris"] == [HOME, APP]


def test_software_redirect_uris_that_is_not_a_list_of_strings_is_refused(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client, software_redirect_uris=HOME), redirect_uris=[HOME])
    refused(response, 400, "invalid_software_statement", "software_redirect_uris must be a list of strings")


def test_the_request_cannot_name_a_jwks_uri_other_than_the_software_jwks_endpoint(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client), jwks_uri="https://attacker.example/jwks")
    refused(response, 400, "invalid_client_metadata", "jwks_uri must come from the software statement")
    assert _nothing_registered(client)


def test_a_wallet_without_the_aisp_role_may_not_have_scope_accounts(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client, software_roles=["PISP"]))  # scope defaults to accounts
    refused(
        response,
        400,
        "invalid_client_metadata",
        "scope 'openid accounts' includes 'accounts', which needs the AISP role; "
        "the software statement's software_roles are ['PISP']",
    )
    assert _nothing_registered(client)


def test_a_wallet_without_the_aisp_role_registers_without_scope_accounts(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client, software_roles=["PISP"]), scope="openid")
    assert response.status_code == 201, response.text
    assert response.json()["scope"] == "openid"


def test_software_roles_that_is_not_a_list_of_strings_is_refused(make_client):
    client = make_client()
    response = register(client, uk_ob_statement(client, software_roles="AISP"))
    refused(response, 400, "invalid_software_statement", "software_roles must be a list of strings")


def test_an_update_may_choose_among_the_statements_redirect_uris(make_client):
    client = make_client()
    created = register(client, uk_ob_statement(client)).json()
    response = _update(client, created, uk_ob_statement(client), redirect_uris=[HOME])
    assert response.status_code == 200, response.text
    assert _stored(client, created["client_id"]).redirect_uris == (HOME,)


def test_an_update_naming_a_redirect_uri_the_statement_does_not_list_is_refused(make_client):
    client = make_client()
    created = register(client, uk_ob_statement(client)).json()
    response = _update(client, created, uk_ob_statement(client), redirect_uris=["https://attacker.example/cb"])
    refused(response, 400, "invalid_redirect_uri", "'https://attacker.example/cb' is not one of the software statement")
    assert _stored(client, created["client_id"]).redirect_uris == (HOME, APP)


def test_an_update_whose_statement_names_one_thing_twice_differently_is_refused(make_client):
    client = make_client()
    created = register(client, uk_ob_statement(client)).json()
    response = _update(client, created, uk_ob_statement(client, client_name="Other Wallet"))
    refused(response, 400, "invalid_software_statement", "names both client_name and software_client_name")
    assert _stored(client, created["client_id"]).client_name == "Pocket Wallet"


def test_an_rfc_7591_statement_still_overrides_the_requests_redirect_uris(make_client):
    client = make_client()
    ssa = signed_statement(client, client_name="W", redirect_uris=[HOME], jwks=wallet_jwks())
    response = register(client, ssa, redirect_uris=[APP])
    assert response.status_code == 201, response.text
    assert response.json()["redirect_uris"] == [HOME]
