"""`tracelens demo`: simulate the result-page incident and say where its traces went."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from tracelens.demo.run import DemoConfig, run_demo


def run(args: argparse.Namespace) -> int:
    result = run_demo(
        DemoConfig(
            requests=args.requests,
            seed=args.seed,
            fixed=args.fixed,
            inject=args.inject,
            resolver_spans=args.resolver_spans,
            out=args.out,
            otlp_endpoint=args.otlp_endpoint,
            otlp_protocol=args.otlp_protocol,
            append=args.append,
        )
    )

    def clock(t_ns: int) -> str:
        return dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    state = "fixed" if args.fixed else "incident"
    if args.inject:
        state += " + " + ",".join(sorted(args.inject))
    sys.stderr.write(
        f"tracelens demo ({state}, seed {args.seed}): {result.requests} requests, "
        f"{result.traces} traces, {result.spans} spans -> {'; '.join(result.destinations)}; "
        f"window {clock(result.start_ns)} to {clock(result.end_ns)} UTC\n"
    )
    if not (args.out or args.otlp_endpoint):
        sys.stderr.write("next: tracelens slowest --route result\n")
    return 0
