"""How often tracelens names the faulty service on real TrainTicket traces with injected faults.

    python bench/nezha.py [--data ../shared/datasets/nezha-tt] [--all] [--verbose]

For every usable latency-fault case (CPU contention, network delay) of the Nezha TrainTicket set it
runs `slowest` in before/after mode: baseline = the 180 s before the fault, slow = the p90 and
above of the fault window, route = the gateway root `/*` (every request enters there). The rank of
a service is the position of its first contributor among the distinct services of the ranking.
`--all` also runs the code-defect cases, where a confident latency cause would be invented.

Beside tracelens's rank it prints TraceRCA's (bench/baselines/tracerca.py) on the same traces,
read by tracelens's reader: the fault window against the same 180 s before it as reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tracelens
from bench.baselines import rank_of, tracelens_services
from bench.baselines.tracerca import localize
from tracelens.answer import Report
from tracelens.errors import TracelensError
from tracelens.model import ReadIssue, Trace
from tracelens.readers import read_traces
from tracelens.report.detail import NO_REGRESSION
from tracelens.sources import Window

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nezha-tt"
S = 1_000_000_000


def windows(truth: dict[str, object]) -> tuple[Window, Window]:
    """The fault window and the 180 s before it (the baseline and TraceRCA's reference)."""
    fault_start = int(truth["fault_start"])  # type: ignore[call-overload]
    fault_end = int(truth["fault_end"])  # type: ignore[call-overload]
    return Window(fault_start * S, fault_end * S), Window((fault_start - 180) * S, fault_start * S)


def run_case(case_dir: Path, truth: dict[str, object]) -> tuple[Report, float]:
    window, before = windows(truth)
    started = time.perf_counter()
    report = tracelens.slowest(
        str(case_dir / "traces.jsonl.gz"),
        route="/*",
        window=window,
        baseline_window=before,
        resamples=500,
    )
    return report, time.perf_counter() - started


def tracerca_services(case_dir: Path, truth: dict[str, object]) -> list[str]:
    """TraceRCA's ranking: the fault window's traces against the 180 s before it."""
    window, before = windows(truth)
    issues: list[ReadIssue] = []
    now: list[Trace] = []
    reference: list[Trace] = []
    for trace in read_traces(case_dir / "traces.jsonl.gz", issues):
        start_ns = min(s.start_ns for s in trace.spans)  # as the file source selects
        if window.contains(start_ns):
            now.append(trace)
        elif before.contains(start_ns):
            reference.append(trace)
    return localize(now, reference).services


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--all", action="store_true", help="also the code-defect cases")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print each top 5 (and TraceRCA's)"
    )
    args = parser.parse_args()
    manifest_path = args.data / "manifest.json"
    if not manifest_path.exists():
        print(f"no dataset at {args.data}; skipping", file=sys.stderr)
        return 0
    cases = [
        c
        for c in json.loads(manifest_path.read_text())
        if c["usable"] and (args.all or c["latency_fault"])
    ]
    header = (
        f"{'case':58} {'p90x':>5} {'rise':>6} {'top service':28} {'rank':>4} {'secs':>5} "
        f"{'tracerca':>8}"
    )
    print(header)
    print("-" * len(header))
    first = top3 = strong = strong_first = defects = defects_flagged = 0
    rca_first = rca_top3 = rca_strong_first = 0
    for case in cases:
        case_dir = args.data / case["case_id"]
        truth = json.loads((case_dir / "truth.json").read_text())
        try:
            report, seconds = run_case(case_dir, truth)
        except TracelensError as e:
            print(f"{case['case_id']:58} error: {e}")
            continue
        rank = rank_of(tracelens_services(report), {case["root_cause_service"]})
        rca_services = tracerca_services(case_dir, truth)
        rca = rank_of(rca_services, {case["root_cause_service"]})
        top = report.contributor_rows[0] if report.contributor_rows else None
        top_name = f"{top.service}" if top else "-"
        ratio = case["during_over_before_p90"]
        base = report.baseline_stats
        rise = report.stats.p90_ns / base.p90_ns - 1 if base and base.p90_ns else 0.0
        print(
            f"{case['case_id']:58} {ratio:5.2f} {rise:+6.0%} {top_name:28} {rank or '-':>4} "
            f"{seconds:5.1f} {rca or '-':>8}"
        )
        if args.verbose:
            for c in report.contributor_rows[:5]:
                print(
                    f"      {c.pattern or '-':11} {c.service:28} {c.operation[:40]:40} "
                    f"{c.excess_ns / 1e6:9.1f} ms  share {c.share:5.2f}"
                )
            print(f"      TraceRCA: {', '.join(rca_services[:5])}")
        if not case["latency_fault"]:
            defects += 1
            defects_flagged += rise < NO_REGRESSION
        if case["latency_fault"]:
            first += rank == 1
            top3 += rank is not None and rank <= 3
            rca_first += rca == 1
            rca_top3 += rca is not None and rca <= 3
            if ratio >= 1.2:
                strong += 1
                strong_first += rank == 1
                rca_strong_first += rca == 1
    latency = [c for c in cases if c["latency_fault"]]
    print()
    print(f"latency cases: {len(latency)}; faulty service first: {first}, in top 3: {top3}")
    print(f"  TraceRCA on the same cases: faulty service first: {rca_first}, in top 3: {rca_top3}")
    print(f"cases whose fault moved p90 by >= 1.2x: {strong}; faulty service first: {strong_first}")
    print(f"  TraceRCA on the same cases: faulty service first: {rca_strong_first}")
    if defects:
        print(
            f"code-defect cases: {defects}; reported as no p90 regression "
            f"(rise < {NO_REGRESSION:.0%}): {defects_flagged}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
