"""Build a ``Call`` by hand: real keys, real compiled API (the official UK OB document), a consent fake."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.datastructures import Headers, QueryParams

from consent.db import open_engine
from consent.errors import ConsentNotFoundError
from consent.model import AccessRecord, Consent, ConsentStatus
from gateway.consent_cache import ConsentCache
from gateway.oauth.dpop import access_token_hash, jwk_thumbprint
from gateway.oauth.keys import KeyRing, generate_jwk
from gateway.pipeline.audit_writer import AuditWriter
from gateway.pipeline.call import Call
from gateway.pipeline.runtime import PipelineRuntime
from gateway.publishing import PublishedApis
from gateway.services import Services
from gateway.settings import Settings
from gateway.telemetry import Tracing
from gateway.upstream import UpstreamClient, UpstreamOptions
from policies import load_policies
from policies.apis import PublishedApi, load_api

ISSUER = "http://gw.test"
BASE = "/open-banking/v4.0/aisp"
READS_ALL = frozenset(  # the default consent's codes (UK OB: Detail with Credits and/or Debits)
    {"ReadAccountsBasic", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}
)
POLICY = """\
name: uk-ob-accounts-v4
openapi: {openapi}
upstream: ${{upstream_url}}/open-banking/v4.0/aisp
base_path: /open-banking/v4.0/aisp
response_validation: enforce
operations:
  GetAccounts:
    permissions: {{any_of: [ReadAccountsBasic]}}
    filter: accounts
    scopes: [accounts]
  GetAccountsAccountIdBalances:
    permissions: {{all_of: [ReadBalances]}}
    account_parameter: AccountId
    filter: balances
    scopes: [accounts]
  GetAccountsAccountIdTransactions:
    permissions: {{any_of: [ReadTransactionsBasic, ReadTransactionsCredits, ReadTransactionsDebits]}}
    account_parameter: AccountId
    date_window: true
    filter: transactions
    scopes: [accounts]
    purposes: [aggregation, lending]
"""


class MemoryConsents:
    """Test double of the consent store's ``get`` (and ``record_access``)."""

    def __init__(self) -> None:
        self.consents: dict[str, Consent] = {}
        self.reads = 0
        self.records: list[AccessRecord] = []

    async def get(self, consent_id: str) -> Consent:
        self.reads += 1
        if consent_id not in self.consents:
            raise ConsentNotFoundError(f"No consent {consent_id!r}.")
        return self.consents[consent_id]

    async def record_access(self, records: Any) -> None:
        self.records.extend(records)

    def add(self, **changes: Any) -> Consent:
        now = datetime.now(UTC)
        consent = Consent(
            consent_id=changes.pop("consent_id", "c-" + uuid.uuid4().hex[:8]),
            client_id="wallet-1",
            status=ConsentStatus.AUTHORISED,
            permissions=READS_ALL,
            purposes=("aggregation",),
            created_at=now,
            updated_at=now,
            status_updated_at=now,
            user_id="alice",
            account_ids=("acc-1", "acc-2"),
            expires_at=now + timedelta(days=30),
            transaction_from=datetime(2024, 1, 1, tzinfo=UTC),
            transaction_to=datetime(2024, 12, 31, tzinfo=UTC),
        )
        consent = dataclasses.replace(consent, **changes)
        self.consents[consent.consent_id] = consent
        return consent


@dataclasses.dataclass
class Wallet:
    """A wallet holding a DPoP key: mints its own proofs; the gateway's keys mint its tokens."""

    keys: KeyRing
    private: Any = dataclasses.field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwk(self) -> dict[str, Any]:
        import json

        return dict(json.loads(ECAlgorithm.to_jwk(self.private.public_key())))

    @property
    def jkt(self) -> str:
        return jwk_thumbprint(self.jwk)

    def token(self, consent_id: str | None = "c-1", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": ISSUER,
            "sub": "alice",
            "client_id": "wallet-1",
            "scope": "openid accounts",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "cnf": {"jkt": self.jkt},
            "consent_id": consent_id,
        }
        body.update(claims)
        return self.keys.sign({k: v for k, v in body.items() if v is not None}, typ="at+jwt")

    def proof(self, method: str, url: str, token: str | None, **claims: Any) -> str:
        body: dict[str, Any] = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        if token is not None:
            body["ath"] = access_token_hash(token)
        body.update(claims)
        return jwt.encode(body, self.private, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})

    def headers(self, method: str, path: str, token: str | None = None, **extra: str) -> dict[str, str]:
        token = token or self.token()
        return {
            "authorization": f"DPoP {token}",
            "dpop": self.proof(method, ISSUER + path.partition("?")[0], token),
            **extra,
        }


@pytest.fixture(scope="session")
def accounts_api(tmp_path_factory: pytest.TempPathFactory) -> PublishedApi:
    from tests.conftest import UK_OB_ACCOUNTS_V4

    folder = tmp_path_factory.mktemp("apis")
    path = folder / "uk-ob-accounts-v4.yaml"
    path.write_text(POLICY.format(openapi=UK_OB_ACCOUNTS_V4), encoding="utf-8")
    return load_api(path, load_policies().permissions)


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing.from_jwks({"keys": [generate_jwk("ES256") | {"use_state": "current"}]})


@pytest.fixture
def wallet(keys: KeyRing) -> Wallet:
    return Wallet(keys)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(issuer=ISSUER, upstream_url="http://127.0.0.1:9")


@pytest.fixture
def consents() -> MemoryConsents:
    return MemoryConsents()


@pytest.fixture
async def services(settings: Settings, keys: KeyRing, tmp_path: Path) -> AsyncIterator[Services]:
    engine = open_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    policies = load_policies()
    yield Services(settings=settings, policies=policies, keys=keys, clock=time.time, engine=engine)
    await engine.dispose()


@pytest.fixture
async def runtime(
    settings: Settings, accounts_api: PublishedApi, consents: MemoryConsents, services: Services
) -> AsyncIterator[PipelineRuntime]:
    published = PublishedApis(settings, {accounts_api.name: accounts_api}, services.policies.permissions)
    rt = PipelineRuntime(
        published=published,
        upstream=UpstreamClient(UpstreamOptions(connect_timeout=0.5, read_timeout=1.0, open_seconds=5)),
        consents=ConsentCache(consents, ttl=1.0),
        audit=AuditWriter(consents.record_access, interval=0.05),
        tracing=Tracing.off(),
    )
    await rt.upstream.start()
    services.pipeline = rt
    yield rt
    await rt.audit.stop()
    await rt.upstream.close()


@pytest.fixture
def make_call(services: Services, runtime: PipelineRuntime) -> Callable[..., Call]:
    def make(
        method: str = "GET",
        path: str = BASE + "/accounts",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        client_ip: str | None = "127.0.0.1",
    ) -> Call:
        bare, _, query = path.partition("?")
        return Call(
            services=services,
            runtime=runtime,
            method=method,
            path=bare,
            url=ISSUER + path,
            headers=Headers(headers or {}),
            query=QueryParams(query),
            body=body,
            client_ip=client_ip,
            interaction_id=str(uuid.uuid4()),
            started=time.perf_counter(),
        )

    return make
