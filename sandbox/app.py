"""The sandbox bank's HTTP API: UK OB Account and Transaction API v4.0 read endpoints.

Every route under ``/open-banking/v4.0/aisp`` answers only a request that carries a valid
gateway assertion (``sandbox.trust``), and shows only the accounts of the assertion's user
that the assertion lists; any other AccountId is answered exactly like an unknown one.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import (
    BankError,
    InvalidDateError,
    MethodNotAllowedError,
    NotFoundError,
    UnexpectedError,
    error_response,
    interaction_id,
)
from sandbox.pages import paginate
from sandbox.seed import AccountData, Bank, build_bank
from sandbox.trust import ASSERTION_HEADER, AssertionVerifier, Caller, Clock, KeySource

log = logging.getLogger("sandbox")

BASE_PATH = "/open-banking/v4.0/aisp"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class BankConfig:
    issuer: str  # the gateway whose assertions are trusted
    audience: str  # this bank's base URL, as the gateway names it in ``aud``
    anchor: date  # the last day of the seeded history
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class _Context:
    request: Request
    caller: Caller
    bank: Bank
    config: BankConfig

    def visible(self) -> list[AccountData]:
        return [self.bank.accounts[a] for a in self.bank.account_ids_of(self.caller.user_id) if self.caller.may_see(a)]

    def account(self) -> AccountData:
        account_id = self.request.path_params["AccountId"]
        data = self.bank.accounts.get(account_id)
        if data is None or self.caller.user_id not in data.spec.owners or not self.caller.may_see(account_id):
            raise NotFoundError(f"no account {account_id[:40]!r}", path="AccountId")
        return data

    def page(self, member: str, items: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        shown, paging = paginate(items, self.request.url, self.request.query_params.get("page"), self.config.page_size)
        paging["Meta"].update(meta or {})
        return {"Data": {member: list(shown)}, **paging}

    def single(self, member: str, item: dict[str, Any]) -> dict[str, Any]:
        return {"Data": {member: item}, "Links": {"Self": str(self.request.url)}, "Meta": {"TotalPages": 1}}


Handler = Callable[[_Context], dict[str, Any]]


def _booking_bound(request: Request, name: str) -> datetime | None:
    """A booking-date bound: ISO 8601 date or date-time; an offset is honoured, none means UTC."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidDateError(f"{name} must be an ISO 8601 date-time, got {raw[:40]!r}", path=name) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _window(request: Request) -> tuple[datetime | None, datetime | None]:
    start = _booking_bound(request, "fromBookingDateTime")
    end = _booking_bound(request, "toBookingDateTime")
    if start and end and start > end:
        raise InvalidDateError("fromBookingDateTime is after toBookingDateTime", path="fromBookingDateTime")
    return start, end


