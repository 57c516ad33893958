"""The access record names the accounts whose data the wallet received, not every account the call could read.

Each test runs a call through route, authorize, validate_response, minimise and audit over the
shipped accounts API, the bank's answer given by hand, and reads the record the audit writer wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from consent.model import AccessRecord
from gateway.errors import ForbiddenError
from gateway.pipeline.audit import audit
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.minimise import minimise
from gateway.pipeline.route import route
from gateway.pipeline.runtime import PipelineRuntime
from gateway.pipeline.validate_response import validate_response
from policies import load_policies
from policies.apis import PublishedApi
from tests.unit.pipeline.conftest import BASE, MemoryConsents

TOKEN = AccessToken(jti="j", client_id="wallet-1", subject="alice", scope=frozenset({"accounts"}), expires_at=0.0,
                    consent_id="c-1", jkt="k")  # fmt: skip
READS = frozenset({"ReadAccountsBasic", "ReadBalances", "ReadTransactionsBasic", "ReadTransactionsDebits"})


@pytest.fixture(scope="session")
def accounts_api() -> PublishedApi:
    """The shipped policy (bulk and one-account operations alike), not the unit suite's cut-down one."""
    return load_policies().apis["uk-ob-accounts-v4"]


def _transaction(account_id: str, n: int) -> dict[str, Any]:
    return {
        "AccountId": account_id,
        "TransactionId": f"t-{n}",
        "CreditDebitIndicator": "Debit",
        "Status": "BOOK",
        "BookingDateTime": "2024-03-01T10:00:00+00:00",
        "Amount": {"Amount": "1.00", "Currency": "GBP"},
    }


def _account(account_id: str) -> dict[str, Any]:
    return {"AccountId": account_id, "Currency": "GBP", "AccountCategory": "Personal", "AccountTypeCode": "CACC"}


async def _settle(call: Call) -> None:
    """Only a relayed body settles through this; these answers are read whole."""


async def _recorded(
    make_call: Callable[..., Call],
    consents: MemoryConsents,
    runtime: PipelineRuntime,
    path: str,
    answer: dict[str, Any],
    status: int = 200,
    accounts: tuple[str, ...] = ("acc-1", "acc-2"),
) -> tuple[Call, AccessRecord]:
    """The call to ``path`` under consent c-1 (selecting ``accounts``), answered by the bank with ``answer``."""
    consents.add(consent_id="c-1", account_ids=accounts, permissions=READS)
    call = make_call(path=BASE + path)
    try:
        await route(call)
        call.token = TOKEN
        await authorize(call)
        call.upstream_status, call.upstream_body = status, orjson.dumps(answer)
        await validate_response(call)
        await minimise(call)
        call.response(_settle)  # notes the status the wallet is sent
    except Exception as exc:
        call.fail(exc)
    await audit(call)
    assert await runtime.audit.flush()
    [record] = consents.records
    return call, record


async def test_a_bulk_call_answered_with_one_of_two_accounts_records_names_only_that_account(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime
) -> None:
    answer = {"Data": {"Transaction": [_transaction("acc-2", 1), _transaction("acc-2", 2), _transaction("acc-9", 3)]}}
    call, record = await _recorded(make_call, consents, runtime, "/transactions", answer)
    assert record.account_ids == ("acc-2",)
    assert call.account_ids == ("acc-1", "acc-2")  # what the bank's assertion names: every selected account


async def test_a_bulk_call_names_the_accounts_it_received_in_the_consents_order(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime
) -> None:
    answer = {"Data": {"Account": [_account("acc-3"), _account("acc-1")]}}
    selected = ("acc-1", "acc-2", "acc-3")
    _, record = await _recorded(make_call, consents, runtime, "/accounts", answer, accounts=selected)
    assert record.account_ids == ("acc-1", "acc-3")


@pytest.mark.parametrize(
    "records",
    [[], [_transaction("acc-9", 1)]],
    ids=["no-records", "only-unselected-accounts-records"],
)
async def test_a_bulk_call_whose_answer_shows_no_records_names_no_account(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime, records: list[Any]
) -> None:
    _, record = await _recorded(make_call, consents, runtime, "/transactions", {"Data": {"Transaction": records}})
    assert (record.status, record.account_ids, record.record_count) == (200, (), 0)


async def test_a_call_about_one_account_names_that_account(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime
) -> None:
    answer = {"Data": {"Transaction": [_transaction("acc-1", 1)]}}
    _, record = await _recorded(make_call, consents, runtime, "/accounts/acc-1/transactions", answer)
    assert record.account_ids == ("acc-1",)


async def test_a_bulk_call_the_bank_refused_names_the_accounts_it_asked_about(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime
) -> None:
    refusal = {"Code": "403", "Message": "No.", "Errors": [{"ErrorCode": "U011", "Message": "No."}]}
    _, record = await _recorded(make_call, consents, runtime, "/transactions", refusal, status=403)
    assert (record.status, record.account_ids) == (403, ("acc-1", "acc-2"))


async def test_a_bulk_call_that_failed_after_filtering_names_the_accounts_it_asked_about(
    make_call: Callable[..., Call], consents: MemoryConsents, runtime: PipelineRuntime
) -> None:
    consents.add(consent_id="c-1", account_ids=("acc-1", "acc-2"), permissions=READS)
    call = make_call(path=BASE + "/transactions")
    await route(call)
    call.token = TOKEN
    await authorize(call)
    call.upstream_status = 200
    call.upstream_body = orjson.dumps({"Data": {"Transaction": [_transaction("acc-2", 1)]}})
    await validate_response(call)
    await minimise(call)
    call.fail(ForbiddenError("refused after all"))  # the wallet was sent this refusal, not the records
    await audit(call)
    assert await runtime.audit.flush()
    assert [r.account_ids for r in consents.records] == [("acc-1", "acc-2")]
