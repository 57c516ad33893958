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
    assert "audit: the database cannot be reached (ConnectionError: database away); 1 records wait" in caplog.text
    assert await writer.flush()
    assert sink.batches == [[_record(2)]]


async def test_write_now_failing_through_an_outage_logs_it_once_not_per_call(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink(fail_times=10)
    writer = AuditWriter(sink, batch_size=200, interval=60)
    for n in range(10):
        await writer.write_now(_record(n))
    assert writer.pending == 10
    assert caplog.text.count("the database cannot be reached") == 1
    assert await writer.flush()
    assert "writing access records works again" in caplog.text
