"""``walletgate consents sweep`` expires lapsed consents as a running gateway's own sweep does.

The bank runs the real command (``gateway.cli.main``) beside a running gateway that shares its
database, and its Redis when configured. A running gateway already refuses a lapsed consent's access
token by the consent's expiry time (403, and ``/introspect`` says inactive); what the sweep must add,
as the gateway's own expiry does, is the revocation of the consent's tokens (deny-list, refresh tokens)
and, with Redis, the invalidation of every gateway's cached copy. A consent the command expired is
never expired again by a gateway, so anything the command leaves out is left out for good.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from consent.model import ConsentStatus, NewConsent
from gateway.cli import main
from gateway.clock import FrozenClock
from tests.security.oauth.conftest import refused
from tests.security.oauth.deregistration import (
    UNREACHABLE_REDIS,
    call_api,
    clear_walletgate_environment,
    introspect,
    log_in,
    register,
    running_stack,
    stack_sharing_redis,
)
from tests.unit.oauth.harness import Gateway, Wallet

LIFETIME = 2.0  # seconds from the consent's authorisation to its expiry


@pytest.fixture(autouse=True)
def _no_walletgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_walletgate_environment(monkeypatch)


@pytest.fixture
def stack(tmp_path, settings_factory) -> Iterator[Gateway]:
    """A gateway without Redis; its clock starts at the wall clock's now, as the command's does."""
    yield from running_stack(tmp_path, settings_factory, FrozenClock(time.time()), consent_cache_ttl=60.0)


@pytest.fixture
def shared_stack(tmp_path, settings_factory, redis_url, monkeypatch) -> Iterator[Gateway]:
    yield from stack_sharing_redis(tmp_path, settings_factory, redis_url, monkeypatch)


@dataclass
class Held:
    """A wallet's authorised consent that lapses ``LIFETIME`` seconds after the stack started, and its tokens."""

    wallet: Wallet
    consent_id: str
    expires_at: float
    access_token: str
    refresh_token: str


def holding_a_lapsing_consent(gateway: Gateway) -> Held:
    """A registered wallet whose user authorised a short consent; its access token already used once (cached)."""
    wallet = register(gateway).wallet
    log_in(gateway)
    expires_at = gateway.clock() + LIFETIME
    new = NewConsent(
        wallet.client_id,
        frozenset({"ReadAccountsDetail", "ReadBalances"}),
        ("aggregation",),
        expires_at=datetime.fromtimestamp(expires_at, UTC),
    )
    store = gateway.services.consents
    assert store is not None
    consent_id = gateway.run(store.create, new).consent_id
    tokens = wallet.redeem(wallet.code(consent_id)).json()
    assert call_api(wallet, tokens["access_token"]).status_code == 200
    return Held(wallet, consent_id, expires_at, tokens["access_token"], tokens["refresh_token"])


def lapsed(gateway: Gateway, held: Held) -> None:
    """Wait until the consent's expiry has passed; the gateway's clock keeps up with the wall clock's."""
    time.sleep(max(0.0, held.expires_at - time.time()) + 0.05)
    gateway.clock.now = time.time()


def consents_sweep(gateway: Gateway) -> int:
    """``walletgate consents sweep`` on the gateway's database."""
    settings = gateway.services.settings
    return main(["consents", "--database-url", settings.database_url, "sweep"])


def swept(gateway: Gateway, held: Held) -> None:
    lapsed(gateway, held)
    assert consents_sweep(gateway) == 0


def status_until(call, wanted: int, within: float = 5.0) -> int:
    """The call's status once it is ``wanted``, or its last status after ``within`` seconds (pub/sub is async)."""
    deadline = time.monotonic() + within
    while True:
        status = int(call().status_code)
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_with_redis_a_running_gateway_refuses_the_swept_consents_access_token_as_revoked_at_once(shared_stack):
    held = holding_a_lapsing_consent(shared_stack)
    swept(shared_stack, held)
    assert status_until(lambda: call_api(held.wallet, held.access_token), 401) == 401
    response = call_api(held.wallet, held.access_token)
    assert "The access token has been revoked." in response.text


def test_with_redis_a_running_gateways_consent_cache_holds_the_swept_consent_as_expired_at_once(shared_stack):
    held = holding_a_lapsing_consent(shared_stack)
    cache = shared_stack.services.pipeline.consents
    swept(shared_stack, held)
    deadline = time.monotonic() + 5.0
    while shared_stack.run(cache.get, held.consent_id).status is not ConsentStatus.EXPIRED:
        assert time.monotonic() < deadline, "the gateway's cached consent is still authorised"
        time.sleep(0.05)


def test_with_redis_introspection_says_the_swept_consents_tokens_are_inactive(shared_stack):
    held = holding_a_lapsing_consent(shared_stack)
    swept(shared_stack, held)
    assert introspect(shared_stack, held.access_token) == {"active": False}
    assert introspect(shared_stack, held.refresh_token) == {"active": False}


def test_the_swept_consents_refresh_token_is_refused_as_revoked(stack):
    held = holding_a_lapsing_consent(stack)
    swept(stack, held)
    response = held.wallet.post("/token", {"grant_type": "refresh_token", "refresh_token": held.refresh_token})
    refused(response, 400, "invalid_grant", "the refresh token was revoked")


def test_with_redis_the_command_reports_what_it_expired_and_that_the_gateways_were_told(shared_stack, capsys):
    held = holding_a_lapsing_consent(shared_stack)
    capsys.readouterr()
    swept(shared_stack, held)
    captured = capsys.readouterr()
    assert captured.out == "expired 1 consent\n"
    assert captured.err == (
        "1 access token put on the deny-list; every running gateway that shares this Redis was told at once\n"
    )


def test_without_redis_the_command_says_what_running_gateways_learn_and_when(stack, capsys, monkeypatch):
    monkeypatch.setenv("WALLETGATE_CONSENT_CACHE_TTL", "60")  # the gateways' settings are the command's
    held = holding_a_lapsing_consent(stack)
    capsys.readouterr()
    swept(stack, held)
    captured = capsys.readouterr()
    assert captured.out == "expired 1 consent\n"
    assert captured.err == (
        "1 access token put on the deny-list; WALLETGATE_REDIS_URL is not set, so running gateways were not "
        "told: each already refuses an expired consent's access tokens by its expiry time, keeps its cached copy "
        "of the consent until that expires (WALLETGATE_CONSENT_CACHE_TTL: 60 s), and puts the tokens on its own "
        "deny-list when it restarts; the refresh tokens are refused at once\n"
    )


def test_a_sweep_that_expires_nothing_says_only_that(stack, capsys):
    capsys.readouterr()
    assert consents_sweep(stack) == 0
    assert capsys.readouterr() == ("expired 0 consents\n", "")


def test_an_unreachable_redis_is_refused_in_one_line_before_anything_changes(stack, capsys, monkeypatch):
    held = holding_a_lapsing_consent(stack)
    time.sleep(max(0.0, held.expires_at - time.time()) + 0.05)  # lapsed for the command, not yet for the gateway
    monkeypatch.setenv("WALLETGATE_REDIS_URL", UNREACHABLE_REDIS)
    assert consents_sweep(stack) == 2
    err = capsys.readouterr().err
    assert err.startswith("walletgate: cannot use Redis (WALLETGATE_REDIS_URL): ConnectionError: ")
    assert err.count("\n") == 1
    kinds = [event.kind for event in stack.run(stack.services.consents.events, held.consent_id)]
    assert "expired" not in kinds
