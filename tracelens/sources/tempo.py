"""Grafana Tempo as a source: `tempo+http(s)://host[:port][/prefix]` (Grafana Cloud: `/tempo`).

    source = TempoSource("tempo+https://123456:glc_token@tempo-prod.grafana.net/tempo")
    listed = source.requests("result", window, limit=2000)   # TraceQL search: ids and durations
    fetched = source.fetch([s.trace_id for s in listed.summaries[:10]])

A route becomes a TraceQL span set on server spans (`tempo_selector`) that matches `http.route`,
the URL path, the GraphQL operation or the span name by the same rule as `--route` on files (a
case-insensitive substring, or the exact route after a leading `/`); the fetched trees are then
matched by `RouteMatcher` itself, so a file and a backend select the same requests. Search
results already carry each trace's start and duration, so only the traces chosen are fetched, from
`/api/v2/traces/{id}` (Tempo 2.6+) or `/api/traces/{id}`. Where the server has TraceQL metrics, the
route's p50/p90/p99 over every request of the window come from `quantile_over_time`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tracelens.errors import SourceError, UsageError
from tracelens.model import ReadIssue, Trace
from tracelens.readers.ids import BadId, trace_id
from tracelens.sources import (
    DEFAULT_WINDOW_NS,
    Fetched,
    FetchProgress,
    Percentiles,
    Requests,
    RequestSummary,
    Window,
    split_window,
)
from tracelens.sources.cache import TraceCache
from tracelens.sources.entries import probe_ids, route_entries
from tracelens.sources.fetch import download_body, fetch_traces, parse_trace
from tracelens.sources.http import Backend, BackendOptions

log = logging.getLogger("tracelens")

# When one search hits the limit, the window is searched again in this many slices, so the
# requests listed spread over the window instead of being the first ones Tempo came across.
SLICES = 8
_NOT_YET = "<root span not yet received>"
PROBE_LISTING = 500  # requests the broad search lists to pick the probe from


def _traceql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _re2(text: str) -> str:
    """`text` as a literal inside an RE2 pattern."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)


def tempo_selector(route: str | None) -> str:
    """The TraceQL span set of a route's entry spans (all server spans when `route` is None)."""
    if route is None:
        return "{ kind = server }"
    if route.startswith("/"):
        exact = _traceql_string(route)
        named = _traceql_string(f"(\\S+ )?{_re2(route)}")
        match = f"span.http.route = {exact} || name =~ {named}"
    else:
        pattern = _traceql_string(f"(?i).*{_re2(route)}.*")
        fields = ("span.http.route", "span.graphql.operation.name", "name", "span.url.path")
        match = " || ".join(f"{f} =~ {pattern}" for f in (*fields, "span.http.target"))
    return f"{{ kind = server && ({match}) }}"


def entry_selector(entries: Iterable[tuple[str, str]]) -> str:
    """The TraceQL span set of exactly these (service, span name) entry spans."""
    pairs = " || ".join(
        f"(resource.service.name = {_traceql_string(service)} && name = {_traceql_string(name)})"
        for service, name in sorted(entries)
    )
    return f"{{ kind = server && ({pairs}) }}"


def _seconds(t_ns: int) -> int:
    return t_ns // 1_000_000_000


