"""How fast `tracelens slowest` explains a large route: OTLP JSON lines in, CSV out.

    python bench/slowest.py [--traces 10000] [--keep]

Generates --traces requests of one route (about 100 spans each: a page server span, a GraphQL
operation, resolvers calling three APIs, their queries; 15% with an N+1 of 20-60 sequential calls,
5% with a slow query) as OTLP JSON lines, then runs the whole analysis (bootstrap and what-if
included) to a CSV file in a fresh process, and prints the time of each stage and the peak memory.
Targets: 10,000 traces (about 1M spans) in at most 5 s and 2 GB on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracelens.model import Span, SpanKind, Trace
from tracelens.otlp_json import write_otlp_lines

MS = 1_000_000
T0 = 1_760_000_000_000 * MS


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def span(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"


def request(i: int, rng: random.Random) -> Trace:
    """One page request; the shape varies with the request's luck."""
    ids = _Ids(rng)
    trace_id = f"{rng.getrandbits(128):032x}"
    spans: list[Span] = []
    t = T0 + i * 50 * MS

    def add(
        parent: str | None,
        service: str,
        name: str,
        kind: SpanKind,
        start: int,
        end: int,
        **attrs: str | int,
    ) -> str:
        sid = ids.span()
        spans.append(
            Span(
                trace_id,
                sid,
                parent,
                service,
                name,
                kind,
                start,
                end,
                attributes=attrs,
                process=f"{service}-0",
            )
        )
        return sid

    n_plus_one = rng.random() < 0.15
    slow_query = rng.random() < 0.05
    cursor = t + 2 * MS
    root = add(
        None,
        "frontend",
        "GET /result/[id]",
        SpanKind.SERVER,
        t,
        t,
        **{"http.route": "/result/[id]", "http.request.method": "GET"},
    )
    op = add(
        root,
        "bff",
        "query ResultPage",
        SpanKind.INTERNAL,
        cursor,
        cursor,
        **{"graphql.operation.name": "ResultPage", "graphql.operation.type": "query"},
    )
    for api in ("diseases", "hospitals", "departments"):
        calls = rng.randint(20, 60) if n_plus_one and api == "hospitals" else rng.randint(4, 9)
        parallel = not (n_plus_one and api == "hospitals")
        start = cursor
        for _ in range(calls):
            dur = int(rng.lognormvariate(2.3, 0.4) * MS)
            if slow_query and api == "diseases":
                dur += 400 * MS
            c0 = start + rng.randint(0, 2) * MS
            client = add(
                op,
                "bff",
                "GET",
                SpanKind.CLIENT,
                c0,
                c0 + dur + 2 * MS,
                **{
                    "server.address": api,
                    "url.full": f"http://{api}/{api}/{rng.randint(1, 9999)}",
                    "http.request.method": "GET",
                },
            )
            server = add(
                client,
                api,
                f"GET /{api}/{{id}}",
                SpanKind.SERVER,
                c0 + MS,
                c0 + dur + MS,
                **{"http.route": f"/{api}/{{id}}"},
            )
            add(
                server,
                api,
                "SELECT",
                SpanKind.CLIENT,
                c0 + 2 * MS,
                c0 + dur,
                **{
                    "db.system": "postgresql",
                    "db.query.text": f"SELECT * FROM {api} WHERE id = {rng.randint(1, 9999)}",
                },
            )
            if not parallel:
                start = c0 + dur + 2 * MS
            cursor = max(cursor, c0 + dur + 2 * MS)
    end = cursor + 3 * MS
    spans[1] = Span(
        trace_id,
        spans[1].span_id,
        root,
        "bff",
        "query ResultPage",
        SpanKind.INTERNAL,
        t + 2 * MS,
        end,
        attributes=spans[1].attributes,
        process="bff-0",
    )
    spans[0] = Span(
        trace_id,
        spans[0].span_id,
        None,
        "frontend",
        "GET /result/[id]",
        SpanKind.SERVER,
        t,
        end + MS,
        attributes=spans[0].attributes,
        process="frontend-0",
    )
    return Trace(trace_id, tuple(spans))


def generate(path: Path, traces: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    with path.open("wb") as out:
        return write_otlp_lines((request(i, rng) for i in range(traces)), out)


def analyse(path: str, csv_path: str) -> None:
    """Runs in a fresh process so that peak memory is the analysis's own."""
    from tracelens.pipeline import slowest
    from tracelens.report import csv as csv_report

    timings: dict[str, float] = {}
    started = time.perf_counter()
    report = slowest(path, route="result", timings=timings)
    t = time.perf_counter()
    with open(csv_path, "w", encoding="utf-8", newline="") as out:
        csv_report.render(report, out)
    timings["csv"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    top = report.contributor_rows[0]
    print(
        json.dumps(
            {
                "timings": timings,
                "peak_mb": peak_mb,
                "traces": report.stats.count,
                "top": f"{top.pattern or '-'} {top.service} {top.operation}",
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus")
    parser.add_argument("--_analyse", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._analyse:
        analyse(*args._analyse)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="tracelens-bench-"))
    corpus = workdir / "route.jsonl"
    t = time.perf_counter()
    spans = generate(corpus, args.traces)
    size_mb = corpus.stat().st_size / 1e6
    print(
        f"corpus: {args.traces:,} traces, {spans:,} spans, {size_mb:,.0f} MB of OTLP JSON lines "
        f"(generated in {time.perf_counter() - t:.1f} s)"
    )
    done = subprocess.run(
        [sys.executable, __file__, "--_analyse", str(corpus), str(workdir / "top.csv")],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{'stage':32} {'seconds':>8}")
    for stage, seconds in result["timings"].items():
        print(f"{stage:32} {seconds:8.2f}")
    total = result["timings"]["total"]
    print(f"\nspans/s end to end: {spans / total:,.0f}; peak memory: {result['peak_mb']:,.0f} MB")
    print(f"top contributor: {result['top']}")
    print(
        f"target: <= 5 s and <= 2048 MB for 10,000 traces: "
        f"{'met' if total <= 5 and result['peak_mb'] <= 2048 else 'NOT met'}"
    )
    if not args.keep:
        for f in workdir.iterdir():
            f.unlink()
        workdir.rmdir()
    else:
        print(f"corpus kept in {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
