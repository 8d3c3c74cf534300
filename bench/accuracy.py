"""How well tracelens names and prices known causes: `python bench/accuracy.py [--n 400]`.

    rows = evaluate("dns", seed=0, n=300)      # one Row per injected cause
    print(table(rows))

For each scenario (bench/scenarios) it runs `tracelens.slowest` on the generated corpus and
checks: the expected cause ranks first (within the first three for a mix of causes), no decoy
ranks first, and the predicted p90 gain of fixing the cause (stats.p90 - its what-if p90) is
within 20% of the true gain (p90 of the corpus - p90 of the same requests with the cause removed).
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

import tracelens
from bench.scenarios import SCENARIOS, p90_ns, scenario
from bench.scenarios.generate import durations_ns, p90_of
from bench.scenarios.windows import comparisons
from tracelens.answer import Report
from tracelens.model import Contributor

GAIN_TOLERANCE = 0.20
MS = 1_000_000


@dataclass(frozen=True)
class Row:
    scenario: str
    cause: str  # the cause key
    expected: str  # what a correct row names
    top1: str
    rank: int | None  # 1-based rank of the first row naming the cause; None when absent
    top_k: int
    decoy_first: bool
    p90_ns: float  # the corpus's true p90
    fixed_p90_ns: float  # p90 of the same requests with this cause removed
    whatif_p90_ns: float | None  # tracelens's what-if p90 for the cause's row
    report_p90_ns: float
    check_gain: bool  # a mix checks the ranking only: one cause's gain depends on the other

    @property
    def first(self) -> bool:
        """Whether this is its scenario's first row (the table names the scenario once)."""
        sc = SCENARIOS.get(self.scenario)
        return sc is None or self.cause == sc.causes[0].key

    @property
    def true_gain_ns(self) -> float:
        return self.p90_ns - self.fixed_p90_ns

    @property
    def predicted_gain_ns(self) -> float | None:
        return None if self.whatif_p90_ns is None else self.report_p90_ns - self.whatif_p90_ns

    @property
    def gain_error(self) -> float | None:
        predicted = self.predicted_gain_ns
        if predicted is None or self.true_gain_ns <= 0:
            return None
        return abs(predicted - self.true_gain_ns) / self.true_gain_ns

    @property
    def failures(self) -> list[str]:
        out = []
        if self.rank is None or self.rank > self.top_k:
            out.append(f"cause rank {self.rank or '-'} > {self.top_k}")
        if self.decoy_first:
            out.append("decoy ranked first")
        if self.check_gain:
            error = self.gain_error
            if error is None:
                out.append("no what-if p90")
            elif error > GAIN_TOLERANCE:
                out.append(f"gain error {error:.0%}")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures


def describe(row: Contributor) -> str:
    return f"{row.pattern or 'op'}: {row.service} {row.operation}"


def evaluate(name: str, seed: int = 0, n: int = 300) -> list[Row]:
    """Run tracelens on the scenario and score it, one Row per injected cause."""
    sc = SCENARIOS[name]
    traces = scenario(name, seed, n)
    # the bootstrap only sets the intervals, not the ranking or the what-if: 200 resamples do
    report: Report = tracelens.slowest(traces, seed=seed, resamples=200)
    rows = report.contributor_rows
    p90 = p90_ns(traces)
    decoy_first = bool(rows) and sc.decoy is not None and sc.decoy.matches(rows[0])
    out = []
    for cause in sc.causes:
        rank = next((i for i, r in enumerate(rows, 1) if cause.matches(r)), None)
        whatif = rows[rank - 1].whatif_p90_ns if rank is not None else None
        out.append(
            Row(
                scenario=name,
                cause=cause.key,
                expected=cause.label,
                top1=describe(rows[0]) if rows else "-",
                rank=rank,
                top_k=sc.top_k,
                decoy_first=decoy_first,
                p90_ns=p90,
                fixed_p90_ns=p90_of(durations_ns(name, seed, n, fixed={cause.key})),
                whatif_p90_ns=whatif,
                report_p90_ns=report.stats.p90_ns,
                check_gain=len(sc.causes) == 1,
            )
        )
    return out


def evaluate_comparison(name: str, seed: int = 0, n: int = 300) -> list[Row]:
    """Score tracelens on a like-with-like scenario (bench/scenarios/windows.py)."""
    c = comparisons()[name]
    traces, current, fixed = c.make(seed, n)
    report: Report = tracelens.slowest(
        traces,
        route=c.route,
        window=c.window,
        baseline_window=c.baseline_window,
        seed=seed,
        resamples=200,
    )
    rows = report.contributor_rows
    rank = next((i for i, r in enumerate(rows, 1) if c.cause.matches(r)), None)
    return [
        Row(
            scenario=name,
            cause=c.cause.key,
            expected=c.cause.label,
            top1=describe(rows[0]) if rows else "-",
            rank=rank,
            top_k=1,
            decoy_first=bool(rows) and c.decoy.matches(rows[0]),
            p90_ns=p90_ns(current),
            fixed_p90_ns=p90_ns(fixed),
            whatif_p90_ns=rows[rank - 1].whatif_p90_ns if rank is not None else None,
            report_p90_ns=report.stats.p90_ns,
            check_gain=True,
        )
    ]


def _ms(ns: float | None) -> str:
    return "-" if ns is None else f"{ns / MS:.0f}"


def table(rows: Sequence[Row]) -> str:
    header = (
        "scenario",
        "expected",
        "top-1 contributor",
        "rank",
        "p90 ms",
        "fixed ms",
        "what-if ms",
        "gain err",
        "result",
    )
    lines = [header]
    for r in rows:
        error = r.gain_error
        lines.append(
            (
                r.scenario if r.first else "",
                r.expected,
                r.top1[:60],
                str(r.rank or "-"),
                _ms(r.p90_ns),
                _ms(r.fixed_p90_ns),
                _ms(r.whatif_p90_ns),
                ("-" if error is None else f"{error:.0%}") + ("" if r.check_gain else " (n/a)"),
                "pass" if r.passed else "FAIL: " + "; ".join(r.failures),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=400, help="requests per scenario (400)")
    parser.add_argument("--seed", type=int, default=0)
    known = [*SCENARIOS, *comparisons()]
    parser.add_argument("scenarios", nargs="*", help=f"default: all of {', '.join(known)}")
    args = parser.parse_args(argv)
    names = args.scenarios or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"no scenario {', '.join(unknown)}; known: {', '.join(known)}")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in names:
        if name in SCENARIOS:
            rows.extend(evaluate(name, args.seed, args.n))
        else:
            rows.extend(evaluate_comparison(name, args.seed, args.n))
    print(table(rows))
    passed = sum(r.passed for r in rows)
    print(
        f"\n{passed}/{len(rows)} passed; {time.perf_counter() - started:.1f} s "
        f"({args.n} requests per scenario, seed {args.seed})"
    )
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
