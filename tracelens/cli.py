"""The `tracelens` command: argparse in front of the pipeline; `main(argv) -> int`.

Exit codes: 0 ok, 1 a problem the user can fix (one line, no traceback), 2 usage, 3 the route's
p90 breaks `--slo` under `--fail-on-slo`, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rich.console import Console

from tracelens import __version__
from tracelens.errors import TracelensError

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracelens",
        description="Why is p90 slow, and what do we fix first? Critical-path analysis of traces.",
    )
    parser.add_argument("--version", action="version", version=f"tracelens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_critical_path(sub)
    _add_slowest(sub)
    _add_demo(sub)
    return parser


# --- critical-path -------------------------------------------------------------------------
def _add_critical_path(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Owned by the foundation work (graph/critical path)."""


# --- slowest -------------------------------------------------------------------------------
def _add_slowest(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "slowest",
        help="explain what makes a route's slow requests slow, ranked by share of the p90 excess",
        description="Compare the route's slow requests (p90 and above) with its baseline requests "
        "(the median and below, or another window) and rank what lies on their critical paths.",
    )
    p.add_argument("--route", "-r", help="page to explain: substring of http.route, URL template, "
                   "GraphQL operation or span name; a leading / means the exact route")
    p.add_argument("--source", "-s", help="trace file, directory or - (stdin); default: "
                   "$TRACELENS_SOURCE, then the local store filled by `tracelens demo`")
    p.add_argument("--percentile", type=float, default=90.0, help="slow set: at or above (90)")
    p.add_argument("--baseline", type=float, default=50.0, help="baseline: at or below (50)")
    p.add_argument("--since", help="only requests newer than this age, e.g. 1h")
    p.add_argument("--start", help="window start: ISO 8601, Unix seconds or an age")
    p.add_argument("--end", help="window end: ISO 8601, Unix seconds or an age")
    p.add_argument("--baseline-start", help="before/after mode: baseline window start")
    p.add_argument("--baseline-end", help="before/after mode: baseline window end")
    p.add_argument("--baseline-since", help="before/after mode: baseline from this age up to "
                   "the start of the current window, e.g. 2h with --since 1h")
    p.add_argument("--slo", help="latency objective for p90, e.g. 3s")
    p.add_argument("--fail-on-slo", action="store_true", help="exit 3 when p90 breaks --slo")
    p.add_argument("--top", type=int, default=10, help="contributors to show (10)")
    p.add_argument("--csv", metavar="FILE", help="write the ranked contributors as CSV")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown report for write-ups")
    p.add_argument("--json", action="store_true", help="print JSON instead of the terminal report")
    p.add_argument("--jaeger-ui", metavar="URL", help="Jaeger UI base URL for trace links")
    p.add_argument("--grafana-url", metavar="URL", help="Grafana base URL for Tempo trace links")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (2000)")
    p.set_defaults(run=_run_slowest)


def _run_slowest(args: argparse.Namespace) -> int:
    from tracelens.commands.slowest import run

    return run(args)


# --- demo ----------------------------------------------------------------------------------
def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Owned by the demo work (demo/store)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stderr = Console(stderr=True, highlight=False)
    run: Command = args.run
    try:
        return run(args)
    except TracelensError as e:
        stderr.print(f"[red]error:[/] {e}", markup=True, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
