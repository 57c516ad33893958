from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.errors import MethodNotAllowedError, ResourceNotFoundError
from gateway.pipeline.call import Call
from gateway.pipeline.route import route
from tests.unit.pipeline.conftest import BASE


async def test_route_finds_the_operation_and_path_parameters(make_call: Callable[..., Call]) -> None:
    call = make_call(path=BASE + "/accounts/acc-1/transactions")
    await route(call)
    assert call.operation is not None
    assert call.operation.operation_id == "GetAccountsAccountIdTransactions"
    assert call.path_params == {"AccountId": "acc-1"}
    assert call.upstream_path == "/accounts/acc-1/transactions"


async def test_route_refuses_unknown_path_with_404(make_call: Callable[..., Call]) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        await route(make_call(path=BASE + "/nothing-here"))
    assert info.value.status == 404
    assert info.value.path == BASE + "/nothing-here"


async def test_route_refuses_path_outside_every_api(make_call: Callable[..., Call]) -> None:
    with pytest.raises(ResourceNotFoundError, match="No published API serves /elsewhere"):
        await route(make_call(path="/elsewhere"))


async def test_route_refuses_unpublished_operation_of_the_document(make_call: Callable[..., Call]) -> None:
    # GetAccountsAccountIdBeneficiaries is in the document but not in the policy.
    with pytest.raises(ResourceNotFoundError):
        await route(make_call(path=BASE + "/accounts/acc-1/beneficiaries"))


async def test_route_refuses_other_method_on_known_path_with_405(make_call: Callable[..., Call]) -> None:
    with pytest.raises(MethodNotAllowedError) as info:
        await route(make_call(method="POST", path=BASE + "/accounts"))
    assert info.value.status == 405
    assert info.value.headers["Allow"] == "GET"


@pytest.mark.parametrize("segment", [".", ".."])
async def test_route_refuses_a_dot_segment_with_404(make_call: Callable[..., Call], segment: str) -> None:
    # The upstream URL would resolve it away: the bank would be sent another path than the one routed.
    with pytest.raises(ResourceNotFoundError):
        await route(make_call(path=BASE + f"/accounts/{segment}/transactions"))


async def test_route_percent_encodes_each_segment_of_the_upstream_path(make_call: Callable[..., Call]) -> None:
    call = make_call(path=BASE + "/accounts/a%2F..%2Fb c;x/transactions")
    await route(call)
    assert call.path_params == {"AccountId": "a%2F..%2Fb c;x"}
    assert call.upstream_path == "/accounts/a%252F..%252Fb%20c%3Bx/transactions"  # the bank decodes it to the same


async def test_route_sends_the_bank_the_published_path_without_extra_slashes(make_call: Callable[..., Call]) -> None:
    call = make_call(path=BASE + "//accounts/")
    await route(call)
    assert call.upstream_path == "/accounts"
