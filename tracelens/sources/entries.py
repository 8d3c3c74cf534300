"""Which spans are a route's entry spans in a backend: `route_entries(route, probe_traces)`.

`--route result` may also match spans deep inside other pages' requests (a `GET /results/{id}` of
an API that several pages call). Files settle this with `RouteMatcher`, which looks only at entry
spans. A backend's search cannot see depth, so the sources first fetch a small probe of what a
broad search finds, let `RouteMatcher` name the entry spans in those trees, and then ask the
backend for exactly those (service, span name) pairs: listing, percentiles and metrics then
count the route's requests and no others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tracelens.graph import build_tree
from tracelens.model import Trace
from tracelens.routes import RouteMatcher
from tracelens.sources import RequestSummary

PROBE_TRACES = 12


def route_entries(route: str, traces: Iterable[Trace]) -> Counter[tuple[str, str]]:
    """(service, span name) of each trace's entry span for `route`, with counts."""
    matcher = RouteMatcher(route)
    found: Counter[tuple[str, str]] = Counter()
    for trace in traces:
        if trace.spans:
            entry = matcher.match(build_tree(trace))
            if entry is not None:
                found[(entry.service, entry.name)] += 1
    return found


def probe_ids(summaries: Sequence[RequestSummary], n: int = PROBE_TRACES) -> list[str]:
    """Up to `n` ids spread over the distinct roots and matched spans of `summaries`."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for s in summaries:
        groups[(s.service, s.name, s.matched)].append(s.trace_id)
    picked: list[str] = []
    while len(picked) < n and any(groups.values()):
        for ids in groups.values():
            if ids and len(picked) < n:
                picked.append(ids.pop(0))
    return picked
