"""``walletgate clients delete`` cuts a wallet off as ``DELETE /register/{client_id}`` does (RFC 7592 §2.3).

The bank runs the real command (``gateway.cli.main``) beside a running gateway that shares its
database, and its Redis when configured: the wallet's consents end, revoked by the wallet with the
deregistration reason, and what it was granted stops working at the gateway (with Redis: at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from consent.model import Actor, ConsentStatus
from gateway.cli import main
from gateway.clock import FrozenClock
from tests.security.oauth.conftest import refused
from tests.security.oauth.deregistration import (
    CONSENTS,
    UNREACHABLE_REDIS,
    Grants,
    Registered,
    call_api,
    clear_walletgate_environment,
    hold_grants,
    introspect,
    register,
    running_stack,
    stack_sharing_redis,
)
from tests.unit.oauth.harness import Gateway

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/walletgate"


@pytest.fixture(autouse=True)
def _no_walletgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_walletgate_environment(monkeypatch)


@pytest.fixture
def stack(tmp_path, settings_factory) -> Iterator[Gateway]:
    """A gateway without Redis; its clock is the wall clock's now, as the command's is."""
    yield from running_stack(tmp_path, settings_factory, FrozenClock(time.time()), consent_cache_ttl=0.5)


@pytest.fixture
def shared_stack(tmp_path, settings_factory, redis_url, monkeypatch) -> Iterator[Gateway]:
    yield from stack_sharing_redis(tmp_path, settings_factory, redis_url, monkeypatch)


def clients_delete(gateway: Gateway, client_id: str) -> int:
    """``walletgate clients delete CLIENT_ID`` on the gateway's database and data folder."""
    settings = gateway.services.settings
    where = ["--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    return main(["clients", "delete", client_id, *where])


def deleted(gateway: Gateway, registered: Registered) -> None:
    assert clients_delete(gateway, registered.wallet.client_id) == 0


def holding(gateway: Gateway) -> tuple[Registered, Grants]:
    """A wallet that registered itself and holds live grants, its user token already used once (so cached)."""
    registered = register(gateway)
    grants = hold_grants(registered.wallet)
    assert call_api(registered.wallet, grants.access_token).status_code == 200
    return registered, grants


def status_until(call: Callable[[], Any], wanted: int, within: float = 5.0) -> int:
    """The call's status once it is ``wanted``, or its last status after ``within`` seconds (pub/sub is async)."""
    deadline = time.monotonic() + within
    while True:
        status = int(call().status_code)
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_with_redis_a_running_gateway_refuses_the_deleted_clients_access_token_at_once(shared_stack):
    registered, grants = holding(shared_stack)
    deleted(shared_stack, registered)
    assert status_until(lambda: call_api(registered.wallet, grants.access_token), 401) == 401


def test_with_redis_a_running_gateway_refuses_the_deleted_clients_client_credentials_token_at_once(shared_stack):
    registered, grants = holding(shared_stack)
    path = f"{CONSENTS}/{grants.pending_consent_id}"
    assert call_api(registered.wallet, grants.client_credentials_token, path=path).status_code == 200
    deleted(shared_stack, registered)
    assert status_until(lambda: call_api(registered.wallet, grants.client_credentials_token, path=path), 401) == 401


def test_with_redis_a_running_gateways_consent_cache_drops_the_revoked_consent_at_once(shared_stack):
    registered, grants = holding(shared_stack)
    cache = shared_stack.services.pipeline.consents
    deleted(shared_stack, registered)
    deadline = time.monotonic() + 5.0
    while shared_stack.run(cache.get, grants.consent_id).status is not ConsentStatus.REVOKED:
        assert time.monotonic() < deadline, "the gateway's cached consent is still authorised"
        time.sleep(0.05)


def test_with_redis_the_command_reports_what_it_revoked_and_that_the_gateways_were_told(shared_stack, capsys):
    registered, _ = holding(shared_stack)
    capsys.readouterr()
    deleted(shared_stack, registered)
    assert capsys.readouterr().out.splitlines() == [
        f"deleted client {registered.wallet.client_id}: 3 consents revoked, 2 access tokens put on the deny-list",
        "every running gateway that shares this Redis was told at once",
    ]


def test_without_redis_a_running_gateway_refuses_the_deleted_clients_access_token_once_its_cached_consent_expires(
    stack,
):
    registered, grants = holding(stack)
    deleted(stack, registered)
    time.sleep(stack.services.settings.consent_cache_ttl + 0.1)
    response = call_api(registered.wallet, grants.access_token)
    assert response.status_code == 403, response.text
    assert "The consent's status is CANC; only AUTH allows access." in response.text


def test_without_redis_the_command_says_when_running_gateways_learn_of_it(stack, capsys, monkeypatch):
    monkeypatch.setenv("WALLETGATE_CONSENT_CACHE_TTL", "0.5")  # the gateways' settings are the command's
    registered, _ = holding(stack)
    capsys.readouterr()
    deleted(stack, registered)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"deleted client {registered.wallet.client_id}: 3 consents revoked, 2 access tokens put on the deny-list"
    )
    assert out[1:] == [
        "WALLETGATE_REDIS_URL is not set, so running gateways were not told: each refuses the wallet's user tokens "
        "once its cached copy of the consent expires (WALLETGATE_CONSENT_CACHE_TTL: 0.5 s) and accepts its "
        "client_credentials tokens until they expire (WALLETGATE_ACCESS_TOKEN_TTL: at most 300 s) or it restarts; "
        "its refresh tokens are refused at once"
    ]


