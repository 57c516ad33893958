"""The authorization screen states the consent's terms as they apply: how long, how far back, how often."""

from __future__ import annotations

import html

from gateway.portal.catalogue import CATALOGUE

NO_TRANSACTIONS = ("ReadAccountsBasic", "ReadBalances")
TRANSACTIONS = ("ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits")
DAY, NOON = 86_400, 43_200  # seconds; the epoch began at midnight UTC


def screen_text(gateway, wallet, permissions: tuple[str, ...], lang: str = "en") -> str:
    """The screen alice sees for a new 90-day aggregation consent asking for ``permissions``."""
    consent_id = gateway.consent_for(wallet.client_id, permissions=permissions)
    request_uri = wallet.request_uri(consent_id)
    gateway.http.cookies.set("test-user", "alice")
    gateway.http.cookies.set("wg_lang", lang)
    page = gateway.http.get("/authorize", params={"client_id": wallet.client_id, "request_uri": request_uri})
    assert page.status_code == 200, page.text
    return html.unescape(page.text)


def test_screen_leaves_out_how_far_back_when_no_transaction_permission_is_asked(gateway, wallet):
    text = screen_text(gateway, wallet, NO_TRANSACTIONS)
    assert CATALOGUE["en"]["auth_history"] not in text
    assert 'id="history-window"' not in text


def test_screen_in_chinese_leaves_out_how_far_back_when_no_transaction_permission_is_asked(gateway, wallet):
    text = screen_text(gateway, wallet, NO_TRANSACTIONS, "zh")
    assert CATALOGUE["zh"]["auth_history"] not in text
    assert 'id="history-window"' not in text


def test_screen_shows_how_far_back_when_transactions_are_asked(gateway, wallet):
    text = screen_text(gateway, wallet, TRANSACTIONS)
    assert CATALOGUE["en"]["auth_history"] in text
    assert 'id="history-window"' in text


def test_screen_counts_the_days_left_from_todays_date_when_shown_a_minute_after_the_request(gateway, wallet):
    gateway.clock.advance(DAY - (gateway.clock() - NOON) % DAY)  # noon UTC: the minute below stays on the same date
    consent_id = gateway.consent_for(wallet.client_id, permissions=NO_TRANSACTIONS)  # expires in 90 days
    gateway.clock.advance(60)
    request_uri = wallet.request_uri(consent_id)
    gateway.http.cookies.set("test-user", "alice")
    page = gateway.http.get("/authorize", params={"client_id": wallet.client_id, "request_uri": request_uri})
    assert "(90 days)" in html.unescape(page.text)


def test_screen_shows_how_often_the_wallet_may_read_without_the_user(gateway, wallet):
    text = screen_text(gateway, wallet, NO_TRANSACTIONS)
    assert CATALOGUE["en"]["how_often"] in text
    assert CATALOGUE["en"]["frequency_per_day"].format(count=4) in text


def test_screen_in_chinese_shows_how_often_the_wallet_may_read_without_the_user(gateway, wallet):
    text = screen_text(gateway, wallet, NO_TRANSACTIONS, "zh")
    assert CATALOGUE["zh"]["how_often"] in text
    assert CATALOGUE["zh"]["frequency_per_day"].format(count=4) in text
