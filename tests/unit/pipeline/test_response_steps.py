from __future__ import annotations

import dataclasses
from collections.abc import Callable

import orjson
import pytest

from gateway.errors import UpstreamError
from gateway.pipeline.call import Call
from gateway.pipeline.minimise import minimise
from gateway.pipeline.route import route
from gateway.pipeline.runtime import PipelineRuntime
from gateway.pipeline.validate_response import validate_response
from policies.apis import PublishedApi
from tests.unit.pipeline.conftest import BASE, MemoryConsents

GOOD = {
    "Data": {
        "Account": [
            {
                "AccountId": "acc-1",
                "Status": "Enabled",
                "Currency": "GBP",
                "AccountCategory": "Personal",
                "AccountTypeCode": "CACC",
                "Nickname": "Bills",
                "Account": [{"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "80200110203345"}],
            },
            {
                "AccountId": "acc-9",
                "Status": "Enabled",
                "Currency": "GBP",
                "AccountCategory": "Personal",
                "AccountTypeCode": "CACC",
            },
        ]
    },
    "Links": {"Self": "https://bank.test/accounts"},
    "Meta": {"TotalPages": 1},
}


async def _answered(make_call: Callable[..., Call], body: object, status: int = 200) -> Call:
    call = make_call(path=BASE + "/accounts")
    await route(call)
    call.upstream_status = status
    call.upstream_body = orjson.dumps(body)
    return call


async def test_validate_response_passes_a_conforming_body(make_call: Callable[..., Call]) -> None:
    call = await _answered(make_call, GOOD)
    await validate_response(call)
    assert call.response_json == GOOD


async def test_validate_response_enforce_refuses_a_broken_body_with_502(make_call: Callable[..., Call]) -> None:
    call = await _answered(make_call, {"Data": {"Account": [{"AccountId": 7, "PAN": "4111111111111111"}]}})
    with pytest.raises(UpstreamError) as info:
        await validate_response(call)
    assert info.value.status == 502
    assert "does not match its schema (at Data.Account[0]" in info.value.message
    assert "4111" not in info.value.message  # the bank's data never reaches the wallet in an error


async def test_validate_response_report_passes_and_counts(
    make_call: Callable[..., Call], runtime: PipelineRuntime, accounts_api: PublishedApi
) -> None:
    call = await _answered(make_call, {"Meta": {}})
    call.api = dataclasses.replace(accounts_api, response_validation="report")
    await validate_response(call)
    assert runtime.published.schema_problems[(accounts_api.name, "GetAccounts")] == 1


async def test_validate_response_refuses_a_body_that_is_not_json(make_call: Callable[..., Call]) -> None:
    call = await _answered(make_call, {})
    call.upstream_body = b"<html>oops</html>"
    with pytest.raises(UpstreamError, match="not JSON"):
        await validate_response(call)


async def test_minimise_drops_unselected_accounts_and_detail_fields(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    call = await _answered(make_call, GOOD)
    call.consent = consents.add(account_ids=("acc-1",))
    call.permissions = frozenset({"ReadAccountsBasic"})
    await validate_response(call)
    await minimise(call)
    assert call.response_body is not None
    accounts = orjson.loads(call.response_body)["Data"]["Account"]
    assert [a["AccountId"] for a in accounts] == ["acc-1"]
    assert "Account" not in accounts[0]
    assert call.record_count == 1


async def test_minimise_leaves_error_answers_alone(make_call: Callable[..., Call], consents: MemoryConsents) -> None:
    error = {"Code": "400", "Id": "x", "Message": "bad", "Errors": [{"ErrorCode": "U002", "Message": "bad"}]}
    call = await _answered(make_call, error, status=400)
    call.consent = consents.add()
    await validate_response(call)
    await minimise(call)
    assert call.response_body is not None
    assert orjson.loads(call.response_body) == error
    assert call.record_count is None


async def test_minimise_refuses_a_body_that_is_not_a_json_object_rather_than_pass_it(
    make_call: Callable[..., Call], consents: MemoryConsents, accounts_api: PublishedApi
) -> None:
    call = await _answered(make_call, [GOOD["Data"]])
    call.api = dataclasses.replace(accounts_api, response_validation="report")  # the schema check lets it by
    call.consent = consents.add(account_ids=("acc-1",))
    await validate_response(call)
    with pytest.raises(UpstreamError, match="The bank's response to GetAccounts is not a JSON object") as info:
        await minimise(call)
    assert info.value.status == 502
    assert call.response_body is None
