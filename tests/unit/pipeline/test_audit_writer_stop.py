"""``AuditWriter.stop`` while a flush is being written: the batch in flight is neither lost nor written twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from consent.model import AccessRecord
from gateway.pipeline.audit_writer import AuditWriter
from tests.unit.pipeline.test_audit_writer import _record


class SlowSink:
    """A database that takes a while to commit: the batch counts as written only once the commit ends."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.writing = asyncio.Event()

    async def __call__(self, records: Sequence[AccessRecord]) -> None:
        self.writing.set()
        await asyncio.sleep(0.05)
        self.written.extend(r.interaction_id for r in records)


async def test_stop_during_a_flush_loses_none_of_the_batch_being_written() -> None:
    sink = SlowSink()
    writer = AuditWriter(sink, batch_size=5, interval=60)
    await writer.start()
    for n in range(12):
        writer.submit(_record(n))
    await sink.writing.wait()  # the writer has taken the first batch and is writing it
    await writer.stop()
    assert sink.written == [f"i-{n}" for n in range(12)]
