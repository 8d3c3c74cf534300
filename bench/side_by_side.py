"""tracelens and TraceRCA on the accuracy scenarios: `python bench/side_by_side.py [--n 400]`.

    rows = [compare("dns", seed=0, n=400)]    # one Row per scenario
    print(table(rows))

For each scenario (bench/scenarios) both methods rank services on the same generated corpus, and
each column is the rank of the scenario's cause's service (its first cause for a mix; any of the
services the cause's row may name, as bench/accuracy.py accepts). tracelens runs as in
bench/accuracy.py (slow = p90 and above, baseline = p50 and below of the corpus); its services
are those of its ranked contributors with a positive excess, in order.

TraceRCA's reference (`--reference`):
- `history` (default): the same scenario generated with another seed and every cause removed, a
  healthy period of the same system. The paper learns what normal looks like from the system's
  normal-period history, not from the fast half of the incident, so this is the faithful choice;
  it also gives TraceRCA more than tracelens gets (a second, clean corpus), so the comparison
  does not favour tracelens.
- `p50`: the corpus's requests at or below its median duration, tracelens's own baseline. It
  biases every pair's reference towards fast calls (a pair's mean shifts whenever slow requests
  call it more), so it is here only to show how much the choice matters.
In both, TraceRCA's fault window is the whole corpus: every request of the incident.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `tracelens` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import tracelens
from bench.baselines import rank_of, tracelens_services
from bench.baselines.tracerca import localize
from bench.scenarios import SCENARIOS, root_duration_ns, scenario
from tracelens.model import Trace

HISTORY_SEED = 10_000  # the healthy corpus's seed is the scenario's seed plus this
REFERENCES = ("history", "p50")


@dataclass(frozen=True)
class Row:
    scenario: str
    expected: tuple[str, ...]  # the services that count as naming the cause
    tracelens_top: str
    tracelens_rank: int | None
    tracerca_top: str
    tracerca_rank: int | None


def reference_traces(name: str, traces: Sequence[Trace], seed: int, how: str) -> list[Trace]:
    """TraceRCA's normal-period traces for the scenario (see the module docstring)."""
    if how == "history":
        return scenario(name, seed + HISTORY_SEED, len(traces), fixed=True)
    if how == "p50":
        median = float(np.percentile([root_duration_ns(t) for t in traces], 50.0))
        return [t for t in traces if root_duration_ns(t) <= median]
    raise ValueError(f"no reference {how!r}; known: {', '.join(REFERENCES)}")


def compare(name: str, seed: int = 0, n: int = 400, reference: str = "history") -> Row:
    """Both methods on the scenario's corpus: the rank of its (first) cause's service in each."""
    expected = SCENARIOS[name].causes[0].services
    traces = scenario(name, seed, n)
    report = tracelens.slowest(traces, seed=seed, resamples=200)
    ours = tracelens_services(report)
    theirs = localize(traces, reference_traces(name, traces, seed, reference)).services
    return Row(
        scenario=name,
        expected=expected,
        tracelens_top=ours[0] if ours else "-",
        tracelens_rank=rank_of(ours, expected),
        tracerca_top=theirs[0] if theirs else "-",
        tracerca_rank=rank_of(theirs, expected),
    )


def table(rows: Sequence[Row]) -> str:
    """The side-by-side table and the totals of rank-1 hits."""
    header = ("scenario", "cause's service", "tracelens top", "rank", "TraceRCA top", "rank")
    lines = [header]
    lines.extend(
        (
            r.scenario,
            "|".join(r.expected),
            r.tracelens_top,
            str(r.tracelens_rank or "-"),
            r.tracerca_top,
            str(r.tracerca_rank or "-"),
        )
        for r in rows
    )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    body = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    ours = sum(r.tracelens_rank == 1 for r in rows)
    theirs = sum(r.tracerca_rank == 1 for r in rows)
    body.append("")
    body.append(
        f"scenarios: {len(rows)}; cause's service first: tracelens {ours}, TraceRCA {theirs}"
    )
    return "\n".join(body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=400, help="requests per scenario (400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", choices=REFERENCES, default="history")
    parser.add_argument("scenarios", nargs="*", help=f"default: all of {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        print(f"error: no scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    started = time.perf_counter()
    rows = [
        compare(name, args.seed, args.n, args.reference) for name in args.scenarios or SCENARIOS
    ]
    print(table(rows))
    print(
        f"{time.perf_counter() - started:.1f} s ({args.n} requests per scenario, seed {args.seed}, "
        f"TraceRCA reference: {args.reference})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
