"""The audit step writes down whether the customer was present, for the CDR's attended/unattended tiers."""

from __future__ import annotations

import pytest

from gateway.pipeline.audit import audit
from tests.support.audited import Sink, audited_call


@pytest.mark.parametrize("attended", [True, False])
async def test_audit_records_whether_the_customer_was_present(attended: bool) -> None:
    sink = Sink()
    await audit(audited_call(sink, attended=attended, status=200))
    assert [r.attended for r in sink.records] == [attended]
