"""The gateway in process on SQLite and on PostgreSQL, answering as a server would (a crash is a 500, not a raise).

Wallets hold DPoP keys and users a portal session, as in ``tests/e2e/consent``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.e2e.consent.conftest import Wallet, serving
from tests.e2e.consent.test_user_api import User


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], database_url: str) -> Iterator[TestClient]:
    """On both databases, answering as a server would (a crash is a 500, not a raise)."""
    yield from serving(settings_factory, database_url, raise_server_exceptions=False)


@pytest.fixture
def wallet(gateway: TestClient) -> Wallet:
    return Wallet(gateway, "wallet-1")


@pytest.fixture
def alice(wallet: Wallet) -> User:
    return User(wallet, "alice")
