"""The CDR Get Metrics report computed on known facts: every figure checked exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.cdr_metrics import CallFact, Facts, Period, compute, period_from

DAY1 = datetime(2026, 11, 22, tzinfo=UTC)
DAY2 = datetime(2026, 11, 23, tzinfo=UTC)
PERIOD = Period(DAY1, DAY2 + timedelta(hours=12))  # one whole day and half of the next


def at(day: datetime, hour: int, second: float = 0.0) -> datetime:
    return day + timedelta(hours=hour, seconds=second)


FACTS = Facts(
    calls=[
        CallFact(at(DAY1, 9, 0.1), 200.0, 200),
        CallFact(at(DAY1, 9, 0.5), 1200.0, 200),
        CallFact(at(DAY1, 9, 0.9), 5000.0, 502),
        CallFact(at(DAY1, 10), 100.0, 429),
        CallFact(at(DAY2, 1), 7000.0, 500),
        CallFact(at(DAY2, 13), 1.0, 200),  # after the period: ignored
        CallFact(at(DAY1, -1), 1.0, 200),  # before the period: ignored
    ],
    sessions=[at(DAY1, 8), at(DAY1, 9), at(DAY2, 2), at(DAY2, 20)],
    events=[
        (at(DAY1, 8), "authorised"),
        (at(DAY1, 9), "authorised"),
        (at(DAY2, 3), "revoked"),
        (at(DAY2, 4), "expired"),
    ],
    active_authorisations=3,
)


def report() -> dict[str, object]:
    doc = compute(FACTS, PERIOD, at(DAY2, 12))
    data = doc["data"]
    assert isinstance(data, dict)
    return data


def test_report_names_its_period_and_request_time() -> None:
    data = report()
    assert data["requestTime"] == "2026-11-23T12:00:00Z"
    assert data["period"] == {"from": "2026-11-22T00:00:00Z", "to": "2026-11-23T12:00:00Z"}


def test_invocations_count_only_calls_inside_the_period_per_day() -> None:
    assert report()["invocations"] == {
        "total": 5,
        "days": [{"date": "2026-11-22", "count": 4}, {"date": "2026-11-23", "count": 1}],
    }


def test_availability_is_the_share_of_calls_not_answered_with_a_5xx() -> None:
    assert report()["availability"] == {
        "aggregate": 0.6,
        "days": [{"date": "2026-11-22", "availability": 0.75}, {"date": "2026-11-23", "availability": 0.0}],
    }


def test_performance_gives_the_share_within_each_threshold_per_hour() -> None:
    assert report()["performance"] == {
        "thresholdsMs": [1000, 1500, 4000, 6000],
        "hours": [
            {
                "hour": "2026-11-22T09:00:00Z",
                "invocations": 3,
                "withinThreshold": {"1000": 0.3333, "1500": 0.6667, "4000": 0.6667, "6000": 1.0},
            },
            {
                "hour": "2026-11-22T10:00:00Z",
                "invocations": 1,
                "withinThreshold": {"1000": 1.0, "1500": 1.0, "4000": 1.0, "6000": 1.0},
            },
            {
                "hour": "2026-11-23T01:00:00Z",
                "invocations": 1,
                "withinThreshold": {"1000": 0.0, "1500": 0.0, "4000": 0.0, "6000": 0.0},
            },
        ],
    }


def test_average_response_is_the_mean_latency() -> None:
    assert report()["averageResponse"] == {
        "aggregate": 2700.0,
        "days": [{"date": "2026-11-22", "milliseconds": 1625.0}, {"date": "2026-11-23", "milliseconds": 7000.0}],
    }


def test_tps_averages_over_the_seconds_inside_the_period_and_peaks_per_second() -> None:
    data = report()
    assert data["averageTps"] == {
        "aggregate": round(5 / (36 * 3600), 6),
        "days": [
            {"date": "2026-11-22", "tps": round(4 / 86400, 6)},
            {"date": "2026-11-23", "tps": round(1 / 43200, 6)},
        ],
    }
    assert data["peakTps"] == {
        "aggregate": 3,
        "days": [{"date": "2026-11-22", "tps": 3}, {"date": "2026-11-23", "tps": 1}],
    }


def test_errors_count_5xx_by_status_and_rejections_count_429() -> None:
    data = report()
    assert data["errors"] == {
        "total": 2,
        "byStatus": {"500": 1, "502": 1},
        "days": [{"date": "2026-11-22", "count": 1}, {"date": "2026-11-23", "count": 1}],
    }
    assert data["rejections"] == {
        "total": 1,
        "days": [{"date": "2026-11-22", "count": 1}, {"date": "2026-11-23", "count": 0}],
    }


def test_sessions_and_authorisations_count_only_inside_the_period() -> None:
    data = report()
    assert data["sessionCount"] == {
        "total": 3,
        "days": [{"date": "2026-11-22", "count": 2}, {"date": "2026-11-23", "count": 1}],
    }
    assert data["authorisations"] == {
        "activeAuthorisationCount": 3,
        "newAuthorisationCount": 2,
        "revokedAuthorisationCount": 1,
        "expiredAuthorisationCount": 1,
    }


def test_an_empty_period_reports_zeros_and_no_availability() -> None:
    data = compute(Facts(), Period(DAY1, DAY2), DAY2)["data"]
    assert data["invocations"] == {"total": 0, "days": [{"date": "2026-11-22", "count": 0}]}
    assert data["availability"] == {"aggregate": None, "days": [{"date": "2026-11-22", "availability": None}]}
    assert data["peakTps"] == {"aggregate": 0, "days": [{"date": "2026-11-22", "tps": 0}]}


def test_default_period_is_the_current_day_and_the_seven_before() -> None:
    period = period_from(None, None, at(DAY2, 12))
    assert (period.start, period.end) == (DAY2 - timedelta(days=7), at(DAY2, 12))
    assert len(period.days) == 8


def test_period_refuses_an_unreadable_date_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^from: 'yesterday' is not an ISO 8601 date or instant$"):
        period_from("yesterday", None, DAY2)


def test_period_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match=r"^from: must be before to$"):
        period_from("2026-11-23", "2026-11-22", DAY2)
