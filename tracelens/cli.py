"""The `tracelens` command: argparse in front of the pipeline; `main(argv) -> int`.

Exit codes: 0 ok, 1 a problem the user can fix (one line, no traceback), 2 usage, 3 the route's
p90 breaks `--slo` under `--fail-on-slo`, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn, cast

from rich.console import Console
from rich.markup import escape

from tracelens import __version__
from tracelens.bands import BANDS
from tracelens.commands.backend import add_source_options
from tracelens.commands.options import (
    baseline_percentile,
    percentile,
    positive_int,
    resamples,
    web_url,
    whole_number,
)
from tracelens.errors import TracelensError
from tracelens.interrupts import Terminated, deferred_interrupts, terminate
from tracelens.report.safe import visible

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line: the problem, then where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tracelens",
        description="Why is p90 slow, and what do we fix first? Critical-path analysis of traces.",
    )
    parser.add_argument("--version", action="version", version=f"tracelens {__version__}")
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(
            dest="command", required=True, metavar="COMMAND", parser_class=_Parser
        ),
    )
    _add_critical_path(sub)
    _add_slowest(sub)
    _add_demo(sub)
    _add_export(sub)
    _add_routes(sub)
    _add_trace(sub)
    _add_graph(sub)
    return parser


# --- routes and trace ----------------------------------------------------------------------
def _add_routes(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "routes",
        help="list the routes in the window with request counts and p50/p90/p99",
        description="Each route (the page `slowest --route` explains) with its request count and "
        "p50/p90/p99, slowest p90 first; routes over --slo are marked.",
    )
    add_source_options(p)
    _add_window(p)
    p.add_argument("--slo", help="latency objective for p90, e.g. 3s: routes over it are marked")
    p.add_argument("--sort", choices=("p90", "count"), default="p90", help="(default p90)")
    p.set_defaults(run=_run_routes)


def _run_routes(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.routes import run
    return run(args)


def _add_trace(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "trace",
        help="show one trace: its critical path, the patterns in it, clock-skew repairs",
        description="One trace's critical path as a waterfall, the patterns the detectors find "
        "in it alone (those that need no baseline, such as N+1), and every clock-skew shift and "
        "repair applied. TARGET is a trace id in --source (default the local store) or a file.",
    )
    p.add_argument("target", metavar="ID|FILE", help="hex trace id, or a trace file")
    add_source_options(p)
    p.add_argument("--json", action="store_true", help="the same as JSON, for scripts")
    p.set_defaults(run=_run_trace)


def _run_trace(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.trace import run
    return run(args)


# --- graph ---------------------------------------------------------------------------------
def _add_graph(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "graph",
        help="show a route's call graph, weighted by critical-path time in slow vs baseline",
        description="The route's calls between services and operations, as the span trees nest "
        "them, with the critical-path time per request each call holds in slow requests (p90 "
        "and above) and baseline requests (the median and below, or another window): a tree "
        "in the terminal, hottest branches first; --dot and --graphml write the call graph.",
    )
    p.add_argument("--route", "-r", help="page to draw (as for slowest)")
    add_source_options(p)
    _add_sets(p)
    _add_window(p, before_after=True)
    p.add_argument("--dot", metavar="FILE", help="write the call graph as Graphviz DOT")
    p.add_argument("--graphml", metavar="FILE", help="write the call graph as GraphML")
    p.add_argument("--json", action="store_true", help="print JSON instead of the tree")
    p.add_argument("--seed", type=whole_number, default=0, help="sampling seed for backends (0)")
    p.set_defaults(run=_run_graph)


def _run_graph(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.graph import run
    return run(args)


# --- critical-path -------------------------------------------------------------------------
def _add_critical_path(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "critical-path",
        help="print the critical path of each trace in a file",
        description="Build each trace's span tree (clock skew between hosts undone, orphans "
        "attached) and print its critical path: the chain of work that decided when the trace "
        "finished, as the Jaeger UI computes it.",
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="trace file or directory (Jaeger JSON, OTLP JSON / JSON lines, Zipkin v2; .gz too), "
        "or - for stdin",
    )
    p.add_argument(
        "--trace-id",
        metavar="ID",
        help="only this trace (hex; short ids are left-padded with zeros)",
    )
    p.add_argument(
        "--format",
        choices=("table", "jsonl"),
        default="table",
        help="table: a waterfall per trace (default); jsonl: one JSON object per segment with "
        "traceID, spanID, service, operation, start_us, end_us",
    )
    _add_max_spans(p)
    p.set_defaults(run=_run_critical_path)


def _run_critical_path(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.critical_path import run
    return run(args)


# --- slowest -------------------------------------------------------------------------------
def _add_slowest(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "slowest",
        help="explain what makes a route's slow requests slow, ranked by share of the p90 excess",
        description="Compare the route's slow requests (p90 and above) with its baseline requests "
        "(the median and below, or another window) and rank what lies on their critical paths.",
    )
    p.add_argument(
        "--route",
        "-r",
        help="page to explain: substring of http.route, URL template, "
        "GraphQL operation or span name; a leading / means the exact route",
    )
    add_source_options(p)
    _add_sets(p)
    _add_window(p, before_after=True)
    p.add_argument("--slo", help="latency objective for p90, e.g. 3s")
    p.add_argument("--fail-on-slo", action="store_true", help="exit 3 when p90 breaks --slo")
    p.add_argument("--top", type=positive_int, default=10, help="contributors to show (10)")
    p.add_argument(
        "--csv", metavar="FILE", help="write the ranked contributors as CSV (- for stdout)"
    )
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown report for write-ups")
    p.add_argument(
        "--html",
        metavar="FILE",
        help="write one self-contained HTML page: histogram, contributors, waterfalls",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the terminal report")
    p.add_argument(
        "--verbose",
        "--all",
        action="store_true",
        help="show everything: every contributor, the histogram, the evidence, a p90 trace's "
        "critical path and the method (default: the summary and the top contributors)",
    )
    p.add_argument(
        "--jaeger-ui", type=web_url, metavar="URL", help="Jaeger UI base URL for trace links"
    )
    p.add_argument(
        "--grafana-url", type=web_url, metavar="URL", help="Grafana base URL for Tempo trace links"
    )
    p.add_argument("--seed", type=whole_number, default=0, help="bootstrap seed (0)")
    p.add_argument(
        "--resamples", type=resamples, default=2000, help="bootstrap resamples (2000; 100 or more)"
    )
    _add_jobs(p)
    _add_max_spans(p)
    _add_budget(p)
    p.set_defaults(run=_run_slowest)


def _add_window(p: argparse.ArgumentParser, *, before_after: bool = False) -> None:
    """The request window (commands/slowest.py `windows` reads it), and the baseline window of
    before/after mode where the command compares two windows."""
    p.add_argument("--since", help="only requests newer than this age, e.g. 1h")
    p.add_argument("--start", help="window start: ISO 8601, Unix seconds or an age")
    p.add_argument("--end", help="window end: ISO 8601, Unix seconds or an age")
    if not before_after:
        p.set_defaults(
            baseline_start=None, baseline_end=None, baseline_since=None, baseline_band=None
        )
        return
    p.add_argument("--baseline-start", help="before/after mode: baseline window start")
    p.add_argument("--baseline-end", help="before/after mode: baseline window end")
    p.add_argument(
        "--baseline-since",
        help="before/after mode: baseline from this age up to "
        "the start of the current window, e.g. 2h with --since 1h",
    )
    p.add_argument(
        "--baseline-band",
        choices=BANDS,
        help="before/after mode: which requests of the baseline window to compare with: those "
        "in the slow set's band (same, the default: p90+ before vs p90+ now), those at or below "
        "--baseline (typical), or all",
    )


def _add_sets(p: argparse.ArgumentParser) -> None:
    """The slow set's and the baseline's percentiles."""
    p.add_argument("--percentile", type=percentile, default=90.0, help="slow set: at or above (90)")
    p.add_argument(
        "--baseline", type=baseline_percentile, default=50.0, help="baseline: at or below (50)"
    )


def _add_budget(p: argparse.ArgumentParser) -> None:
    from tracelens.budget import MAX_SPANS

    p.add_argument(
        "--max-spans",
        type=positive_int,
        default=MAX_SPANS,
        metavar="N",
        help=f"hold at most this many spans of analysed traces (default {MAX_SPANS:,}, about 2 GB;"
        " a trace counts 8 more): past it, a uniform sample of the traces, chosen by trace id,"
        " is analysed and the report says which share",
    )


def _add_max_spans(p: argparse.ArgumentParser) -> None:
    from tracelens.budget import MAX_SPANS_PER_TRACE

    p.add_argument(
        "--max-spans-per-trace",
        type=positive_int,
        default=MAX_SPANS_PER_TRACE,
        metavar="N",
        help=f"leave out (and count) a trace with more spans (default {MAX_SPANS_PER_TRACE:,})",
    )


def _add_jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        metavar="N",
        help="worker processes for reading and analysing traces (default: all cores)",
    )


def _run_slowest(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.slowest import run
    return run(args)


def _add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write a route's traces (slow set and baseline sample) as OTLP JSON lines",
        description="Fetch what `slowest` would analyse (or, with --all, every request listed) "
        "and write it as OTLP JSON lines, gzip when FILE ends in .gz, to attach to a write-up "
        "and analyse again offline with `slowest --source FILE`.",
    )
    p.add_argument("--route", "-r", help="page to export (as for slowest)")
    add_source_options(p)
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="file to write")
    p.add_argument("--all", action="store_true", help="every listed request, not a sample")
    _add_window(p)
    _add_sets(p)
    p.add_argument("--seed", type=whole_number, default=0, help="sampling seed (0), as for slowest")
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.export import run
    return run(args)


# --- demo ----------------------------------------------------------------------------------
def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tracelens.demo import INJECTIONS

    p = sub.add_parser(
        "demo",
        help="simulate the slow result page and store its traces",
        description=(
            "Simulate a symptom-checker site (CDN, Istio, Next.js, a GraphQL BFF, Python APIs, "
            "postgres, cluster DNS) and emit its traces with the OpenTelemetry SDK: by default "
            "into the local store, where `tracelens slowest --route result` finds them."
        ),
    )
    state = p.add_mutually_exclusive_group()
    state.add_argument(
        "--incident",
        dest="fixed",
        action="store_false",
        help="DataLoader not batching and 5 s DNS timeouts: result p90 near 15 s (default)",
    )
    state.add_argument(
        "--fixed", dest="fixed", action="store_true", help="both repaired: result p90 near 2 s"
    )
    p.add_argument(
        "--inject",
        type=_injections(INJECTIONS),
        default=frozenset(),
        metavar="CAUSE,...",
        help=f"add causes to the result page: {','.join(INJECTIONS)}",
    )
    p.add_argument("--requests", type=positive_int, default=300, metavar="N", help="(default 300)")
    p.add_argument("--seed", type=int, default=1, help="same seed, same traces (default 1)")
    p.add_argument(
        "--resolver-spans",
        action="store_true",
        help="emit GraphQL data-fetcher spans, as the Java agent does when they are enabled",
    )
    p.add_argument(
        "--out", metavar="FILE", help="write OTLP JSON lines to FILE instead of the store"
    )
    p.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="export to an OTLP receiver (Jaeger, Tempo, a collector), e.g. http://localhost:4318",
    )
    p.add_argument(
        "--otlp-protocol",
        choices=("http/protobuf", "grpc"),
        default="http/protobuf",
        help="(default http/protobuf; grpc usually listens on :4317)",
    )
    p.add_argument(
        "--append", action="store_true", help="keep earlier traces in the store (default: replace)"
    )
    p.set_defaults(run=_run_demo, fixed=False)


def _injections(known: Sequence[str]) -> Callable[[str], frozenset[str]]:
    def parse(text: str) -> frozenset[str]:
        names = frozenset(n.strip() for n in text.split(",") if n.strip())
        unknown = sorted(names - set(known))
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown cause {', '.join(unknown)}; choose from {','.join(known)}"
            )
        return names

    return parse


def _run_demo(args: argparse.Namespace) -> int:
    with deferred_interrupts():
        from tracelens.commands.demo import run
    return run(args)


def _stopped(e: KeyboardInterrupt, stderr: Console) -> int:
    """The exit code of a run stopped by Ctrl-C or SIGTERM, said in one word."""
    code = 143 if isinstance(e, Terminated) else 130  # 128 + SIGTERM or SIGINT
    stderr.print("terminated" if code == 143 else "interrupted", soft_wrap=True)
    if threading.active_count() > 1:
        # Fetch threads may sit in a read for up to --timeout; nothing is left half-written
        # (cache entries and output files are renamed into place), so leave at once.
        sys.stdout.flush()
        os._exit(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    stderr = Console(stderr=True, highlight=False, emoji=False)
    try:
        with deferred_interrupts():  # building the parser imports the options' modules
            args = build_parser().parse_args(argv)
    except KeyboardInterrupt as e:
        return _stopped(e, stderr)
    run: Command = args.run
    on_term = None
    if threading.current_thread() is threading.main_thread():
        on_term = signal.signal(signal.SIGTERM, terminate)
    try:
        return run(args)
    except TracelensError as e:
        # messages quote input (names, paths, ids): never let it drive the terminal
        stderr.print(f"[red]error:[/] {escape(visible(e))}", markup=True, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt as e:
        return _stopped(e, stderr)
    except BrokenPipeError:
        # `tracelens ... | head`: the reader has gone, so stop quietly as Unix tools do; stdout
        # goes to /dev/null so the interpreter's last flush cannot fail again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if on_term is not None:  # main() called from a program or a test: leave it as it was
            signal.signal(signal.SIGTERM, on_term)
