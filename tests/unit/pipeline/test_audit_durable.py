"""``AuditWriter.write_now`` (the ``audit_durable`` setting): the record is written before the call returns."""

from __future__ import annotations

import pytest

from gateway.pipeline.audit_writer import AuditWriter
from tests.unit.pipeline.test_audit_writer import Sink, _record


async def test_write_now_writes_the_record_alone_before_returning() -> None:
    sink = Sink()
    writer = AuditWriter(sink, batch_size=200, interval=60)
    await writer.write_now(_record(1))
    assert sink.batches == [[_record(1)]]
    assert writer.pending == 0


async def test_write_now_queues_the_record_when_the_database_refuses_it(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(fail_times=1)
    writer = AuditWriter(sink, batch_size=200, interval=60)
    await writer.write_now(_record(2))
    assert sink.batches == []
    assert writer.pending == 1
    assert "writing the record of interaction i-2 failed; queued" in caplog.text
    assert await writer.flush()
    assert sink.batches == [[_record(2)]]
