"""What the authorization screen says about duration and history, in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consent.model import Consent, ConsentStatus
from gateway.portal.authorize_screen import _account, _duration, _history

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def consent(**fields) -> Consent:
    base: dict[str, Any] = {
        "consent_id": "c1",
        "client_id": "w1",
        "status": ConsentStatus.AWAITING_AUTHORISATION,
        "permissions": frozenset({"ReadBalances"}),
        "purposes": ("aggregation",),
        "created_at": NOW,
        "updated_at": NOW,
        "status_updated_at": NOW,
    }
    return Consent(**(base | fields))


def test_duration_names_the_end_date_and_days_left():
    text = _duration(consent(expires_at=datetime(2027, 2, 21, tzinfo=UTC)), NOW)
    assert text == "Until 21 February 2027 (90 days), unless you withdraw it sooner"


def test_duration_without_expiry_says_until_withdrawn():
    assert _duration(consent(), NOW) == "Until you withdraw it"


def test_history_window_in_words():
    start, end = datetime(2025, 11, 23, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    assert _history(consent(transaction_from=start, transaction_to=end)) == "From 23 November 2025 to 23 November 2026"
    assert _history(consent()) == "All the history your bank holds"
    assert _history(consent(transaction_from=start)) == "From 23 November 2025 onwards"


def test_account_label_shows_only_the_last_four_digits():
    label = _account(
        {
            "AccountId": "a1",
            "AccountSubType": "CurrentAccount",
            "Currency": "GBP",
            "Account": [{"Identification": "40400412345678", "Name": "Ms A"}],
        }
    )
    assert label == {"id": "a1", "name": "Ms A", "kind": "Current account GBP", "ending": "5678"}
