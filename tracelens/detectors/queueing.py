"""Calls whose time outside their server side grew: `Queueing().detect(analysis, baseline)`.

    caller  |--wait--|=================|--wait--|
    callee           |=================|
            ^ request in flight, accept queue   ^ response in flight

The caller's self time around its server side is the network and queueing gap of the call: the
request in flight, the callee's accept queue or sidecar before the server span starts, and the
response in flight after it ends (a network delay on the callee's egress shows only there). A gap
has two ends. The finding names both and is filed under the end the slow gaps share: one slow
callee behind many callers, or one caller whose every call waits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS
from tracelens.model import ClaimPart, Edits, Finding
from tracelens.operations import OpKey


@dataclass(frozen=True)
class Queueing:
    """Queueing: a caller (CLIENT span; a proxy's SERVER span, such as an inbound sidecar,
    whose first child is another service's SERVER span; or in kind-less traces a span whose
    first child is another service) whose self time around its server side (the gap before the
    server starts plus the gap after it ends) is ≥ `ratio` × the baseline self time of its
    operation and ≥ `min_excess_ns` over it; without a baseline, ≥ `absolute_ns`. The gap must
    hold critical-path time. Each end (caller service, callee service) gets the share of its
    calls in this trace that waited; the finding goes to the end with the higher share, then
    with more waits among them (the callee on a full tie). The fix scales the gap back to the
    baseline.
    """

    name: ClassVar[str] = "queueing"
    ratio: float = 2.0
    min_excess_ns: int = 50 * MS
    absolute_ns: int = 500 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        callers = facts.callers
        if not callers:
            return
        fastest: dict[OpKey, int] = {}  # per operation, the shortest gap; when first needed
        waited: list[tuple[int, int, int]] = []  # caller, callee, target gap
        for i, c in callers:
            gap = facts.self_ns[i]
            if facts.on_path[i] <= 0:
                continue
            base = baseline.self_ns.get(facts.keys[i])
            if base is None:
                if gap < self.absolute_ns:
                    continue
                if not fastest:
                    for j, _ in callers:
                        key = facts.keys[j]
                        fastest[key] = min(fastest.get(key, facts.self_ns[j]), facts.self_ns[j])
                target = fastest[facts.keys[i]] if fastest[facts.keys[i]] < gap // 2 else 0
            elif gap - base < self.min_excess_ns or gap < self.ratio * base:
                continue
            else:
                target = int(base)
            waited.append((i, c, target))
        if not waited:
            return
        calls_from = Counter(spans[i].service for i, _ in callers)
        calls_into = Counter(spans[c].service for _, c in callers)
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
            waits = [facts.self_ns[i] for i, _, _ in items]
            path_ns = sum(facts.on_path[i] for i, _, _ in items)
            saving = sum(min(facts.on_path[i], facts.self_ns[i] - t) for i, _, t in items)
            callers_seen = sorted({spans[i].service for i, _, _ in items})
            callees_seen = sorted({spans[c].service for _, c, _ in items})
            base = baseline.self_ns.get(key)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=service,
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i, _, _ in items),
                part=ClaimPart.ALL,
                summary=(
                    f"queueing at the {end} {service}: {len(items)} calls "
                    f"{', '.join(callers_seen)} -> {', '.join(callees_seen)} ({key[1]}) waited "
                    f"{sum(waits) / MS:.0f} ms outside the server side (network, queues)"
                    + (f" (baseline {base / MS:.1f} ms each)" if base is not None else "")
                ),
                saving_ns=int(saving),
                edits=Edits(
                    gap_scale={
                        spans[i].span_id: t / facts.self_ns[i] if facts.self_ns[i] else 1.0
                        for i, _, t in items
                    }
                ),
                evidence={
                    "end": end,
                    "caller_services": callers_seen,
                    "callee_services": callees_seen,
                    "waits_ns": waits,
                    "baseline_gap_ns": base,
                    "caller_wait_share": {s: from_waits[s] / calls_from[s] for s in callers_seen},
                    "callee_wait_share": {s: into_waits[s] / calls_into[s] for s in callees_seen},
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i, _, _ in items[:5]],
                },
            )
