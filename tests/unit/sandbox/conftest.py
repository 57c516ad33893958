from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from sandbox.app import BankConfig, create_app
from sandbox.trust import FileKeys
from tests.unit.sandbox import official
from tests.unit.sandbox.support import ANCHOR, AUDIENCE, ISSUER, new_keyring, write_jwks


@pytest.fixture(scope="session")
def keys() -> KeyRing:
    return new_keyring()


@pytest.fixture
def jwks_file(keys: KeyRing, tmp_path: Path) -> Path:
    return write_jwks(keys, tmp_path / "jwks.json")


@pytest.fixture
def client(jwks_file: Path) -> Iterator[TestClient]:
    app = create_app(BankConfig(issuer=ISSUER, audience=AUDIENCE, anchor=ANCHOR), FileKeys(jwks_file))
    with TestClient(app, base_url=AUDIENCE) as test_client:
        yield test_client


@pytest.fixture
def official_schemas(uk_ob_accounts_v4: Path) -> official.ResponseSchemas:
    return official.load(uk_ob_accounts_v4)
