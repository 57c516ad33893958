"""The gateway in process on SQLite and on PostgreSQL, answering as a server would (a crash is a 500, not a raise).

Wallets hold DPoP keys and users a portal session, as in ``tests/e2e/consent``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app
from tests.e2e.consent.conftest import Wallet
from tests.e2e.consent.test_user_api import User


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], database_url: str) -> Iterator[TestClient]:
    upgrade(database_url)
    app = create_app(settings_factory(database_url=database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def wallet(gateway: TestClient) -> Wallet:
    return Wallet(gateway, "wallet-1")


@pytest.fixture
def alice(wallet: Wallet) -> User:
    return User(wallet, "alice")
