from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from consent.model import AccessRecord
from gateway.pipeline.audit_writer import AuditWriter
from tests.support.records import access_record


def _record(n: int) -> AccessRecord:
    return access_record(interaction_id=f"i-{n}")


class Sink:
    def __init__(self, fail_times: int = 0) -> None:
        self.batches: list[list[AccessRecord]] = []
        self.fail_times = fail_times

    async def __call__(self, records: Sequence[AccessRecord]) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("database away")
        self.batches.append(list(records))


async def test_audit_writer_flushes_in_batches_off_the_request_path() -> None:
    sink = Sink()
    writer = AuditWriter(sink, batch_size=10, interval=10)
    await writer.start()
    for n in range(25):
        writer.submit(_record(n))
    assert sink.batches == []  # submit never waits for the sink
    await asyncio.sleep(0.05)
    assert [len(b) for b in sink.batches] == [10, 10, 5]  # a full batch wakes the writer; it drains the queue
    await writer.stop()


async def test_audit_writer_flushes_by_time() -> None:
    sink = Sink()
    writer = AuditWriter(sink, batch_size=100, interval=0.02)
    await writer.start()
    writer.submit(_record(1))
    await asyncio.sleep(0.1)
    assert len(sink.batches) == 1
    await writer.stop()


async def test_audit_writer_loses_nothing_on_clean_stop() -> None:
    sink = Sink()
    writer = AuditWriter(sink, batch_size=50, interval=60)
    await writer.start()
    for n in range(1234):
        writer.submit(_record(n))
    await writer.stop()
    written = [r.interaction_id for b in sink.batches for r in b]
    assert written == [f"i-{n}" for n in range(1234)]


async def test_audit_writer_keeps_a_failed_batch_and_retries() -> None:
    sink = Sink(fail_times=1)
    writer = AuditWriter(sink, batch_size=10, interval=0.01)
    await writer.start()
    for n in range(5):
        writer.submit(_record(n))
    await asyncio.sleep(0.1)
    await writer.stop()
    assert [r.interaction_id for b in sink.batches for r in b] == [f"i-{n}" for n in range(5)]


async def test_audit_writer_batches_a_steady_trickle_instead_of_writing_each_record() -> None:
    calls: list[int] = []

    async def slow_sink(records: Sequence[AccessRecord]) -> None:
        calls.append(len(records))
        await asyncio.sleep(0.02)

    writer = AuditWriter(slow_sink, batch_size=1000, interval=0.1)
    await writer.start()
    for n in range(60):  # one record every 5 ms for 0.3 s
        writer.submit(_record(n))
        await asyncio.sleep(0.005)
    await writer.stop()
    assert sum(calls) == 60
    assert len(calls) <= 6


async def test_a_run_of_failed_flushes_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Sink(fail_times=5)
    writer = AuditWriter(sink, batch_size=10, interval=0.01)
    await writer.start()
    writer.submit(_record(1))
    await asyncio.sleep(0.2)
    await writer.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "walletgate.audit"]
    assert lines == [
        "audit: the database cannot be reached (ConnectionError: database away); 1 records wait and are retried",
        "audit: writing access records works again; 0 still queued",
    ]
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_flush_failing_for_another_reason_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(records: Sequence[AccessRecord]) -> None:
        raise ValueError("a column the table does not have")

    writer = AuditWriter(broken, batch_size=10, interval=0.01)
    await writer.start()
    writer.submit(_record(1))
    await asyncio.sleep(0.1)
    await writer.stop()
    failures = [r for r in caplog.records if r.name == "walletgate.audit" and r.exc_info is not None]
    assert len(failures) == 1