def _in_window(data: AccountData, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """The account's transactions booked in [start, end], newest first (``booked`` is descending)."""
    newest_first = data.booked
    low = 0 if end is None else bisect.bisect_left(newest_first, -end.timestamp(), key=lambda d: -d.timestamp())
    high = (
        len(newest_first)
        if start is None
        else bisect.bisect_right(newest_first, -start.timestamp(), key=lambda d: -d.timestamp())
    )
    return list(data.transactions[low:high])


def _available(accounts: Iterable[AccountData]) -> dict[str, Any]:
    stamps = [d for data in accounts for d in (data.booked[:1] + data.booked[-1:])]
    if not stamps:
        return {}
    return {"FirstAvailableDateTime": min(stamps).isoformat(), "LastAvailableDateTime": max(stamps).isoformat()}


def _transactions(ctx: _Context, accounts: list[AccountData]) -> dict[str, Any]:
    start, end = _window(ctx.request)
    lists = [_in_window(data, start, end) for data in accounts]
    merged = list(heapq.merge(*lists, key=lambda t: t["BookingDateTime"], reverse=True)) if len(lists) > 1 else lists[0]
    return ctx.page("Transaction", merged, _available(accounts))


def get_accounts(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Account", [data.account for data in ctx.visible()])


def get_account(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Account", [ctx.account().account])


def get_account_balances(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Balance", list(ctx.account().balances))


def get_balances(ctx: _Context) -> dict[str, Any]:
    balances = [line for data in ctx.visible() for line in data.balances]
    if not balances:
        raise NotFoundError("the assertion lists no account of this user", path="AccountId")
    return ctx.page("Balance", balances)


def get_account_transactions(ctx: _Context) -> dict[str, Any]:
    return _transactions(ctx, [ctx.account()])


def get_transactions(ctx: _Context) -> dict[str, Any]:
    accounts = ctx.visible()
    if not accounts:
        _window(ctx.request)
        return ctx.page("Transaction", [])
    return _transactions(ctx, accounts)


def get_account_beneficiaries(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Beneficiary", list(ctx.account().beneficiaries))


def get_beneficiaries(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Beneficiary", [b for data in ctx.visible() for b in data.beneficiaries])


def get_account_direct_debits(ctx: _Context) -> dict[str, Any]:
    return ctx.page("DirectDebit", list(ctx.account().direct_debits))


def get_direct_debits(ctx: _Context) -> dict[str, Any]:
    return ctx.page("DirectDebit", [d for data in ctx.visible() for d in data.direct_debits])


def get_account_standing_orders(ctx: _Context) -> dict[str, Any]:
    return ctx.page("StandingOrder", list(ctx.account().standing_orders))


def get_standing_orders(ctx: _Context) -> dict[str, Any]:
    return ctx.page("StandingOrder", [s for data in ctx.visible() for s in data.standing_orders])


def get_account_product(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Product", [ctx.account().product])


def get_products(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Product", [data.product for data in ctx.visible()])


def get_account_parties(ctx: _Context) -> dict[str, Any]:
    return ctx.page("Party", list(ctx.account().parties))


def get_account_party(ctx: _Context) -> dict[str, Any]:
    return ctx.single("Party", ctx.account().parties[0])


def get_party(ctx: _Context) -> dict[str, Any]:
    return ctx.single("Party", ctx.bank.parties[ctx.caller.user_id])


# (path under BASE_PATH, official operationId, handler)
OPERATIONS: tuple[tuple[str, str, Handler], ...] = (
    ("/accounts", "GetAccounts", get_accounts),
    ("/accounts/{AccountId}", "GetAccountsAccountId", get_account),
    ("/accounts/{AccountId}/balances", "GetAccountsAccountIdBalances", get_account_balances),
    ("/accounts/{AccountId}/transactions", "GetAccountsAccountIdTransactions", get_account_transactions),
    ("/accounts/{AccountId}/beneficiaries", "GetAccountsAccountIdBeneficiaries", get_account_beneficiaries),
    ("/accounts/{AccountId}/direct-debits", "GetAccountsAccountIdDirectDebits", get_account_direct_debits),
    ("/accounts/{AccountId}/standing-orders", "GetAccountsAccountIdStandingOrders", get_account_standing_orders),
    ("/accounts/{AccountId}/product", "GetAccountsAccountIdProduct", get_account_product),
    ("/accounts/{AccountId}/parties", "GetAccountsAccountIdParties", get_account_parties),
    ("/accounts/{AccountId}/party", "GetAccountsAccountIdParty", get_account_party),
    ("/balances", "GetBalances", get_balances),
    ("/transactions", "GetTransactions", get_transactions),
    ("/beneficiaries", "GetBeneficiaries", get_beneficiaries),
    ("/direct-debits", "GetDirectDebits", get_direct_debits),
    ("/standing-orders", "GetStandingOrders", get_standing_orders),
    ("/products", "GetProducts", get_products),
    ("/party", "GetParty", get_party),
)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = request.app.state
        caller = await state.verifier.verify(request.headers.get(ASSERTION_HEADER))
        body = handler(_Context(request, caller, state.bank, state.config))
        headers = {"x-fapi-interaction-id": interaction_id(request), "Cache-Control": "no-store"}
        return Response(orjson.dumps(body), 200, headers, JSON_TYPE)

    return endpoint


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "anchor": request.app.state.config.anchor.isoformat()})


async def _bank_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BankError):
        return error_response(exc, request)
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        return error_response(NotFoundError(f"no resource at {request.url.path[:200]}"), request)
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return error_response(MethodNotAllowedError(), request)
    log.error("unexpected error answering %s", request.url.path, exc_info=exc)
    return error_response(UnexpectedError(), request)


@lru_cache(maxsize=4)
def _bank(anchor: date) -> Bank:
    return build_bank(anchor)


def create_app(config: BankConfig, keys: KeySource, *, clock: Clock = time.time) -> Starlette:
    routes = [Route("/healthz", _healthz)]
    routes += [Route(BASE_PATH + path, _endpoint(handler), name=op) for path, op, handler in OPERATIONS]
    handlers = {BankError: _bank_error, HTTPException: _bank_error, Exception: _bank_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.config = config
    app.state.bank = _bank(config.anchor)
    app.state.verifier = AssertionVerifier(keys, issuer=config.issuer, audience=config.audience, clock=clock)
    return app
