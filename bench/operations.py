"""How long `operation_of` takes per span, before and after a change, measured in one run.

    python bench/operations.py [--traces 2000] [--rounds 5] [--before 92ad168]

The spans are those of `bench/slowest.py`'s corpus (GraphQL page requests fanning out to three
APIs; a third of the spans carry an id in their URL or a literal in their statement). The "before"
module is `tracelens/operations.py` as git holds it at --before, loaded beside the current one.
Rounds alternate old and new, each starting from empty caches as a fresh process does, and the
best round of each is printed in CPU microseconds per span (CPU time and the best round: the
least disturbed by other work on a shared machine); both must name every span alike.
"""

from __future__ import annotations

import argparse
import gc
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `tracelens` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.slowest import request
from tracelens import operations
from tracelens.model import Span

ROOT = Path(__file__).resolve().parent.parent


def load_before(rev: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:tracelens/operations.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("operations_before")
    exec(compile(source, f"{rev}:tracelens/operations.py", "exec"), module.__dict__)
    return module


def empty_caches(module: types.ModuleType) -> None:
    for name in ("_cache", "_shapes"):
        cache = getattr(module, name, None)
        if cache is not None:
            cache.clear()
    segment = getattr(module, "_segment", None)
    if hasattr(segment, "cache_clear"):
        segment.cache_clear()


def timed_us(module: types.ModuleType, spans: list[Span]) -> float:
    """CPU microseconds per span for one pass over `spans`, from empty caches."""
    empty_caches(module)
    operation_of: Callable[[Span], str] = module.operation_of
    gc.collect()
    started = time.process_time()
    for s in spans:
        operation_of(s)
    return (time.process_time() - started) / len(spans) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", default="92ad168", help="git revision of the old module")
    args = parser.parse_args()
    before = load_before(args.before)
    rng = random.Random(7)  # bench/slowest.py's seed: the same corpus
    spans = [s for i in range(args.traces) for s in request(i, rng).spans]
    empty_caches(before)
    empty_caches(operations)
    old_ops = [before.operation_of(s) for s in spans]
    new_ops = [operations.operation_of(s) for s in spans]
    assert old_ops == new_ops, "the two modules name some span differently"
    with_ids = [s for s in spans if "url.full" in s.attributes or "db.query.text" in s.attributes]
    print(
        f"{len(spans):,} spans from {args.traces:,} traces; "
        f"{len(with_ids) / len(spans):.0%} with an id in url.full or a literal in db.query.text"
    )
    print(f"{'spans':24} {'before us/span':>15} {'after us/span':>15} {'speed-up':>9}")
    for label, subset in (("all", spans), ("with ids or literals", with_ids)):
        old: list[float] = []
        new: list[float] = []
        for _ in range(args.rounds):
            old.append(timed_us(before, subset))
            new.append(timed_us(operations, subset))
        o, n = min(old), min(new)
        print(f"{label:24} {o:15.2f} {n:15.2f} {o / n:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
