"""`tracelens graph --engine dask`: the call graph's totals added up on Dask, shard by shard.

    graph = dask_graph(source, "result", window, None, percentile=90, baseline=50, scheduler=None)

    map 1 (per archive file)  analyse each trace; the route's stay on the shard, and a `Seen` per
                              trace comes back (its route, entry, set, duration)
    client                    the slow and baseline sets, as route_sets picks them (single.py)
    map 2 (per shard)         the calling-context totals of its slow and baseline traces
                              (graph._Sums), with where each context was first met
    client                    the totals merged and numbered as one pass over the traces in input
                              order numbers them: the graph `graph` draws without Dask

Only the per-trace records and the per-shard totals (one row per calling context) travel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tracelens.analysis import analyze_trace, facts_of
from tracelens.bands import SAME
from tracelens.commands.graph import CallGraph, Key, _Sums, graph_of
from tracelens.commands.single import (
    CallSpan,
    RouteSets,
    call_spans,
    check_sets,
    place,
    split_sets,
)
from tracelens.errors import SourceError
from tracelens.model import Trace
from tracelens.routes import RouteMatcher
from tracelens.sources import Source, Window
from tracelens.stages import Scope, Shard

Position = tuple[int, int, int, int]  # (set, item number, index on the shard, order in trace)


@dataclass(frozen=True, slots=True)
class Seen:
    """One trace as route_sets sees it, without the trace."""

    trace_id: str
    name: str  # its route (route_name)
    entry: str  # the entry span the route matched ("" when it does not match)
    into: str  # "current", "before" or "": which set's pool it is in
    duration_ns: int


def read_graph(shard: Shard, item: Any, number: int, scope: Scope) -> list[Seen]:
    """Map 1: analyse an archive part's traces (or a batch's); keep the route's on the shard."""
    if isinstance(item, list):
        traces: list[Trace] | Any = item
    else:
        from tracelens.sources.archive import read_part

        traces = read_part(item, [])
    out: list[Seen] = []
    try:
        for trace in traces:
            if not trace.spans:
                continue
            a = analyze_trace(trace, with_facts=False)
            name, entry, into = place(a, scope.matcher, scope.window, scope.baseline_window)
            if into:
                shard.analyses.append(replace(a, facts=facts_of(a)))
                shard.pieces.append(number)
            out.append(Seen(trace.trace_id, name, entry, into, a.duration_ns))
    except SourceError:
        pass  # an unreadable file is left out, as ArchiveSource.traces leaves it out
    return out


class Totals(_Sums):
    """A shard's totals, and the position at which each context was first met."""

    def __init__(self) -> None:
        super().__init__()
        self.first: list[Position] = []

    def add_at(self, spans: Sequence[CallSpan], group: int, number: int, index: int) -> None:
        known = len(self.key)
        self.add(spans, group)
        self.first.extend((group, number, index, i) for i in range(len(self.key) - known))


def graph_totals(shard: Shard, slow_ids: frozenset[str], base_ids: frozenset[str]) -> Totals:
    """Map 2: the shard's slow traces, then its baseline traces, in input order, as
    build_graph adds them."""
    totals = Totals()
    for group, ids in enumerate((slow_ids, base_ids)):
        for index, (number, a) in enumerate(zip(shard.pieces, shard.analyses, strict=True)):
            if a.trace.trace_id in ids:
                totals.add_at(call_spans(a), group, number, index)
    return totals


def merged(parts: Sequence[Totals]) -> _Sums:
    """The shards' totals as one, contexts numbered in the order one pass would meet them."""
    ids: dict[tuple[int, Key], int] = {}
    parent: list[int] = []
    key: list[Key] = []
    sums: list[list[float]] = []
    first: list[Position] = []
    for part in parts:
        here: list[int] = []  # the part's context -> the merged one
        for c, k in enumerate(part.key):
            p = here[part.parent[c]] if part.parent[c] >= 0 else -1
            g = ids.get((p, k))
            if g is None:
                g = ids[(p, k)] = len(key)
                parent.append(p)
                key.append(k)
                sums.append([0.0] * 6)
                first.append(part.first[c])
            else:
                first[g] = min(first[g], part.first[c])
            sums[g] = [a + b for a, b in zip(sums[g], part.sums[c], strict=True)]
            here.append(g)
    # A caller is always met before its callees, so this order keeps parents first.
    order = sorted(range(len(key)), key=first.__getitem__)
    number = {old: new for new, old in enumerate(order)}
    out = _Sums()
    for old in order:
        p = number[parent[old]] if parent[old] >= 0 else -1
        out.ids[(p, key[old])] = len(out.key)
        out.parent.append(p)
        out.key.append(key[old])
        out.sums.append(sums[old])
    return out


def dask_graph(
    source: Source,
    route: str | None,
    window: Window | None,
    baseline_window: Window | None,
    *,
    percentile: float,
    baseline: float,
    scheduler: str | None,
    workers: int | None,
    baseline_band: str = SAME,
) -> CallGraph:
    """The route's call graph, as build_graph(route_sets(...)) gives it, computed on Dask."""
    from tracelens.engine_dask import DaskEngine, batches

    scope = Scope(RouteMatcher(route) if route else None, window, baseline_window)
    # Read as route_sets reads: with two windows the source is read whole.
    read = window if baseline_window is None else None
    parts = getattr(source, "parts", None)
    with DaskEngine(scheduler, workers) as engine:
        items = parts(Scope(window=read)) if parts is not None else batches(source.traces(read))
        records = [r for part in engine.load(items, scope, step=read_graph) for r in part]
        seen = Counter(r.name for r in records)
        current = [r for r in records if r.into == "current"]
        before = [r for r in records if r.into == "before"]
        check_sets(seen, route, bool(current), baseline_window is not None and not before)
        slow, base, cut, base_cut = split_sets(
            current, before, baseline_window, percentile, baseline, baseline_band
        )
        totals = engine.run(
            graph_totals,
            frozenset(r.trace_id for r in slow),
            frozenset(r.trace_id for r in base),
        )
    entries = Counter(r.entry for r in current)
    sets = RouteSets(entries.most_common(1)[0][0], len(current), [], [], cut, base_cut)
    return graph_of(merged(totals), sets, len(slow), len(base), percentile, baseline)
