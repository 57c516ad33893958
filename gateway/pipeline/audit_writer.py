"""Write access records off the request path: queued in memory, flushed in batches.

``submit`` never waits. A background task flushes whenever ``batch_size`` records are
waiting or ``interval`` seconds have passed; ``stop`` lets a flush being written finish (cancelling
it would lose that batch) and flushes whatever is left, so a clean shutdown loses nothing. A failed
flush keeps the batch (up to ``max_pending`` records) and tries again on the next round. A run of
failures is logged when it starts (in one line when the database cannot be reached, with the
traceback otherwise) and when it ends, not on every round.

A process that is killed (SIGKILL, OOM) loses what is still queued: up to ``interval`` seconds of
records of calls already answered. ``write_now`` is the durable alternative (``audit_durable``
setting): the record is written, alone, before the response leaves, at the cost of one database
round trip (a PostgreSQL commit) on every call's path and one insert per call instead of a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from consent.model import AccessRecord
from gateway.background import stop_task
from gateway.errors import backend_unavailable

log = logging.getLogger("walletgate.audit")

Sink = Callable[[Sequence[AccessRecord]], Awaitable[None]]


class AuditWriter:
    def __init__(self, sink: Sink, *, batch_size: int = 200, interval: float = 0.5, max_pending: int = 100_000) -> None:
        self._sink = sink
        self._batch_size, self._interval, self._max_pending = batch_size, interval, max_pending
        self._pending: deque[AccessRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing: str | None = None  # the failure of the current run of failed flushes
        self.dropped = 0

    def submit(self, record: AccessRecord) -> None:
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            log.error("audit queue full: dropped the record of interaction %s", record.interaction_id)
            return
        self._pending.append(record)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    async def write_now(self, record: AccessRecord) -> None:
        """Write one record before returning; if the write fails, queue it as ``submit`` would."""
        try:
            await self._sink([record])
        except Exception as exc:
            self.submit(record)
            self._failed(exc)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Stop the background task once the flush it is writing (if any) has ended, then flush everything
        still queued. Only a stop that is itself cancelled cancels a flush in the middle."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                await stop_task(task)
                raise
        if not await self._drain(len(self._pending)):
            log.error("audit: %d records could not be written at shutdown", len(self._pending))

    async def flush(self) -> bool:
        """Write everything queued now; False when the sink failed (the rest stays queued)."""
        return await self._drain(len(self._pending))

    async def _drain(self, count: int) -> bool:
        """Write the ``count`` oldest records in batches; records queued meanwhile wait for the next round."""
        while count > 0 and self._pending:
            batch = [self._pending.popleft() for _ in range(min(self._batch_size, count, len(self._pending)))]
            try:
                await self._sink(batch)
            except Exception as exc:
                self._pending.extendleft(reversed(batch))
                self._failed(exc)
                return False
            count -= len(batch)
            if self._failing is not None:
                self._failing = None
                log.warning("audit: writing access records works again; %d still queued", len(self._pending))
        return True

    def _failed(self, exc: Exception) -> None:
        failure = f"{type(exc).__name__}: {exc}"
        if failure == self._failing:
            return
        self._failing = failure
        waiting = len(self._pending)
        if backend_unavailable(exc):
            log.error("audit: the database cannot be reached (%s); %d records wait and are retried", failure, waiting)
        else:
            log.exception("audit: writing access records failed; %d records wait and are retried", waiting)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            if not self._stopping:
                await self._drain(len(self._pending))
