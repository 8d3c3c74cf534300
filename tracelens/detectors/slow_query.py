"""A statement template much slower than usual: `SlowQuery().detect(analysis, baseline)`."""

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
class SlowQuery:
    """Slow query: a DB span (DB attributes, or a SQL-looking name) that took ≥ `ratio` × the
    baseline median of its normalised statement and ≥ `min_excess_ns` more; with no baseline for
    the statement, ≥ `absolute_ns`. Only spans holding critical-path time count. One finding per
    statement per trace; the fix is each slow execution at the baseline median (without one, at
    the fastest execution of the statement in this trace, if faster).
    """

    name: ClassVar[str] = "slow_query"
    ratio: float = 2.0
    min_excess_ns: int = 50 * MS
    absolute_ns: int = 500 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        groups: dict[OpKey, list[int]] = defaultdict(list)
        for i in facts.statements:
            groups[facts.keys[i]].append(i)
        for key, members in groups.items():
            base = baseline.duration_ns.get(key)
            if base is not None:
                slow = [
                    i
                    for i in members
                    if spans[i].duration_ns >= self.ratio * base
                    and spans[i].duration_ns - base >= self.min_excess_ns
                ]
                target = int(base)
            else:
                slow = [i for i in members if spans[i].duration_ns >= self.absolute_ns]
                target = min(spans[i].duration_ns for i in members)
            slow = [i for i in slow if facts.on_path[i] > 0]
            if not slow:
                continue
            edits = {spans[i].span_id: target for i in slow if spans[i].duration_ns > target}
            saving = sum(
                min(facts.on_path[i], spans[i].duration_ns - target)
                for i in slow
                if spans[i].duration_ns > target
            )
            durations = [spans[i].duration_ns for i in slow]
            path_ns = sum(facts.on_path[i] for i in slow)
            versus = (
                f"baseline median {base / MS:.0f} ms"
                if base is not None
                else f"no baseline, ≥ {self.absolute_ns / MS:.0f} ms"
            )
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i in slow),
                summary=(
                    f"slow query: {key[1]} ({key[0]}) ran {len(slow)}× at up to "
                    f"{max(durations) / MS:.0f} ms ({versus}), "
                    f"{path_ns / MS:.0f} ms on the critical path"
                ),
                saving_ns=int(saving),
                edits=Edits(duration_ns=edits),
                evidence={
                    "executions": len(slow),
                    "durations_ns": durations,
                    "baseline_ns": base,
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i in slow[:5]],
                },
            )
