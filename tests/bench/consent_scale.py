"""Consent store at scale: lookup-by-id, list-for-user and revoke at 10k and at 1,000,000 consents.

A command that prints figures (not a test):

    python -m tests.bench.consent_scale [--small 10000] [--large 1000000] [--samples 300]

It creates a scratch PostgreSQL database (WALLETGATE_TEST_POSTGRES_URL or the local server),
migrates it, bulk-loads consents with their created and authorised events (valid hash chains)
by COPY, measures each operation through ``SqlConsentStore`` at the small size, grows the table
to the large size, measures again, prints the ratios and drops the database. Users hold five
consents each at both sizes, so list-for-user returns the same amount of data.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import orjson
import psycopg2
from sqlalchemy.engine import make_url

from consent.chain import GENESIS, event_hash
from consent.db import open_engine
from consent.migrate import upgrade
from consent.model import Actor
from consent.sql import SqlConsentStore
from policies import load_policies

ADMIN_URL = os.environ.get("WALLETGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PER_USER = 5
CHUNK = 50_000
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PERMISSIONS = [  # sorted, as the store writes them; UK OB: Detail needs Credits and/or Debits
    "ReadAccountsBasic",
    "ReadBalances",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
    "ReadTransactionsDetail",
]


def _connect(url: str) -> psycopg2.extensions.connection:
    u = make_url(url)
    return psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database)


def _consent_id(n: int) -> str:
    return f"bench-{n:09d}"


def _rows(start: int, stop: int) -> Iterator[tuple[list[object], list[list[object]]]]:
    for n in range(start, stop):
        cid, user = _consent_id(n), f"user-{n // PER_USER:08d}"
        created, authorised = T0 + timedelta(seconds=n % 86400), T0 + timedelta(seconds=n % 86400 + 30)
        expires = T0 + timedelta(days=365)
        e1 = {"status": [None, "AWAU"], "permissions": PERMISSIONS, "purposes": ["aggregation"]}
        e2 = {"status": ["AWAU", "AUTH"], "user_id": [None, user], "account_ids": [[], ["acc-1"]]}
        h1 = event_hash(consent_id=cid, seq=1, at=created, actor="wallet", actor_id="wallet-1", kind="created",
                        reason="", changes=e1, prev_hash=GENESIS)  # fmt: skip
        h2 = event_hash(consent_id=cid, seq=2, at=authorised, actor="user", actor_id=user, kind="authorised",
                        reason="", changes=e2, prev_hash=h1)  # fmt: skip
        consent = [cid, f"wallet-{n % 50}", user, "AUTH", orjson.dumps(PERMISSIONS).decode(), '["aggregation"]',
                   '["acc-1"]', "[]", created, authorised, authorised, expires, T0 - timedelta(days=700), None, 4,
                   False, 2, h2]  # fmt: skip
        events = [
            [cid, 1, created, "wallet", "wallet-1", "created", "", orjson.dumps(e1).decode(), GENESIS, h1],
            [cid, 2, authorised, "user", user, "authorised", "", orjson.dumps(e2).decode(), h1, h2],
        ]
        yield consent, events


def _copy(conn: psycopg2.extensions.connection, table: str, rows: list[list[object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["\\N" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row])
    buf.seek(0)
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)


def load(url: str, start: int, stop: int) -> float:
    began = time.perf_counter()
    conn = _connect(url)
    try:
        for chunk in range(start, stop, CHUNK):
            consents, events = [], []
            for consent, evs in _rows(chunk, min(chunk + CHUNK, stop)):
                consents.append(consent)
                events.extend(evs)
            _copy(conn, "consents", consents)
            _copy(conn, "consent_events", events)
            conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            # Measure the steady state, not the bulk load's aftermath: vacuum (visibility map, stats) and
            # flush the loaded pages now, so no checkpoint or autovacuum competes with the timed calls.
            cur.execute("VACUUM (ANALYZE) consents")
            cur.execute("VACUUM (ANALYZE) consent_events")
            cur.execute("CHECKPOINT")
    finally:
        conn.close()
    return time.perf_counter() - began


async def _timed(samples: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    times = []
    for i in range(samples):
        began = time.perf_counter()
        await op(i)
        times.append((time.perf_counter() - began) * 1000)
    return times


async def measure(url: str, size: int, samples: int, revoked: set[int]) -> dict[str, list[float]]:
    engine = open_engine(url, pool_size=2)
    store = SqlConsentStore(engine, load_policies(), time.time)
    rng = random.Random(size)
    try:
        ids = [rng.randrange(size) for _ in range(samples)]
        users = [rng.randrange(size // PER_USER) for _ in range(samples)]
        fresh = rng.sample([n for n in range(size) if n not in revoked], samples)
        revoked.update(fresh)
        await store.get(_consent_id(0))  # warm the pool and statement cache
        return {
            "lookup-by-id": await _timed(samples, lambda i: store.get(_consent_id(ids[i]))),
            "list-for-user": await _timed(samples, lambda i: store.list_for_user(f"user-{users[i]:08d}")),
            "revoke": await _timed(
                samples,
                lambda i: store.revoke(_consent_id(fresh[i]), actor=Actor.BANK, actor_id="bench", reason="bench"),
            ),
        }
    finally:
        await engine.dispose()


def _summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"mean {statistics.fmean(times):7.3f} ms  p50 {statistics.median(times):7.3f} ms  p95 {q[18]:7.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    name = f"walletgate_bench_{uuid.uuid4().hex[:8]}"
    admin = _connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, "0001")
        revoked: set[int] = set()
        results = {}
        for size, start in ((args.small, 0), (args.large, args.small)):
            seconds = load(url, start, size)
            print(f"loaded {size - start:>9,} consents (+{2 * (size - start):,} events) in {seconds:6.1f} s")
            figures = asyncio.run(measure(url, size, args.samples, revoked))
            results[size] = {op: statistics.median(times) for op, times in figures.items()}
            for op, times in figures.items():
                print(f"  {size:>9,} consents  {op:<14} {_summary(times)}")
        print("ratio of medians (large / small); the goal is at most 2.0:")
        for op in results[args.small]:
            ratio = results[args.large][op] / results[args.small][op]
            print(f"  {op:<14} {ratio:5.2f}x  {'ok' if ratio <= 2.0 else 'ABOVE 2x'}")
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
