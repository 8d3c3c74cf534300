"""Name resolution on the critical path: `Dns().detect(analysis, baseline)`.

Reads DNS spans of any stack (Node `dns.lookup`, Go `http.dns`, netty `RESOLVE`, .NET DNS lookups,
spans with `dns.*` attributes) and Go's `http.dns.start`/`http.dns.done` events. Without either,
a long wait before a call's server side that the baseline lacks is reported as unattributed
pre-connect time, likely DNS — only when it is quantised at resolver timeouts or it is the first
call to that host; anything else is left to `queueing`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, TraceFacts, host_of
from tracelens.model import ClaimPart, Edits, Finding, Span, SpanKind
from tracelens.operations import OpKey

_NAME_HOST = re.compile(r"^(?:dns[ .](?:lookup|resolve|query)|resolve)\s+(\S+)", re.I)
# Search-path suffixes a resolver appends (Kubernetes `search` list, common cloud suffixes).
_SEARCH_SUFFIX = re.compile(
    r"\.(?:[a-z0-9-]+\.)?svc\.cluster\.local|\.cluster\.local|"
    r"\.(?:[a-z0-9-]+\.)?compute\.internal|\.ec2\.internal|\.internal\.cloudapp\.net",
    re.I,
)


INFERRED_OPERATION = "pre-connect wait (likely DNS)"


@dataclass(frozen=True)
class Dns:
    """DNS: lookups that cost critical-path time, with the signature that names the cause —
    durations within ±`timeout_tolerance` of k × `timeout_ns` (k = 1..`max_timeouts`: a lost UDP
    query waited out), ≥ `min_repeat_lookups` lookups of one name in a request (no caching),
    ≥ `min_search_expansions` names that are one name plus search-path suffixes (ndots), or
    lookups ≥ `slow_ratio` × their baseline and ≥ `min_excess_ns` over it (≥ `absolute_ns`
    without a baseline). The fix is a cached lookup: each lookup at its baseline duration.

    In a service with no DNS spans or events in the trace, a caller's wait before its first
    child beyond the baseline head gap by ≥ `inferred_min_excess_ns` is claimed when quantised
    at the timeout, or when it is the first of several calls to that host, ≥ `slow_ratio` × the
    baseline gap, and the later calls did not wait (a lookup is cached after the first call).
    Such findings are grouped per calling service: the resolver is the service's.
    """

    name: ClassVar[str] = "dns"
    timeout_ns: int = 5_000 * MS
    timeout_tolerance: float = 0.10
    max_timeouts: int = 3
    min_repeat_lookups: int = 3
    min_search_expansions: int = 2
    slow_ratio: float = 2.0
    min_excess_ns: int = 20 * MS
    absolute_ns: int = 100 * MS
    inferred_min_excess_ns: int = 100 * MS

    def timeouts_in(self, duration_ns: int) -> int:
        """k when the duration sits within tolerance of k resolver timeouts, else 0."""
        for k in range(1, self.max_timeouts + 1):
            if (
                abs(duration_ns - k * self.timeout_ns)
                <= self.timeout_tolerance * k * self.timeout_ns
            ):
                return k
        return 0

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        lookups = facts.lookups
        events = [i for i, s in enumerate(facts.spans) if s.events and _dns_event_ns(s) is not None]
        if lookups:
            yield from self._lookups(facts, baseline, lookups)
        if events:
            yield from self._events(facts, events)
        # Inference is per service: a Node frontend's dns.lookup spans say nothing about the
        # Java service behind it, whose agent records no lookups at all.
        resolving = {facts.spans[i].service for i in (*lookups, *events)}
        yield from self._inferred(facts, baseline, resolving)

    def _host(self, facts: TraceFacts, i: int) -> str:
        span = facts.spans[i]
        for key in ("dns.question.name", "net.host.name", "peer.hostname"):
            value = span.attributes.get(key)
            if value:
                return str(value)
        match = _NAME_HOST.match(span.name)
        if match:
            return match.group(1)
        host = host_of(span)
        if host:
            return host
        # Node records no name: the lookup serves the next call from the same parent, or the
        # call it sits inside (Go: http.dns < http.getconn < the HTTP client span).
        parent = facts.tree.parent[i]
        if parent >= 0:
            for sib in facts.tree.children[parent]:
                if facts.spans[sib].start_ns >= span.start_ns and sib != i:
                    host = host_of(facts.spans[sib])
                    if host:
                        return host
        for n, j in enumerate(facts.ancestors(i)):
            if n >= 3:
                break
            host = host_of(facts.spans[j])
            if host:
                return host
        return ""

    def _lookups(
        self, facts: TraceFacts, baseline: Baseline, lookups: list[int]
    ) -> Iterator[Finding]:
        spans = facts.spans
        by_service: dict[str, list[int]] = defaultdict(list)
        for i in lookups:
            by_service[spans[i].service].append(i)
        # One finding per service: repeats and search-path expansions show only across names.
        for service, members in by_service.items():
            path_ns = sum(facts.on_path[i] for i in members)
            if path_ns <= 0:
                continue
            ops = sorted({facts.keys[i][1] for i in members})
            key = (service, ops[0] if len(ops) == 1 else "dns lookup")
            hosts = [self._host(facts, i) for i in members]
            bases = [baseline.duration_ns.get(facts.keys[i]) for i in members]
            base = bases[0] if len(ops) == 1 else None
            durations = [spans[i].duration_ns for i in members]
            timeouts = [self.timeouts_in(d) for d in durations]
            repeated = {
                h: n
                for h, n in Counter(h for h in hosts if h).items()
                if n >= self.min_repeat_lookups
            }
            expansions = _search_expansions(hosts)
            expanded = {b: n for b, n in expansions.items() if n >= self.min_search_expansions}
            slow = [
                d >= self.absolute_ns
                if b is None
                else d >= self.slow_ratio * b and d - b >= self.min_excess_ns
                for d, b in zip(durations, bases, strict=True)
            ]
            if not (any(timeouts) or repeated or expanded or any(slow)):
                continue
            # A cached lookup costs what the baseline's lookups cost (else this trace's fastest).
            fastest = min(durations)
            targets = [fastest if b is None else int(b) for b in bases]
            edits = {
                spans[i].span_id: t
                for i, d, t in zip(members, durations, targets, strict=True)
                if d > t
            }
            saving = sum(
                min(facts.on_path[i], d - t)
                for i, d, t in zip(members, durations, targets, strict=True)
                if d > t
            )
            signals = []
            quantised = sum(1 for k in timeouts if k)
            if quantised:
                seconds = self.timeout_ns / (1000 * MS)
                signals.append(f"{quantised} near multiples of the {seconds:g} s DNS timeout")
            signals.extend(f"{n} lookups of {h}" for h, n in repeated.items())
            signals.extend(f"{n} search-path expansions of {b}" for b, n in expanded.items())
            if any(slow) and not signals:
                signals.append(f"{sum(slow)} slower than baseline")
            named = sorted({h for h in hosts if h})
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i in members),
                summary=(
                    f"DNS: {len(members)} lookups"
                    + (f" of {', '.join(named[:3])}" if named else "")
                    + f" ({key[0]}) took {sum(durations) / MS:.0f} ms, "
                    f"{path_ns / MS:.0f} ms on the critical path; " + "; ".join(signals)
                ),
                saving_ns=int(saving),
                edits=Edits(duration_ns=edits),
                evidence={
                    "lookups": len(members),
                    "hosts": named,
                    "durations_ns": durations,
                    "timeouts": timeouts,
                    "quantised": quantised,
                    "repeated": repeated,
                    "search_expansions": expanded,
                    "baseline_ns": base,
                    "operations": ops,
                    "on_path_ns": path_ns,
                    "dns_share_of_path": path_ns / max(1, facts.duration_ns),
                    "example_span_ids": [spans[i].span_id for i in members[:5]],
                },
            )

    def _events(self, facts: TraceFacts, calls: list[int]) -> Iterator[Finding]:
        spans = facts.spans
        groups: dict[OpKey, list[int]] = defaultdict(list)
        for i in calls:
            groups[facts.keys[i]].append(i)
        for key, members in groups.items():
            dns_ns = [_dns_event_ns(spans[i]) or 0 for i in members]
            timeouts = [self.timeouts_in(d) for d in dns_ns]
            total = sum(dns_ns)
            path_ns = sum(facts.head_on_path[i] for i in members)
            if path_ns <= 0 or not (any(timeouts) or total >= self.absolute_ns):
                continue
            head_edits: dict[str, int] = {}
            duration_edits: dict[str, int] = {}
            for i, d in zip(members, dns_ns, strict=True):
                if facts.head_ns[i] >= 0:
                    head_edits[spans[i].span_id] = max(0, facts.head_ns[i] - d)
                else:
                    duration_edits[spans[i].span_id] = max(0, spans[i].duration_ns - d)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=tuple(spans[i].span_id for i in members),
                part=ClaimPart.HEAD,
                summary=(
                    f"DNS (from span events): {len(members)} calls to {key[1]} ({key[0]}) spent "
                    f"{total / MS:.0f} ms resolving"
                    + (
                        f", {sum(1 for k in timeouts if k)} near resolver timeouts"
                        if any(timeouts)
                        else ""
                    )
                ),
                saving_ns=int(min(path_ns, total)),
                edits=Edits(duration_ns=duration_edits, head_gap_ns=head_edits),
                evidence={
                    "lookups": len(members),
                    "durations_ns": dns_ns,
                    "timeouts": timeouts,
                    "on_path_ns": path_ns,
                    "from_events": True,
                    "example_span_ids": [spans[i].span_id for i in members[:5]],
                },
            )

    def _only_first_waits(
        self, facts: TraceFacts, calls: list[int], i: int, base_ns: float
    ) -> bool:
        """A lookup is paid once per host, then cached: the first call to the host waited and
        the later ones did not. A slow network or callee delays every call (or, with a single
        call, can't be told apart), so that is left to queueing."""
        if calls[0] != i or len(calls) < 2:
            return False
        return all(facts.head_ns[j] < self.slow_ratio * max(base_ns, 1) for j in calls[1:])

    def _inferred(
        self, facts: TraceFacts, baseline: Baseline, resolving: set[str]
    ) -> Iterator[Finding]:
        spans = facts.spans
        # A proxy's inbound SERVER span hands on a request it received: it resolves nothing.
        callers = [
            (i, c)
            for i, c in facts.callers
            if spans[i].service not in resolving and spans[i].kind is not SpanKind.SERVER
        ]
        to_host: dict[str, list[int]] = {}  # host -> its calls, in start order; when needed
        groups: dict[OpKey, list[tuple[int, int, int]]] = defaultdict(list)
        for i, c in callers:
            head = facts.head_ns[i]
            base = baseline.head_gap_ns.get(facts.keys[i])
            excess = head - int(base or 0)
            if excess < self.inferred_min_excess_ns or facts.head_on_path[i] <= 0:
                continue
            k = self.timeouts_in(head)
            if not to_host:
                for j, d in sorted(callers, key=lambda ic: spans[ic[0]].start_ns):
                    to_host.setdefault(host_of(spans[j]) or spans[d].service, []).append(j)
            host = host_of(spans[i]) or spans[c].service
            if k:
                target = max(0, min(head - k * self.timeout_ns, int(base or head)))
            elif (
                base is not None
                and head >= self.slow_ratio * base
                and self._only_first_waits(facts, to_host[host], i, base)
            ):
                target = int(base)
            else:
                continue
            groups[(spans[i].service, INFERRED_OPERATION)].append((i, target, k))
        # One finding per calling service: the resolver is the service's, whichever host it asks.
        for key, items in groups.items():
            ids = tuple(spans[i].span_id for i, _, _ in items)
            path_ns = sum(facts.head_on_path[i] for i, _, _ in items)
            waits = [facts.head_ns[i] for i, _, _ in items]
            saving = sum(min(facts.head_on_path[i], facts.head_ns[i] - t) for i, t, _ in items)
            callees = sorted({spans[facts.callee(i)].service for i, _, _ in items})
            quantised = sum(1 for _, _, k in items if k)
            yield Finding(
                pattern=self.name,
                trace_id=facts.trace_id,
                service=key[0],
                operation=key[1],
                span_ids=ids,
                part=ClaimPart.HEAD,
                summary=(
                    f"unattributed pre-connect time, likely DNS: {len(items)} calls to "
                    f"{', '.join(callees)} from {key[0]} waited {sum(waits) / MS:.0f} ms before "
                    "the server side started"
                    + (
                        f", {quantised} near resolver timeouts"
                        if quantised
                        else ", first call to the host"
                    )
                ),
                saving_ns=int(saving),
                edits=Edits(head_gap_ns={spans[i].span_id: t for i, t, _ in items}),
                evidence={
                    "inferred": True,
                    "waits_ns": waits,
                    "baseline_head_gap_ns": {
                        facts.keys[i][1]: baseline.head_gap_ns.get(facts.keys[i])
                        for i, _, _ in items
                    },
                    "quantised": quantised,
                    "caller": key[0],
                    "callees": callees,
                    "on_path_ns": path_ns,
                    "example_span_ids": list(ids[:5]),
                },
            )


def _dns_event_ns(span: Span) -> int | None:
    """Time between `http.dns.start` and `http.dns.done` events on a span (Go without sub-spans)."""
    start = done = None
    for e in span.events:
        if e.name == "http.dns.start" and start is None:
            start = e.time_ns
        elif e.name == "http.dns.done":
            done = e.time_ns
    if start is None or done is None or done < start:
        return None
    return int(done - start)


def _search_expansions(hosts: list[str]) -> dict[str, int]:
    """Base name -> distinct looked-up names that are it plus a search-path suffix (and itself).

    `x.ns.svc.cluster.local` can be split as `x` + `ns.svc.cluster.local` or, when `x` has dots,
    as `x` minus its last label + `<label>.svc.cluster.local`: the base the names share wins.
    """
    seen = {h.rstrip(".").lower() for h in hosts if h}
    candidates: dict[str, list[str]] = {}
    for h in seen:
        labels = h.split(".")
        bases = [
            ".".join(labels[:cut])
            for cut in range(1, len(labels))
            if _SEARCH_SUFFIX.fullmatch("." + ".".join(labels[cut:]))
        ]
        if bases:
            candidates[h] = bases
    shared = Counter(b for bases in candidates.values() for b in bases)
    out: Counter[str] = Counter()
    for bases in candidates.values():
        out[max(bases, key=lambda b: (b in seen, shared[b], len(b)))] += 1
    return {b: n + (1 if b in seen else 0) for b, n in out.items()}
