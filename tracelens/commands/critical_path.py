"""`tracelens critical-path FILE`: each trace's critical path, as a waterfall or JSON lines."""

from __future__ import annotations

import argparse
import sys

import msgspec
from rich.console import Console

from tracelens.critical_path import critical_path
from tracelens.errors import TracelensError
from tracelens.graph import build_tree
from tracelens.model import ReadIssue, Unit
from tracelens.readers import read_traces
from tracelens.readers.accounting import describe, tally
from tracelens.readers.ids import trace_id
from tracelens.report import waterfall
from tracelens.report.safe import visible
from tracelens.stages import TOO_MANY_SPANS


def _normal_trace_id(text: str) -> str:
    """The id as the readers normalise it: hex padded and lowercased, anything else as given."""
    if not text.strip():
        raise TracelensError("--trace-id is empty")
    return trace_id(text.strip())


def run(args: argparse.Namespace) -> int:
    wanted = _normal_trace_id(args.trace_id) if args.trace_id else None
    issues: list[ReadIssue] = []
    out = sys.stdout
    console = Console(file=out, highlight=False, emoji=False) if args.format == "table" else None
    encode = msgspec.json.Encoder().encode
    found = shown = 0
    for trace in read_traces(args.file, issues):
        if wanted is not None and trace.trace_id != wanted:
            continue
        found += 1
        if len(trace.spans) > args.max_spans_per_trace:
            issues.append(
                ReadIssue(
                    trace.origin or trace.trace_id,
                    f"trace {trace.trace_id} has {len(trace.spans):,} spans, more than "
                    f"--max-spans-per-trace {args.max_spans_per_trace:,}; left out",
                    Unit.TRACE,
                    reason=TOO_MANY_SPANS,
                )
            )
            continue
        shown += 1
        tree = build_tree(trace)
        path = critical_path(tree)
        if console is not None:
            waterfall.render(tree, path, console)
            continue
        tid = trace.trace_id
        lines = []
        for seg in path:
            sp = tree.span(seg.span_id)
            row = {
                "traceID": tid,
                "spanID": seg.span_id,
                "service": sp.service,
                "operation": sp.name,
                "start_us": seg.start_ns // 1000,
                "end_us": seg.end_ns // 1000,
            }
            lines.append(encode(row).decode())
        if lines:
            out.write("\n".join(lines) + "\n")
    left = describe(tally(issues))
    if wanted is not None and not found:
        raise TracelensError(f"trace {args.trace_id} is not in {args.file}")
    if not shown:
        what = f"left out {left}" if left else "it holds no traces"
        raise TracelensError(f"no trace of {args.file} could be analysed: {what}")
    if issues:
        first = "; ".join(f"{i.origin}: {i.message}" for i in issues[:3])
        more = f"; and {len(issues) - 3} more" if len(issues) > 3 else ""
        Console(stderr=True, highlight=False, emoji=False).print(
            f"left out {left} (first: {visible(first)}{more})", markup=False, soft_wrap=True
        )
    return 0
