"""How `tracelens slowest` scales over a Parquet span archive: the local engine and Dask.

    python bench/scale.py [--spans 5000000] [--buckets 16] [--runs local1,local2,dask1,dask2]

Builds (once, cached under /tmp) an archive of at least --spans spans from bench/slowest.py's
generator (one route, about 75 spans a request, 15% with an N+1, 5% with a slow query), written
by `write_archive` into --buckets files. Then, each in its own process, it explains the route:

- local1, local2: the local engine (`jobs=1`, `jobs=2`);
- dask1, dask2: `--engine dask` on a LocalCluster of 1 and 2 worker processes (its start-up is
  timed apart: a standing cluster does not pay it).

For each: seconds from the call to the report, spans/s, the seconds of the map stage (read + tree
+ critical path) and of the rest (reductions, on the client), peak memory (the process tree's
PSS; for Dask also each worker's own peak RSS), and for Dask the bytes that came back to the
client. Every run's contributors CSV must be identical. Last, from the measured per-file cost of
the map on one worker and the client-side cost per trace, an estimate of the cluster that would
answer a billion spans in a minute.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import Measurement, load_average, peak_rss_kb, run_measured
from bench.slowest import request

CACHE = Path(tempfile.gettempdir()) / "tracelens-bench-scale"
ARCHIVE_VERSION = 1  # bump when the generator or the archive format changes
RUNS = ("local1", "local2", "dask1", "dask2")
BILLION = 1_000_000_000
MINUTE_S = 60.0


def generated(spans: int, seed: int) -> Iterator[Any]:
    """Traces of bench/slowest.py's shape until `spans` spans have been made."""
    from tracelens.model import Span, SpanKind, Trace

    rng = random.Random(seed)
    made = i = 0
    while made < spans:
        trace_id, raw = request(i, rng)
        yield Trace(
            trace_id,
            tuple(
                Span(
                    trace_id,
                    sid,
                    parent,
                    service,
                    name,
                    SpanKind(kind),
                    start,
                    end,
                    attributes=attrs,
                    process=f"{service}-0",
                )
                for sid, parent, service, name, kind, start, end, attrs in raw
            ),
        )
        made += len(raw)
        i += 1


