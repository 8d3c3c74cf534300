"""How fast tracelens fetches traces from a backend: 1,000 traces from a loopback Tempo.

    python bench/fetch.py [--traces 1000] [--delay-ms 20] [--concurrency 8]

The server is the tests' Tempo (tests/fakes) in a process of its own, answering each request
after --delay-ms, as a distant backend would. Measured in one run, on the same traces: a first
fetch into an empty disk cache, and a second, cached one. Targets: the first within 1.5x the ideal
(traces x delay / concurrency), the cached one at least 20x faster than the first.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.encode import tempo_v2
from tests.fakes.tempo import FakeTempo
from tracelens.model import Span, SpanKind, Trace
from tracelens.sources.http import BackendOptions
from tracelens.sources.tempo import TempoSource

MS = 1_000_000


def trace(i: int, rng: random.Random, t0_ns: int) -> Trace:
    """A page request of about 30 spans: a server span with resolvers calling an API."""
    tid = f"{rng.getrandbits(128):032x}"
    root = f"{rng.getrandbits(64):016x}"
    start = t0_ns + i * 10 * MS
    spans = [
        Span(
            tid,
            root,
            None,
            "bff",
            "GET /result",
            SpanKind.SERVER,
            start,
            start + 400 * MS,
            attributes={"http.route": "/result"},
        ),
    ]
    at = start + MS
    for _ in range(rng.randint(10, 20)):
        client = f"{rng.getrandbits(64):016x}"
        server = f"{rng.getrandbits(64):016x}"
        spans.append(Span(tid, client, root, "bff", "GET", SpanKind.CLIENT, at, at + 10 * MS))
        spans.append(
            Span(
                tid, server, client, "api", "GET /items/{id}", SpanKind.SERVER, at + MS, at + 9 * MS
            )
        )
        at += 11 * MS
    return Trace(tid, tuple(spans))


def corpus(n: int, t0_ns: int) -> list[Trace]:
    rng = random.Random(7)
    return [trace(i, rng, t0_ns) for i in range(n)]


def serve(n: int, t0_ns: int, delay_s: float) -> None:
    """The server process: print the URL, serve until stdin closes.

    Responses are encoded before serving starts, as a backend's compiled server costs next to
    nothing per request beside the delay: what is measured is the client.
    """
    traces = corpus(n, t0_ns)
    raw = {
        f"/api/v2/traces/{t.trace_id}": (200, "application/json", json.dumps(tempo_v2(t)).encode())
        for t in traces
    }
    with FakeTempo(traces, delay_s=delay_s, raw=raw) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", type=int, metavar="T0_NS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.traces, args.serve, args.delay_ms / 1000)
        return
    t0 = time.time_ns() - 3600 * 10**9
    traces = corpus(args.traces, t0)
    ids = [t.trace_id for t in traces]
    ideal = args.traces * args.delay_ms / 1000 / args.concurrency
    command = [sys.executable, __file__, "--serve", str(t0), "--traces", str(args.traces)]
    command += ["--delay-ms", str(args.delay_ms)]
    with (
        tempfile.TemporaryDirectory() as cache,
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as srv,
    ):
        assert srv.stdout is not None
        assert srv.stdin is not None
        url = srv.stdout.readline().strip()
        options = BackendOptions(concurrency=args.concurrency, cache_dir=cache)
        source = TempoSource(f"tempo+{url}", options)
        began = time.perf_counter()
        first = source.fetch(ids)
        cold = time.perf_counter() - began
        began = time.perf_counter()
        second = source.fetch(ids)
        warm = time.perf_counter() - began
        srv.stdin.close()
    assert len(first.traces) == len(second.traces) == args.traces, (first.failed, second.failed)
    assert second.cached == args.traces
    spans = sum(len(t.spans) for t in traces)
    print(
        f"{args.traces:,} traces ({spans:,} spans), {args.delay_ms:g} ms per request, "
        f"concurrency {args.concurrency}, server in its own process"
    )
    print(f"ideal (traces x delay / concurrency): {ideal:.2f} s")
    print(f"first fetch:  {cold:.2f} s = {cold / ideal:.2f}x the ideal (target <= 1.5x)")
    print(f"cached fetch: {warm:.3f} s = {cold / warm:.0f}x faster than the first (target >= 20x)")


if __name__ == "__main__":
    main()
