"""One trace's whole story: `analyze_trace(trace)` builds its tree and critical path.

analysis = analyze_trace(trace)
analysis.path            # segments tiling the root
analysis.on_path_ns      # span id -> critical-path nanoseconds held by that span
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tracelens.critical_path import critical_path, time_on_path
from tracelens.graph import SpanTree, build_tree
from tracelens.model import Finding, Segment, Trace


@dataclass(frozen=True, slots=True)
class TraceAnalysis:
    trace: Trace
    tree: SpanTree
    path: tuple[Segment, ...]
    on_path_ns: Mapping[str, int]
    findings: tuple[Finding, ...] = field(default=())

    @property
    def duration_ns(self) -> int:
        root = self.tree.root_span
        return root.end_ns - root.start_ns


def analyze_trace(trace: Trace) -> TraceAnalysis:
    """Trace -> SpanTree -> critical path (findings are added later, once a baseline exists)."""
    tree = build_tree(trace)
    path = critical_path(tree)
    return TraceAnalysis(trace=trace, tree=tree, path=path, on_path_ns=time_on_path(path))
