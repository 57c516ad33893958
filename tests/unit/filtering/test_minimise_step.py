"""The minimise step of the pipeline: the wallet gets the answer as the call's consent and accounts allow."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import orjson
import pytest

from gateway.errors import UpstreamError
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.minimise import minimise
from gateway.pipeline.route import route
from gateway.pipeline.validate_response import validate_response
from policies.apis import PublishedApi
from tests.unit.pipeline import conftest as pipeline
from tests.unit.pipeline.conftest import BASE, MemoryConsents

# The pipeline's fixtures (a hand-built ``Call`` over the official UK OB document), shared with this module.
accounts_api, consents, keys, settings = pipeline.accounts_api, pipeline.consents, pipeline.keys, pipeline.settings
services, runtime, make_call = pipeline.services, pipeline.runtime, pipeline.make_call

TOKEN = AccessToken(jti="j", client_id="wallet-1", subject="alice", scope=frozenset({"accounts"}), expires_at=0.0,
                    consent_id="c-1", jkt="k")  # fmt: skip


def _balance(account_id: str) -> dict[str, object]:
    return {
        "AccountId": account_id,
        "CreditDebitIndicator": "Credit",
        "Type": "ITAV",
        "DateTime": "2024-05-01T00:00:00+00:00",
        "Amount": {"Amount": "10.00", "Currency": "GBP"},
    }


async def _authorised(make_call: Callable[..., Call], path: str) -> Call:
    call = make_call(path=path)
    await route(call)
    call.token = TOKEN
    await authorize(call)
    return call


async def test_an_account_call_shows_only_that_accounts_records(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", account_ids=("acc-1", "acc-2"))
    call = await _authorised(make_call, BASE + "/accounts/acc-1/balances")
    call.upstream_status = 200
    call.upstream_body = orjson.dumps({"Data": {"Balance": [_balance("acc-1"), _balance("acc-2")]}})
    await validate_response(call)
    await minimise(call)
    assert call.response_body is not None
    shown = {b["AccountId"] for b in orjson.loads(call.response_body)["Data"]["Balance"]}
    assert shown == set(call.account_ids) == {"acc-1"}  # what the audit record says the call read


async def test_an_answer_that_is_not_json_is_refused_not_passed_unfiltered_in_report_mode(
    make_call: Callable[..., Call], consents: MemoryConsents, accounts_api: PublishedApi
) -> None:
    consents.add(consent_id="c-1", account_ids=("acc-1",))
    call = await _authorised(make_call, BASE + "/accounts")
    call.api = dataclasses.replace(accounts_api, response_validation="report")
    call.upstream_status = 200
    # NaN: not JSON to the gateway's parser, which many wallets' parsers read all the same
    call.upstream_body = b'{"Data": {"Account": [{"AccountId": "acc-9", "Nickname": "Bob", "Rate": NaN}]}}'
    await validate_response(call)
    with pytest.raises(UpstreamError, match="not a JSON object") as info:
        await minimise(call)
    assert info.value.status == 502
    assert call.response_body is None


async def test_a_card_number_whose_scheme_is_spelt_with_escapes_is_still_masked(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", account_ids=("acc-1",))
    call = await _authorised(make_call, BASE + "/accounts/acc-1/balances")
    call.upstream_status = 200
    card = b'{"SchemeName": "UK.OBIE.P\\u0041N", "Identification": "4539148803436467"}'
    balance = orjson.dumps(_balance("acc-1"))[:-1] + b', "SupplementaryData": {"Card": ' + card + b"}}"
    call.upstream_body = b'{"Data": {"Balance": [' + balance + b"]}}"
    await validate_response(call)
    await minimise(call)
    assert b"4539148803436467" not in (call.response_body or b"")
    assert b"************6467" in (call.response_body or b"")
