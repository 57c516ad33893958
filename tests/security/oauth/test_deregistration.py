"""RFC 7592 §2.3: once a wallet deletes its registration, nothing it was granted works any more.

"the authorization server SHOULD immediately invalidate all existing authorization grants and
currently-active access tokens, refresh tokens" of the client: at the API pipeline, at
``/introspect``, at ``/token`` and ``/authorize``, and its consents end, revoked by the wallet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consent.model import Actor, ConsentStatus
from gateway.clock import FrozenClock
from tests.security.oauth.conftest import refused
from tests.security.oauth.deregistration import (
    CONSENTS,
    Grants,
    Registered,
    call_api,
    hold_grants,
    introspect,
    log_in,
    register,
    running_stack,
)
from tests.unit.oauth.harness import Gateway, Wallet


@pytest.fixture
def stack(tmp_path, settings_factory) -> Iterator[Gateway]:
    yield from running_stack(tmp_path, settings_factory, FrozenClock())


@pytest.fixture
def registered(stack: Gateway) -> Registered:
    return register(stack)


@pytest.fixture
def grants(registered: Registered) -> Grants:
    return hold_grants(registered.wallet)


def deleted(registered: Registered) -> None:
    response = registered.delete()
    assert response.status_code == 204, response.text


def registered_again(registered: Registered) -> Wallet:
    """The same client_id and key stored again, as ``walletgate clients register --client-id`` would."""
    wallet = registered.wallet
    gateway = wallet.gateway
    gateway.register(wallet.client_id, jwks=wallet.key.jwks())
    return wallet


def test_a_deleted_clients_access_token_is_refused_by_the_api_pipeline(registered, grants):
    wallet = registered.wallet
    assert call_api(wallet, grants.access_token).status_code == 200
    deleted(registered)
    response = call_api(wallet, grants.access_token)
    assert response.status_code == 401, response.text


def test_a_deleted_clients_access_token_is_inactive_at_introspection(stack, registered, grants):
    assert introspect(stack, grants.access_token)["active"] is True
    deleted(registered)
    assert introspect(stack, grants.access_token) == {"active": False}


def test_a_deleted_clients_client_credentials_token_is_refused_by_the_consent_api(registered, grants):
    wallet = registered.wallet
    path = f"{CONSENTS}/{grants.pending_consent_id}"
    assert call_api(wallet, grants.client_credentials_token, path=path).status_code == 200
    deleted(registered)
    response = call_api(wallet, grants.client_credentials_token, path=path)
    assert response.status_code == 401, response.text


def test_a_deleted_clients_client_credentials_token_is_inactive_at_introspection(stack, registered, grants):
    deleted(registered)
    assert introspect(stack, grants.client_credentials_token) == {"active": False}


def test_a_deleted_clients_refresh_token_is_refused_at_the_token_endpoint(registered, grants):
    deleted(registered)
    response = registered.wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": grants.refresh_token})
    refused(response, 401, "invalid_client", "client")


def test_a_deleted_clients_refresh_token_is_inactive_at_introspection(stack, registered, grants):
    assert introspect(stack, grants.refresh_token)["active"] is True
    deleted(registered)
    assert introspect(stack, grants.refresh_token) == {"active": False}


def test_a_deleted_clients_refresh_token_stays_refused_if_its_client_id_is_registered_again(registered, grants):
    deleted(registered)
    wallet = registered_again(registered)
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": grants.refresh_token})
    refused(response, 400, "invalid_grant", "the refresh token was revoked")


def test_a_deleted_clients_pushed_request_is_refused_at_authorize(stack, registered, grants):
    deleted(registered)
    query = {"client_id": registered.wallet.client_id, "request_uri": grants.pending_request_uri}
    page = stack.http.get("/authorize", params=query)
    assert page.status_code == 400
    assert "This wallet is not registered with the bank." in page.text


def test_a_deleted_clients_pushed_request_stays_refused_if_its_client_id_is_registered_again(stack, registered, grants):
    deleted(registered)
    wallet = registered_again(registered)
    log_in(stack)
    page = stack.http.get(
        "/authorize", params={"client_id": wallet.client_id, "request_uri": grants.pending_request_uri}
    )
    assert page.status_code == 400
    assert "request_uri is unknown" in page.text


def test_a_deleted_clients_unredeemed_code_stays_refused_if_its_client_id_is_registered_again(registered, grants):
    deleted(registered)
    wallet = registered_again(registered)
    refused(wallet.redeem(grants.unredeemed_code), 400, "invalid_grant", "the authorization code is unknown")


def test_a_deleted_clients_consents_are_revoked_by_the_wallet_naming_the_deregistration(stack, registered, grants):
    deleted(registered)
    store = stack.services.consents
    for consent_id in (grants.consent_id, grants.pending_consent_id):
        assert stack.run(store.get, consent_id).status is ConsentStatus.REVOKED
        last = stack.run(store.events, consent_id)[-1]
        assert (last.kind, last.actor, last.actor_id) == ("revoked", Actor.WALLET, registered.wallet.client_id)
        assert last.reason == "the wallet was deregistered (RFC 7592)"


def test_a_second_delete_is_refused_with_401(registered):
    deleted(registered)
    again = registered.delete()
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_token"
    assert again.headers["www-authenticate"].startswith("Bearer")


def test_deleting_one_client_leaves_anothers_grants_working(stack, registered, grants):
    other = register(stack)
    others = hold_grants(other.wallet)
    deleted(registered)
    assert call_api(other.wallet, others.access_token).status_code == 200
    assert introspect(stack, others.refresh_token)["active"] is True
    assert stack.run(stack.services.consents.get, others.consent_id).status is ConsentStatus.AUTHORISED
    refresh = other.wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": others.refresh_token})
    assert refresh.status_code == 200, refresh.text
