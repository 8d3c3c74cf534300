"""Calls whose server side started late: `Queueing().detect(analysis, baseline)`.

    caller  |--wait--|===================|
    callee           |=================|
            ^ client start   ^ server start: the head gap (network, accept queue, sidecar, pool)

A gap has two ends. The finding names both and is filed under the end the slow gaps share: one
slow callee behind many callers, or one caller whose every call waits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis
from tracelens.baseline import Baseline
from tracelens.detectors.facts import MS, facts_of
from tracelens.model import ClaimPart, Edits, Finding
from tracelens.operations import OpKey


@dataclass(frozen=True)
class Queueing:
    """Queueing: a caller (CLIENT span, or in kind-less traces a span whose first child is
    another service) whose first child started ≥ `ratio` × the baseline head gap of its
    operation and ≥ `min_excess_ns` later than that; without a baseline gap, ≥ `absolute_ns`.
    The wait must hold critical-path time. Each end (caller service, callee service) gets the
    share of its calls in this trace that waited; the finding goes to the end with the higher
    share, then with more waits among them (the callee on a full tie). The fix sets the wait to
    the baseline head gap.
    """

    name: ClassVar[str] = "queueing"
    ratio: float = 2.0
    min_excess_ns: int = 50 * MS
    absolute_ns: int = 500 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        callers = [(i, c) for i in range(len(spans)) if (c := facts.callee(i)) >= 0]
        if not callers:
            return
        calls_from: Counter[str] = Counter()
        calls_into: Counter[str] = Counter()
        fastest: dict[OpKey, int] = {}
        for i, c in callers:
            calls_from[spans[i].service] += 1
            calls_into[spans[c].service] += 1
            key = facts.keys[i]
            fastest[key] = min(fastest.get(key, facts.head_ns[i]), facts.head_ns[i])
        waited: list[tuple[int, int, int]] = []  # caller, callee, target head gap
        for i, c in callers:
            head = facts.head_ns[i]
            if facts.head_on_path[i] <= 0:
                continue
            base = baseline.head_gap_ns.get(facts.keys[i])
            if base is None:
                if head < self.absolute_ns:
                    continue
                target = fastest[facts.keys[i]] if fastest[facts.keys[i]] < head // 2 else 0
            elif head - base < self.min_excess_ns or head < self.ratio * base:
                continue
            else:
                target = int(base)
            waited.append((i, c, target))
        if not waited:
            return
        from_waits = Counter(spans[i].service for i, _, _ in waited)
        into_waits = Counter(spans[c].service for _, c, _ in waited)
        groups: dict[tuple[str, str, OpKey], list[tuple[int, int, int]]] = defaultdict(list)
        for i, c, target in waited:
            caller, callee = spans[i].service, spans[c].service
            # The end whose calls waited most often, then the one more waits share.
            caller_end = (from_waits[caller] / calls_from[caller], from_waits[caller])
            callee_end = (into_waits[callee] / calls_into[callee], into_waits[callee])
            end = "caller" if caller_end > callee_end else "callee"
            groups[(end, caller if end == "caller" else callee, facts.keys[i])].append(
                (i, c, target)
            )
        for (end, service, key), items in groups.items():
            waits = [facts.head_ns[i] for i, _, _ in items]
            path_ns = sum(facts.head_on_path[i] for i, _, _ in items)
            saving = sum(min(facts.head_on_path[i], facts.head_ns[i] - t) for i, _, t in items)
            callers_seen = sorted({spans[i].service for i, _, _ in items})
            callees_seen = sorted({spans[c].service for _, c, _ in items})
            base = baseline.head_gap_ns.get(key)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=service,
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i, _, _ in items),
                part=ClaimPart.HEAD,
                summary=(
                    f"queueing at the {end} {service}: {len(items)} calls "
                    f"{', '.join(callers_seen)} -> {', '.join(callees_seen)} ({key[1]}) waited "
                    f"{sum(waits) / MS:.0f} ms before the server side started"
                    + (f" (baseline {base / MS:.1f} ms each)" if base is not None else "")
                ),
                saving_ns=int(saving),
                edits=Edits(head_gap_ns={spans[i].span_id: t for i, _, t in items}),
                evidence={
                    "end": end,
                    "caller_services": callers_seen,
                    "callee_services": callees_seen,
                    "waits_ns": waits,
                    "baseline_head_gap_ns": base,
                    "caller_wait_share": {s: from_waits[s] / calls_from[s] for s in callers_seen},
                    "callee_wait_share": {s: into_waits[s] / calls_into[s] for s in callees_seen},
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i, _, _ in items[:5]],
                },
            )
