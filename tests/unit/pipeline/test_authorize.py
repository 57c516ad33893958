from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consent.model import ConsentStatus
from gateway.errors import FieldInvalidDateError, ForbiddenError, InvalidConsentStatusError, ResourceNotFoundError
from gateway.pipeline.authorize import authorize
from gateway.pipeline.call import AccessToken, Call
from gateway.pipeline.route import route
from tests.unit.pipeline.conftest import BASE, MemoryConsents

TRANSACTIONS = BASE + "/accounts/acc-1/transactions"


def _token(consent_id: str | None = "c-1", **changes: Any) -> AccessToken:
    fields: dict[str, Any] = {
        "jti": "j",
        "client_id": "wallet-1",
        "subject": "alice",
        "scope": frozenset({"accounts"}),
        "expires_at": 0.0,
        "consent_id": consent_id,
        "jkt": "k",
    }
    fields.update(changes)
    return AccessToken(**fields)


async def _routed(make_call: Callable[..., Call], path: str, **headers: str) -> Call:
    call = make_call(path=path, headers=headers)
    await route(call)
    call.token = _token()
    return call


async def test_authorize_sets_consent_accounts_and_expanded_permissions(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, TRANSACTIONS, **{"x-fapi-customer-ip-address": "10.0.0.1"})
    await authorize(call)
    assert call.consent is not None
    assert call.account_ids == ("acc-1",)
    assert "ReadTransactionsBasic" in call.permissions  # implied by ReadTransactionsDetail
    assert call.attended is True


async def test_authorize_lists_every_selected_account_for_bulk_calls(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, BASE + "/accounts")
    await authorize(call)
    assert call.account_ids == ("acc-1", "acc-2")
    assert call.attended is False


async def test_authorize_refuses_missing_consent(make_call: Callable[..., Call]) -> None:
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(ForbiddenError, match="does not exist for this wallet"):
        await authorize(call)


