"""How often tracelens names the faulty service on real TrainTicket traces with injected faults.

    python bench/nezha.py [--data ../shared/datasets/nezha-tt] [--all] [--verbose]

For every usable latency-fault case (CPU contention, network delay) of the Nezha TrainTicket set it
runs `slowest` in before/after mode: baseline = the 180 s before the fault, slow = the p90 and
above of the fault window, route = the gateway root `/*` (every request enters there). The rank of
a service is the position of its first contributor among the distinct services of the ranking.
`--all` also runs the code-defect cases, where a confident latency cause would be invented.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import tracelens
from tracelens.answer import Report
from tracelens.errors import TracelensError
from tracelens.report.detail import NO_REGRESSION
from tracelens.sources import Window

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nezha-tt"
S = 1_000_000_000


def service_rank(report: Report, service: str) -> int | None:
    """1-based position of `service` among the distinct services of the ranked contributors."""
    seen: list[str] = []
    for c in report.contributor_rows:
        if c.excess_ns <= 0:
            break
        if c.service not in seen:
            seen.append(c.service)
        if c.service == service:
            return len(seen)
    return None


def run_case(case_dir: Path, truth: dict[str, object]) -> tuple[Report, float]:
    fault_start = int(truth["fault_start"])  # type: ignore[call-overload]
    fault_end = int(truth["fault_end"])  # type: ignore[call-overload]
    started = time.perf_counter()
    report = tracelens.slowest(
        str(case_dir / "traces.jsonl.gz"),
        route="/*",
        window=Window(fault_start * S, fault_end * S),
        baseline_window=Window((fault_start - 180) * S, fault_start * S),
        resamples=500,
    )
    return report, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--all", action="store_true", help="also the code-defect cases")
    parser.add_argument("--verbose", "-v", action="store_true", help="print each top 5")
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
    header = f"{'case':58} {'p90x':>5} {'rise':>6} {'top service':28} {'rank':>4} {'secs':>5}"
    print(header)
    print("-" * len(header))
    first = top3 = strong = strong_first = defects = defects_flagged = 0
    for case in cases:
        case_dir = args.data / case["case_id"]
        truth = json.loads((case_dir / "truth.json").read_text())
        try:
            report, seconds = run_case(case_dir, truth)
        except TracelensError as e:
            print(f"{case['case_id']:58} error: {e}")
            continue
        rank = service_rank(report, case["root_cause_service"])
        top = report.contributor_rows[0] if report.contributor_rows else None
        top_name = f"{top.service}" if top else "-"
        ratio = case["during_over_before_p90"]
        base = report.baseline_stats
        rise = report.stats.p90_ns / base.p90_ns - 1 if base and base.p90_ns else 0.0
        print(
            f"{case['case_id']:58} {ratio:5.2f} {rise:+6.0%} {top_name:28} {rank or '-':>4} "
            f"{seconds:5.1f}"
        )
        if args.verbose:
            for c in report.contributor_rows[:5]:
                print(
                    f"      {c.pattern or '-':11} {c.service:28} {c.operation[:40]:40} "
                    f"{c.excess_ns / 1e6:9.1f} ms  share {c.share:5.2f}"
                )
        if not case["latency_fault"]:
            defects += 1
            defects_flagged += rise < NO_REGRESSION
        if case["latency_fault"]:
            first += rank == 1
            top3 += rank is not None and rank <= 3
            if ratio >= 1.2:
                strong += 1
                strong_first += rank == 1
    latency = [c for c in cases if c["latency_fault"]]
    print()
    print(f"latency cases: {len(latency)}; faulty service first: {first}, in top 3: {top3}")
    print(f"cases whose fault moved p90 by >= 1.2x: {strong}; faulty service first: {strong_first}")
    if defects:
        print(
            f"code-defect cases: {defects}; reported as no p90 regression "
            f"(rise < {NO_REGRESSION:.0%}): {defects_flagged}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
