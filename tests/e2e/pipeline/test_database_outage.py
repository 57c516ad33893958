"""The consent database goes away under a running gateway, and comes back.

The gateway reaches PostgreSQL through a forwarder the test can cut. While it is cut, a consent
already in the cache is still served until its entry expires; after that the wallet gets a 503
with Retry-After and the interaction id (the wallet may retry), never a 500, and the log gets a
line per refusal, not a traceback. When the database is back, calls are served again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2 as httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.pipeline.harness import BASE, Stack, Wallet, start_stack
from tests.support.forwarder import Forwarder, forwarding

CURRENT = "acc-alice-current"
ACCOUNTS = BASE + "/accounts"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[tuple[str, Forwarder]]:
    url = make_url(postgres_url)
    with forwarding(url.port or 5432) as forwarder:
        yield postgres_url, forwarder


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, database: tuple[str, Forwarder]) -> Iterator[Stack]:
    direct, forwarder = database
    through = make_url(direct).set(port=forwarder.port).render_as_string(hide_password=False)
    folder = tmp_path_factory.mktemp("outage")
    running = start_stack(
        folder,
        database_url=direct,
        extra_env={"WALLETGATE_DATABASE_URL": through},
        gateway_log=folder / "gateway.log",
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def wallet(stack: Stack, database: tuple[str, Forwarder]) -> Iterator[Wallet]:
    w = Wallet(stack)
    yield w
    database[1].restore()
    w.close()


def _refused_for_now(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["Id"] == response.headers["x-fapi-interaction-id"]
    assert "retry" in body["Message"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_consent_in_the_cache_is_served_until_its_entry_expires_then_the_call_is_refused_for_now(
    stack: Stack, wallet: Wallet, database: tuple[str, Forwarder]
) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    database[1].cut()
    assert wallet.get(ACCOUNTS, consent).status_code == 200  # the cache holds it
    time.sleep(1.2)  # the consent cache's lifetime
    _refused_for_now(wallet.get(ACCOUNTS, consent))


def test_an_outage_is_logged_in_lines_not_tracebacks(
    stack: Stack, wallet: Wallet, database: tuple[str, Forwarder]
) -> None:
    log_path = stack.processes[1].log_path
    assert log_path is not None
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    time.sleep(0.6)  # the audit writer's round: the earlier tests' outages are over
    written_before = log_path.stat().st_size
    database[1].cut()
    time.sleep(1.2)  # the consent expires from the cache; the audit writer and the API poller try and fail
    response = wallet.get(ACCOUNTS, consent)
    _refused_for_now(response)
    time.sleep(1.2)  # more rounds of both, which say nothing new
    log = log_path.read_bytes()[written_before:].decode()
    assert "Traceback" not in log, log
    assert response.headers["x-fapi-interaction-id"] in log
    assert log.count("audit: the database cannot be reached") == 1, log


def test_calls_are_served_again_once_the_database_is_back(wallet: Wallet, database: tuple[str, Forwarder]) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    database[1].cut()
    _refused_for_now(wallet.get(ACCOUNTS, consent))
    database[1].restore()
    deadline = time.monotonic() + 10
    while (status := wallet.get(ACCOUNTS, consent).status_code) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200


def test_the_token_endpoint_answers_temporarily_unavailable(wallet: Wallet, database: tuple[str, Forwarder]) -> None:
    database[1].cut()
    form = {"grant_type": "client_credentials", "client_id": "wallet-e2e", "scope": "accounts"}
    response = wallet.http.post("/token", data=form)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_a_call_served_while_the_database_was_away_is_in_the_access_history_once_it_is_back(
    stack: Stack, wallet: Wallet, database: tuple[str, Forwarder]
) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, (CURRENT,))
    assert wallet.get(ACCOUNTS, consent).status_code == 200
    database[1].cut()
    served = wallet.get(ACCOUNTS, consent)  # from the cache, its record queued
    assert served.status_code == 200
    time.sleep(0.7)  # at least one failed flush
    database[1].restore()
    interaction_id = served.headers["x-fapi-interaction-id"]
    deadline = time.monotonic() + 10
    while not _recorded(stack, interaction_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _recorded(stack, interaction_id)


def _recorded(stack: Stack, interaction_id: str) -> bool:
    with psycopg2.connect(stack.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM access_records WHERE interaction_id = %s", (interaction_id,))
        row = cur.fetchone()
    conn.close()
    return row is not None and row[0] == 1
