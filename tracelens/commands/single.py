"""The core as `routes`, `trace` and `graph` use it: one module to adapt when the core changes.

analyses(source, window)            # every trace of a source, analysed (tree, critical path)
route_name(analysis)                # "service: GET /result/[id]"
findings_of(analysis)               # detectors run on one trace, without a baseline
"""

from __future__ import annotations

from collections.abc import Iterator

from tracelens.analysis import TraceAnalysis, analyze_trace
from tracelens.baseline import build_baseline
from tracelens.detectors import default_detectors, detect_all
from tracelens.model import Finding, Trace
from tracelens.routes import display_route
from tracelens.sources import Source, Window


def analyse(trace: Trace) -> TraceAnalysis:
    return analyze_trace(trace)


def analyses(source: Source, window: Window | None) -> Iterator[TraceAnalysis]:
    """Each trace of the source in the window, with its tree, critical path and route (not the
    per-span facts: listing routes needs none)."""
    for trace in source.traces(window):
        if trace.spans:
            yield analyze_trace(trace, with_facts=False)


def route_name(analysis: TraceAnalysis) -> str:
    """The page a trace served, as `slowest --route` matches it: "web: GET /result/[id]"."""
    _, entry = analysis.route
    return f"{entry.service}: {display_route(entry)}"


def findings_of(analysis: TraceAnalysis) -> tuple[Finding, ...]:
    """Every pattern found in one trace with an empty baseline: rules that need one stay quiet."""
    return detect_all(analysis, build_baseline([]), default_detectors())
