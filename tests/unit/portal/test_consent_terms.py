"""The consent's terms as the authorization screen and the dashboard say them: how far back, how long, how often."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from consent.model import Consent, ConsentStatus
from gateway.portal.authorize_screen import _duration
from gateway.portal.catalogue import CATALOGUE, Text
from gateway.portal.consent_view import daily_limit, days_left, summary, windowed_permissions
from policies import PolicySet, load_policies

AT = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies()


@pytest.fixture(scope="module")
def windowed(policies: PolicySet) -> frozenset[str]:
    return windowed_permissions(policies.apis.values())


def consent(*permissions: str, **fields: object) -> Consent:
    base = Consent(
        consent_id="c-1",
        client_id="wallet",
        status=ConsentStatus.AUTHORISED,
        permissions=frozenset(permissions),
        purposes=("aggregation",),
        created_at=AT,
        updated_at=AT,
        status_updated_at=AT,
        transaction_from=AT - timedelta(days=365),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def shown(item: Consent, policies: PolicySet, windowed: frozenset[str], lang: str = "en") -> dict[str, object]:
    return summary(item, policies, Text(lang), wallet="Pocket Wallet", last_access=None, windowed=windowed)


def with_frequency(policies: PolicySet, **fields: object) -> PolicySet:
    frequency = replace(policies.limits.frequency, **fields)  # type: ignore[arg-type]
    return replace(policies, limits=replace(policies.limits, frequency=frequency))


# -- how far back: only for data the transaction window applies to ---------------------------------------------------


def test_the_window_applies_to_the_permissions_of_the_operations_published_with_a_date_window(windowed) -> None:
    assert windowed == {"ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}


def test_a_consent_without_transaction_permissions_shows_no_history_window(policies, windowed) -> None:
    assert shown(consent("ReadAccountsBasic", "ReadBalances"), policies, windowed)["history"] == ""


def test_a_consent_for_transaction_detail_shows_its_history_window(policies, windowed) -> None:
    item = consent("ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits")
    assert shown(item, policies, windowed)["history"] == "From 5 March 2025 onwards"


# -- how long: days left counted from today's date ----------------------------------------------------------------


def test_an_expiry_later_the_same_day_is_zero_days_away() -> None:
    assert days_left(AT.replace(hour=23, minute=59), AT) == 0


def test_an_expiry_exactly_n_days_ahead_is_n_days_away() -> None:
    assert days_left(AT + timedelta(days=90), AT) == 90


def test_an_expiry_n_days_after_creation_is_still_n_days_away_a_minute_later() -> None:
    assert days_left(AT + timedelta(days=90), AT + timedelta(minutes=1)) == 90


def test_an_expiry_just_past_midnight_utc_is_one_day_away() -> None:
    late = datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    assert days_left(late + timedelta(seconds=2), late) == 1


def test_after_midnight_utc_the_count_is_one_day_less_as_the_date_is_one_day_nearer() -> None:
    created = datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    assert days_left(created + timedelta(days=90), created + timedelta(seconds=2)) == 89


def test_days_are_counted_on_utc_dates_whatever_the_offset_of_the_times() -> None:
    now = datetime(2026, 3, 5, 20, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))  # 15:00 on the 5th there
    expires = datetime(2026, 3, 6, 1, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))  # 20:00 on the 5th
    assert days_left(expires, now) == 1  # the screen shows the UTC date, 6 March


def test_the_screen_says_90_days_for_a_90_day_consent_shown_a_minute_after_it_was_asked_for() -> None:
    item = consent("ReadBalances", expires_at=AT + timedelta(days=90))
    assert _duration(item, AT + timedelta(minutes=1)) == "Until 3 June 2026 (90 days), unless you withdraw it sooner"


def test_the_screen_says_today_for_a_consent_ending_later_today() -> None:
    item = consent("ReadBalances", expires_at=AT + timedelta(hours=3))
    assert _duration(item, AT) == "Until 5 March 2026 (today), unless you withdraw it sooner"


def test_the_screen_says_tomorrow_for_a_consent_ending_tomorrow_in_chinese_too() -> None:
    item = consent("ReadBalances", expires_at=AT + timedelta(hours=20))
    assert _duration(item, AT, Text("zh")) == CATALOGUE["zh"]["auth_until_tomorrow"].format(date="2026年3月6日")


# -- how often: the daily frequency the limiter enforces ------------------------------------------------------------


def test_the_daily_limit_is_the_consents_frequency(policies) -> None:
    item = consent("ReadBalances", frequency_per_day=2)
    assert daily_limit(item, policies, Text("en")) == (
        "Up to 2 times a day for each kind of data, when you are not using the app"
    )


def test_the_daily_limit_in_chinese(policies) -> None:
    item = consent("ReadBalances", frequency_per_day=2)
    assert daily_limit(item, policies, Text("zh")) == CATALOGUE["zh"]["frequency_per_day"].format(count=2)


def test_the_daily_limit_is_never_above_the_policys_cap(policies) -> None:
    item = consent("ReadBalances", frequency_per_day=100)
    assert daily_limit(item, with_frequency(policies, cap=24), Text("en")).startswith("Up to 24 times a day")


def test_a_daily_limit_of_one_reads_as_once_a_day(policies) -> None:
    item = consent("ReadBalances", frequency_per_day=1)
    assert daily_limit(item, policies, Text("en")) == "Once a day for each kind of data, when you are not using the app"


def test_a_purpose_read_only_with_the_user_present_says_so_instead_of_a_count(policies) -> None:
    lending = replace(policies.purposes.purposes["lending"], attended_only=True)
    purposes = replace(policies.purposes, purposes={**policies.purposes.purposes, "lending": lending})
    item = consent("ReadBalances", purposes=("lending",))
    assert daily_limit(item, replace(policies, purposes=purposes), Text("en")) == "Only while you are using the app"


def test_a_frequency_the_policy_only_reports_is_not_promised(policies) -> None:
    assert daily_limit(consent("ReadBalances"), with_frequency(policies, mode="report"), Text("en")) == ""


def test_the_dashboard_shows_the_daily_limit(policies, windowed) -> None:
    item = consent("ReadBalances", frequency_per_day=3)
    assert shown(item, policies, windowed, "zh")["frequency"] == CATALOGUE["zh"]["frequency_per_day"].format(count=3)


# -- the separate opt-in: shown once it was asked, as the user answered -------------------------------------------


def test_the_dashboard_says_a_declined_opt_in_was_not_agreed(policies, windowed) -> None:
    item = shown(consent("ReadBalances", marketing_opt_in=False), policies, windowed)
    assert (item["asks_marketing"], item["marketing"]) == (True, "Not agreed")


def test_the_dashboard_says_nothing_of_an_opt_in_never_asked(policies, windowed) -> None:
    assert shown(consent("ReadBalances"), policies, windowed)["asks_marketing"] is False