class TempoSource:
    """Traces from Tempo's HTTP API (query-frontend), searched with TraceQL."""

    def __init__(self, spec: str, options: BackendOptions | None = None) -> None:
        options = options or BackendOptions.from_env()
        if options.tenant and "X-Scope-OrgID" not in options.headers:
            options = _with_header(options, "X-Scope-OrgID", options.tenant)
        self.backend = Backend(spec, "tempo", options)
        self.description = f"Tempo at {self.backend.display}"
        self.issues: list[ReadIssue] = []
        self.link_base = ""
        self.options = options
        tenant = options.headers.get("X-Scope-OrgID", "")
        self.cache = TraceCache.for_backend(
            f"tempo|{self.backend.base}|{tenant}", options.cache, options.cache_dir
        )
        self._by_id_path: str | None = None  # "/api/v2/traces/" or "/api/traces/", found once
        self._choosing = threading.Lock()
        self._refused: SourceError | None = None  # credentials refused while choosing

    # -- listing ------------------------------------------------------------------------------

    def requests(self, route: str | None, window: Window, limit: int) -> Requests:
        start_ns, end_ns = window.bounds(DEFAULT_WINDOW_NS, time.time_ns())
        query = tempo_selector(route)
        if route is not None:
            query = self._entry_query(route, query, start_ns, end_ns)
        found, left_out = self._search(query, start_ns, end_ns, limit)
        complete = len(found) + sum(left_out.values()) < limit
        if not complete and end_ns - start_ns > SLICES * 10**9:
            found, left_out = self._search_sliced(query, start_ns, end_ns, limit)
        percentiles = self._percentiles(query, start_ns, end_ns)
        if percentiles is not None and percentiles.count is not None:
            complete = len(found) >= percentiles.count
        return Requests(
            summaries=tuple(sorted(found.values(), key=lambda s: s.start_ns)),
            query=f"TraceQL {query}",
            complete=complete,
            percentiles=percentiles,
            left_out=left_out,
        )

    def _entry_query(self, route: str, broad: str, start_ns: int, end_ns: int) -> str:
        """The selector of the route's entry spans, learnt from a probe (entries.py)."""
        found, _ = self._search(broad, start_ns, end_ns, PROBE_LISTING)
        if not found and (seen := self.routes(Window(start_ns, end_ns))):
            # The window has requests, none of this route: say which there are, as files do.
            listing = ", ".join(f"{r} ({n})" for r, n in seen.most_common(12))
            raise UsageError(
                f"no server span in {self.backend.display} matches route {route!r} in the "
                f"window; requests seen (root service: span): {listing}"
            )
        probe = probe_ids(sorted(found.values(), key=lambda s: s.start_ns))
        entries = route_entries(route, self.fetch(probe).traces)
        return entry_selector(entries) if entries else broad

    def _search(
        self, query: str, start_ns: int, end_ns: int, limit: int
    ) -> tuple[dict[str, RequestSummary], Counter[str]]:
        params = {
            "q": query,
            "start": _seconds(start_ns),
            "end": max(_seconds(end_ns), _seconds(start_ns) + 1),
            "limit": max(1, limit),
            "spss": 1,
        }
        doc = self.backend.get_json("/api/search", params)
        # jsonpb leaves out an empty list, so no "traces" key (or null) is an empty result.
        traces = doc.get("traces") or [] if isinstance(doc, dict) else None
        if not isinstance(traces, list):
            raise SourceError(f"{self.backend.display}/api/search: no 'traces' list in the answer")
        found: dict[str, RequestSummary] = {}
        left_out: Counter[str] = Counter()
        for item in traces:
            summary = _summary(item)
            if summary is None:
                left_out["root span not yet received"] += 1
            elif start_ns <= summary.start_ns < end_ns:
                found[summary.trace_id] = summary
        return found, left_out

    def _search_sliced(
        self, query: str, start_ns: int, end_ns: int, limit: int
    ) -> tuple[dict[str, RequestSummary], Counter[str]]:
        bounds = split_window(start_ns, end_ns, SLICES)
        # Each slice may fill the whole limit (search results are small); when together they
        # hold more, every k-th in time order is kept, so the listing spreads over the window.
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            parts = list(pool.map(lambda b: self._search(query, b[0], b[1], limit), bounds))
        found: dict[str, RequestSummary] = {}
        left_out: Counter[str] = Counter()
        for part, skipped in parts:
            found.update(part)
            left_out.update(skipped)
        if len(found) > limit:
            ordered = sorted(found.values(), key=lambda s: (s.start_ns, s.trace_id))
            stride = len(ordered) / limit
            found = {s.trace_id: s for s in (ordered[int(i * stride)] for i in range(limit))}
        return found, left_out

    def _percentiles(self, query: str, start_ns: int, end_ns: int) -> Percentiles | None:
        """p50/p90/p99 and the request count from TraceQL metrics; None where unsupported."""
        window = {"start": _seconds(start_ns), "end": max(_seconds(end_ns), _seconds(start_ns) + 1)}
        quantiles = self._instant(f"{query} | quantile_over_time(duration, .5, .9, .99)", window)
        if quantiles is None:
            return None
        by_p: dict[float, float] = {}
        for series in quantiles:
            p = _label(series, "p")
            value = _value(series)
            if isinstance(p, float) and value is not None:
                by_p[round(p, 3)] = value * 1e9  # seconds -> ns
        if not {0.5, 0.9, 0.99} <= set(by_p):
            return None
        counts = self._instant(f"{query} | count_over_time()", window)
        count = None
        if counts:
            values = [v for v in (_value(s) for s in counts) if v is not None]
            count = round(sum(values)) if values else None
        return Percentiles(
            count=count,
            p50_ns=by_p[0.5],
            p90_ns=by_p[0.9],
            p99_ns=by_p[0.99],
            method="TraceQL metrics (quantile_over_time; Tempo's are approximate)",
        )

    def _instant(self, q: str, window: dict[str, int]) -> list[Any] | None:
        """The series of a metrics query over the whole window; None when the server has none.

        The instant endpoint (Tempo 2.6+) first; before it, a range query whose one step is the
        whole window, taken only when each series holds that single sample (a window split
        across two steps would give two partial quantiles).
        """
        series = self._series("/api/metrics/query", {"q": q, **window})
        if series is not None:
            return series
        step = {"step": f"{max(1, window['end'] - window['start'])}s"}
        series = self._series("/api/metrics/query_range", {"q": q, **window, **step})
        if series is None or any(len(s.get("samples") or ()) != 1 for s in series):
            return None
        return series

    def _series(self, path: str, params: dict[str, Any]) -> list[Any] | None:
        try:
            response = self.backend.get(path, params)
        except Exception:
            return None
        if response.status_code != 200:
            return None
        try:
            doc = self.backend.decode(response, path)
        except SourceError:
            return None
        series = doc.get("series") if isinstance(doc, dict) else None
        return (
            series
            if isinstance(series, list) and all(isinstance(s, dict) for s in series)
            else None
        )

    def routes(self, window: Window) -> Counter[str]:
        """Root service and span name of the server requests in the window, with counts."""
        start_ns, end_ns = window.bounds(DEFAULT_WINDOW_NS, time.time_ns())
        found, _ = self._search(tempo_selector(None), start_ns, end_ns, 2000)
        return Counter(f"{s.service}: {s.name}" for s in found.values())

    # -- traces --------------------------------------------------------------------------------

    def fetch(self, trace_ids: Sequence[str], progress: FetchProgress | None = None) -> Fetched:
        fetched = fetch_traces(
            trace_ids,
            self._download,
            self._parse,
            self.cache,
            self.options.concurrency,
            progress,
        )
        if self._refused is not None:
            raise self._refused
        return fetched

    def _by_id(self, probe: str) -> str:
        """The by-id path, chosen on the first download: a run the cache serves asks nothing."""
        with self._choosing:
            if self._by_id_path is None:
                try:
                    self._by_id_path = self._choose_by_id(probe)
                except SourceError as e:
                    self._by_id_path, self._refused = "/api/v2/traces/", e
        return self._by_id_path

    def _choose_by_id(self, probe: str) -> str:
        """Tempo 2.6+ serves `/api/v2/traces/{id}`; older ones only `/api/traces/{id}`."""
        try:
            response = self.backend.get(f"/api/v2/traces/{probe}")
        except Exception:
            return "/api/v2/traces/"
        failure = self.backend.failure(response)
        if response.status_code == 404 and failure is not None and "no such API" in failure.detail:
            log.info("tempo: %s has no /api/v2/traces; using /api/traces", self.backend.display)
            return "/api/traces/"
        if failure is not None and response.status_code in (401, 403):
            raise SourceError(f"{self.backend.display}/api/v2/traces: {failure.detail}")
        return "/api/v2/traces/"

    def _download(self, trace_id: str) -> bytes:
        return download_body(self.backend, f"{self._by_id(trace_id)}{trace_id}")

    def _parse(self, body: bytes, trace_id: str) -> Trace:
        origin = f"{self.backend.display}{self._by_id_path or '/api/traces/'}{trace_id}"
        issues: list[ReadIssue] = []
        trace = parse_trace(body, trace_id, origin, issues)
        if b'"PARTIAL"' in body[-1024:]:  # the status follows the trace, at the end of the body
            issues.append(ReadIssue(origin, "partial trace: Tempo returned only part of it"))
        self.issues.extend(issues)
        return trace

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every server request in the window (the last hour by default), fetched whole."""
        listed = self.requests(None, window or Window(), 100_000)
        yield from self.fetch([s.trace_id for s in listed.summaries]).traces


def _with_header(options: BackendOptions, name: str, value: str) -> BackendOptions:
    from dataclasses import replace

    return replace(options, headers={**options.headers, name: value})


def _summary(item: Any) -> RequestSummary | None:
    """One search result; None for a trace whose root span has not arrived (a fragment)."""
    if not isinstance(item, dict) or not isinstance(item.get("traceID"), str):
        return None
    service = item.get("rootServiceName") or ""
    if service == _NOT_YET or "rootTraceName" not in item:
        return None
    try:
        start_ns = int(item.get("startTimeUnixNano", 0))
        duration_ns = int(item.get("durationMs", 0)) * 1_000_000  # absent when under 1 ms
        tid = trace_id(item["traceID"])  # search trims leading zeros
    except (TypeError, ValueError, BadId):
        return None
    sets = item.get("spanSets") or ([item["spanSet"]] if item.get("spanSet") else [])
    spans = sets[0].get("spans") if sets and isinstance(sets[0], dict) else None
    matched = spans[0].get("name", "") if spans and isinstance(spans[0], dict) else ""
    return RequestSummary(
        trace_id=tid,
        start_ns=start_ns,
        duration_ns=duration_ns,
        service=str(service),
        name=str(item.get("rootTraceName", "")),
        matched=str(matched),
    )


def _label(series: Any, key: str) -> Any:
    for label in series.get("labels", []) if isinstance(series, dict) else []:
        if isinstance(label, dict) and label.get("key") == key:
            value = label.get("value", {})
            if isinstance(value, dict):
                return next(iter(value.values()), None)
    return None


def _value(series: Any) -> float | None:
    """An instant series' value (or a range series' last sample)."""
    if not isinstance(series, dict):
        return None
    value = series.get("value")
    if value is None and isinstance(series.get("samples"), list) and series["samples"]:
        value = series["samples"][-1].get("value")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
