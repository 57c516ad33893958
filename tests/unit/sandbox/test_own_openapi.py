"""openapi/uk-ob-accounts-v4.yaml: a valid OpenAPI 3.1 document that matches what the sandbox serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from policies.openapi import OpenApiDocument, load_openapi
from sandbox.app import OPERATIONS
from tests.unit.sandbox.official import ResponseSchemas, load
from tests.unit.sandbox.support import BASE, assertion, headers

DOCUMENT = Path(__file__).resolve().parents[3] / "openapi" / "uk-ob-accounts-v4.yaml"
SAMPLE_ACCOUNTS = ("acc-alice-card", "acc-alice-current", "acc-alice-travel", "acc-joint-dara-emeka")


@pytest.fixture(scope="module")
def own() -> ResponseSchemas:
    return load(DOCUMENT)


@pytest.fixture(scope="module")
def compiled() -> OpenApiDocument:
    return load_openapi(DOCUMENT)


def _walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def _resolve(document: dict[str, Any], ref: str) -> Any:
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def test_document_is_openapi_3_1(own: ResponseSchemas) -> None:
    assert own.version.startswith("3.1.")
    assert own.document["servers"] == [{"url": BASE}]
    assert {"title", "version"} <= set(own.document["info"])


def test_every_ref_resolves(own: ResponseSchemas) -> None:
    refs = [(where, node["$ref"]) for where, node in _walk(own.document) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for where, ref in refs:
        assert ref.startswith("#/"), where
        _resolve(own.document, ref)


def test_every_schema_is_valid_json_schema_2020_12(own: ResponseSchemas) -> None:
    schemas = dict(own.document["components"]["schemas"])
    schemas |= {f"parameter {n}": p["schema"] for n, p in own.document["components"]["parameters"].items()}
    for name, schema in schemas.items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            pytest.fail(f"{name}: {exc.message}")


def test_document_describes_exactly_what_the_sandbox_serves(own: ResponseSchemas) -> None:
    documented = {
        (path, op["operationId"])
        for path, item in own.document["paths"].items()
        for m, op in item.items()
        if m == "get"
    }
    assert documented == {(path, op) for path, op, _ in OPERATIONS}


def test_document_uses_the_official_operation_ids(own: ResponseSchemas, uk_ob_accounts_v4: Path) -> None:
    official = load(uk_ob_accounts_v4)
    for path, item in own.document["paths"].items():
        assert official.document["paths"][path]["get"]["operationId"] == item["get"]["operationId"]


def test_gateway_compiles_the_document(compiled: OpenApiDocument) -> None:
    assert set(compiled.operations) == {op for _, op, _ in OPERATIONS}
    match = compiled.router.match("/accounts/acc-alice-current/transactions")
    assert match is not None
    assert match.params == {"AccountId": "acc-alice-current"}


def _cases() -> list[tuple[str, str]]:
    cases = []
    for template, operation_id, _ in OPERATIONS:
        for account in SAMPLE_ACCOUNTS if "{AccountId}" in template else ("",):
            cases.append((operation_id, template.replace("{AccountId}", account)))
    return cases


@pytest.mark.parametrize(("operation_id", "path"), _cases())
def test_sandbox_response_validates_against_own_document(
    client: TestClient, keys: KeyRing, own: ResponseSchemas, compiled: OpenApiDocument, operation_id: str, path: str
) -> None:
    user = "dara" if "joint" in path else "alice"
    response = client.get(BASE + path, headers=headers(assertion(keys, user)))
    assert response.status_code == 200, response.text
    assert own.errors(operation_id, response.json()) == []
    validator = compiled.operations[operation_id].response_validator(200)
    assert validator is not None
    assert validator.first_problem(response.json()) is None


def test_sandbox_refusal_validates_against_own_error_schema(client: TestClient, own: ResponseSchemas) -> None:
    response = client.get(f"{BASE}/accounts")
    assert response.status_code == 401
    assert own.errors("GetAccounts", response.json(), "401") == []
