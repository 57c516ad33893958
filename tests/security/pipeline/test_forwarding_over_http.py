"""What reaches the bank is what the gateway routed, authorised and checked, through the gateway process.

A bank that records every request it gets (method, path as sent on the wire, query, body) serves an
API published through the admin API: a statement file under an account, a list of items, and an
item to create with a JSON body. Each test sends one trick a wallet could try and checks the bank
either gets the call as the gateway read it or does not get it at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.e2e.pipeline.harness import Stack, Wallet, stack_fixture
from tests.support.servers import served_in_thread

ADMIN_TOKEN = "forwarding-admin"
ACCOUNT = "acc-alice-current"
BASE = "/statements/v1"
STATEMENTS = BASE + f"/accounts/{ACCOUNT}/statements"

OPENAPI = """\
openapi: 3.0.3
info: {title: Statements, version: "1.0"}
paths:
  /accounts/{AccountId}/statements/{StatementId}/file:
    parameters:
      - {name: AccountId, in: path, required: true, schema: {type: string}}
      - {name: StatementId, in: path, required: true, schema: {type: string}}
    get:
      operationId: GetStatementFile
      responses:
        "200": {description: the file, content: {application/json: {schema: {type: object}}}}
  /moved:
    get:
      operationId: GetMoved
      responses:
        "200": {description: never sent, content: {application/json: {schema: {type: object}}}}
  /items:
    get:
      operationId: GetItems
      responses:
        "200": {description: the items, content: {application/json: {schema: {type: object}}}}
    post:
      operationId: CreateItem
      parameters:
        - {name: x-idempotency-key, in: header, required: false, schema: {type: string, maxLength: 40}}
        - {name: X-Forwarded-For, in: header, required: false, schema: {type: string}}
        - {name: Cookie, in: header, required: false, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [Data]
              properties:
                Data: {type: object, required: [Amount], properties: {Amount: {type: number, minimum: 0}}}
      responses:
        "201": {description: the item, content: {application/json: {schema: {type: object}}}}
"""

POLICY = """\
name: statements
openapi: statements.openapi.yaml
upstream: {upstream}
base_path: /statements/v1
response_validation: enforce
operations:
  GetStatementFile: {{permissions: {{all_of: [ReadProducts]}}, scopes: [accounts], account_parameter: AccountId}}
  GetMoved: {{permissions: {{all_of: [ReadProducts]}}, scopes: [accounts]}}
  GetItems: {{permissions: {{all_of: [ReadProducts]}}, scopes: [accounts]}}
  CreateItem: {{permissions: {{all_of: [ReadProducts]}}, scopes: [accounts]}}
"""


@dataclass(frozen=True)
class Received:
    method: str
    raw_path: str  # as sent on the wire, percent-encoding and all
    query: str
    headers: dict[str, str]
    body: bytes


class RecordingBank:
    """Answers every path and method with an empty JSON document, and remembers what it was sent.

    ``/moved`` is a redirect to ``moved_to`` (another host, one the gateway must never be led to)."""

    def __init__(self) -> None:
        self.calls: list[Received] = []
        self.moved_to = ""

    async def _anything(self, request: Request) -> Response:
        raw_path: bytes = request.scope["raw_path"]
        query: bytes = request.scope["query_string"]
        received = Received(
            request.method, raw_path.decode("ascii"), query.decode("ascii"), dict(request.headers), await request.body()
        )
        self.calls.append(received)
        if received.raw_path == "/moved":
            return RedirectResponse(self.moved_to, status_code=302)
        return JSONResponse({"Data": {}}, status_code=201 if request.method == "POST" else 200)

    def app(self) -> Starlette:
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[Route("/{anything:path}", self._anything, methods=methods)])


@pytest.fixture(scope="module")
def internal() -> Iterator[tuple[RecordingBank, str]]:
    """A host inside the bank's network that answers anyone who reaches it."""
    recording = RecordingBank()
    with served_in_thread(recording.app()) as url:
        yield recording, url


@pytest.fixture(scope="module")
def bank(internal: tuple[RecordingBank, str]) -> Iterator[tuple[RecordingBank, str]]:
    recording = RecordingBank()
    recording.moved_to = internal[1] + "/latest/meta-data"
    with served_in_thread(recording.app()) as url:
        yield recording, url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bank: tuple[RecordingBank, str]) -> Iterator[Stack]:
    published = [("statements", POLICY.format(upstream=bank[1]), OPENAPI)]
    yield from stack_fixture(tmp_path_factory.mktemp("forwarding"), published=published, admin_token=ADMIN_TOKEN)


@pytest.fixture
def wallet(stack: Stack, bank: tuple[RecordingBank, str]) -> Iterator[Wallet]:
    bank[0].calls.clear()
    w = Wallet(stack)
    yield w
    w.close()


def _send(wallet: Wallet, method: str, path: str, *, body: bytes | None = None, **headers: str) -> httpx.Response:
    """``path`` as the wallet puts it on the wire, which its DPoP proof names too."""
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    token = wallet.token(consent)
    sent = {
        "Authorization": f"DPoP {token}",
        "DPoP": wallet.proof(method, path, token),
        "x-fapi-customer-ip-address": "198.51.100.7",
    }
    return wallet.http.request(method, path, content=body, headers=sent | headers)


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"Code", "Id", "Message", "Errors"}
    return body


