from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.errors import GatewayError, HeaderInvalidError
from gateway.pipeline.call import Call
from gateway.pipeline.route import route
from gateway.pipeline.validate_request import validate_request
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
