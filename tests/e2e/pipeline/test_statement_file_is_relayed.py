"""A statement file published by a bank reaches the wallet as the bank sends it, through real processes.

A second API (a PDF statement file per account) is published through the admin API of a running
gateway; its bank is a small Starlette app in a thread that sends the file in chunks and holds
the last one back until the test lets it go, so the first bytes can only reach the wallet early
if the gateway relays them as they arrive.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx2 as httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from consent.db import open_engine
from consent.tables import access_records
from tests.e2e.pipeline.harness import Stack, Wallet, stack_fixture
from tests.support.servers import served_in_thread

ADMIN_TOKEN = "statements-admin"
CHUNK = b"%PDF-1.7 " + bytes(256 * 1024)
BASE = "/statements/v1"
ACCOUNT = "acc-alice-current"

OPENAPI = """\
openapi: 3.0.3
info: {title: Statement files, version: "1.0"}
paths:
  /accounts/{AccountId}/statement-file:
    get:
      operationId: GetStatementFile
      parameters:
        - {name: AccountId, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: the statement
          content:
            application/pdf:
              schema: {type: string, format: binary}
  /accounts/{AccountId}/statement-summary:
    get:
      operationId: GetStatementSummary
      parameters:
        - {name: AccountId, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: a JSON summary (the bank sends a PDF instead)
          content:
            application/json:
              schema: {type: object}
  /accounts/{AccountId}/balance-file:
    get:
      operationId: GetBalanceFile
      parameters:
        - {name: AccountId, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: balances, documented as a file; the gateway must filter balances, so it cannot relay one
          content:
            application/pdf:
              schema: {type: string, format: binary}
"""

POLICY = """\
name: statements
openapi: statements.openapi.yaml
upstream: {upstream}
base_path: /statements/v1
response_validation: enforce
operations:
  GetStatementFile:
    permissions: {{all_of: [ReadStatementsDetail]}}
    account_parameter: AccountId
    scopes: [accounts]
  GetStatementSummary:
    permissions: {{all_of: [ReadStatementsDetail]}}
    account_parameter: AccountId
    scopes: [accounts]
  GetBalanceFile:
    permissions: {{all_of: [ReadBalances]}}
    account_parameter: AccountId
    filter: balances
    scopes: [accounts]
"""


class FileBank:
    """Sends two chunks of a PDF; the second waits for ``release``, and never comes while ``broken``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.broken = threading.Event()

    async def _file(self, request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield CHUNK
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            if self.broken.is_set():
                raise RuntimeError("the bank fails mid-file")  # its server drops the connection
            yield CHUNK

        headers = {"Content-Disposition": 'attachment; filename="statement.pdf"'}
        return StreamingResponse(body(), media_type="application/pdf", headers=headers)

    def app(self) -> Starlette:
        routes = [
            Route(f"/accounts/{{AccountId}}/{name}", self._file) for name in ("statement-file", "statement-summary")
        ]
        return Starlette(routes=[*routes, Route("/accounts/{AccountId}/balance-file", self._file)])


@pytest.fixture(scope="module")
def file_bank() -> Iterator[tuple[FileBank, str]]:
    bank = FileBank()
    with served_in_thread(bank.app()) as url:
        yield bank, url
        bank.release.set()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, file_bank: tuple[FileBank, str]) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("statements")
    published = [("statements", POLICY.format(upstream=file_bank[1]), OPENAPI)]
    yield from stack_fixture(folder, published=published, admin_token=ADMIN_TOKEN, gateway_log=folder / "gateway.log")


@pytest.fixture
def wallet(stack: Stack, file_bank: tuple[FileBank, str]) -> Iterator[Wallet]:
    """A wallet; the bank sends whole files unless a test holds the last chunk back (``_hold``)."""
    file_bank[0].release.set()
    w = Wallet(stack)
    yield w
    file_bank[0].release.set()
    file_bank[0].broken.clear()
    w.close()


def _hold(file_bank: tuple[FileBank, str]) -> None:
    file_bank[0].release.clear()


def _recorded(stack: Stack, interaction_id: str) -> tuple[int, bool] | None:
    """The access record's bytes sent and whether the response reached the wallet whole."""

    async def read() -> tuple[int, bool] | None:
        engine = open_engine(stack.database_url)
        try:
            async with engine.connect() as conn:
                query = select(access_records.c.response_bytes, access_records.c.complete).where(
                    access_records.c.interaction_id == interaction_id
                )
                row = (await conn.execute(query)).one_or_none()
                return None if row is None else (row.response_bytes, row.complete)
        finally:
            await engine.dispose()

    deadline = time.monotonic() + 10
    while (found := asyncio.run(read())) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _stream(wallet: Wallet, path: str, consent: object) -> httpx.Response:
    token = wallet.token(consent)  # type: ignore[arg-type]
    headers = {"Authorization": f"DPoP {token}", "DPoP": wallet.proof("GET", path, token)}
    return wallet.http.send(wallet.http.build_request("GET", path, headers=headers), stream=True)


def test_the_first_bytes_reach_the_wallet_before_the_bank_has_sent_the_last(
    wallet: Wallet, file_bank: tuple[FileBank, str]
) -> None:
    _hold(file_bank)
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    response = _stream(wallet, f"{BASE}/accounts/{ACCOUNT}/statement-file", consent)
    try:
        assert response.status_code == 200
        chunks = response.iter_raw()
        first = next(chunks)
        assert first.startswith(b"%PDF")
        file_bank[0].release.set()
        rest = b"".join(chunks)
    finally:
        response.close()
    assert len(first) + len(rest) == 2 * len(CHUNK)


def test_the_file_arrives_whole_with_its_type_and_name_and_is_recorded_whole_with_its_size(
    stack: Stack, wallet: Wallet
) -> None:
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    response = wallet.get(f"{BASE}/accounts/{ACCOUNT}/statement-file", consent)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(CHUNK + CHUNK).digest()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="statement.pdf"'
    assert _recorded(stack, response.headers["x-fapi-interaction-id"]) == (2 * len(CHUNK), True)


def test_another_users_account_gets_no_file(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    assert wallet.get(f"{BASE}/accounts/acc-bob-current/statement-file", consent).status_code == 404


def test_a_file_where_the_document_promises_json_is_refused(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    response = wallet.get(f"{BASE}/accounts/{ACCOUNT}/statement-summary", consent)
    assert response.status_code == 502
    assert b"%PDF" not in response.content


def test_a_file_the_consent_would_have_to_be_applied_to_is_never_relayed_unread(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,))
    response = wallet.get(f"{BASE}/accounts/{ACCOUNT}/balance-file", consent)
    assert response.status_code == 502
    assert b"%PDF" not in response.content


def test_a_wallet_that_leaves_mid_file_is_recorded_as_incomplete_with_the_bytes_it_was_sent(
    stack: Stack, wallet: Wallet, file_bank: tuple[FileBank, str]
) -> None:
    _hold(file_bank)
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    response = _stream(wallet, f"{BASE}/accounts/{ACCOUNT}/statement-file", consent)
    interaction_id = response.headers["x-fapi-interaction-id"]
    next(response.iter_raw())
    response.close()  # the wallet hangs up while the bank still holds the rest back
    assert _recorded(stack, interaction_id) == (len(CHUNK), False)


def test_a_file_the_bank_breaks_off_is_broken_off_for_the_wallet_recorded_as_incomplete_and_logged_once(
    stack: Stack, wallet: Wallet, file_bank: tuple[FileBank, str]
) -> None:
    file_bank[0].broken.set()
    consent = wallet.consent({"ReadStatementsDetail"}, (ACCOUNT,))
    response = _stream(wallet, f"{BASE}/accounts/{ACCOUNT}/statement-file", consent)
    interaction_id = response.headers["x-fapi-interaction-id"]
    received = bytearray()

    def read_to_the_end() -> None:
        for chunk in response.iter_raw():
            received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError):  # not a clean end: the wallet knows the file is incomplete
        read_to_the_end()
    response.close()
    assert len(received) == len(CHUNK)
    assert _recorded(stack, interaction_id) == (len(CHUNK), False)
    log = stack.processes[1].log_text()
    lines = [line for line in log.splitlines() if interaction_id in line]
    assert any("ended early" in line for line in lines), log
    assert "Traceback" not in log
    assert "without completing response" not in log  # uvicorn's own error line, for the same event
