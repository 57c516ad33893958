"""With Redis configured, a wallet deleting its registration on one replica is refused on every other at once."""

from __future__ import annotations

import contextlib
import time

from gateway.clock import FrozenClock
from tests.security.oauth.deregistration import (
    CONSENTS,
    call_api,
    hold_grants,
    introspect,
    register,
    running_stack,
)
from tests.unit.oauth.harness import Wallet


def _on(replica, wallet: Wallet) -> Wallet:
    """The same wallet (keys and client_id) talking to another replica."""
    return Wallet(replica, wallet.client_id, key=wallet.key, dpop_key=wallet.dpop_key)


def _status_until(call, wanted: int, within: float = 5.0) -> int:
    """The call's status once it is ``wanted``, or its last status after ``within`` seconds (pub/sub is async)."""
    deadline = time.monotonic() + within
    while True:
        status = int(call().status_code)
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_every_replica_refuses_a_deleted_clients_tokens(tmp_path, settings_factory, redis_url):
    clock = FrozenClock()
    shared = {"database_url": f"sqlite:///{tmp_path / 'shared.db'}", "redis_url": redis_url}  # keys: one data_dir
    replica = contextlib.contextmanager(running_stack)
    with (
        replica(tmp_path, settings_factory, clock, **shared) as first,
        replica(tmp_path, settings_factory, clock, **shared) as second,
    ):
        registered = register(first)
        grants = hold_grants(registered.wallet)
        elsewhere = _on(second, registered.wallet)
        consent_path = f"{CONSENTS}/{grants.pending_consent_id}"
        assert call_api(elsewhere, grants.access_token).status_code == 200
        assert call_api(elsewhere, grants.client_credentials_token, path=consent_path).status_code == 200

        assert registered.delete().status_code == 204

        assert _status_until(lambda: call_api(elsewhere, grants.access_token), 401) == 401
        assert (
            _status_until(lambda: call_api(elsewhere, grants.client_credentials_token, path=consent_path), 401) == 401
        )
        assert introspect(second, grants.access_token) == {"active": False}
