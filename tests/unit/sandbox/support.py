"""Shared by the sandbox, filtering and integration tests: keys, assertions, an in-process bank."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from gateway.assertion import mint_assertion
from gateway.oauth.keys import KeyRing, generate_jwk

ISSUER = "http://127.0.0.1:8000"
AUDIENCE = "http://bank.test"
ANCHOR = date(2026, 11, 20)
BASE = "/open-banking/v4.0/aisp"

ALL_PERMISSIONS = (
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadBeneficiariesDetail",
    "ReadDirectDebits",
    "ReadPAN",
    "ReadParty",
    "ReadPartyPSU",
    "ReadProducts",
    "ReadStandingOrdersDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
    "ReadTransactionsDetail",
)


def new_keyring(alg: str = "ES256") -> KeyRing:
    return KeyRing.from_jwks({"keys": [generate_jwk(alg) | {"use_state": "current"}]})


def write_jwks(keys: KeyRing, path: Path) -> Path:
    path.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    return path


def assertion(
    keys: KeyRing,
    user_id: str = "alice",
    accounts: Sequence[str] = ("*",),
    *,
    consent_id: str | None = None,
    audience: str = AUDIENCE,
    issuer: str = ISSUER,
    permissions: Iterable[str] = ALL_PERMISSIONS,
    now: float | None = None,
    lifetime: int = 60,
) -> str:
    if consent_id is None and list(accounts) != ["*"]:
        consent_id = "consent-" + uuid.uuid4().hex[:8]
    return mint_assertion(
        keys,
        issuer=issuer,
        audience=audience,
        user_id=user_id,
        client_id="wallet-test",
        consent_id=consent_id,
        accounts=list(accounts),
        permissions=permissions,
        purposes=["aggregation"],
        interaction_id=str(uuid.uuid4()),
        now=time.time() if now is None else now,
        lifetime=lifetime,
    )


def headers(token: str) -> dict[str, Any]:
    return {"x-walletgate-assertion": token, "x-fapi-interaction-id": str(uuid.uuid4())}
