"""Limiter cost per request: ``python -m tests.bench.limiter`` prints median and p99 for each back-end.

One "request" is what the pipeline's limit step does: work out every applicable limit
(wallet, customer or daily frequency, API ceiling, operation, named rule), check and consume
them all in one limiter call, and build the ``RateLimit-*`` headers. Measured sequentially
on one event loop, so the figures are the cost added to one request, not throughput.
Targets (issue 6): Redis on loopback median < 0.3 ms and p99 < 1 ms; in-process < 20 µs.
Redis: WALLETGATE_BENCH_REDIS_URL, or by default a redis-server of the benchmark's own on a spare
loopback port (the machine's shared Redis also serves other people's test runs, whose FLUSHDBs
would show up in the tail).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from redis.asyncio import Redis

from gateway.limiter import Limiter
from gateway.limiter.build import redis_client
from gateway.limiter.failover import FailoverLimiter
from gateway.limiter.memory import MemoryLimiter
from gateway.limiter.redis import RedisLimiter
from gateway.limiter.response import rate_limit_headers
from gateway.limiter.rules import CallFacts, RuleBook
from gateway.settings import load_settings
from policies.limits import load_limits
from tests.support.servers import free_port

PREFIX = "wg:bench:"
CALLS = int(os.environ.get("WALLETGATE_BENCH_CALLS", "20000"))
WARMUP = 1000
# Generous numbers so that every measured request is admitted (a refusal costs the same script run).
POLICY = """
wallet:
  attended: {rate: 1000000, per: 1s}
  unattended: {rate: 1000000, per: 1s}
user:
  attended: {rate: 1000000, per: 1s}
frequency_per_day: {default: 4, cap: 1000000}
rules:
  heavy: {rate: 1000000, per: 1s}
apis:
  bank:
    ceiling: {rate: 1000000, per: 1s}
    operations:
      GetTransactions: {rate: 1000000, per: 1s}
"""


def _book() -> RuleBook:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "limits.yaml"
        path.write_text(POLICY, encoding="utf-8")
        return RuleBook(load_limits(path))


def _facts(i: int) -> CallFacts:
    return CallFacts(
        api="bank",
        operation="GetTransactions",
        operation_rules=("heavy",),
        client_id=f"wallet-{i % 50}",
        user_id=f"user-{i % 500}",
        consent_id=f"consent-{i % 5000}",
        consent_frequency=1_000_000,
        attended=i % 2 == 0,
    )


async def _measure(limiter: Limiter, book: RuleBook) -> list[float]:
    """Seconds per request for CALLS requests, after WARMUP unmeasured ones."""
    facts = [_facts(i) for i in range(CALLS + WARMUP)]
    samples = []
    clock = time.perf_counter
    for i, fact in enumerate(facts):
        started = clock()
        decision = await limiter.acquire(book.call_hits(fact))
        rate_limit_headers(decision)
        elapsed = clock() - started
        if not decision.allowed:
            raise SystemExit(f"request {i} was refused by {decision.binding}; the benchmark policy is too tight")
        if i >= WARMUP:
            samples.append(elapsed)
    return samples


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"{name:<44} median {statistics.median(ordered) * 1e6:8.1f} µs   p99 {p99 * 1e6:8.1f} µs   "
        f"mean {statistics.fmean(ordered) * 1e6:8.1f} µs   (n={len(ordered)})"
    )


async def _clear(url: str) -> None:
    client = Redis.from_url(url)
    keys = [key async for key in client.scan_iter(f"{PREFIX}*", count=1000)]
    for start in range(0, len(keys), 1000):
        await client.delete(*keys[start : start + 1000])
    await client.aclose()


@contextlib.contextmanager
def _redis_url() -> Iterator[str]:
    """WALLETGATE_BENCH_REDIS_URL, else a private redis-server on a spare port for the run."""
    if os.environ.get("WALLETGATE_BENCH_REDIS_URL"):
        yield os.environ["WALLETGATE_BENCH_REDIS_URL"]
        return
    port = free_port()
    args = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen([*args, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout != b"PONG\n":
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


async def run(url: str) -> None:
    book = _book()
    unattended, attended = len(book.call_hits(_facts(1))), len(book.call_hits(_facts(0)))
    print(f"limiter cost per request: {unattended} limits per request (unattended) / {attended} (attended)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (a busy machine shows in the p99)")
    print(_row("in-process (MemoryLimiter)", await _measure(MemoryLimiter(), book)))
    await _clear(url)
    direct = RedisLimiter(redis_client(url, 1.0), prefix=PREFIX)
    await direct.load()
    print(_row(f"Redis, one EVALSHA ({url})", await _measure(direct, book)))
    await direct.aclose()
    await _clear(url)
    budget = load_settings(environ={}).redis_budget_ms / 1000  # the default, as the gateway runs it
    failover = FailoverLimiter(
        RedisLimiter(redis_client(url, budget), prefix=PREFIX), instances=3, on_failure="open", budget=budget
    )
    print(_row(f"Redis + failover ({budget * 1000:.0f} ms budget; the gateway's)", await _measure(failover, book)))
    print(f"  failovers during the run: {failover.switches}")
    await failover.aclose()
    await _clear(url)


def main() -> None:
    with _redis_url() as url:
        asyncio.run(run(url))


if __name__ == "__main__":
    main()
