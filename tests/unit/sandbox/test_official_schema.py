"""Every sandbox endpoint answers with a body the official UK OB v4.0.0 document accepts."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from sandbox.app import OPERATIONS
from tests.unit.sandbox.official import ResponseSchemas
from tests.unit.sandbox.support import BASE, assertion, headers

ACCOUNT_FOR = {"acc-alice-current", "acc-alice-card", "acc-alice-travel", "acc-alice-savings"}


def _paths(template: str) -> list[str]:
    if "{AccountId}" not in template:
        return [template]
    return [template.replace("{AccountId}", account) for account in sorted(ACCOUNT_FOR)]


CASES = [(op, path) for template, op, _ in OPERATIONS for path in _paths(template)]


@pytest.mark.parametrize(("operation_id", "path"), CASES, ids=[f"{op}:{path}" for op, path in CASES])
def test_sandbox_response_validates_against_official_schema(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas, operation_id: str, path: str
) -> None:
    response = client.get(BASE + path, headers=headers(assertion(keys)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert official_schemas.errors(operation_id, response.json()) == []


def test_every_sandbox_operation_exists_in_official_document(official_schemas: ResponseSchemas) -> None:
    for template, operation_id, _ in OPERATIONS:
        official_paths = {p for p, item in official_schemas.document["paths"].items() if "get" in item}
        assert template in official_paths
        assert official_schemas.operation(operation_id)["operationId"] == operation_id


def test_later_transaction_pages_validate_against_official_schema(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    response = client.get(f"{BASE}/transactions?page=3", headers=headers(assertion(keys, "bob")))
    assert response.status_code == 200
    assert official_schemas.errors("GetTransactions", response.json()) == []


def test_error_body_validates_against_official_error_schema(
    client: TestClient, keys: KeyRing, official_schemas: ResponseSchemas
) -> None:
    response = client.get(f"{BASE}/accounts/acc-bob-current", headers=headers(assertion(keys)))
    assert response.status_code == 404
    assert official_schemas.errors("GetAccountsAccountId", response.json(), "400") == []
