"""Time a span spent with no child running: `SelfTime().detect(analysis, baseline)`.

X |----|A|------gap------|B|---|      self time = the gaps: CPU, GC, locks, a pool queue,
                                      or calls nobody instrumented
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS
from tracelens.model import Edits, Finding
from tracelens.operations import OpKey


@dataclass(frozen=True)
class SelfTime:
    """Self time: a span with children whose own time on the critical path is ≥
    max(`min_self_ns`, `min_share` × its duration) and exceeds the baseline median self time of
    its operation by ≥ `min_excess_ns`; for an operation the baseline lacks, the bar is
    `unknown_min_ns`. Leaves are left out: a leaf's whole time is the operation itself, which
    the other detectors and the plain ranking cover. The fix scales the span's self time down
    to the baseline median.
    """

    name: ClassVar[str] = "self_time"
    min_self_ns: int = 50 * MS
    min_share: float = 0.10
    min_excess_ns: int = 50 * MS
    unknown_min_ns: int = 250 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        groups: dict[OpKey, list[tuple[int, float]]] = defaultdict(list)
        children = facts.tree.children
        for i, path_ns in enumerate(facts.on_path):
            if path_ns < self.min_self_ns or not children[i]:  # the cheap tests first
                continue
            s = spans[i]
            if path_ns < self.min_share * s.duration_ns:
                continue
            base = baseline.self_ns.get(facts.keys[i])
            if base is None:
                if path_ns < self.unknown_min_ns:
                    continue
                base = 0.0
            elif path_ns - base < self.min_excess_ns:
                continue
            groups[facts.keys[i]].append((i, base))
        for key, items in groups.items():
            path_ns = sum(facts.on_path[i] for i, _ in items)
            scale = {
                spans[i].span_id: min(1.0, base / facts.self_ns[i]) if facts.self_ns[i] else 1.0
                for i, base in items
            }
            saving = sum(
                min(facts.on_path[i], max(0, facts.self_ns[i] - int(base))) for i, base in items
            )
            selfs = [facts.self_ns[i] for i, _ in items]
            base_ns = baseline.self_ns.get(key)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i, _ in items),
                summary=(
                    f"uninstrumented time in {key[1]} ({key[0]}): {path_ns / MS:.0f} ms on the "
                    "critical path with no child span running"
                    + (f" (baseline {base_ns / MS:.0f} ms)" if base_ns is not None else "")
                ),
                saving_ns=int(saving),
                edits=Edits(gap_scale=scale),
                evidence={
                    "spans": len(items),
                    "self_ns": selfs,
                    "baseline_self_ns": base_ns,
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i, _ in items[:5]],
                },
            )
