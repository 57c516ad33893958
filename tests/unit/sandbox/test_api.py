"""HTTP behaviour of the sandbox bank: who sees what, booking-date windows, pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from gateway.oauth.keys import KeyRing
from tests.unit.sandbox.support import AUDIENCE, BASE, assertion, headers

TRANSACTIONS = f"{BASE}/accounts/acc-alice-current/transactions"


def _get(client: TestClient, keys: KeyRing, path: str, user: str = "alice", **kwargs: Any) -> Any:
    response = client.get(path, headers=headers(assertion(keys, user, **kwargs)))
    assert response.status_code == 200, response.text
    return response.json()


def _error(client: TestClient, keys: KeyRing, path: str) -> dict[str, Any]:
    response = client.get(path, headers=headers(assertion(keys)))
    assert response.status_code == 400, response.text
    return dict(response.json()["Errors"][0])


def test_accounts_lists_every_account_of_the_user(client: TestClient, keys: KeyRing) -> None:
    ids = {user: [a["AccountId"] for a in _get(client, keys, f"{BASE}/accounts", user)["Data"]["Account"]]
           for user in ("alice", "bob", "chen", "dara", "emeka")}  # fmt: skip
    assert ids == {
        "alice": ["acc-alice-current", "acc-alice-savings", "acc-alice-card", "acc-alice-travel"],
        "bob": ["acc-bob-current", "acc-bob-card"],
        "chen": ["acc-chen-current", "acc-chen-savings", "acc-chen-card"],
        "dara": ["acc-dara-current", "acc-joint-dara-emeka"],
        "emeka": ["acc-joint-dara-emeka", "acc-emeka-current"],
    }


def test_card_account_is_identified_by_its_pan(client: TestClient, keys: KeyRing) -> None:
    account = _get(client, keys, f"{BASE}/accounts/acc-alice-card")["Data"]["Account"][0]
    assert account["AccountTypeCode"] == "CARD"
    assert account["Account"][0]["SchemeName"] == "UK.OBIE.PAN"
    assert len(account["Account"][0]["Identification"]) == 16


def test_card_balance_shows_its_credit_line(client: TestClient, keys: KeyRing) -> None:
    balances = _get(client, keys, f"{BASE}/accounts/acc-alice-card/balances")["Data"]["Balance"]
    assert {b["Type"] for b in balances} == {"ITAV", "ITBD"}
    limit = {"Included": True, "Type": "Credit", "Amount": {"Amount": "6000.00", "Currency": "GBP"}}
    assert all(b["CreditLine"] == [limit] for b in balances)


def test_transactions_default_to_newest_first_pages_of_fifty(client: TestClient, keys: KeyRing) -> None:
    body = _get(client, keys, TRANSACTIONS)
    records = body["Data"]["Transaction"]
    assert len(records) == 50
    stamps = [r["BookingDateTime"] for r in records]
    assert stamps == sorted(stamps, reverse=True)
    assert body["Meta"]["TotalPages"] > 20
    assert body["Links"]["Self"] == AUDIENCE + TRANSACTIONS
    assert "Prev" not in body["Links"]


def test_next_link_is_absolute_and_keeps_the_window(client: TestClient, keys: KeyRing) -> None:
    query = "?fromBookingDateTime=2025-01-01T00:00:00&toBookingDateTime=2025-12-31T23:59:59"
    first = _get(client, keys, TRANSACTIONS + query)
    next_url = urlsplit(first["Links"]["Next"])
    assert f"{next_url.scheme}://{next_url.netloc}" == AUDIENCE
    params = parse_qs(next_url.query)
    assert params["page"] == ["2"]
    assert params["fromBookingDateTime"] == ["2025-01-01T00:00:00"]
    second = _get(client, keys, first["Links"]["Next"].removeprefix(AUDIENCE))
    assert second["Links"]["Prev"] == second["Links"]["First"]
    assert not {r["TransactionId"] for r in first["Data"]["Transaction"]} & {
        r["TransactionId"] for r in second["Data"]["Transaction"]
    }


def test_following_next_links_walks_every_transaction_once(client: TestClient, keys: KeyRing) -> None:
    url: str | None = TRANSACTIONS + "?fromBookingDateTime=2026-06-01"
    seen: list[str] = []
    pages = 0
    while url:
        body = _get(client, keys, url.removeprefix(AUDIENCE))
        seen += [r["TransactionId"] for r in body["Data"]["Transaction"]]
        pages += 1
        url = body["Links"].get("Next")
    assert pages == body["Meta"]["TotalPages"]
    assert len(seen) == len(set(seen))
    assert min(seen) < max(seen)


def test_booking_window_keeps_only_transactions_inside_it(client: TestClient, keys: KeyRing) -> None:
    body = _get(client, keys, TRANSACTIONS + "?fromBookingDateTime=2026-03-01T00:00:00Z&toBookingDateTime=2026-03-10")
    stamps = [datetime.fromisoformat(r["BookingDateTime"]) for r in body["Data"]["Transaction"]]
    assert stamps
    assert all(datetime(2026, 3, 1, tzinfo=UTC) <= s <= datetime(2026, 3, 10, tzinfo=UTC) for s in stamps)


def test_booking_window_honours_an_offset(client: TestClient, keys: KeyRing) -> None:
    utc = _get(client, keys, TRANSACTIONS + "?fromBookingDateTime=2026-03-01T10:00:00Z&toBookingDateTime=2026-03-09")
    shifted = _get(
        client, keys, TRANSACTIONS + "?fromBookingDateTime=2026-03-01T12:00:00%2B02:00&toBookingDateTime=2026-03-09"
    )
    assert utc["Data"] == shifted["Data"]


def test_bad_booking_date_is_refused_naming_the_parameter(client: TestClient, keys: KeyRing) -> None:
    error = _error(client, keys, TRANSACTIONS + "?toBookingDateTime=yesterday")
    assert error == {
        "ErrorCode": "U003",
        "Message": "toBookingDateTime must be an ISO 8601 date-time, got 'yesterday'",
        "Path": "toBookingDateTime",
    }


def test_inverted_booking_window_is_refused(client: TestClient, keys: KeyRing) -> None:
    error = _error(client, keys, f"{BASE}/transactions?fromBookingDateTime=2026-02-01&toBookingDateTime=2026-01-01")
    assert error == {
        "ErrorCode": "U003",
        "Message": "fromBookingDateTime is after toBookingDateTime",
        "Path": "fromBookingDateTime",
    }


def test_page_past_the_end_is_refused(client: TestClient, keys: KeyRing) -> None:
    last = _get(client, keys, TRANSACTIONS)["Meta"]["TotalPages"]
    assert _error(client, keys, TRANSACTIONS + "?page=999") == {
        "ErrorCode": "U002",
        "Message": f"page 999 is past the last page ({last})",
        "Path": "page",
    }
    for bad in ("zero", "0"):
        assert _error(client, keys, TRANSACTIONS + f"?page={bad}") == {
            "ErrorCode": "U002",
            "Message": f"page must be a positive integer, got {bad!r}",
            "Path": "page",
        }


def test_balances_refuse_an_assertion_listing_no_account_of_the_user(client: TestClient, keys: KeyRing) -> None:
    response = client.get(f"{BASE}/balances", headers=headers(assertion(keys, "alice", ["acc-bob-current"])))
    assert response.status_code == 404
    assert response.json()["Errors"] == [
        {"ErrorCode": "U011", "Message": "the assertion lists no account of this user", "Path": "AccountId"}
    ]


def test_bulk_transactions_merge_the_visible_accounts(client: TestClient, keys: KeyRing) -> None:
    token_accounts = ["acc-alice-card", "acc-alice-travel"]
    body = _get(client, keys, f"{BASE}/transactions?fromBookingDateTime=2026-01-01", accounts=token_accounts)
    records = body["Data"]["Transaction"]
    assert {r["AccountId"] for r in records} <= set(token_accounts)
    stamps = [r["BookingDateTime"] for r in records]
    assert stamps == sorted(stamps, reverse=True)
    assert "FirstAvailableDateTime" in body["Meta"]


def test_joint_account_lists_both_holders(client: TestClient, keys: KeyRing) -> None:
    parties = _get(client, keys, f"{BASE}/accounts/acc-joint-dara-emeka/parties", "emeka")["Data"]["Party"]
    assert [(p["PartyId"], p["PartyType"]) for p in parties] == [("party-dara", "Joint"), ("party-emeka", "Joint")]


def test_party_is_the_user_asking(client: TestClient, keys: KeyRing) -> None:
    assert _get(client, keys, f"{BASE}/party", "chen")["Data"]["Party"]["Name"] == "Chen Wei"


def test_unknown_path_answers_in_the_open_banking_format(client: TestClient, keys: KeyRing) -> None:
    response = client.get(f"{BASE}/nothing-here", headers=headers(assertion(keys)))
    assert response.status_code == 404
    assert response.json()["Errors"] == [{"ErrorCode": "U011", "Message": f"no resource at {BASE}/nothing-here"}]


def test_healthz_needs_no_assertion(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "anchor": "2026-11-20"}


def test_interaction_id_is_echoed(client: TestClient, keys: KeyRing) -> None:
    sent = headers(assertion(keys))
    response = client.get(f"{BASE}/accounts", headers=sent)
    assert response.headers["x-fapi-interaction-id"] == sent["x-fapi-interaction-id"]


def test_writes_are_refused_in_the_open_banking_format(client: TestClient, keys: KeyRing) -> None:
    response = client.post(f"{BASE}/accounts", headers=headers(assertion(keys)))
    assert response.status_code == 405
    assert response.json()["Code"] == "405 MethodNotAllowed"
    assert response.json()["Errors"] == [
        {"ErrorCode": "U002", "Message": "This method is not allowed on this resource."}
    ]


def test_unexpected_failure_is_a_500_without_internals(client: TestClient, keys: KeyRing) -> None:
    client.app.state.bank = None  # type: ignore[attr-defined]
    with TestClient(client.app, base_url=AUDIENCE, raise_server_exceptions=False) as broken:
        response = broken.get(f"{BASE}/accounts", headers=headers(assertion(keys)))
    assert response.status_code == 500
    body = response.json()
    assert body["Errors"] == [
        {"ErrorCode": "U000", "Message": "The bank could not answer; quote the Id when you report it."}
    ]
    assert "Traceback" not in response.text
