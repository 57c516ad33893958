from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from sandbox.app import BankConfig, create_app
from sandbox.trust import FileKeys
from tests.unit.sandbox import official
from tests.unit.sandbox.support import ANCHOR, AUDIENCE, BASE, ISSUER, assertion, headers, new_keyring, write_jwks


@pytest.fixture(scope="module")
def bank_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, KeyRing]]:
    keys = new_keyring()
    jwks = write_jwks(keys, tmp_path_factory.mktemp("filtering") / "jwks.json")
    app = create_app(BankConfig(issuer=ISSUER, audience=AUDIENCE, anchor=ANCHOR, page_size=500), FileKeys(jwks))
    with TestClient(app, base_url=AUDIENCE) as client:
        yield client, keys


@pytest.fixture(scope="module")
def upstream(bank_client: tuple[TestClient, KeyRing]) -> Callable[..., dict[str, Any]]:
    """The sandbox's answer to ``path`` for ``user`` (every account visible), a fresh copy each call."""
    client, keys = bank_client
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def get(path: str, user: str = "alice") -> dict[str, Any]:
        if (path, user) not in cache:
            response = client.get(BASE + path, headers=headers(assertion(keys, user)))
            assert response.status_code == 200, response.text
            cache[(path, user)] = response.json()
        return copy.deepcopy(cache[(path, user)])

    return get


@pytest.fixture
def official_schemas(uk_ob_accounts_v4: Path) -> official.ResponseSchemas:
    return official.load(uk_ob_accounts_v4)
