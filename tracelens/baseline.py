"""What normal looks like for a route: `build_baseline(analyses) -> Baseline` over baseline traces.

CONTRACT (to be implemented). Detectors compare a slow trace against these per-operation figures;
the what-if uses them as the cost of a fixed cause (DNS at baseline cost, a query at its baseline
duration, a queue at its baseline gap, self time at its baseline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tracelens.analysis import TraceAnalysis
from tracelens.operations import OpKey


@dataclass(frozen=True)
class Baseline:
    traces: int = 0
    duration_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median span duration
    calls_per_trace: Mapping[OpKey, float] = field(default_factory=dict)  # mean count per trace
    self_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median self time per span
    head_gap_ns: Mapping[OpKey, float] = field(default_factory=dict)  # median start->first child
    overlap: Mapping[tuple[OpKey, OpKey], float] = field(default_factory=dict)  # share of
    # baseline traces in which sibling spans of the two operations ran at the same time


def build_baseline(analyses: Iterable[TraceAnalysis]) -> Baseline:
    raise NotImplementedError
