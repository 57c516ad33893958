from __future__ import annotations

from pathlib import Path

import pytest

from policies.errors import PolicyError
from policies.openapi import OpenApiDocument, load_openapi


@pytest.fixture(scope="module")
def document() -> OpenApiDocument:
    from tests.conftest import UK_OB_ACCOUNTS_V4

    return load_openapi(UK_OB_ACCOUNTS_V4)


def test_router_matches_templates_and_takes_parameters(document: OpenApiDocument) -> None:
    match = document.router.match("/accounts/acc-1/transactions")
    assert match is not None
    assert match.methods["GET"].operation_id == "GetAccountsAccountIdTransactions"
    assert match.params == {"AccountId": "acc-1"}


def test_router_prefers_static_segments(document: OpenApiDocument) -> None:
    match = document.router.match("/accounts")
    assert match is not None
    assert match.methods["GET"].operation_id == "GetAccounts"


def test_router_finds_nothing_for_unknown_paths(document: OpenApiDocument) -> None:
    assert document.router.match("/accounts/acc-1/nothing") is None
    assert document.router.match("/accounts/acc-1/transactions/extra") is None


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-fapi-interaction-id", "not-a-uuid"),
        ("x-fapi-customer-ip-address", "10.0.0.300"),
        ("x-fapi-auth-date", "yesterday"),
    ],
)
def test_header_validator_refuses_malformed_fapi_headers(document: OpenApiDocument, header: str, value: str) -> None:
    problem = document.operations["GetAccounts"].header.problem({header: value})
    assert problem is not None
    assert problem.path == header


def test_header_validator_accepts_well_formed_fapi_headers(document: OpenApiDocument) -> None:
    headers = {
        "x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d",
        "x-fapi-customer-ip-address": "2001:db8::1",
        "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 UTC",
    }
    assert document.operations["GetAccounts"].header.problem(headers) is None


def test_query_validator_names_the_bad_parameter(document: OpenApiDocument) -> None:
    op = document.operations["GetAccountsAccountIdTransactions"]
    assert op.query.problem({"fromBookingDateTime": "2024-01-01T00:00:00"}) is None
    problem = op.query.problem({"fromBookingDateTime": "last week"})
    assert problem is not None
    assert problem.path == "fromBookingDateTime"


def test_response_validator_names_the_json_path(document: OpenApiDocument) -> None:
    validator = document.operations["GetAccountsAccountIdTransactions"].response_validator(200)
    assert validator is not None
    problem = validator.first_problem({"Data": {"Transaction": [{"AccountId": "a"}]}, "Links": {}, "Meta": {}})
    assert problem is not None
    assert problem.path.startswith("Data.Transaction[0]")


def test_nullable_becomes_a_type_union(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things:
    get:
      operationId: GetThings
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string, nullable: true}
""",
        encoding="utf-8",
    )
    validator = load_openapi(path).operations["GetThings"].response_validator(200)
    assert validator is not None
    assert validator.first_problem({"name": None}) is None
    assert validator.first_problem({"name": 3}) is not None


def test_document_with_unresolvable_ref_is_refused_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        """openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things:
    get:
      operationId: GetThings
      parameters:
        - $ref: "#/components/parameters/Missing"
      responses: {}
""",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as info:
        load_openapi(path)
    assert "doc.yaml:5: paths./things.get: $ref '#/components/parameters/Missing' points at nothing" in str(info.value)


FILES = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /statement:
    get:
      operationId: GetStatement
      responses:
        "200":
          description: the file
          content:
            application/pdf:
              schema: {type: string, format: binary}
            text/csv; charset=utf-8:
              schema: {type: string}
        default:
          description: an error
          content:
            application/json:
              schema: {type: object}
"""


def test_the_documented_media_types_of_each_answer_are_known(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(FILES, encoding="utf-8")
    statement = load_openapi(path).operations["GetStatement"]
    assert statement.documents_media(200, "application/pdf")
    assert statement.documents_media(200, "Text/CSV; charset=latin-1")  # parameters and case do not matter
    assert not statement.documents_media(200, "application/json")
    assert statement.documents_media(500, "application/json")  # the default answer's
    assert not statement.documents_media(500, "application/pdf")
