"""The CDR Get Metrics v5 report read from a real database (SQLite and PostgreSQL): library, command and admin API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from consent.db import open_engine, sync_url
from consent.migrate import upgrade
from consent.tables import access_records, consent_events, consents
from gateway.app import create_app
from gateway.cdr_metrics import operation_tiers, report
from gateway.cli import main
from gateway.clock import FrozenClock
from gateway.oauth.tables import access_tokens
from gateway.settings import Settings
from policies import load_policies

pytestmark = pytest.mark.integration

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "unit" / "cdr" / "response_metrics_list_v5.schema.json").read_text(encoding="utf-8")
)
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
TODAY = datetime(2026, 11, 23, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)
TTL = 300.0
ADMIN = "admin-secret-for-tests"
API = "uk-ob-accounts-v4"


def _consent(consent_id: str, status: str, expires_at: datetime | None, user: str, client: str) -> dict[str, Any]:
    return {
        "consent_id": consent_id, "client_id": client, "user_id": user, "status": status,
        "permissions": ["ReadAccountsBasic"], "purposes": ["budgeting"], "account_ids": [], "recipients": [],
        "created_at": YESTERDAY, "updated_at": YESTERDAY, "status_updated_at": YESTERDAY, "expires_at": expires_at,
        "transaction_from": None, "transaction_to": None, "frequency_per_day": 4, "marketing_opt_in": False,
        "version": 1, "head_hash": "0" * 64,
    }  # fmt: skip


def _event(consent_id: str, seq: int, at: datetime, kind: str, before: str = "AUTH") -> dict[str, Any]:
    return {
        "consent_id": consent_id, "seq": seq, "at": at, "actor": "user", "actor_id": "alice", "kind": kind,
        "reason": "", "changes": {"status": [before, "X"]}, "prev_hash": "0" * 64, "hash": f"{seq:064d}",
    }  # fmt: skip


def _call(n: int, at: datetime, ms: float, status: int, operation: str, attended: bool) -> dict[str, Any]:
    return {
        "interaction_id": f"i-{n}", "at": at, "client_id": "wallet-1", "consent_id": "c-live", "user_id": "alice",
        "api": API, "operation_id": operation, "method": "GET", "path": "/accounts", "account_ids": [],
        "status": status, "response_bytes": 10, "latency_ms": ms, "record_count": 1, "attended": attended,
    }  # fmt: skip


def _token(jti: str, issued: datetime) -> dict[str, Any]:
    return {"jti": jti, "client_id": "wallet-1", "consent_id": "c-live", "expires_at": issued.timestamp() + TTL}


def seed(url: str, now: datetime = NOW) -> None:
    today, yesterday = now.replace(hour=0, minute=0, second=0, microsecond=0), now - timedelta(days=1)
    upgrade(url, "head")
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(consents.insert(), [
            _consent("c-live", "AUTH", now + timedelta(days=30), "alice", "wallet-1"),
            _consent("c-paused", "PAUS", None, "bob", "wallet-1"),
            _consent("c-other", "AUTH", None, "alice", "wallet-2"),
            _consent("c-gone", "CANC", None, "carol", "wallet-3"),
            _consent("c-lapsed", "AUTH", now - timedelta(minutes=1), "dave", "wallet-4"),
        ])  # fmt: skip
        conn.execute(consent_events.insert(), [
            _event("c-live", 1, today + timedelta(hours=1), "authorised", "AWAU"),
            _event("c-gone", 1, yesterday, "authorised", "AWAU"),
            _event("c-gone", 2, today + timedelta(hours=2), "revoked"),
            _event("c-lapsed", 1, today + timedelta(hours=3), "expired", "AWAU"),  # never authorised: abandoned
        ])  # fmt: skip
        conn.execute(access_records.insert(), [
            _call(1, today + timedelta(hours=2, seconds=1.2), 120.0, 200, "GetAccounts", True),  # high priority
            _call(2, today + timedelta(hours=2, seconds=1.7), 1800.0, 200, "GetAccounts", True),  # high, too slow
            _call(3, today + timedelta(hours=3), 90.0, 429, "GetAccountsAccountIdBalances", True),  # low priority
            _call(4, today + timedelta(hours=3, minutes=5), 2500.0, 503, "GetAccounts", False),  # unattended
            _call(5, today + timedelta(hours=4), 5000.0, 200, "GetTransactions", False),  # large payload
            _call(6, yesterday, 10.0, 200, "GetAccounts", True),
            _call(7, today.replace(day=1) - timedelta(seconds=1), 10.0, 500, "GetAccounts", True),  # last month
        ])  # fmt: skip
        conn.execute(access_tokens.insert(), [_token("t1", today + timedelta(hours=2)), _token("t2", yesterday)])
    engine.dispose()


def _tiers() -> dict[tuple[str, str], str]:
    return operation_tiers(load_policies().apis.values())


async def _report(url: str, mode: Any = "ALL") -> dict[str, Any]:
    engine = open_engine(url)
    try:
        return await report(engine, NOW, mode, tiers=_tiers(), access_token_ttl=TTL, self_url="http://gw/admin/metrics")
    finally:
        await engine.dispose()


async def test_report_from_the_database_validates_against_the_v5_schema(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    jsonschema.Draft202012Validator(SCHEMA).validate(await _report(database_url))


async def test_report_classifies_recorded_calls_by_policy_tier_and_attendance(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    invocations = (await _report(database_url))["data"]["invocations"]
    today = {
        tier: invocations[tier]["currentDay"] for tier in ("highPriority", "lowPriority", "unattended", "largePayload")
    }
    assert today == {"highPriority": 2, "lowPriority": 1, "unattended": 1, "largePayload": 1}


async def test_report_splits_current_and_previous_days_and_months(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    data = (await _report(database_url))["data"]
    assert data["errors"]["authenticated"]["currentDay"] == {"503": 1}
    assert data["sessionCount"]["currentDay"] == 1
    assert data["sessionCount"]["previousDays"][0] == 1
    assert data["availability"]["aggregate"]["currentMonth"] == "0.8333"  # 5 of 6 November calls
    assert data["availability"]["aggregate"]["previousMonths"] == ["0.0"]  # October: one call, a 500
    assert data["performance"]["highPriority"]["currentDay"][2] == "0.5"


async def test_report_counts_active_consents_customers_and_wallets(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    data = (await _report(database_url))["data"]
    assert (data["customerCount"], data["recipientCount"]) == (2, 2)
    assert data["authorisations"]["activeAuthorisationCount"] == {"individual": 3, "nonIndividual": 0}


async def test_report_counts_a_never_authorised_expiry_as_abandoned(database_url: str) -> None:
    await asyncio.to_thread(seed, database_url)
    auth = (await _report(database_url))["data"]["authorisations"]
    assert auth["newAuthorisationCount"]["currentDay"]["ongoing"]["individual"] == 1
    assert auth["revokedAuthorisationCount"]["currentDay"]["individual"] == 1
    assert auth["expiredAuthorisationCount"]["currentDay"]["individual"] == 0
    assert auth["abandonedConsentFlowCount"]["currentDay"] == 1


def test_metrics_report_command_prints_the_v5_report_as_json(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    seed(database_url, now)
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    assert main(["metrics", "report", "--period", "CURRENT", "--database-url", database_url]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert "previousDays" not in doc["data"]["sessionCount"]
    assert doc["links"]["self"].endswith("/admin/metrics?period=CURRENT")


def test_metrics_report_command_reads_the_database_in_its_data_dir(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("WALLETGATE_DATABASE_URL", "WALLETGATE_DATA_DIR", "WALLETGATE_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the default data folder (.walletgate here) holds no database
    data_dir = tmp_path / "elsewhere"
    data_dir.mkdir()
    seed(f"sqlite:///{data_dir / 'walletgate.db'}", datetime.now(UTC))
    assert main(["metrics", "report", "--period", "CURRENT", "--data-dir", str(data_dir)]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["data"]["authorisations"]["activeAuthorisationCount"] == {"individual": 3, "nonIndividual": 0}
    assert not (tmp_path / ".walletgate").exists()


def test_metrics_report_command_refuses_an_unknown_period_in_one_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    assert main(["metrics", "report", "--period", "yesterday", "--database-url", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err == "walletgate: period: 'yesterday' is not one of CURRENT, HISTORIC, ALL\n"


def test_admin_metrics_serves_the_v5_report_to_the_admin_token_only(
    database_url: str, settings_factory: Callable[..., Settings]
) -> None:
    seed(database_url)
    app = create_app(settings_factory(database_url=database_url, admin_token=ADMIN), clock=FrozenClock(NOW.timestamp()))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app) as client:
        refused = client.get("/admin/metrics", headers={"Authorization": "Bearer wrong"})
        missing = client.get("/admin/metrics")
        answered = client.get("/admin/metrics", params={"period": "HISTORIC"}, headers=admin)
    assert refused.status_code == missing.status_code == 401
    assert answered.status_code == 200
    assert (answered.headers["cache-control"], answered.headers["x-v"]) == ("no-store", "5")
    doc = answered.json()
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["data"]["requestTime"] == "2026-11-23T10:30:00Z"
    assert doc["links"]["self"] == "http://testserver/admin/metrics?period=HISTORIC"
    assert "currentDay" not in doc["data"]["sessionCount"]


def _admin_get(url: str, settings_factory: Callable[..., Settings], **kwargs: Any) -> Any:
    """One admin-token GET /admin/metrics on a freshly migrated, empty database."""
    upgrade(url, "head")
    app = create_app(settings_factory(database_url=url, admin_token=ADMIN))
    headers = {"Authorization": f"Bearer {ADMIN}", **kwargs.pop("headers", {})}
    with TestClient(app) as client:
        return client.get("/admin/metrics", headers=headers, **kwargs)


def test_admin_metrics_refuses_an_unknown_period_with_400(
    sqlite_url: str, settings_factory: Callable[..., Settings]
) -> None:
    bad = _admin_get(sqlite_url, settings_factory, params={"period": "current"})
    assert bad.status_code == 400
    error = bad.json()["Errors"][0]
    assert (error["Path"], error["Message"]) == ("period", "period: 'current' is not one of CURRENT, HISTORIC, ALL")


def test_admin_metrics_refuses_a_version_range_without_5_with_406(
    sqlite_url: str, settings_factory: Callable[..., Settings]
) -> None:
    old = _admin_get(sqlite_url, settings_factory, headers={"x-v": "4"})
    assert old.status_code == 406
    assert old.json()["Errors"][0]["Path"] == "x-v"
