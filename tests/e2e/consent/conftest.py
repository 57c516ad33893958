"""A gateway app on a migrated database, wallets holding DPoP keys, and the official schema validator."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jsonschema
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.services import Services

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents"


class Wallet:
    """A wallet with its own DPoP key, calling the gateway with client_credentials tokens."""

    def __init__(self, client: TestClient, client_id: str) -> None:
        self.client, self.client_id = client, client_id
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = {k: v for k, v in json.loads(ECAlgorithm.to_jwk(self._key.public_key())).items() if k != "key_ops"}

    @property
    def services(self) -> Services:
        return self.client.app.state.services  # type: ignore[attr-defined,no-any-return]

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await ``fn(*args, **kwargs)`` on the app's own event loop (its engine lives there)."""
        return self.client.portal.call(functools.partial(fn, *args, **kwargs))  # type: ignore[union-attr]

    def token(self, **claims: Any) -> str:
        issuer = self.services.settings.issuer_url
        now = int(time.time())
        base = {
            "iss": issuer,
            "aud": issuer,
            "sub": self.client_id,
            "client_id": self.client_id,
            "scope": "accounts",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "cnf": {"jkt": jwk_thumbprint(self.jwk)},
        }
        return self.services.keys.sign({k: v for k, v in (base | claims).items() if v is not None}, typ="at+jwt")

    def proof(self, method: str, url: str, token: str) -> str:
        claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        claims["ath"] = access_token_hash(token)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        token = token or self.token()
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": self.proof(method, self.services.settings.issuer_url + path, token),
        }
        headers |= kwargs.pop("headers", {})
        return self.client.request(method, path, headers=headers, **kwargs)


def serving(settings_factory: Callable[..., Any], database_url: str, **options: Any) -> Iterator[TestClient]:
    """The gateway app on a migrated ``database_url``; ``options`` go to the TestClient
    (``raise_server_exceptions=False``: a crash answers 500 as a server would, not a raise)."""
    upgrade(database_url)
    app = create_app(settings_factory(database_url=database_url))
    with TestClient(app, **options) as client:
        yield client


@pytest.fixture
def gateway(settings_factory: Callable[..., Any], sqlite_url: str) -> Iterator[TestClient]:
    yield from serving(settings_factory, sqlite_url)


@pytest.fixture
def wallet(gateway: TestClient) -> Wallet:
    return Wallet(gateway, "wallet-1")


@pytest.fixture
def other_wallet(gateway: TestClient) -> Wallet:
    return Wallet(gateway, "wallet-2")


@pytest.fixture
def ob_schema(uk_ob_accounts_v4: Path) -> Callable[[str, Any], None]:
    """Validate a document against a named schema of the official UK OB v4.0 account-information API."""
    components = yaml.safe_load(uk_ob_accounts_v4.read_text(encoding="utf-8"))["components"]

    def check(name: str, document: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(document)

    return check


@pytest.fixture
def ob_operation(uk_ob_accounts_v4: Path) -> Callable[..., None]:
    """Validate a request body or a response body of an official operation, as its document declares them.

    ``ob_operation("/account-access-consents", "post", request=body)`` or ``..., status=201, response=doc)``.
    """
    document = yaml.safe_load(uk_ob_accounts_v4.read_text(encoding="utf-8"))

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node and not node["$ref"].startswith("#/components/schemas/"):
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def check(path: str, method: str, *, request: Any = None, status: int | None = None, response: Any = None) -> None:
        operation = document["paths"][path][method]
        if status is None:
            content = resolve(operation["requestBody"])["content"]
            document_to_check = request
        else:
            content = resolve(operation["responses"][str(status)])["content"]
            document_to_check = response
        schema = dict(content["application/json"]["schema"]) | {"components": document["components"]}
        jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(
            document_to_check
        )

    return check


def consent_body(permissions: Any = None, **data: Any) -> dict[str, Any]:  # Any: tests send malformed ones too
    return {"Data": {"Permissions": permissions or ["ReadAccountsBasic", "ReadBalances"], **data}, "Risk": {}}
