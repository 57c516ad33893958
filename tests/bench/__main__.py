"""``python -m tests.bench [NAME ...]`` (``make bench``): run benchmarks, each printing its figures.

With no name it runs the quick ones (pipeline, limiter, token endpoint); the consent-scale
benchmark loads a million rows and runs only when named: ``python -m tests.bench consent_scale``.
``python -m tests.bench compare REV`` runs this tree's pipeline against git revision REV's,
interleaved (``tests/bench/compare.py``).
Benchmarks are never part of the test suite and assert nothing about time.
"""

from __future__ import annotations

import importlib
import sys

QUICK = ("pipeline", "limiter", "token_endpoint")
ALL = (*QUICK, "consent_scale")
COMPARE = "compare"  # takes a git revision


def main(argv: list[str]) -> int:
    if argv[:1] == [COMPARE]:
        module = importlib.import_module(f"tests.bench.{COMPARE}")
        sys.argv = [f"tests.bench.{COMPARE}", *argv[1:]]
        return int(module.main() or 0)
    names = argv or list(QUICK)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        sys.argv = [f"tests.bench.{name}"]
        result = module.main()
        status = status or int(result or 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
