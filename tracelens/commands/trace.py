"""`tracelens trace ID|FILE`: one trace's critical path, its patterns, and what was repaired.

The waterfall lists the stretches of the critical path (report/waterfall.py); the detectors run on
the trace alone, with no baseline, so only rules that need none fire (an N+1 needs none). Clock
skew shifts and repaired problems are listed. `--json` gives the same for scripts, each finding
with its `pattern` name and span ids.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.text import Text

from tracelens.analysis import TraceAnalysis
from tracelens.commands.backend import config_defaults, open_from_args
from tracelens.commands.single import analyse, findings_of, route_name
from tracelens.errors import TracelensError
from tracelens.model import Trace
from tracelens.readers import read_traces
from tracelens.report import duration
from tracelens.report import waterfall as waterfall_report
from tracelens.report.safe import json_inert, visible
from tracelens.report.terminal import make_console, without_trailing_spaces
from tracelens.report.words import humanize
from tracelens.sources import RemoteSource


def _normal_id(text: str) -> str | None:
    tid = text.strip().lower()
    if not tid or len(tid) > 32 or any(ch not in "0123456789abcdef" for ch in tid):
        return None
    return tid.zfill(32)


def traces(args: argparse.Namespace) -> Iterator[Trace]:
    """The traces asked for: every trace of a file, or the one trace with the id in the source."""
    if Path(args.target).exists() or args.target == "-":
        yield from read_traces(args.target, [])
        return
    wanted = _normal_id(args.target)
    if wanted is None:
        raise TracelensError(f"{visible(args.target)!s} is neither a file nor a hex trace id")
    source = open_from_args(args, config_defaults(args, ("source",)))
    if isinstance(source, RemoteSource):
        fetched = source.fetch([wanted])
        yield from fetched.traces
        return
    yield from (t for t in source.traces() if t.trace_id.zfill(32) == wanted)


def document(a: TraceAnalysis) -> dict[str, Any]:
    """One trace for scripts: path, findings (pattern, span ids), shifts and problems."""
    tree = a.tree
    return {
        "trace_id": a.trace.trace_id,
        "route": route_name(a),
        "duration_ms": a.duration_ns / 1e6,
        "spans": len(tree.spans),
        "critical_path": [
            {
                "span_id": seg.span_id,
                "service": tree.span(seg.span_id).service,
                "operation": tree.span(seg.span_id).name,
                "start_ms": (seg.start_ns - tree.root_span.start_ns) / 1e6,
                "on_path_ms": (seg.end_ns - seg.start_ns) / 1e6,
            }
            for seg in a.path
        ],
        "findings": [
            {
                "pattern": f.pattern,
                "service": f.service,
                "operation": f.operation,
                "span_ids": list(f.span_ids),
                "saving_ms": f.saving_ns / 1e6,
                "summary": f.summary,
            }
            for f in findings_of(a)
        ],
        "clock_shifts": [
            {"span_id": s.span_id, "service": s.service, "shift_ms": s.shift_ns / 1e6}
            for s in tree.shifts
        ],
        "problems": [
            {"kind": str(p.kind), "span_id": p.span_id, "detail": p.detail} for p in tree.problems
        ],
    }


def run(args: argparse.Namespace) -> int:
    found = [analyse(t) for t in traces(args)]
    if not found:
        raise TracelensError(f"trace {visible(args.target)} was not found")
    if args.json:
        docs = [document(a) for a in found]
        text = json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, ensure_ascii=False)
        sys.stdout.write(json_inert(text) + "\n")
        return 0
    console = make_console(sys.stdout)
    with console.capture() as captured:
        for a in found:
            waterfall_report.render(a.tree, a.path, console)
            findings = findings_of(a)
            console.print(Text(f"patterns found ({len(findings)})", style="bold"))
            for f in findings:
                saves = f" (fixing it saves {duration(f.saving_ns)})" if f.saving_ns else ""
                console.print(Text(f"  • {humanize(f.summary)}{saves}"))
            if not findings:
                console.print(Text("  none without a baseline; `slowest` compares with one"))
            console.print()
    sys.stdout.write(without_trailing_spaces(captured.get()))
    return 0
