"""This tree's full pipeline against another revision's, side by side: ``python -m tests.bench compare REV``.

One run on this shared 2-core machine moves by 10-20 %, so two separate runs of the pipeline
benchmark cannot show a change of a few per cent. This one starts the pipeline benchmark's
stack once (the bank, PostgreSQL, Redis, the same policies and settings) and two full gateways
in front of the bank: this working tree's and REV's, checked out in a temporary ``git worktree``
and imported from there. It alternates them phase by phase (first one connection, then
``WALLETGATE_BENCH_CONNECTIONS``), ``WALLETGATE_BENCH_ROUNDS`` rounds (default 6) of
``WALLETGATE_BENCH_SECONDS`` (default 3) each, and prints the medians: p50, p99, requests/s and
the gateway's CPU per call. Differences under about 3 % are noise here.

A revision from before one current key per algorithm (``gateway.oauth.keys``) refuses the demo key
set: it is given the ES256 key alone, and its wallet's access tokens are signed with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from gateway.oauth.keys import KeyRing, write_private_file
from tests.bench.pipeline import (
    CLIENT_CORE,
    CONNECTIONS,
    Result,
    Signer,
    Stack,
    _cpu_seconds,
    _drive,
    _pid,
    _start,
    start_gateway,
)
from tests.support.servers import ROOT, free_port

SECONDS = float(os.environ.get("WALLETGATE_BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("WALLETGATE_BENCH_ROUNDS", "6"))
FACTORY = "gateway.app:app_from_env"


def _worktree(rev: str, folder: Path, exits: ExitStack) -> Path:
    tree = folder / "revision"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True, capture_output=True
    )
    exits.callback(subprocess.run, ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    return tree


def _one_key_per_algorithm(tree: Path) -> bool:
    return "current_by_alg" in (tree / "gateway" / "oauth" / "keys.py").read_text(encoding="utf-8")


def _revision_gateway(stack: Stack, tree: Path, folder: Path, exits: ExitStack) -> tuple[str, int, Signer]:
    env = {**stack.gateway_env, "WALLETGATE_DATA_DIR": str(folder / "revision-data")}
    keys = stack.keys
    if not _one_key_per_algorithm(tree):
        full = json.loads(Path(env["WALLETGATE_SIGNING_KEYS_FILE"]).read_text(encoding="utf-8"))
        one = folder / "revision.jwks.json"
        write_private_file(one, {"keys": [k for k in full["keys"] if k["alg"] == "ES256"]})
        env["WALLETGATE_SIGNING_KEYS_FILE"] = str(one)
        keys = KeyRing.load(one)
    url = f"http://127.0.0.1:{free_port()}"
    server = start_gateway(FACTORY, url, env, cwd=tree)
    exits.callback(server.stop)
    signer = Signer(Stack(keys, stack.issuer, {"full": url}, stack.consent_id))
    return url, _pid(server), signer


def _phase(url: str, pid: int, signer: Signer, connections: int) -> tuple[Result, float]:
    asyncio.run(_drive(url, iter(signer.headers("full", 100)), min(connections, 4), 5.0, Result("full", connections)))
    result = Result("full", connections)
    before = _cpu_seconds(pid)
    asyncio.run(_drive(url, iter(signer.headers("full", int(SECONDS * 6000))), connections, SECONDS, result))
    calls = len(result.latencies) + sum(result.errors.values())
    return result, (_cpu_seconds(pid) - before) / max(calls, 1) * 1e6


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m tests.bench compare REV   (a git revision to compare this tree with)", file=sys.stderr)
        return 2
    rev = sys.argv[1]
    try:
        os.sched_setaffinity(0, {CLIENT_CORE})
    except (AttributeError, OSError):
        print("note: could not pin the load generator to one core", file=sys.stderr)
    figures: dict[tuple[str, int], list[tuple[Result, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="walletgate-compare-") as tmp, ExitStack() as exits:
        folder = Path(tmp)
        stack = _start(folder, exits)
        tree = _worktree(rev, folder, exits)
        revision_url, revision_pid, revision_signer = _revision_gateway(stack, tree, folder, exits)
        gateways = {
            rev: (revision_url, revision_pid, revision_signer),
            "this tree": (stack.urls["full"], stack.pids["full"], Signer(stack)),
        }
        for round_index in range(ROUNDS):
            order = list(gateways) if round_index % 2 == 0 else list(reversed(gateways))
            for connections in (1, CONNECTIONS):
                for name in order:
                    figures.setdefault((name, connections), []).append(_phase(*gateways[name], connections))
    print(f"full pipeline, {rev} against this tree: {ROUNDS} rounds of {SECONDS:g} s per phase, medians")
    print(f"{'gateway':<16} {'conns':>5} {'req/s':>8} {'p50 µs':>8} {'p99 µs':>8} {'cpu µs':>7}  non-200")
    for (name, connections), runs in figures.items():
        rate = statistics.median(r.rate for r, _ in runs)
        p50 = statistics.median(r.percentile(0.5) for r, _ in runs) * 1e6
        p99 = statistics.median(r.percentile(0.99) for r, _ in runs) * 1e6
        cpu = statistics.median(c for _, c in runs)
        errors = sum(sum(r.errors.values()) for r, _ in runs)
        print(f"{name[:16]:<16} {connections:>5} {rate:>8.0f} {p50:>8.0f} {p99:>8.0f} {cpu:>7.0f}  {errors or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
