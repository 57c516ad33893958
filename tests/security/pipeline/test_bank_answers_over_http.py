"""What the bank answers, and what the wallet may send it, checked by the gateway process on a real socket.

A small bank (Starlette under uvicorn in a thread) serves a product catalogue. Three APIs are
published through the admin API of a running gateway, from an OpenAPI text and a policy text
alone: the catalogue with response validation enforced, the same catalogue in report mode, and
one whose bank is not listening at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.e2e.pipeline.harness import Stack, Wallet, stack_fixture
from tests.support.servers import free_port, served_in_thread

ADMIN_TOKEN = "catalogue-admin"
ACCOUNT = "acc-alice-current"
BANK_SECRET = "password=hunter2 at db.internal:5432"

OPENAPI = """\
openapi: 3.0.3
info: {title: Product catalogue, version: "1.0"}
components:
  schemas:
    Products:
      type: object
      required: [Data]
      properties:
        Data:
          type: object
          required: [Product]
          properties:
            Product:
              type: array
              items:
                type: object
                required: [ProductId, Name]
                properties:
                  ProductId: {type: string}
                  Name: {type: string}
paths:
  /products:
    get:
      operationId: GetProducts
      responses:
        "200":
          description: the products
          content: {application/json: {schema: {$ref: "#/components/schemas/Products"}}}
  /broken-products:
    get:
      operationId: GetBrokenProducts
      responses:
        "200":
          description: the products, as the bank gets them wrong
          content: {application/json: {schema: {$ref: "#/components/schemas/Products"}}}
  /flaky-products:
    get:
      operationId: GetFlakyProducts
      responses:
        "200":
          description: the products, when the bank is up
          content: {application/json: {schema: {$ref: "#/components/schemas/Products"}}}
  /failing:
    get:
      operationId: GetFailing
      responses:
        "200":
          description: never sent
          content: {application/json: {schema: {$ref: "#/components/schemas/Products"}}}
  /offers:
    get:
      operationId: GetOffers
      responses:
        "200":
          description: loan offers
          content: {application/json: {schema: {type: object}}}
  /applications:
    post:
      operationId: CreateApplication
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [Data]
              properties:
                Data:
                  type: object
                  required: [Amount, Currency]
                  properties:
                    Amount: {type: number, minimum: 0, exclusiveMinimum: true}
                    Currency: {type: string, pattern: "^[A-Z]{3}$"}
      responses:
        "201":
          description: the application
          content: {application/json: {schema: {type: object}}}
"""

OPERATIONS = """\
operations:
  GetProducts: {permissions: {all_of: [ReadProducts]}, scopes: [accounts]}
  GetBrokenProducts: {permissions: {all_of: [ReadProducts]}, scopes: [accounts]}
  GetFailing: {permissions: {all_of: [ReadProducts]}, scopes: [accounts]}
  GetFlakyProducts: {permissions: {all_of: [ReadProducts]}, scopes: [accounts]}
  GetOffers: {permissions: {all_of: [ReadBalances]}, scopes: [accounts], purposes: [lending]}
  CreateApplication: {permissions: {all_of: [ReadBalances]}, scopes: [accounts]}
