"""A wallet pages through transactions by following ``Links`` through the gateway process, never to the bank."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from consent.model import Consent
from tests.e2e.pipeline.harness import BASE, Stack, Wallet

CURRENT = "acc-alice-current"
TRANSACTIONS = BASE + f"/accounts/{CURRENT}/transactions"
START, END = datetime.fromisoformat("2026-06-01T00:00:00+00:00"), datetime.fromisoformat("2026-10-31T00:00:00+00:00")
BASIC = {"ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}
DETAIL = {"ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}


def _windowed_consent(wallet: Wallet, permissions: set[str] = BASIC) -> Consent:
    return wallet.consent(permissions, (CURRENT,), transaction_from=START, transaction_to=END)


def _page(wallet: Wallet, path: str, consent: Consent) -> dict[str, Any]:
    response = wallet.get(path, consent)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _at_gateway(stack: Stack, link: str) -> str:
    """The path and query of a link that the gateway serves; fails for any other link."""
    assert link.startswith(stack.gateway_url + BASE + "/"), link
    return link.removeprefix(stack.gateway_url)


def _second_page(stack: Stack, wallet: Wallet, permissions: set[str] = BASIC) -> tuple[dict[str, Any], dict[str, Any]]:
    """Page 1 of a request wider than the consent's window, then page 2 by following ``Links.Next``."""
    consent = _windowed_consent(wallet, permissions)
    first = _page(wallet, TRANSACTIONS + "?fromBookingDateTime=2020-01-01T00:00:00", consent)
    return first, _page(wallet, _at_gateway(stack, first["Links"]["Next"]), consent)


def test_every_link_names_the_gateway_and_none_the_bank(stack: Stack, wallet: Wallet) -> None:
    first = _page(wallet, TRANSACTIONS, _windowed_consent(wallet))
    assert set(first["Links"]) >= {"Self", "First", "Next", "Last"}
    for link in first["Links"].values():
        _at_gateway(stack, link)
        assert urlsplit(stack.bank_url).netloc not in link


def test_next_link_keeps_the_clipped_window_and_asks_for_page_two(stack: Stack, wallet: Wallet) -> None:
    first = _page(wallet, TRANSACTIONS + "?fromBookingDateTime=2020-01-01T00:00:00", _windowed_consent(wallet))
    query = parse_qs(urlsplit(_at_gateway(stack, first["Links"]["Next"])).query)
    assert query["page"] == ["2"]
    assert query["fromBookingDateTime"] == ["2026-06-01T00:00:00"]
    assert query["toBookingDateTime"] == ["2026-10-31T00:00:00"]


def test_following_next_through_the_gateway_reads_page_two(stack: Stack, wallet: Wallet) -> None:
    first, second = _second_page(stack, wallet)
    first_ids = {t["TransactionId"] for t in first["Data"]["Transaction"]}
    second_ids = {t["TransactionId"] for t in second["Data"]["Transaction"]}
    assert second_ids
    assert not first_ids & second_ids
    assert parse_qs(urlsplit(_at_gateway(stack, second["Links"]["Prev"])).query)["page"] == ["1"]


def test_page_two_stays_inside_the_consents_window(stack: Stack, wallet: Wallet) -> None:
    _, second = _second_page(stack, wallet)
    for t in second["Data"]["Transaction"]:
        booked = datetime.fromisoformat(str(t["BookingDateTime"]).replace("Z", "+00:00"))
        assert START <= booked <= END


def test_page_two_of_a_basic_consent_hides_detail_fields(stack: Stack, wallet: Wallet) -> None:
    _, second = _second_page(stack, wallet)
    for hidden in ("TransactionInformation", "Balance", "MerchantDetails", "CreditorAccount", "DebtorAccount"):
        assert all(hidden not in t for t in second["Data"]["Transaction"]), hidden


def test_page_two_of_a_detail_consent_shows_descriptions(stack: Stack, wallet: Wallet) -> None:
    _, second = _second_page(stack, wallet, DETAIL)
    assert any("TransactionInformation" in t for t in second["Data"]["Transaction"])
