"""Failing spans that cost critical-path time: `Error().detect(analysis, baseline)`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, failure_reason
from tracelens.model import Edits, Finding
from tracelens.operations import OpKey


@dataclass(frozen=True)
class Error:
    """Error: spans that failed (status ERROR, an error tag, HTTP 5xx or 429, an exception event)
    and hold ≥ `min_path_ns` of the critical path, lasting ≥ `min_excess_ns` beyond the baseline
    median of their operation (with no baseline, their whole duration counts). A span with
    children is judged by its self time against its operation's baseline self time: a parent
    that failed, or got slower, only because a child did is skipped, the child is the one to
    look at. Lowest precedence: a more specific pattern (a retry, a timeout in DNS) takes the
    spans first. The fix is each span at its baseline duration (a parent: its self time at the
    baseline's), when the baseline knows one.
    """

    name: ClassVar[str] = "error"
    min_path_ns: int = 10 * MS
    min_excess_ns: int = 50 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        failing = set(facts.failing)
        groups: dict[OpKey, list[int]] = defaultdict(list)
        for i in facts.failing:
            s = spans[i]
            if facts.on_path[i] < self.min_path_ns:
                continue
            if any(c in failing for c in facts.tree.children[i]) and facts.self_ns[i] < (
                self.min_excess_ns
            ):
                continue  # the error came up from a child and the span itself did little
            if facts.tree.children[i]:
                # A parent answers for its own time only: a child that got slower is the
                # child's cause, even when the parent's status echoes the failure.
                own = baseline.self_ns.get(facts.keys[i])
                if own is not None and facts.self_ns[i] - own < self.min_excess_ns:
                    continue
            else:
                base = baseline.duration_ns.get(facts.keys[i])
                if base is not None and s.duration_ns - base < self.min_excess_ns:
                    continue
            groups[facts.keys[i]].append(i)
        for key, members in groups.items():
            base = baseline.duration_ns.get(key)
            path_ns = sum(facts.on_path[i] for i in members)
            own = baseline.self_ns.get(key)
            durations: dict[str, int] = {}
            scale: dict[str, float] = {}
            saving = 0
            for i in members:
                if facts.tree.children[i]:  # its self time back to the baseline's, subtree kept
                    if own is not None and facts.self_ns[i]:
                        scale[spans[i].span_id] = min(1.0, own / facts.self_ns[i])
                        saving += min(facts.on_path[i], max(0, facts.self_ns[i] - int(own)))
                elif base is not None:  # back to the baseline's length, never longer
                    durations[spans[i].span_id] = min(spans[i].duration_ns, int(base))
                    saving += min(facts.on_path[i], max(0, spans[i].duration_ns - int(base)))
            reasons = [failure_reason(spans[i]) for i in members]
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i in members),
                summary=(
                    f"errors: {len(members)} failing {key[1]} spans ({key[0]}; "
                    f"{', '.join(dict.fromkeys(reasons))}) held {path_ns / MS:.0f} ms of the "
                    "critical path"
                ),
                saving_ns=int(saving),
                edits=Edits(duration_ns=durations, gap_scale=scale),
                evidence={
                    "spans": len(members),
                    "reasons": reasons,
                    "durations_ns": [spans[i].duration_ns for i in members],
                    "baseline_ns": base,
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i in members[:5]],
                },
            )
