"""The gateway app (in-process, real lifespan) in front of the sandbox bank (a real process)."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from consent.migrate import upgrade
from consent.model import Consent, NewConsent
from gateway.app import create_app
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.oauth.keys import KeyRing, generate_jwk
from gateway.services import Services
from tests.support.servers import ServerProcess, free_port, python_module, served_in_thread

ISSUER = "http://gateway.test"
BASE = "/open-banking/v4.0/aisp"
ANCHOR = "2026-11-20"
ALICE_ACCOUNTS = ("acc-alice-current", "acc-alice-savings", "acc-alice-card", "acc-alice-travel")


@pytest.fixture(scope="module")
def gateway_keys() -> KeyRing:
    return KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]})


@pytest.fixture(scope="module")
def bank(gateway_keys: KeyRing, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("bank")
    jwks = folder / "gateway.jwks.json"
    jwks.write_text(json.dumps(gateway_keys.jwks()), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = python_module(
        "sandbox", "--port", str(port), "--issuer", ISSUER, "--jwks-file", str(jwks), "--anchor-date", ANCHOR
    )
    server = ServerProcess(args, url).start()
    yield url
    server.stop()


class Wallet:
    """A wallet holding a DPoP key; its access tokens are minted with the gateway's keys."""

    def __init__(self, client: TestClient, client_id: str = "wallet-1") -> None:
        self.client, self.client_id = client, client_id
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))

    @property
    def services(self) -> Services:
        return self.client.app.state.services  # type: ignore[attr-defined,no-any-return]

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await ``fn`` on the app's own event loop (its engine and caches live there)."""
        return self.client.portal.call(functools.partial(fn, *args, **kwargs))  # type: ignore[union-attr]

    def consent(
        self, permissions: set[str], accounts: tuple[str, ...] = ALICE_ACCOUNTS, user: str = "alice", **extra: Any
    ) -> Consent:
        store = self.services.consents
        assert store is not None
        new = NewConsent(
            client_id=self.client_id,
            permissions=frozenset(permissions),
            purposes=extra.pop("purposes", ("aggregation",)),
            expires_at=datetime.now(UTC) + timedelta(days=60),
            **extra,
        )
        created = self.run(store.create, new)
        return self.run(store.authorise, created.consent_id, user_id=user, account_ids=list(accounts))  # type: ignore[no-any-return]

    def token(self, consent_id: str | None, user: str = "alice", **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": ISSUER,
            "sub": user,
            "client_id": self.client_id,
            "scope": "openid accounts",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "cnf": {"jkt": jwk_thumbprint(self.jwk)},
            "consent_id": consent_id,
        } | claims
        return self.services.keys.sign({k: v for k, v in body.items() if v is not None}, typ="at+jwt")

    def get(self, path: str, consent: Consent | None, *, token: str | None = None, **headers: str) -> httpx.Response:
        token = token or self.token(consent.consent_id if consent else None)
        proof_claims: dict[str, Any] = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": ISSUER + path.partition("?")[0]}
        proof_claims |= {"iat": int(time.time()), "ath": access_token_hash(token)}
        proof = jwt.encode(proof_claims, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})
        return self.client.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": proof, **headers})


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    """Extra settings for the gateway; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def gateway_database_url(sqlite_url: str) -> str:
    """The gateway's database; a test module overrides this fixture to run on PostgreSQL too."""
    return sqlite_url


@pytest.fixture
def gateway(
    settings_factory: Callable[..., Any],
    gateway_database_url: str,
    bank: str,
    gateway_keys: KeyRing,
    gateway_overrides: dict[str, Any],
) -> Iterator[TestClient]:
    upgrade(gateway_database_url)
    given = {"database_url": gateway_database_url, "issuer": ISSUER, "upstream_url": bank} | gateway_overrides
    settings = settings_factory(**given)
    with TestClient(create_app(settings, keys=gateway_keys), base_url=ISSUER) as client:
        yield client


@pytest.fixture
def wallet(gateway: TestClient) -> Wallet:
    return Wallet(gateway)


OPENAPI = """\
openapi: 3.0.3
info: {title: Product catalogue, version: "1.0"}
paths:
  /products:
    get:
      operationId: ListProducts
      parameters:
        - {name: x-fapi-interaction-id, in: header, schema: {type: string}}
      responses:
        "200":
          description: the catalogue
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Catalogue"}
components:
  schemas:
    Catalogue:
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
                  AccountId: {type: string}
                  Rate: {type: number, nullable: true}
"""

POLICY = """\
name: catalogue
openapi: catalogue.openapi.yaml
upstream: {upstream}
base_path: /catalogue/v1
response_validation: enforce
operations:
  ListProducts:
    permissions: {{all_of: [ReadProducts]}}
    filter: products
    scopes: [accounts]
"""


async def _products(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "Data": {
                "Product": [
                    {"ProductId": "p1", "Name": "Saver", "AccountId": "acc-alice-current", "Rate": None},
                    {"ProductId": "p2", "Name": "Other's loan", "AccountId": "acc-bob-current", "Rate": 4.5},
                ]
            }
        }
    )


@pytest.fixture(scope="module")
def catalogue_bank() -> Iterator[str]:
    """A second small upstream (starlette under uvicorn in a thread)."""
    with served_in_thread(Starlette(routes=[Route("/products", _products)])) as url:
        yield url


@pytest.fixture
def files(tmp_path: Path, catalogue_bank: str) -> tuple[Path, Path]:
    openapi, policy = tmp_path / "catalogue.openapi.yaml", tmp_path / "catalogue.yaml"
    openapi.write_text(OPENAPI, encoding="utf-8")
    policy.write_text(POLICY.format(upstream=catalogue_bank), encoding="utf-8")
    return openapi, policy
