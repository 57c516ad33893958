from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.errors import (
    FieldMissingError,
    GatewayError,
    HeaderInvalidError,
    HeaderMissingError,
    ResourceInvalidFormatError,
)
from gateway.pipeline.call import Call
from gateway.pipeline.route import route
from gateway.pipeline.validate_request import validate_request
from policies.apis import Operation, PermissionRule
from policies.openapi import SpecOperation, load_openapi
from tests.unit.pipeline.conftest import BASE

TRANSACTIONS = BASE + "/accounts/acc-1/transactions"


async def _validated(make_call: Callable[..., Call], path: str, **headers: str) -> Call:
    call = make_call(path=path, headers=headers)
    await route(call)
    await validate_request(call)
    return call


async def test_validate_request_accepts_well_formed_request(make_call: Callable[..., Call]) -> None:
    await _validated(
        make_call,
        TRANSACTIONS + "?fromBookingDateTime=2024-01-01T00:00:00",
        **{
            "x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d",
            "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 UTC",
            "x-fapi-customer-ip-address": "104.25.212.99",
        },
    )


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-fapi-interaction-id", "12345"),
        ("x-fapi-customer-ip-address", "not-an-ip"),
        ("x-fapi-auth-date", "2017-09-10"),
    ],
)
async def test_validate_request_refuses_malformed_fapi_header(
    make_call: Callable[..., Call], header: str, value: str
) -> None:
    with pytest.raises(HeaderInvalidError) as info:
        await _validated(make_call, BASE + "/accounts", **{header: value})
    assert info.value.status == 400
    assert info.value.path == header
    assert info.value.code == "UK.OBIE.Header.Invalid"


async def test_validate_request_refuses_malformed_query_parameter(make_call: Callable[..., Call]) -> None:
    with pytest.raises(GatewayError) as info:
        await _validated(make_call, TRANSACTIONS + "?toBookingDateTime=soon")
    assert info.value.status == 400
    assert info.value.path == "toBookingDateTime"


async def test_validate_request_refuses_a_query_parameter_spelling_a_declared_one_in_other_cases(
    make_call: Callable[..., Call],
) -> None:
    with pytest.raises(GatewayError) as info:
        await _validated(make_call, TRANSACTIONS + "?FromBookingDateTime=1900-01-01T00:00:00")
    assert info.value.status == 400
    assert info.value.path == "FromBookingDateTime"
    assert "did you mean fromBookingDateTime" in info.value.message


async def test_validate_request_lets_an_undeclared_query_parameter_pass(make_call: Callable[..., Call]) -> None:
    await _validated(make_call, TRANSACTIONS + "?pg=2&cursor=abc")  # a bank's own paging links


THINGS = """\
openapi: 3.0.3
info: {title: things, version: "1"}
paths:
  /things/{ThingId}:
    post:
      operationId: CreateThing
      parameters:
        - {name: ThingId, in: path, required: true, schema: {type: string, pattern: "^[a-z]+$"}}
        - {name: dryRun, in: query, required: true, schema: {type: boolean}}
        - {name: x-idempotency-key, in: header, required: true, schema: {type: string, maxLength: 8}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [Data]
              properties:
                Data: {type: object, required: [Amount], properties: {Amount: {type: string}}}
      responses: {"201": {description: created}}
"""


@pytest.fixture(scope="module")
def create_thing(tmp_path_factory: pytest.TempPathFactory) -> SpecOperation:
    path = tmp_path_factory.mktemp("things") / "things.yaml"
    path.write_text(THINGS, encoding="utf-8")
    return load_openapi(path).operations["CreateThing"]


def _post(
    make_call: Callable[..., Call],
    spec: SpecOperation,
    *,
    thing: str = "lamp",
    query: str = "dryRun=true",
    headers: dict[str, str] | None = None,
    body: bytes = b'{"Data": {"Amount": "1.00"}}',
) -> Call:
    call = make_call(
        "POST", BASE + f"/things/{thing}?{query}", headers={"x-idempotency-key": "k1"} if headers is None else headers
    )
    call.body = body
    call.path_params = {"ThingId": thing}
    call.operation = Operation("CreateThing", PermissionRule(), None, False, None, frozenset(), None, (), spec)
    return call


async def _refusal(call: Call) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        await validate_request(call)
    assert info.value.status == 400
    return info.value


async def test_validate_request_accepts_a_well_formed_body(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    await validate_request(_post(make_call, create_thing))


async def test_validate_request_refuses_a_malformed_path_parameter(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, thing="LAMP-1"))
    assert (error.code, error.path) == ("UK.OBIE.Field.Invalid", "ThingId")
    assert error.message.startswith("Path parameter ThingId:")


async def test_validate_request_refuses_a_missing_required_query_parameter(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, query=""))
    assert isinstance(error, FieldMissingError)
    assert (error.code, error.path) == ("UK.OBIE.Field.Missing", "dryRun")


async def test_validate_request_refuses_a_missing_required_header(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, headers={}))
    assert isinstance(error, HeaderMissingError)
    assert (error.code, error.path) == ("UK.OBIE.Header.Missing", "x-idempotency-key")


async def test_validate_request_refuses_a_declared_header_that_breaks_its_schema(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, headers={"x-idempotency-key": "far-too-long"}))
    assert isinstance(error, HeaderInvalidError)
    assert error.path == "x-idempotency-key"


async def test_validate_request_refuses_a_missing_required_body(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, body=b""))
    assert isinstance(error, FieldMissingError)
    assert (error.message, error.path) == ("The request body is required.", "(body)")


async def test_validate_request_refuses_a_body_that_is_not_json(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, body=b"{not json"))
    assert isinstance(error, ResourceInvalidFormatError)
    assert (error.code, error.message) == ("UK.OBIE.Resource.InvalidFormat", "The request body is not valid JSON.")


async def test_validate_request_names_the_missing_body_field(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, body=b'{"Data": {}}'))
    assert isinstance(error, FieldMissingError)
    assert error.path == "Data.Amount"


async def test_validate_request_names_the_invalid_body_field(
    make_call: Callable[..., Call], create_thing: SpecOperation
) -> None:
    error = await _refusal(_post(make_call, create_thing, body=b'{"Data": {"Amount": 1}}'))
    assert (error.code, error.path) == ("UK.OBIE.Field.Invalid", "Data.Amount")
