"""The CDR Get Metrics v5 report computed on known facts with a fixed clock: every figure checked exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.cdr_metrics import CallFact, Facts, Mode, Span, classify, compute, parse_mode, rate

SCHEMA = json.loads((Path(__file__).parent / "response_metrics_list_v5.schema.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # 10:30 UTC: the current day has 11 hours begun
TODAY = datetime(2026, 11, 23, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)
SINCE = datetime(2026, 11, 20, 8, tzinfo=UTC)  # the gateway's first record: three previous days
SELF = "https://gw.example/admin/metrics"


def at(day: datetime, hour: int, second: float = 0.0) -> datetime:
    return day + timedelta(hours=hour, seconds=second)


FACTS = Facts(
    calls=[
        CallFact(at(TODAY, 9, 0.1), 200.0, 200, "highPriority"),
        CallFact(at(TODAY, 9, 0.5), 1200.0, 200, "highPriority"),  # over 1000 ms
        CallFact(at(TODAY, 9, 0.9), 5000.0, 502, "unattended"),  # over 4000 ms
        CallFact(at(TODAY, 10), 100.0, 429, "lowPriority"),
        CallFact(at(YESTERDAY, 1), 7000.0, 500, "largePayload"),  # over 6000 ms
        CallFact(at(YESTERDAY, 23, 3599.999), 10.0, 503, "lowPriority"),  # last instant of yesterday
        CallFact(at(TODAY, 11), 1.0, 200, "lowPriority"),  # after now: ignored
    ],
    months={datetime(2026, 11, 1, tzinfo=UTC): (8, 2)},
    sessions=[at(TODAY, 8), at(TODAY, 9), at(YESTERDAY, 2)],
    events=[
        (at(TODAY, 8), "authorised"),
        (at(TODAY, 9), "authorised"),
        (at(YESTERDAY, 3), "revoked"),
        (at(YESTERDAY, 4), "expired"),
        (at(YESTERDAY, 5), "amended"),
        (at(TODAY, 1), "rejected"),
        (at(TODAY, 2), "abandoned"),
    ],
    active_authorisations=3,
    customers=2,
    recipients=1,
    since=SINCE,
)


def data(facts: Facts = FACTS, mode: Mode = "ALL", now: datetime = NOW) -> dict[str, Any]:
    doc = compute(facts, now, mode, self_url=SELF)
    result: dict[str, Any] = doc["data"]
    return result


@pytest.mark.parametrize("mode", ["ALL", "CURRENT", "HISTORIC"])
def test_report_validates_against_the_response_metrics_list_v5_schema(mode: Mode) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(compute(FACTS, NOW, mode, self_url=SELF))


def test_empty_report_of_a_fresh_gateway_validates_against_the_schema() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(compute(Facts(), NOW, self_url=SELF))


def test_report_carries_request_time_self_link_and_empty_meta() -> None:
    doc = compute(FACTS, NOW, self_url=SELF)
    assert (doc["data"]["requestTime"], doc["links"], doc["meta"]) == ("2026-11-23T10:30:00Z", {"self": SELF}, {})


def test_rate_strings_are_truncated_to_four_decimals_and_keep_one_decimal() -> None:
    assert [rate(2, 3), rate(19, 20), rate(1, 1), rate(0, 5), rate(99_999, 100_000)] == [
        "0.6666",
        "0.95",
        "1.0",
        "0.0",
        "0.9999",  # never rounded up to 1.0
    ]


def test_rate_of_a_window_without_calls_is_one() -> None:
    assert rate(0, 0) == "1.0"


@pytest.mark.parametrize(
    ("cdr_tier", "attended", "tier"),
    [
        ("high-priority", True, "highPriority"),
        ("low-priority", True, "lowPriority"),
        ("high-priority", False, "unattended"),
        ("low-priority", False, "unattended"),
        ("large-payload", True, "largePayload"),
        ("large-payload", False, "largePayload"),
        (None, True, "lowPriority"),
    ],
)
def test_classify_places_a_call_in_its_cdr_tier(cdr_tier: str | None, attended: bool, tier: str) -> None:
    assert classify(cdr_tier, attended) == tier


def test_previous_days_go_back_to_the_first_day_with_data() -> None:
    assert data()["sessionCount"] == {"currentDay": 2, "previousDays": [1, 0, 0]}


def test_previous_days_stop_after_seven_days() -> None:
    old = Facts(since=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(data(old)["invocations"]["highPriority"]["previousDays"]) == 7


def test_fresh_gateway_reports_only_the_current_day_and_month() -> None:
    empty = data(Facts())
    assert empty["invocations"]["lowPriority"] == {"currentDay": 0, "previousDays": []}
    assert empty["availability"]["aggregate"] == {"currentMonth": "1.0", "previousMonths": []}


def test_day_boundary_is_utc_midnight() -> None:
    calls = [CallFact(at(YESTERDAY, 23, 3599.999), 1.0, 200), CallFact(TODAY, 1.0, 200)]
    counts = data(Facts(calls=calls, since=YESTERDAY))["invocations"]["lowPriority"]
    assert counts == {"currentDay": 1, "previousDays": [1]}


def test_month_windows_are_calendar_months_last_month_first() -> None:
    span = Span.at(datetime(2026, 3, 1, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC))
    assert span.months[:3] == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert (len(span.months), span.months[-1]) == (13, datetime(2025, 3, 1, tzinfo=UTC))


def test_availability_is_the_share_of_calls_per_month_not_answered_with_a_5xx() -> None:
    months = {datetime(2026, 11, 1, tzinfo=UTC): (8, 2), datetime(2026, 10, 1, tzinfo=UTC): (3, 1)}
    report = data(Facts(months=months, since=datetime(2026, 9, 30, tzinfo=UTC)))["availability"]
    assert report["aggregate"] == {"currentMonth": "0.75", "previousMonths": ["0.6666", "1.0"]}
    assert report["authenticated"] == report["aggregate"]


def test_unauthenticated_availability_is_left_out_because_it_is_not_recorded() -> None:
    assert data()["availability"]["unauthenticated"] == {"previousMonths": []}


def test_performance_aggregate_is_the_daily_share_within_each_calls_threshold() -> None:
    assert data()["performance"]["aggregate"] == {"currentDay": "0.5", "previousDays": ["0.5", "1.0", "1.0"]}


def test_performance_tiers_are_hourly_for_the_hours_begun_today_and_whole_previous_days() -> None:
    high = data()["performance"]["highPriority"]
    assert high["currentDay"] == ["1.0"] * 9 + ["0.5", "1.0"]
    assert [len(day) for day in high["previousDays"]] == [24, 24, 24]
    large = data()["performance"]["largePayload"]["previousDays"][0]
    assert (large[1], large.count("1.0")) == ("0.0", 23)


def test_invocations_count_calls_per_tier_per_day() -> None:
    invocations = data()["invocations"]
    assert {tier: invocations[tier] for tier in ("highPriority", "lowPriority", "unattended", "largePayload")} == {
        "highPriority": {"currentDay": 2, "previousDays": [0, 0, 0]},
        "lowPriority": {"currentDay": 1, "previousDays": [1, 0, 0]},
        "unattended": {"currentDay": 1, "previousDays": [0, 0, 0]},
        "largePayload": {"currentDay": 0, "previousDays": [1, 0, 0]},
    }


def test_average_response_is_in_seconds_per_tier() -> None:
    average = data()["averageResponse"]
    assert (average["highPriority"]["currentDay"], average["largePayload"]["previousDays"][0]) == (0.7, 7.0)
    assert average["lowPriority"] == {"currentDay": 0.1, "previousDays": [0.01, 0, 0]}


def test_average_tps_divides_by_the_seconds_of_the_day_elapsed() -> None:
    tps = data()["averageTps"]
    assert tps["aggregate"] == {"currentDay": round(4 / 37_800, 6), "previousDays": [round(2 / 86_400, 6), 0, 0]}
    assert tps["authenticated"] == tps["aggregate"]


def test_peak_tps_is_the_most_calls_in_one_second() -> None:
    assert data()["peakTps"]["aggregate"] == {"currentDay": 3, "previousDays": [1, 0, 0]}


def test_errors_count_5xx_by_status_code() -> None:
    errors = data()["errors"]
    assert errors["aggregate"] == {"currentDay": 1, "previousDays": [2, 0, 0]}
    assert errors["authenticated"] == {"currentDay": {"502": 1}, "previousDays": [{"500": 1, "503": 1}, {}, {}]}


def test_rejections_count_429_answers() -> None:
    assert data()["rejections"]["authenticated"] == {"currentDay": 1, "previousDays": [0, 0, 0]}


def test_unauthenticated_traffic_is_reported_as_zero_and_empty() -> None:
    report = data()
    assert report["invocations"]["unauthenticated"] == {"currentDay": 0, "previousDays": [0, 0, 0]}
    assert report["performance"]["unauthenticated"] == {"currentDay": [], "previousDays": [[], [], []]}
    assert report["errors"]["unauthenticated"] == {"currentDay": {}, "previousDays": [{}, {}, {}]}
    assert report["peakTps"]["unauthenticated"] == {"currentDay": 0, "previousDays": [0, 0, 0]}


def test_customer_and_recipient_counts_come_from_active_consents() -> None:
    report = data()
    assert (report["customerCount"], report["recipientCount"]) == (2, 1)
    assert report["authorisations"]["activeAuthorisationCount"] == {"individual": 3, "nonIndividual": 0}


def test_authorisation_events_are_counted_per_day_as_ongoing_and_individual() -> None:
    auth = data()["authorisations"]
    assert auth["newAuthorisationCount"]["currentDay"] == {
        "onceOff": {"individual": 0, "nonIndividual": 0},
        "ongoing": {"individual": 2, "nonIndividual": 0},
    }
    assert auth["revokedAuthorisationCount"]["previousDays"][0] == {"individual": 1, "nonIndividual": 0}
    assert auth["expiredAuthorisationCount"]["previousDays"][0] == {"individual": 1, "nonIndividual": 0}
    assert auth["amendedAuthorisationCount"]["previousDays"][0] == {"individual": 1, "nonIndividual": 0}


def test_abandoned_flows_count_rejections_and_unanswered_requests_but_stage_only_rejections() -> None:
    auth = data()["authorisations"]
    assert auth["abandonedConsentFlowCount"] == {"currentDay": 2, "previousDays": [0, 0, 0]}
    assert auth["abandonmentsByStage"]["rejected"] == {"currentDay": 1, "previousDays": [0, 0, 0]}
    assert auth["abandonmentsByStage"]["preIdentification"] == {"currentDay": 0, "previousDays": [0, 0, 0]}


def test_period_current_leaves_out_previous_days_and_months() -> None:
    report = data(mode="CURRENT")
    assert report["sessionCount"] == {"currentDay": 2}
    assert report["availability"]["aggregate"] == {"currentMonth": "0.75"}


def test_period_historic_leaves_out_the_current_day_and_month() -> None:
    report = data(mode="HISTORIC")
    assert report["sessionCount"] == {"previousDays": [1, 0, 0]}
    assert report["availability"]["aggregate"] == {"previousMonths": []}


def test_period_defaults_to_all() -> None:
    assert parse_mode(None) == "ALL"


@pytest.mark.parametrize("text", ["current", "CURRENT_DAY", "", "ALL "])
def test_period_refuses_a_value_the_cdr_does_not_define(text: str) -> None:
    with pytest.raises(ValueError, match=r"^period: .* is not one of CURRENT, HISTORIC, ALL$"):
        parse_mode(text)
