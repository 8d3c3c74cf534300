"""`tracelens critical-path FILE`: each trace's critical path, as a waterfall or JSON lines."""

from __future__ import annotations

import argparse
import sys

import msgspec
from rich.console import Console

from tracelens.critical_path import critical_path
from tracelens.errors import TracelensError
from tracelens.graph import build_tree
from tracelens.model import ReadIssue
from tracelens.readers import read_traces
from tracelens.report import waterfall


def _normal_trace_id(text: str) -> str:
    tid = text.strip().lower()
    if not tid or len(tid) > 32 or any(ch not in "0123456789abcdef" for ch in tid):
        raise TracelensError(f"--trace-id {text!r} is not a hex trace id")
    return tid.zfill(32)


def run(args: argparse.Namespace) -> int:
    wanted = _normal_trace_id(args.trace_id) if args.trace_id else None
    issues: list[ReadIssue] = []
    out = sys.stdout
    console = Console(file=out, highlight=False, emoji=False) if args.format == "table" else None
    encode = msgspec.json.Encoder().encode
    found = False
    for trace in read_traces(args.file, issues):
        if wanted is not None and trace.trace_id.zfill(32) != wanted:
            continue
        found = True
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
    if issues:
        shown = "; ".join(f"{i.origin}: {i.message}" for i in issues[:3])
        more = f"; and {len(issues) - 3} more" if len(issues) > 3 else ""
        Console(stderr=True, highlight=False, emoji=False).print(
            f"skipped {len(issues)} traces: {shown}{more}", markup=False, soft_wrap=True
        )
    if wanted is not None and not found:
        raise TracelensError(f"trace {args.trace_id} is not in {args.file}")
    return 0
