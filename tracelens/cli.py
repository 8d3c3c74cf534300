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
    """Owned by the explain work (pipeline/attribution/report)."""


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
