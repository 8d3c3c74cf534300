"""Hostile inputs of issue #10, measured: time, peak memory and exit of each run, never a crash.

    python bench/hostile.py [--spans 1000000] [--gzip-gib 1.0] [--timeout 600]

Writes, under a temporary directory:
- a single trace of --spans spans (one OTLP JSON line: a root, 1,000 calls, their children);
- one 100 MB line (a Jaeger trace whose spans carry long attribute values);
- a gzip file that inflates to --gzip-gib GiB of JSON lines (distinct small traces);
and runs `tracelens critical-path --format jsonl` and `tracelens slowest` on each in a fresh
process, printing seconds, peak RSS (GNU time's maximum resident set) and the exit code with
the last line of stderr. Every run must end with exit 0, 1 or 2, no traceback, within the timeout.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T0_NS = 1_760_000_000 * 10**9


def _span(
    tid: str, sid: int, parent: int | None, start: int, end: int, name: str
) -> dict[str, object]:
    span = {
        "traceId": tid,
        "spanId": f"{sid:016x}",
        "name": name,
        "kind": 3 if parent else 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
    }
    if parent is not None:
        span["parentSpanId"] = f"{parent:016x}"
    return span


def _otlp_line(tid: str, spans: list[dict[str, object]]) -> bytes:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [{"spans": spans}],
            }
        ]
    }
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def huge_trace(path: Path, spans: int) -> None:
    """One trace: a root, 1,000 sequential calls, the rest spread as their children."""
    tid = "ab" * 16
    calls = 1000
    per_call = max(0, (spans - 1 - calls) // calls)
    out = [_span(tid, 1, None, T0_NS, T0_NS + calls * 10**6, "GET /huge")]
    sid = 2
    for c in range(calls):
        start = T0_NS + c * 10**6
        call = sid
        out.append(_span(tid, call, 1, start, start + 900_000, "GET /item"))
        sid += 1
        for k in range(per_call):
            out.append(_span(tid, sid, call, start + k, start + k + 100, "SELECT"))
            sid += 1
    path.write_bytes(_otlp_line(tid, out))


def long_line(path: Path, target_bytes: int = 100 * 10**6) -> None:
    """One Jaeger trace on one line of about `target_bytes`: spans with long tag values."""
    tid = "cd" * 16
    filler = "x" * 4000
    n = target_bytes // 4300
    spans = [
        {
            "traceID": tid,
            "spanID": f"{i + 1:016x}",
            "operationName": "GET /long" if i == 0 else "work",
            "references": []
            if i == 0
            else [{"refType": "CHILD_OF", "traceID": tid, "spanID": f"{1:016x}"}],
            "startTime": T0_NS // 1000 + i,
            "duration": 10 if i else n + 10,
            "tags": [{"key": "note", "type": "string", "value": filler}],
            "processID": "p1",
        }
        for i in range(n)
    ]
    doc = {"traceID": tid, "spans": spans, "processes": {"p1": {"serviceName": "svc"}}}
    path.write_bytes(json.dumps(doc, separators=(",", ":")).encode() + b"\n")


def gzip_of_lines(path: Path, gib: float) -> None:
    """A gzip file inflating to `gib` GiB of JSON lines, one small distinct trace per line."""
    target = int(gib * (1 << 30))
    written = 0
    n = 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        while written < target:
            block = []
            for _ in range(1000):
                tid = f"{n:032x}"
                start = T0_NS + n * 10**6
                block.append(
                    _otlp_line(
                        tid,
                        [
                            _span(tid, 1, None, start, start + 5 * 10**6, "GET /bomb"),
                            _span(tid, 2, 1, start + 10**6, start + 4 * 10**6, "SELECT"),
                        ],
                    )
                )
                n += 1
            data = b"".join(block)
            out.write(data)
            written += len(data)


def run(argv: list[str], timeout_s: float) -> tuple[float, float, str, str]:
    """(seconds, 0 (no peak known), exit, last stderr line) of one fresh process."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return time.perf_counter() - began, 0.0, "HANG", ""
    seconds = time.perf_counter() - began
    text = err.decode("utf-8", "replace").strip()
    last = text.splitlines()[-1] if text else ""
    if "Traceback" in text:
        last = "TRACEBACK " + last
    return seconds, 0.0, str(proc.returncode), last[:110]


def measured(argv: list[str], timeout_s: float) -> tuple[float, float, str, str]:
    """`run`, with peak RSS from GNU time when it is there."""
    if Path("/usr/bin/time").exists():
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
            seconds, _, code, last = run(
                ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv], timeout_s
            )
            text = Path(rss.name).read_text().strip().splitlines()
            peak = float(text[-1]) / 1024 if text and text[-1].isdigit() else 0.0
            return seconds, peak, code, last
    return run(argv, timeout_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--gzip-gib", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tracelens-hostile-"))
    inputs = {
        f"one trace of {args.spans:,} spans": (
            work / "huge.jsonl",
            lambda p: huge_trace(p, args.spans),
        ),
        "one 100 MB line": (work / "long.json", long_line),
        f"gzip inflating to {args.gzip_gib:g} GiB of lines": (
            work / "bomb.jsonl.gz",
            lambda p: gzip_of_lines(p, args.gzip_gib),
        ),
    }
    tl = [sys.executable, "-m", "tracelens"]
    print(f"{'input':38} {'command':14} {'s':>7} {'peak MB':>8} {'exit':>5}  last line of stderr")
    for label, (path, make) in inputs.items():
        make(path)
        size = path.stat().st_size / 1e6
        for name, argv in (
            ("critical-path", [*tl, "critical-path", "--format", "jsonl", str(path)]),
            ("slowest", [*tl, "slowest", "--source", str(path), "--jobs", "1"]),
        ):
            seconds, peak, code, last = measured(argv, args.timeout)
            print(f"{label[:38]:38} {name:14} {seconds:7.1f} {peak:8.0f} {code:>5}  {last}")
        print(f"{'':38} (file: {size:,.0f} MB)")
        path.unlink()
    work.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
