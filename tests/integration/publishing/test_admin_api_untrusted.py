# ruff: noqa: F811 - the gateway fixtures are imported from tests/integration/pipeline, then requested by name
"""``PUT /admin/apis/{name}`` answers a hostile document with a 400 naming the problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.pipeline.conftest import (  # noqa: F401 - fixtures
    OPENAPI,
    POLICY,
    Wallet,
    bank,
    gateway,
    gateway_database_url,
    gateway_keys,
    wallet,
)

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "admin-s3cret-token"
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {"admin_token": ADMIN_TOKEN}


def _put(wallet: Wallet, policy: str, openapi: str) -> Any:
    return wallet.client.put("/admin/apis/catalogue", json={"policy": policy, "openapi": openapi}, headers=HEADERS)


def test_admin_api_refuses_a_document_nested_too_deep_with_a_400(wallet: Wallet) -> None:
    openapi = OPENAPI + "x-deep: " + "[" * 2000 + "]" * 2000 + "\n"
    response = _put(wallet, POLICY.format(upstream="http://127.0.0.1:9"), openapi)
    assert response.status_code == 400, response.text
    assert "openapi.yaml: nested deeper than" in response.json()["Message"]


def test_admin_api_refuses_a_remote_ref_with_a_400(wallet: Wallet) -> None:
    openapi = OPENAPI.replace('"#/components/schemas/Catalogue"', '"http://169.254.169.254/latest/meta-data"')
    response = _put(wallet, POLICY.format(upstream="http://127.0.0.1:9"), openapi)
    assert response.status_code == 400, response.text
    assert "cannot resolve $ref 'http://169.254.169.254/latest/meta-data'" in response.json()["Message"]


def test_admin_api_refuses_an_upstream_with_credentials_and_does_not_echo_them(wallet: Wallet) -> None:
    response = _put(wallet, POLICY.format(upstream="https://gw:s3cret@bank.example/v1"), OPENAPI)
    assert response.status_code == 400, response.text
    assert "a URL with credentials (user:password@) is refused" in response.json()["Message"]
    assert "s3cret" not in response.text


def test_admin_api_refuses_a_base_path_in_the_gateways_own_namespace(wallet: Wallet) -> None:
    policy = POLICY.format(upstream="http://127.0.0.1:9").replace("/catalogue/v1", "/.well-known")
    response = _put(wallet, policy, OPENAPI)
    assert response.status_code == 400, response.text
    assert "base_path '/.well-known' is in the gateway's own /.well-known" in response.json()["Message"]
    listed = wallet.client.get("/admin/apis", headers=HEADERS).json()["apis"]
    assert "catalogue" not in [api["name"] for api in listed]