def archive(spans: int, buckets: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The archive directory (built once and cached) and what it holds."""
    from tracelens.sources.archive import write_archive

    root = CACHE / f"v{ARCHIVE_VERSION}-{spans}-{buckets}-{seed}"
    info_path = root / "bench.json"
    if info_path.exists():
        return root / "archive", json.loads(info_path.read_text())
    CACHE.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=CACHE))
    began = time.perf_counter()
    written = write_archive(generated(spans, seed), str(tmp / "archive"), buckets=buckets)
    info = {
        "traces": written.traces,
        "spans": written.spans,
        "files": len(written.files),
        "row_groups": sum(f.row_groups for f in written.files),
        "mb": sum(p.stat().st_size for p in (tmp / "archive").rglob("*.parquet")) / 2**20,
        "write_s": time.perf_counter() - began,
    }
    # Paths inside the manifest are relative: the directory can be renamed into place.
    (tmp / "bench.json").write_text(json.dumps(info))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root / "archive", info


# --- children ----------------------------------------------------------------------------------


def _worker_peak_mb() -> float:
    return peak_rss_kb() / 1024


def child(kind: str, workers: int, path: str) -> dict[str, Any]:
    from tracelens.budget import UNBOUNDED
    from tracelens.pipeline import slowest
    from tracelens.report import csv as csv_report

    timings: dict[str, float] = {}
    result: dict[str, Any] = {}
    if kind == "local":
        started = time.perf_counter()
        # Every trace, as on Dask: the comparison is of engines, not of samples (--max-spans).
        report = slowest(path, route="result", timings=timings, jobs=workers, max_spans=UNBOUNDED)
    else:
        from tracelens.engine_dask import DaskEngine

        began = time.perf_counter()
        engine = DaskEngine(workers=workers)
        result["cluster_start_s"] = time.perf_counter() - began
        started = time.perf_counter()
        report = slowest(path, route="result", timings=timings, engine=engine, max_spans=UNBOUNDED)
        seconds = time.perf_counter() - started
        result["received_bytes"] = engine.received_bytes
        result["tasks"] = engine.tasks
        result["worker_peak_mb"] = sorted(engine.client.run(_worker_peak_mb).values())
        engine.close()
    if kind == "local":
        seconds = time.perf_counter() - started
    from io import StringIO

    out = StringIO()
    csv_report.render(report, out)
    result.update(
        seconds=seconds,
        timings=timings,
        traces=report.stats.count,
        csv_sha=hashlib.sha256(out.getvalue().encode()).hexdigest(),
        maxrss_mb=peak_rss_kb() / 1024,
    )
    return result


# --- the run -----------------------------------------------------------------------------------


def _mb(m: Measurement) -> str:
    return f"{m.peak_mb:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=5_000_000)
    parser.add_argument("--buckets", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        kind, workers, path = args._child
        print(json.dumps(child(kind, int(workers), path)))
        return

    path, info = archive(args.spans, args.buckets, args.seed)
    print(
        f"archive: {info['traces']:,} traces, {info['spans']:,} spans in {info['files']} files, "
        f"{info['row_groups']} row groups, {info['mb']:.0f} MB ({path}; written in "
        f"{info['write_s']:.0f} s)"
    )
    me = [sys.executable, str(Path(__file__).resolve()), "--_child"]
    measured: dict[str, Measurement] = {}
    for run in args.runs.split(","):
        kind = run.rstrip("0123456789")
        workers = int(run.removeprefix(kind))
        m = run_measured([*me, kind, str(workers), str(path)], what=run)
        measured[run] = m
        r = m.result
        t = r["timings"]
        map_s = t.get("read + tree + critical path", 0.0)
        line = (
            f"{run:7} {r['seconds']:7.1f} s  {info['spans'] / r['seconds']:>9,.0f} spans/s  "
            f"map {map_s:6.1f} s  rest {r['seconds'] - map_s:5.1f} s  peak {_mb(m)}"
        )
        if kind == "dask":
            peaks = ", ".join(f"{p:,.0f}" for p in r["worker_peak_mb"])
            line += (
                f"  workers' peak RSS {peaks} MB  to client {r['received_bytes'] / 2**20:.1f} MB"
                f" ({r['received_bytes'] / info['traces']:.0f} B/trace)  cluster start "
                f"{r['cluster_start_s']:.1f} s"
            )
        print(line, f"(load {load_average()})", flush=True)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in t.items())
        print(f"        stages (s): {stages}", flush=True)
    answers = {m.result["csv_sha"] for m in measured.values()}
    print("same contributors CSV in every run:", "yes" if len(answers) == 1 else "NO")
    if "dask1" in measured:
        _estimate(measured["dask1"].result, info, measured.get("dask2"))


def _estimate(one: dict[str, Any], info: dict[str, Any], two: Measurement | None) -> None:
    """A billion spans in a minute, from the one-worker run's per-file and per-trace costs."""
    map_s = one["timings"]["read + tree + critical path"]
    per_file_s = map_s / info["files"]
    spans_per_file = info["spans"] / info["files"]
    rest_s = one["seconds"] - map_s  # reductions and steps' round trips, client side
    scale = BILLION / info["spans"]
    files = BILLION / spans_per_file
    map_cpu_s = files * per_file_s  # one worker's seconds for the whole map
    rest_billion_s = rest_s * scale  # grows with the records (traces), on one client
    bytes_billion = one["received_bytes"] * scale
    print(
        f"\nper file ({spans_per_file:,.0f} spans): {per_file_s:.2f} s of map on one worker; "
        f"client side {rest_s:.1f} s for {info['traces']:,} traces"
    )
    print(
        f"a billion spans: {files:,.0f} such files, {map_cpu_s / 3600:.1f} worker-hours of map "
        f"({map_cpu_s / MINUTE_S:,.0f} workers to map it in a minute); "
        f"{bytes_billion / 2**30:.1f} GB of records to the client; the client-side steps as "
        f"measured would take {rest_billion_s:,.0f} s"
    )
    if two is not None:
        speedup = one["seconds"] / two.result["seconds"]
        print(f"2 workers vs 1 on this 2-core machine: {speedup:.2f}x")


if __name__ == "__main__":
    main()