"""


def _policy(name: str, upstream: str, validation: str) -> str:
    head = f"name: {name}\nopenapi: {name}.openapi.yaml\nupstream: {upstream}\n"
    return head + f"base_path: /{name}/v1\nresponse_validation: {validation}\n" + OPERATIONS


class CatalogueBank:
    """Counts what reaches it, so a test can tell a refusal at the gateway from one at the bank."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False  # /flaky-products fails while set

    async def _products(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return JSONResponse({"Data": {"Product": [{"ProductId": "p-1", "Name": "Easy Saver"}]}})

    async def _broken(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return JSONResponse({"Data": {"Product": [{"ProductId": 987654321}]}})

    async def _flaky(self, request: Request) -> Response:
        if self.down:
            self.calls.append(request.url.path)
            return PlainTextResponse("maintenance", status_code=503)
        return await self._products(request)

    async def _failing(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return PlainTextResponse(f"Traceback (most recent call last):\n  connect({BANK_SECRET})", status_code=500)

    async def _offers(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return JSONResponse({"Data": {"Offer": [{"OfferId": "o-1"}]}})

    async def _applications(self, request: Request) -> Response:
        self.calls.append(request.url.path)
        return JSONResponse({"Data": {"ApplicationId": "a-1", "Sent": await request.json()}}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/products", self._products),
                Route("/broken-products", self._broken),
                Route("/failing", self._failing),
                Route("/flaky-products", self._flaky),
                Route("/offers", self._offers),
                Route("/applications", self._applications, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def bank() -> Iterator[tuple[CatalogueBank, str]]:
    catalogue = CatalogueBank()
    with served_in_thread(catalogue.app()) as url:
        yield catalogue, url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bank: tuple[CatalogueBank, str]) -> Iterator[Stack]:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    apis = (("catalogue", bank[1], "enforce"), ("catalogue-report", bank[1], "report"), ("nowhere", nobody, "enforce"))
    published = [(name, _policy(name, upstream, validation), OPENAPI) for name, upstream, validation in apis]
    yield from stack_fixture(tmp_path_factory.mktemp("catalogue"), published=published, admin_token=ADMIN_TOKEN)


@pytest.fixture
def wallet(stack: Stack, bank: tuple[CatalogueBank, str]) -> Iterator[Wallet]:
    bank[0].calls.clear()
    w = Wallet(stack)
    yield w
    bank[0].down = False
    w.close()


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"Code", "Id", "Message", "Errors"}
    assert body["Id"] == response.headers["x-fapi-interaction-id"]
    return body


def _post(wallet: Wallet, path: str, body: bytes, consent: Any) -> httpx.Response:
    token = wallet.token(consent)
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": wallet.proof("POST", path, token),
        "Content-Type": "application/json",
        "x-fapi-customer-ip-address": "198.51.100.7",
    }
    return wallet.http.post(path, content=body, headers=headers)


def test_a_valid_answer_reaches_the_wallet(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    response = wallet.get("/catalogue/v1/products", consent)
    assert response.status_code == 200, response.text
    assert response.json()["Data"]["Product"] == [{"ProductId": "p-1", "Name": "Easy Saver"}]


def test_an_answer_that_breaks_its_schema_is_a_502_naming_where_when_enforced(
    wallet: Wallet, bank: tuple[CatalogueBank, str]
) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    body = _error(wallet.get("/catalogue/v1/broken-products", consent), 502)
    assert bank[0].calls == ["/broken-products"]
    assert "does not match its schema (at Data.Product[0]" in str(body["Message"]), body
    assert "987654321" not in str(body)  # the bank's data does not reach the wallet


def test_an_answer_that_breaks_its_schema_passes_in_report_mode(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    response = wallet.get("/catalogue-report/v1/broken-products", consent)
    assert response.status_code == 200, response.text
    assert response.json() == {"Data": {"Product": [{"ProductId": 987654321}]}}


def test_a_bank_error_is_a_502_with_the_interaction_id_and_nothing_of_the_banks_text(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    sent_id = "5c1b4b8e-2f0e-4f51-9a57-0d5f2c7f9a11"
    extra: dict[str, Any] = {"x-fapi-interaction-id": sent_id}
    response = wallet.get("/catalogue/v1/failing", consent, **extra)
    body = _error(response, 502)
    assert body["Id"] == sent_id
    for leaked in ("Traceback", "hunter2", "db.internal", "connect("):
        assert leaked not in response.text


def test_an_operation_the_consents_purpose_does_not_allow_is_refused_before_the_bank(
    wallet: Wallet, bank: tuple[CatalogueBank, str]
) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,))  # for aggregation
    body = _error(wallet.get("/catalogue/v1/offers", consent), 403)
    assert "does not allow GetOffers" in str(body["Message"])
    assert body["Errors"][0]["Path"] == "Data.Purposes"
    assert bank[0].calls == []


def test_an_operation_the_consents_purpose_allows_is_served(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,), purposes=("lending",))
    assert wallet.get("/catalogue/v1/offers", consent).status_code == 200


def test_a_request_body_that_breaks_its_schema_is_a_400_naming_the_field_before_the_bank(
    wallet: Wallet, bank: tuple[CatalogueBank, str]
) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,))
    response = _post(wallet, "/catalogue/v1/applications", b'{"Data": {"Amount": 500, "Currency": "gbp"}}', consent)
    body = _error(response, 400)
    assert body["Errors"][0]["Path"] == "Data.Currency"
    assert bank[0].calls == []


def test_a_request_body_that_is_not_json_is_a_400(wallet: Wallet, bank: tuple[CatalogueBank, str]) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,))
    _error(_post(wallet, "/catalogue/v1/applications", b'{"Data": ', consent), 400)
    assert bank[0].calls == []


def test_a_valid_request_body_reaches_the_bank_as_sent(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadBalances"}, (ACCOUNT,))
    response = _post(wallet, "/catalogue/v1/applications", b'{"Data": {"Amount": 500, "Currency": "GBP"}}', consent)
    assert response.status_code == 201, response.text
    assert response.json()["Data"]["Sent"] == {"Data": {"Amount": 500, "Currency": "GBP"}}


def test_a_bank_that_does_not_answer_is_a_502_then_503_at_once_with_retry_after(wallet: Wallet) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))
    statuses: list[int] = []
    while 503 not in statuses and len(statuses) < 20:
        statuses.append((response := wallet.get("/nowhere/v1/products", consent)).status_code)
    assert statuses == [502] * (len(statuses) - 1) + [503]
    assert len(statuses) > 1
    _error(response, 503)
    assert int(response.headers["Retry-After"]) >= 1


def test_unattended_calls_the_bank_failed_do_not_use_up_the_consents_daily_frequency(
    wallet: Wallet, bank: tuple[CatalogueBank, str]
) -> None:
    consent = wallet.consent({"ReadProducts"}, (ACCOUNT,))  # 4 unattended calls a day per operation
    bank[0].down = True
    for _ in range(4):  # as many as the day allows; one short of opening the bank's breaker
        _error(wallet.get("/catalogue/v1/flaky-products", consent, attended=False), 502)
    assert len(bank[0].calls) == 4
    bank[0].down = False
    statuses = [wallet.get("/catalogue/v1/flaky-products", consent, attended=False).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
