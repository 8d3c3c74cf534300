"""Jaeger as a source: `jaeger+http(s)://host[:port][/base-path]`; `jaeger+v3+http://…` forces v3.

    source = JaegerSource("jaeger+http://jaeger-query:16686")
    listed = source.requests("result", window, limit=2000)
    fetched = source.fetch(ids)

The query API is chosen once per run and said on stderr: the v1 JSON API where the server has it
(every release up to 2.20), api_v3 where it does not (newer releases removed v1 search, services and
operations). A route becomes the (service, operation) pairs whose server operations match it by
the `--route` rule; each pair is searched and the results merged by trace id. Searches return
whole traces, except api_v3's `trace-summaries` (2.19+), which gives start and duration alone so
that only the traces chosen are fetched. Jaeger's duration filters match any span, not the
request, so durations are always the root span's, computed here. A v3 404 "No traces found" is an
empty result.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from tracelens.errors import SourceError, UsageError
from tracelens.model import ReadIssue, Trace
from tracelens.readers import parse_document
from tracelens.readers.ids import BadId, trace_id
from tracelens.routes import RouteMatcher
from tracelens.sources import (
    DEFAULT_WINDOW_NS,
    Fetched,
    FetchProgress,
    Requests,
    RequestSummary,
    Window,
)
from tracelens.sources.cache import TraceCache
from tracelens.sources.entries import route_entries
from tracelens.sources.fetch import download_body, fetch_traces, parse_trace
from tracelens.sources.http import Backend, BackendOptions, HTTPFailure

log = logging.getLogger("tracelens")

MAX_TARGETS = 24  # (service, operation) pairs probed for one route
PROBE_PER_TARGET = 4  # traces fetched per pair to learn which pairs are entry spans


def _rfc3339(t_ns: int) -> str:
    seconds, nanos = divmod(t_ns, 10**9)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{nanos:09d}Z"


class JaegerSource:
    """Traces from the Jaeger query service's HTTP API (v1 JSON or api_v3)."""

    def __init__(self, spec: str, options: BackendOptions | None = None) -> None:
        options = options or BackendOptions.from_env()
        if options.tenant and "x-tenant" not in {k.lower() for k in options.headers}:
            options = replace(options, headers={**options.headers, "x-tenant": options.tenant})
        self.forced_v3 = spec.lower().startswith("jaeger+v3+")
        if self.forced_v3:
            spec = "jaeger+" + spec[len("jaeger+v3+") :]
        self.backend = Backend(spec, "jaeger", options)
        self.options = options
        self.description = f"Jaeger at {self.backend.display}"
        self.issues: list[ReadIssue] = []
        self.link_base = self.backend.base  # the query service serves the UI on the same base
        tenant = options.headers.get("x-tenant", "")
        self.cache = TraceCache.for_backend(
            f"jaeger|{self.backend.base}|{tenant}", options.cache, options.cache_dir
        )
        self._api: str | None = None  # "v1" or "v3", chosen on first use
        self._services: list[str] = []
        self._summaries_endpoint = True  # until the server says it has no trace-summaries
        self._html: HTTPFailure | None = None  # an HTML page where the API should be

    # -- which API -----------------------------------------------------------------------------

    def api(self) -> str:
        """ "v1" or "v3": v1 where /api/services answers, else api_v3 (backends.md §2.5)."""
        if self._api is not None:
            return self._api
        if not self.forced_v3:
            doc = self._try("/api/services")
            if isinstance(doc, dict) and "data" in doc:
                self._api, self._services = "v1", _strings(doc.get("data"))
                log.info("jaeger: using the v1 query API of %s", self.backend.display)
                return self._api
        doc = self._try("/api/v3/services")
        if isinstance(doc, dict) and ("services" in doc or not doc):
            self._api, self._services = "v3", _strings(doc.get("services"))
            log.info(
                "jaeger: using api_v3 of %s%s",
                self.backend.display,
                "" if self.forced_v3 else " (it has no v1 search)",
            )
            return self._api
        if self._html is not None:  # a login page (an auth proxy) or the UI, not the API
            raise SourceError(f"{self.backend.display}/api/v3/services: {self._html.detail}")
        raise SourceError(
            f"{self.backend.display}: no Jaeger query API here (neither /api/services nor "
            "/api/v3/services answered); check the port (16686) and the base path"
        )

    def _try(self, path: str) -> Any:
        """The JSON at `path`; None when the path is not there; SourceError for other failures."""
        response = self._get(path)
        if response is None:
            return None
        failure = self.backend.failure(response)
        if failure is not None and (response.status_code == 404 or "HTML" in failure.reason):
            if "HTML" in failure.reason:
                self._html = failure
            return None
        return self.backend.decode(response, path)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self.backend.get(path, params)
        except HTTPFailure as e:
            raise SourceError(f"{self.backend.display}{path}: {e.detail}") from None

    # -- listing -------------------------------------------------------------------------------

    def operations(self, service: str) -> list[str]:
        """The service's server operations (span names)."""
        if self.api() == "v1":
            doc = self.backend.get_json(
                "/api/operations", {"service": service, "spanKind": "server"}
            )
            items = doc.get("data") if isinstance(doc, dict) else None
        else:
            doc = self.backend.get_json(
                "/api/v3/operations", {"service": service, "span_kind": "server"}
            )
            items = doc.get("operations") if isinstance(doc, dict) else None
        return sorted(
            {str(op["name"]) for op in items or () if isinstance(op, dict) and op.get("name")}
        )

    def _all_operations(self) -> dict[str, list[str]]:
        self.api()
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            ops = list(pool.map(self.operations, self._services))
        return dict(zip(self._services, ops, strict=True))

    def targets(self, route: str | None) -> list[tuple[str, str]]:
        """The (service, operation) pairs whose server operations match the route (None: every
        server operation; `slowest` asks for a route first when there are several)."""
        by_service = self._all_operations()
        pairs = [(s, op) for s, ops in by_service.items() for op in ops]
        if route is None:
            return pairs
        matcher = RouteMatcher(route)
        chosen = [(s, op) for s, op in pairs if matcher.matches_name(op)]
        if not chosen:
            listing = ", ".join(f"{s}: {op}" for s, op in pairs[:12]) or "none"
            if len(pairs) > 12:
                listing += f" and {len(pairs) - 12} more"
            raise UsageError(
                f"no server operation in {self.backend.display} matches route {route!r}; "
                f"server operations: {listing}"
            )
        if len(chosen) > MAX_TARGETS:
            listing = ", ".join(f"{s}: {op}" for s, op in chosen[:12])
            raise UsageError(
                f"route {route!r} matches {len(chosen)} operations in Jaeger; "
                f"be more specific: {listing}"
            )
        return chosen

    def requests(self, route: str | None, window: Window, limit: int) -> Requests:
        start_ns, end_ns = window.bounds(DEFAULT_WINDOW_NS, time.time_ns())
        pairs = self.targets(route)
        if route is not None:
            pairs = self._entry_pairs(route, pairs, start_ns, end_ns)
        # Jaeger lists the newest requests first: a listing cut by the limit holds the end of the
        # window, which the report says. (Searching slices of the window spreads it, but leaves
        # the limit unfilled wherever requests are uneven, and each search costs whole traces.)
        parts = self._search_all([(s, op, start_ns, end_ns) for s, op in pairs], limit)
        summaries: dict[str, RequestSummary] = {}
        traces: dict[str, Trace] = {}
        complete = True
        for found, whole, cut in parts:
            summaries.update(found)
            traces.update(whole)
            complete = complete and not cut
        listed = sorted(summaries.values(), key=lambda s: s.start_ns)
        api = "api_v3" if self._api == "v3" else "v1 query API"
        query = f"Jaeger {api}: " + "; ".join(f"service={s} operation={op}" for s, op in pairs)
        if not complete:
            query += " (newest first: the listing holds the end of the window)"
        return Requests(summaries=tuple(listed), query=query, complete=complete, traces=traces)

    def _search_all(
        self, jobs: Sequence[tuple[str, str, int, int]], limit: int
    ) -> list[tuple[dict[str, RequestSummary], dict[str, Trace], bool]]:
        """Each (service, operation, start, end) searched, `limit` requests each, concurrently."""
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            return list(pool.map(lambda j: self._search(j[0], j[1], j[2], j[3], limit), jobs))

    def _entry_pairs(
        self, route: str, pairs: list[tuple[str, str]], start_ns: int, end_ns: int
    ) -> list[tuple[str, str]]:
        """The pairs that are the route's entry spans in a probe of each (entries.py)."""
        probe: list[Trace] = []
        missing: list[str] = []
        jobs = [(s, op, start_ns, end_ns) for s, op in pairs]
        for found, whole, _ in self._search_all(jobs, PROBE_PER_TARGET):
            probe += whole.values()
            missing += [t for t in found if t not in whole]
        probe += self.fetch(missing).traces
        entries = route_entries(route, probe)
        return [p for p in pairs if p in entries] or pairs

    def _search(
        self, service: str, operation: str, start_ns: int, end_ns: int, limit: int
    ) -> tuple[dict[str, RequestSummary], dict[str, Trace], bool]:
        """Requests of one operation: summaries, the traces that came whole, and if `limit` cut."""
        if self.api() == "v1":
            params: dict[str, Any] = {
                "service": service,
                "operation": operation,
                "start": start_ns // 1000,
                "end": end_ns // 1000,
                "limit": limit,
            }
            doc = self.backend.get_json("/api/traces", params)
            items = doc.get("data") if isinstance(doc, dict) else None
            traces = self._whole(items or [], "/api/traces")
        else:
            params = {
                "query.service_name": service,
                "query.operation_name": operation,
                "query.start_time_min": _rfc3339(start_ns),
                "query.start_time_max": _rfc3339(end_ns),
                "query.num_traces": limit,
                "query.search_depth": limit,
            }
            summaries = self._v3_summaries(params) if self._summaries_endpoint else None
            if summaries is not None:
                found = {s.trace_id: s for s in summaries if start_ns <= s.start_ns < end_ns}
                return found, {}, len(summaries) >= limit
            doc = self.backend.get_json("/api/v3/traces", params, missing_ok=True)
            traces = {t.trace_id: t for t in self._v3_traces(doc, "/api/v3/traces")}
        found = {}
        for t in traces.values():
            summary = _root_summary(t)
            if start_ns <= summary.start_ns < end_ns:
                found[t.trace_id] = summary
        return found, traces, len(traces) >= limit

    def _v3_summaries(self, params: dict[str, Any]) -> list[RequestSummary] | None:
        """api_v3 trace summaries (Jaeger 2.19+); None when the server has no such endpoint."""
        response = self._get("/api/v3/trace-summaries", params)
        failure = self.backend.failure(response)
        if response.status_code == 404 and failure is not None and "no such API" in failure.detail:
            self._summaries_endpoint = False
            return None
        if response.status_code == 404:
            return []  # "No traces found"
        doc = self.backend.decode(response, "/api/v3/trace-summaries")
        out = []
        for item in doc.get("summaries", []) if isinstance(doc, dict) else []:
            try:
                start = int(item.get("minStartTimeUnixNano", 0))
                end = int(item.get("maxEndTimeUnixNano", start))
                tid = trace_id(str(item["traceId"]))
            except (KeyError, TypeError, ValueError, BadId):
                continue
            out.append(
                RequestSummary(
                    trace_id=tid,
                    start_ns=start,
                    duration_ns=max(0, end - start),
                    service=str(item.get("rootServiceName", "")),
                    name=str(item.get("rootOperationName", "")),
                )
            )
        return out

    def _whole(self, items: Iterable[Any], path: str) -> dict[str, Trace]:
        """v1 trace objects from a search, parsed as files are, and kept in the cache."""
        out: dict[str, Trace] = {}
        for item in items:
            try:
                for trace in parse_document({"data": [item]}, self.backend.display + path):
                    out[trace.trace_id] = trace
                    self.cache.put(trace)
            except SourceError as e:
                self.issues.append(ReadIssue(self.backend.display + path, str(e)))
        return out

    def _v3_traces(self, doc: Any, path: str) -> list[Trace]:
        if doc is None:
            return []  # 404 "No traces found": an empty result
        origin = self.backend.display + path
        try:
            return parse_document(doc, origin, self.issues)
        except SourceError as e:
            self.issues.append(ReadIssue(origin, str(e)))
            return []

    def routes(self, window: Window) -> Counter[str]:
        """Every service's server operations (Jaeger lists no counts without a search)."""
        return Counter({f"{s}: {op}": 0 for s, ops in self._all_operations().items() for op in ops})

    # -- traces --------------------------------------------------------------------------------

    def fetch(self, trace_ids: Sequence[str], progress: FetchProgress | None = None) -> Fetched:
        self.api()
        return fetch_traces(
            trace_ids, self._download, self._parse, self.cache, self.options.concurrency, progress
        )

    def _path(self, tid: str) -> str:
        return f"/api/traces/{tid}" if self._api == "v1" else f"/api/v3/traces/{tid}"

    def _download(self, tid: str) -> bytes:
        return download_body(self.backend, self._path(tid))

    def _parse(self, body: bytes, tid: str) -> Trace:
        return parse_trace(body, tid, self.backend.display + self._path(tid), self.issues)

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every request of every server operation in the window, fetched whole."""
        listed = self.requests(None, window or Window(), 100_000)
        missing = [s.trace_id for s in listed.summaries if s.trace_id not in listed.traces]
        yield from listed.traces.values()
        yield from self.fetch(missing).traces


def _strings(value: Any) -> list[str]:
    return sorted({str(v) for v in value or () if isinstance(v, str) and v})


def _root_summary(trace: Trace) -> RequestSummary:
    """The request as its root span saw it: the earliest span whose parent is not in the trace."""
    ids = {s.span_id for s in trace.spans}
    roots = [s for s in trace.spans if s.parent_id is None or s.parent_id not in ids]
    root = min(roots or trace.spans, key=lambda s: (s.start_ns, -s.end_ns))
    return RequestSummary(
        trace_id=trace.trace_id,
        start_ns=root.start_ns,
        duration_ns=root.end_ns - root.start_ns,
        service=root.service,
        name=root.name,
    )
