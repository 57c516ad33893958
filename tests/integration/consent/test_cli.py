"""``walletgate consents verify`` names the first broken event; ``sweep`` expires lapsed consents."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import Consent, NewConsent
from consent.sql import SqlConsentStore
from gateway.cli import main
from gateway.clock import FrozenClock
from policies import load_policies


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WALLETGATE_DATA_DIR", str(tmp_path / "data"))
    database = f"sqlite:///{tmp_path / 'consents.db'}"
    upgrade(database, "head")  # the store writes the current schema
    return database


def _seed(url: str, clock: FrozenClock | None = None) -> list[Consent]:
    async def seed() -> list[Consent]:
        engine = open_engine(url)
        store = SqlConsentStore(engine, load_policies(), clock or FrozenClock(time.time()))
        try:
            made = []
            for _ in range(3):
                new = NewConsent("wallet-1", frozenset({"ReadAccountsBasic"}), ("aggregation",))
                consent = await store.create(new)
                made.append(await store.authorise(consent.consent_id, user_id="alice", account_ids=["acc-1"]))
            return made
        finally:
            await engine.dispose()

    return asyncio.run(seed())


def test_verify_passes_on_an_untouched_database(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(url)
    assert main(["consents", "--database-url", url, "verify"]) == 0
    assert "every hash holds" in capsys.readouterr().out


def test_verify_fails_naming_the_event_altered_in_the_database(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _seed(url)[1]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE consent_events SET changes = ? WHERE consent_id = ? AND seq = 2",
            ('{"account_ids": [[], ["acc-1", "acc-9"]]}', victim.consent_id),
        )
    assert main(["consents", "--database-url", url, "verify"]) == 1
    err = capsys.readouterr().err
    assert f"consent {victim.consent_id} event 2: the event's content does not match its hash" in err


def test_sweep_expires_consents_waiting_too_long(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(url, FrozenClock(time.time() - 400 * 86400))
    assert main(["consents", "--database-url", url, "sweep"]) == 0
    assert capsys.readouterr().out.strip() == "expired 3 consents"
    assert main(["consents", "--database-url", url, "verify"]) == 0


@pytest.mark.parametrize("action", ["verify", "sweep"])
def test_an_unreachable_database_is_one_line(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:1/walletgate"  # nothing listens on port 1
    assert main(["consents", "--database-url", url, action]) == 2
    err = capsys.readouterr().err
    assert err.startswith("walletgate: cannot reach the database (WALLETGATE_DATABASE_URL): ConnectionRefusedError: ")
    assert err.count("\n") == 1