def test_a_dot_dot_path_parameter_is_refused_before_it_reaches_another_path_of_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    # StatementId ".." would have the upstream URL resolve to /accounts/{AccountId}/file, which nobody published.
    response = _send(wallet, "GET", STATEMENTS + "/%2e%2e/file")
    _error(response, 404)
    assert bank[0].calls == []


def test_a_percent_encoded_path_parameter_reaches_the_bank_as_the_gateway_read_it(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    # The gateway reads StatementId "a%2F..%2Fb" (one segment); the bank must not decode it a second time.
    response = _send(wallet, "GET", STATEMENTS + "/a%252F..%252Fb/file")
    assert response.status_code == 200, response.text
    assert [call.raw_path for call in bank[0].calls] == [f"/accounts/{ACCOUNT}/statements/a%252F..%252Fb/file"]


def test_the_bank_is_sent_the_published_path_not_the_wallets_spelling_of_it(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    response = _send(wallet, "GET", BASE + "//items/")
    assert response.status_code == 200, response.text
    assert [call.raw_path for call in bank[0].calls] == ["/items"]


def test_a_body_on_an_operation_that_declares_none_is_refused_before_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    response = _send(
        wallet, "GET", BASE + "/items", body=b'{"AccountId": "acc-bob-current"}', **{"Content-Type": "application/json"}
    )
    body = _error(response, 400)
    assert body["Errors"][0]["Path"] == "(body)"
    assert bank[0].calls == []


def test_a_json_body_labelled_as_another_media_type_is_refused_before_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    response = _send(
        wallet,
        "POST",
        BASE + "/items",
        body=b'{"Data": {"Amount": 5}}',
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    body = _error(response, 400)
    assert body["Errors"][0]["Path"] == "content-type"
    assert bank[0].calls == []


def test_a_json_body_naming_a_member_twice_is_refused_before_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    # The gateway's parser keeps the last Data (valid); a bank whose parser keeps the first reads Amount -5.
    sent = b'{"Data": {"Amount": -5}, "Data": {"Amount": 5}}'
    response = _send(wallet, "POST", BASE + "/items", body=sent, **{"Content-Type": "application/json"})
    body = _error(response, 400)
    assert body["Errors"][0]["Path"] == "(body)"
    assert "'Data' twice" in str(body["Message"])
    assert bank[0].calls == []


def test_an_unlabelled_json_body_reaches_the_bank_labelled_as_json(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    response = _send(wallet, "POST", BASE + "/items", body=b'{"Data": {"Amount": 5}}')
    assert response.status_code == 201, response.text
    assert [(call.headers["content-type"], call.body) for call in bank[0].calls] == [
        ("application/json", b'{"Data": {"Amount": 5}}')
    ]


def test_a_header_the_operation_declares_reaches_the_bank(wallet: Wallet, bank: tuple[RecordingBank, str]) -> None:
    body = b'{"Data": {"Amount": 5}}'
    response = _send(wallet, "POST", BASE + "/items", body=body, **{"x-idempotency-key": "order-42"})
    assert response.status_code == 201, response.text
    assert [call.headers.get("x-idempotency-key") for call in bank[0].calls] == ["order-42"]


def test_a_declared_header_that_never_leaves_the_gateway_is_not_sent_to_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    extra = {"X-Forwarded-For": "10.0.0.1", "Cookie": "session=wallet-secret"}
    response = _send(wallet, "POST", BASE + "/items", body=b'{"Data": {"Amount": 5}}', **extra)
    assert response.status_code == 201, response.text
    sent = bank[0].calls[0].headers
    assert "x-forwarded-for" not in sent
    assert "cookie" not in sent
    assert "authorization" not in sent
    assert "dpop" not in sent


def test_a_declared_header_breaking_its_schema_is_refused_before_the_bank(
    wallet: Wallet, bank: tuple[RecordingBank, str]
) -> None:
    body = b'{"Data": {"Amount": 5}}'
    response = _send(wallet, "POST", BASE + "/items", body=body, **{"x-idempotency-key": "k" * 41})
    assert _error(response, 400)["Errors"][0]["Path"] == "x-idempotency-key"
    assert bank[0].calls == []


def test_a_fapi_header_sent_twice_is_refused_before_the_bank(wallet: Wallet, bank: tuple[RecordingBank, str]) -> None:
    # The gateway checked the last copy (an IP address) and sent the bank the first (anything at all).
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    token = wallet.token(consent)
    sent = [
        ("Authorization", f"DPoP {token}"),
        ("DPoP", wallet.proof("GET", BASE + "/items", token)),
        ("x-fapi-customer-ip-address", "not-an-ip"),
        ("x-fapi-customer-ip-address", "198.51.100.7"),
    ]
    body = _error(wallet.http.get(BASE + "/items", headers=sent), 400)
    assert body["Errors"][0]["Path"] == "x-fapi-customer-ip-address"
    assert bank[0].calls == []


def test_a_redirect_from_the_bank_is_not_followed(
    wallet: Wallet, bank: tuple[RecordingBank, str], internal: tuple[RecordingBank, str]
) -> None:
    internal[0].calls.clear()
    response = _send(wallet, "GET", BASE + "/moved")
    body = _error(response, 502)
    assert "redirect" in str(body["Message"])
    assert internal[1] not in response.text
    assert [call.raw_path for call in bank[0].calls] == ["/moved"]
    assert internal[0].calls == []  # neither the call nor the gateway's assertion went anywhere else
