"""The minimise step points the bank's ``Links`` at the gateway (``settings.issuer_url`` + the API's base path)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import orjson

from gateway.pipeline.call import Call
from gateway.pipeline.minimise import minimise
from gateway.pipeline.route import route
from gateway.pipeline.validate_response import validate_response
from policies.apis import PublishedApi
from tests.unit.pipeline.conftest import BASE, ISSUER, MemoryConsents

BANK = "http://127.0.0.1:9" + BASE  # the upstream URL of the API in the unit runtime's settings
TRANSACTIONS = "/accounts/acc-1/transactions"
WINDOW = "?fromBookingDateTime=2024-01-01T00:00:00&toBookingDateTime=2024-12-31T00:00:00"


def _transactions(links: dict[str, str]) -> dict[str, object]:
    record = {
        "AccountId": "acc-1",
        "TransactionId": "t-1",
        "CreditDebitIndicator": "Debit",
        "Status": "BOOK",
        "BookingDateTime": "2024-03-01T10:00:00+00:00",
        "Amount": {"Amount": "1.00", "Currency": "GBP"},
        "TransactionInformation": "Coffee",
    }
    return {"Data": {"Transaction": [record]}, "Links": links, "Meta": {"TotalPages": 3}}


async def _minimised(
    make_call: Callable[..., Call], consents: MemoryConsents, body: bytes, link_bases: tuple[str, ...] = ()
) -> Call:
    call = make_call(path=BASE + TRANSACTIONS + WINDOW)
    await route(call)
    if link_bases:
        assert call.api is not None
        call.api = dataclasses.replace(call.api, link_bases=link_bases)
    call.consent = consents.add(account_ids=("acc-1",))
    call.permissions = frozenset({"ReadTransactionsBasic", "ReadTransactionsDebits"})
    call.upstream_status = 200
    call.upstream_body = body
    await validate_response(call)
    await minimise(call)
    return call


async def test_minimise_points_paging_links_at_the_gateway_after_filtering(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    links = {"Self": BANK + TRANSACTIONS + WINDOW, "Next": BANK + TRANSACTIONS + WINDOW + "&page=2"}
    call = await _minimised(make_call, consents, orjson.dumps(_transactions(links)))
    assert call.response_body is not None
    sent = orjson.loads(call.response_body)
    assert sent["Links"] == {
        "Self": ISSUER + BASE + TRANSACTIONS + WINDOW,
        "Next": ISSUER + BASE + TRANSACTIONS + WINDOW + "&page=2",
    }
    assert "TransactionInformation" not in sent["Data"]["Transaction"][0]


async def test_minimise_drops_a_link_to_another_host(make_call: Callable[..., Call], consents: MemoryConsents) -> None:
    links = {"Self": BANK + TRANSACTIONS, "Next": "http://bank-internal.test" + BASE + TRANSACTIONS + "?page=2"}
    call = await _minimised(make_call, consents, orjson.dumps(_transactions(links)))
    assert call.response_body is not None
    assert orjson.loads(call.response_body)["Links"] == {"Self": ISSUER + BASE + TRANSACTIONS}


async def test_minimise_points_links_under_the_banks_public_address_at_the_gateway(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    public = "https://api.bank.example" + BASE
    links = {"Self": public + TRANSACTIONS, "Next": public + TRANSACTIONS + "?page=2", "Last": "https://x.test/p"}
    call = await _minimised(make_call, consents, orjson.dumps(_transactions(links)), link_bases=(public,))
    assert call.response_body is not None
    assert orjson.loads(call.response_body)["Links"] == {
        "Self": ISSUER + BASE + TRANSACTIONS,
        "Next": ISSUER + BASE + TRANSACTIONS + "?page=2",
    }


async def test_minimise_passes_an_error_answer_that_is_not_json_as_the_same_bytes(
    make_call: Callable[..., Call], consents: MemoryConsents, accounts_api: PublishedApi
) -> None:
    call = make_call(path=BASE + "/accounts")
    await route(call)
    call.api = dataclasses.replace(accounts_api, response_validation="report")
    call.consent = consents.add()
    call.upstream_status = 404  # a successful answer that is not JSON is refused (test_minimise_step.py)
    call.upstream_body = b"not json: " + BANK.encode()
    await validate_response(call)
    await minimise(call)
    assert call.response_body is call.upstream_body
