"""An access record for tests: one read of Alice's accounts list, with the fields a test cares about changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from consent.model import AccessRecord

ACCESS_RECORD = AccessRecord(
    interaction_id="i-1",
    at=datetime(2026, 1, 1, tzinfo=UTC),
    client_id="wallet-1",
    consent_id="c-1",
    user_id="alice",
    api="uk-ob-accounts-v4",
    operation_id="GetAccounts",
    method="GET",
    path="/open-banking/v4.0/aisp/accounts",
    account_ids=("acc-1",),
    status=200,
    response_bytes=10,
    latency_ms=1.0,
)


def access_record(**changes: Any) -> AccessRecord:
    return replace(ACCESS_RECORD, **changes)