def test_the_deleted_clients_consents_are_revoked_by_the_bank_naming_the_command(stack):
    registered, grants = holding(stack)
    deleted(stack, registered)
    store = stack.services.consents
    for consent_id in (grants.consent_id, grants.pending_consent_id):
        assert stack.run(store.get, consent_id).status is ConsentStatus.REVOKED
        last = stack.run(store.events, consent_id)[-1]
        assert (last.kind, last.actor, last.actor_id) == ("revoked", Actor.BANK, "walletgate clients delete")
        assert last.reason == "the bank deleted the wallet's registration"


def test_the_deleted_clients_refresh_token_is_inactive_at_introspection(stack):
    registered, grants = holding(stack)
    deleted(stack, registered)
    assert introspect(stack, grants.refresh_token) == {"active": False}


def test_the_deleted_clients_refresh_token_stays_refused_if_its_client_id_is_registered_again(stack):
    registered, grants = holding(stack)
    deleted(stack, registered)
    wallet = registered.wallet
    stack.register(wallet.client_id, jwks=wallet.key.jwks())
    response = wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": grants.refresh_token})
    refused(response, 400, "invalid_grant", "the refresh token was revoked")


def test_an_unknown_client_id_is_refused_naming_it(stack, capsys):
    assert clients_delete(stack, "no-such-wallet") == 2
    assert capsys.readouterr().err == "walletgate: no client 'no-such-wallet'\n"


def test_an_unreachable_redis_is_refused_in_one_line_before_anything_changes(stack, capsys, monkeypatch):
    registered, grants = holding(stack)
    monkeypatch.setenv("WALLETGATE_REDIS_URL", UNREACHABLE_REDIS)
    assert clients_delete(stack, registered.wallet.client_id) == 2
    err = capsys.readouterr().err
    assert err.startswith("walletgate: cannot use Redis (WALLETGATE_REDIS_URL): ConnectionError: ")
    assert err.count("\n") == 1
    assert stack.run(stack.services.clients.get, registered.wallet.client_id) is not None
    assert stack.run(stack.services.consents.get, grants.consent_id).status is ConsentStatus.AUTHORISED


def test_an_unreachable_database_is_refused_in_one_line(tmp_path, capsys):
    args = ["clients", "delete", "some-wallet", "--database-url", UNREACHABLE_DATABASE, "--data-dir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("walletgate: cannot reach the database (WALLETGATE_DATABASE_URL): ConnectionRefusedError: ")
    assert err.count("\n") == 1