async def test_authorize_refuses_consent_of_another_wallet(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", client_id="wallet-2")
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(ForbiddenError, match="does not exist for this wallet"):
        await authorize(call)


async def test_authorize_refuses_consent_of_another_user(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", user_id="bob")
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(ForbiddenError, match="does not exist for this wallet"):
        await authorize(call)


async def test_authorize_refuses_token_without_consent(make_call: Callable[..., Call]) -> None:
    call = await _routed(make_call, BASE + "/accounts")
    call.token = _token(consent_id=None)
    with pytest.raises(ForbiddenError, match="carries no consent"):
        await authorize(call)


async def test_authorize_refuses_paused_consent_saying_so(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", status=ConsentStatus.PAUSED)
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(InvalidConsentStatusError, match="paused"):
        await authorize(call)


@pytest.mark.parametrize(
    "status",
    [ConsentStatus.REVOKED, ConsentStatus.EXPIRED, ConsentStatus.REJECTED, ConsentStatus.AWAITING_AUTHORISATION],
)
async def test_authorize_refuses_consent_not_authorised(
    make_call: Callable[..., Call], consents: MemoryConsents, status: ConsentStatus
) -> None:
    consents.add(consent_id="c-1", status=status)
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(InvalidConsentStatusError, match=f"status is {status.value}") as info:
        await authorize(call)
    assert info.value.code == "UK.OBIE.Resource.InvalidConsentStatus"


async def test_authorize_refuses_consent_expired_by_clock(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    call = await _routed(make_call, BASE + "/accounts")
    with pytest.raises(InvalidConsentStatusError, match="expired"):
        await authorize(call)


async def test_authorize_refuses_missing_permission(make_call: Callable[..., Call], consents: MemoryConsents) -> None:
    consents.add(consent_id="c-1", permissions=frozenset({"ReadAccountsBasic"}))
    call = await _routed(make_call, BASE + "/accounts/acc-1/balances")
    with pytest.raises(ForbiddenError, match="does not grant all of ReadBalances") as info:
        await authorize(call)
    assert info.value.path == "Data.Permissions"


async def test_authorize_refuses_missing_scope(make_call: Callable[..., Call], consents: MemoryConsents) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, BASE + "/accounts")
    call.token = _token(scope=frozenset({"openid"}))
    with pytest.raises(ForbiddenError, match="lacks the scope"):
        await authorize(call)


async def test_authorize_refuses_unselected_account_like_an_unknown_one(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    answers = []
    for account in ("acc-9-of-bob", "no-such-account"):
        call = await _routed(make_call, BASE + f"/accounts/{account}/balances")
        with pytest.raises(ResourceNotFoundError) as info:
            await authorize(call)
        answers.append((info.value.status, info.value.code, info.value.path))
    assert answers[0] == answers[1] == (404, "UK.OBIE.Resource.NotFound", "AccountId")


async def test_authorize_refuses_purpose_that_does_not_allow_the_operation(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", purposes=("marketing",))
    call = await _routed(make_call, TRANSACTIONS)
    with pytest.raises(ForbiddenError, match=r"purpose \(marketing\) does not allow"):
        await authorize(call)


async def test_authorize_clips_the_window_into_the_consents(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, TRANSACTIONS + "?fromBookingDateTime=2023-06-01T00:00:00")
    await authorize(call)
    assert call.window == (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC))
    assert call.upstream_query == {
        "fromBookingDateTime": "2024-01-01T00:00:00",
        "toBookingDateTime": "2024-12-31T00:00:00",
    }


async def test_authorize_sends_an_early_year_upstream_with_four_digits(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", transaction_from=None)
    call = await _routed(make_call, TRANSACTIONS + "?fromBookingDateTime=0001-01-01T00:00:00")
    await authorize(call)
    assert call.upstream_query["fromBookingDateTime"] == "0001-01-01T00:00:00"


async def test_authorize_keeps_a_window_inside_the_consents(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    path = TRANSACTIONS + "?fromBookingDateTime=2024-03-01&toBookingDateTime=2024-04-01T12:00:00"
    call = await _routed(make_call, path)
    await authorize(call)
    assert call.window == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, 12, tzinfo=UTC))


async def test_authorize_refuses_window_wholly_outside_the_consents(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, TRANSACTIONS + "?fromBookingDateTime=2025-02-01T00:00:00")
    with pytest.raises(ForbiddenError, match="wholly outside") as info:
        await authorize(call)
    assert info.value.path == "fromBookingDateTime"


async def test_authorize_refuses_window_wholly_before_the_consents_naming_the_end(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, TRANSACTIONS + "?toBookingDateTime=2023-06-01T00:00:00")
    with pytest.raises(ForbiddenError, match="wholly outside") as info:
        await authorize(call)
    assert info.value.path == "toBookingDateTime"


async def test_authorize_refuses_a_booking_date_that_is_not_iso_8601(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    call = await _routed(make_call, TRANSACTIONS + "?fromBookingDateTime=yesterday")
    with pytest.raises(FieldInvalidDateError, match="fromBookingDateTime is not an ISO 8601 date-time") as info:
        await authorize(call)
    assert info.value.status == 400
    assert info.value.path == "fromBookingDateTime"


async def test_authorize_serves_warm_consents_without_reading_the_store(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1")
    for _ in range(3):
        await authorize(await _routed(make_call, BASE + "/accounts"))
    assert consents.reads == 1


async def test_authorize_counts_each_decision_with_its_reason(
    make_call: Callable[..., Call], consents: MemoryConsents
) -> None:
    consents.add(consent_id="c-1", permissions=frozenset({"ReadAccountsBasic", "ReadBalances"}))
    await authorize(await _routed(make_call, BASE + "/accounts"))
    with pytest.raises(ForbiddenError):
        await authorize(await _routed(make_call, TRANSACTIONS))
    with pytest.raises(ResourceNotFoundError):
        await authorize(await _routed(make_call, BASE + "/accounts/acc-9/balances"))
    text = make_call().services.metrics.prometheus_text().decode()
    assert 'reason="permission"' in text
    assert 'reason="account"' in text
