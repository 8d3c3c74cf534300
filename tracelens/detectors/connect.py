"""Connection set-up and pool waits on the critical path: `Connect().detect(analysis, baseline)`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, host_of
from tracelens.model import Edits, Finding


@dataclass(frozen=True)
class Connect:
    """Connect: TCP connect, TLS handshake and connection-pool spans (Go `http.connect`,
    `http.tls`, `http.getconn`; netty `CONNECT` and SSL handshakes; .NET `HTTP connection_setup`
    and `HTTP wait_for_connection`; spans carrying `http.conn.reused`) whose time beyond the
    baseline median of their operation (zero when the baseline never needed one: its
    connections were reused) adds up to ≥ `min_excess_ns` of critical-path time in a trace;
    ≥ `absolute_ns` when there is no baseline at all. One finding per service (connect, TLS and
    pool wait share one fix: reuse connections), named after the operation when there is one
    kind of span, else "connection set-up"; the fix is each
    span at its baseline duration (its own time, for a span whose children are claimed apart).
    """

    name: ClassVar[str] = "connect"
    min_excess_ns: int = 20 * MS
    absolute_ns: int = 200 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        spans = facts.spans
        by_service: dict[str, list[int]] = defaultdict(list)
        for i in facts.connections:
            if facts.on_path[i] > 0:
                by_service[spans[i].service].append(i)
        known = baseline.traces > 0
        # One finding per service: connect, TLS and pool wait are one fix (reuse connections).
        for service, members in by_service.items():
            ops = sorted({facts.keys[i][1] for i in members})
            key = (service, ops[0] if len(ops) == 1 else "connection set-up")
            base_of = {
                i: baseline.duration_ns.get(facts.keys[i], 0.0) if known else 0.0 for i in members
            }
            self_of = {
                i: baseline.self_ns.get(facts.keys[i], 0.0) if known else 0.0 for i in members
            }
            excess = {
                i: min(facts.on_path[i], max(0, facts.self_ns[i] - int(self_of[i])))
                if facts.tree.children[i]
                else min(facts.on_path[i], max(0, spans[i].duration_ns - int(base_of[i])))
                for i in members
            }
            total = sum(excess.values())
            if total < (self.min_excess_ns if known else self.absolute_ns):
                continue
            slow = [i for i in members if excess[i] > 0]
            durations: dict[str, int] = {}
            scale: dict[str, float] = {}
            for i in slow:
                if facts.tree.children[i]:
                    # slow: its self time is beyond the baseline's, so it is > 0 and the scale < 1
                    scale[spans[i].span_id] = self_of[i] / facts.self_ns[i]
                else:
                    durations[spans[i].span_id] = int(base_of[i])
            fresh = sum(1 for i in members if spans[i].attributes.get("http.conn.reused") is False)
            hosts = sorted({h for i in members if (h := host_of(spans[i]))})
            path_ns = sum(facts.on_path[i] for i in slow)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i in slow),
                summary=(
                    f"connection set-up: {len(slow)} spans ({', '.join(ops)}) in {service} held "
                    f"{path_ns / MS:.0f} ms of the critical path, {total / MS:.0f} ms beyond "
                    "baseline"
                ),
                saving_ns=int(total),
                edits=Edits(duration_ns=durations, gap_scale=scale),
                evidence={
                    "spans": len(slow),
                    "new_connections": fresh,
                    "hosts": hosts,
                    "durations_ns": [spans[i].duration_ns for i in slow],
                    "operations": ops,
                    "baseline_ns": [base_of[i] for i in slow] if known else None,
                    "on_path_ns": path_ns,
                    "example_span_ids": [spans[i].span_id for i in slow[:5]],
                },
            )
