"""One trace's whole story, the record of the map step: `analyze_trace(trace) -> TraceAnalysis`.

    analysis = analyze_trace(trace)
    analysis.path            # segments tiling the root
    analysis.route           # (route name, entry span), as routes.route_of names it
    analysis.facts           # per-span figures for the baseline, detectors and attribution

Everything later stages need from one trace is computed here, once, and travels with the analysis:
the stages pass it along instead of caching figures behind each other's backs. `facts` is left
out (`with_facts=False`) for traces the run will not analyse further (another route, outside the
window), and `facts_of` computes it for an analysis made without.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracelens.critical_path import critical_path
from tracelens.facts import TraceFacts, trace_facts
from tracelens.graph import SpanTree, build_tree
from tracelens.model import Finding, Segment, Span, Trace
from tracelens.routes import route_of


@dataclass(frozen=True, slots=True)
class TraceAnalysis:
    trace: Trace
    tree: SpanTree
    path: tuple[Segment, ...]
    route: tuple[str, Span]
    facts: TraceFacts | None = None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def duration_ns(self) -> int:
        root = self.tree.root_span
        return root.end_ns - root.start_ns


def analyze_trace(trace: Trace, *, with_facts: bool = True) -> TraceAnalysis:
    """Trace -> SpanTree -> critical path -> route and facts (findings come once a baseline
    exists)."""
    tree = build_tree(trace)
    path = critical_path(tree)
    return TraceAnalysis(
        trace=trace,
        tree=tree,
        path=path,
        route=route_of(tree),
        facts=trace_facts(tree, path) if with_facts else None,
    )


def facts_of(analysis: TraceAnalysis) -> TraceFacts:
    """The analysis's facts, computed now if it was made without them."""
    return (
        analysis.facts if analysis.facts is not None else trace_facts(analysis.tree, analysis.path)
    )
