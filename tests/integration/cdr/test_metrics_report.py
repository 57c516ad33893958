"""The CDR metrics report read from a real database (SQLite and PostgreSQL): library, command and admin API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from consent.db import open_engine, sync_url
from consent.migrate import upgrade
from consent.tables import access_records, consent_events, consents
from gateway.app import create_app
from gateway.cdr_metrics import Period, report
from gateway.cli import main
from gateway.oauth.tables import access_tokens
from gateway.settings import Settings

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 22, tzinfo=UTC)
TTL = 300.0
ADMIN = "admin-secret-for-tests"


def _consent(consent_id: str, status: str, expires_at: datetime | None) -> dict[str, Any]:
    return {
        "consent_id": consent_id, "client_id": "wallet-1", "user_id": "alice", "status": status,
        "permissions": ["ReadAccountsBasic"], "purposes": ["budgeting"], "account_ids": [], "recipients": [],
        "created_at": DAY, "updated_at": DAY, "status_updated_at": DAY, "expires_at": expires_at,
        "transaction_from": None, "transaction_to": None, "frequency_per_day": 4, "marketing_opt_in": False,
        "version": 1, "head_hash": "0" * 64,
    }  # fmt: skip


def _event(consent_id: str, seq: int, at: datetime, kind: str) -> dict[str, Any]:
    return {
        "consent_id": consent_id, "seq": seq, "at": at, "actor": "user", "actor_id": "alice", "kind": kind,
        "reason": "", "changes": {}, "prev_hash": "0" * 64, "hash": f"{seq:064d}",
    }  # fmt: skip


def _call(n: int, at: datetime, latency_ms: float, status: int) -> dict[str, Any]:
    return {
        "interaction_id": f"i-{n}", "at": at, "client_id": "wallet-1", "consent_id": "c-live", "user_id": "alice",
        "api": "accounts", "operation_id": "GetAccounts", "method": "GET", "path": "/accounts",
        "account_ids": [], "status": status, "response_bytes": 10, "latency_ms": latency_ms, "record_count": 1,
    }  # fmt: skip


def _token(jti: str, issued: datetime) -> dict[str, Any]:
    return {"jti": jti, "client_id": "wallet-1", "consent_id": "c-live", "expires_at": issued.timestamp() + TTL}


def seed(url: str) -> None:
    upgrade(url, "head")
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(consents.insert(), [
            _consent("c-live", "AUTH", DAY + timedelta(days=30)),
            _consent("c-paused", "PAUS", None),
            _consent("c-gone", "CANC", None),
            _consent("c-lapsed", "AUTH", DAY + timedelta(hours=1)),  # lapsed before the period ends
        ])  # fmt: skip
        conn.execute(consent_events.insert(), [
            _event("c-live", 1, DAY + timedelta(hours=1), "authorised"),
            _event("c-gone", 1, DAY + timedelta(hours=1), "authorised"),
            _event("c-gone", 2, DAY + timedelta(hours=5), "revoked"),
            _event("c-gone", 3, DAY - timedelta(hours=5), "authorised"),  # before the period
        ])  # fmt: skip
        conn.execute(access_records.insert(), [
            _call(1, DAY + timedelta(hours=2, seconds=1.2), 120.0, 200),
            _call(2, DAY + timedelta(hours=2, seconds=1.7), 1800.0, 200),
            _call(3, DAY + timedelta(hours=3), 90.0, 429),
            _call(4, DAY + timedelta(hours=3, minutes=5), 2500.0, 503),
            _call(5, DAY + timedelta(days=1, hours=1), 10.0, 200),  # after the period
        ])  # fmt: skip
        conn.execute(
            access_tokens.insert(), [_token("t1", DAY + timedelta(hours=2)), _token("t2", DAY - timedelta(hours=2))]
        )
    engine.dispose()


def check(data: dict[str, Any]) -> None:
    assert data["period"] == {"from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z"}
    assert data["invocations"] == {"total": 4, "days": [{"date": "2026-11-22", "count": 4}]}
    assert data["availability"]["aggregate"] == 0.75
    assert data["averageResponse"]["aggregate"] == 1127.5
    assert data["peakTps"]["aggregate"] == 2
    assert data["errors"]["byStatus"] == {"503": 1}
    assert data["rejections"]["total"] == 1
    assert data["sessionCount"]["total"] == 1
    assert [h["withinThreshold"]["1000"] for h in data["performance"]["hours"]] == [0.5, 0.5]
    assert data["authorisations"] == {
        "activeAuthorisationCount": 2,
        "newAuthorisationCount": 2,
        "revokedAuthorisationCount": 1,
        "expiredAuthorisationCount": 0,
    }


async def test_report_reads_calls_tokens_and_consents_from_the_database(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    engine = open_engine(database_url)
    try:
        doc = await report(engine, Period(DAY, DAY + timedelta(days=1)), access_token_ttl=TTL, request_time=DAY)
    finally:
        await engine.dispose()
    check(doc["data"])


def test_metrics_report_command_prints_the_report_as_json(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seed(database_url)
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    argv = ["metrics", "report", "--from", "2026-11-22", "--to", "2026-11-23T00:00:00Z", "--database-url", database_url]
    assert main(argv) == 0
    check(orjson.loads(capsys.readouterr().out)["data"])


def test_metrics_report_command_refuses_an_unreadable_date(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    assert main(["metrics", "report", "--from", "last week", "--database-url", sqlite_url]) != 0
    assert "from: 'last week' is not an ISO 8601 date or instant" in capsys.readouterr().err


def test_admin_metrics_serves_the_report_to_the_admin_token_only(
    database_url: str, settings_factory: Callable[..., Settings]
) -> None:
    seed(database_url)
    app = create_app(settings_factory(database_url=database_url, admin_token=ADMIN))
    query = {"from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z"}
    with TestClient(app) as client:
        refused = client.get("/admin/metrics", params=query, headers={"Authorization": "Bearer wrong"})
        missing = client.get("/admin/metrics", params=query)
        bad_date = client.get("/admin/metrics", params={"from": "soon"}, headers={"Authorization": f"Bearer {ADMIN}"})
        answered = client.get("/admin/metrics", params=query, headers={"Authorization": f"Bearer {ADMIN}"})
    assert refused.status_code == missing.status_code == 401
    assert refused.json()["Errors"][0]["Path"] == "Authorization"
    assert bad_date.status_code == 400
    assert bad_date.json()["Errors"][0]["Path"] == "from"
    assert bad_date.json()["Errors"][0]["Message"] == "from: 'soon' is not an ISO 8601 date or instant"
    assert answered.status_code == 200
    assert answered.headers["cache-control"] == "no-store"
    check(answered.json()["data"])
