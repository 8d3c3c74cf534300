"""A fake jaeger-query: the v1 JSON API and api_v3 over HTTP, as a given release serves them.

    with FakeJaeger(traces, version="1.53", prefix="/jaeger") as jaeger:
        requests.get(f"{jaeger.url}/api/v3/traces/{trace_id}")   # base64 ids, enum names

Versions compare numerically ("1.53" < "2.19" < "2.20" < "main"): before 1.54 api_v3 writes
base64 ids and enum names; 2.19 adds camelCase parameters, `query.search_depth` and
`/api/v3/trace-summaries`; "main" (after 2.20) removed v1 services, operations and search.
Searches match like Jaeger's memory store: a trace matches when one span has the service, the
operation, a duration within the bounds, a start in the window and the tags (backends.md §2).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from tests.fakes.encode import (
    bounds_ns,
    jaeger_tags,
    jaeger_v1_trace,
    jaeger_v3_summary,
    otlp_v3,
)
from tests.fakes.server import (
    PAGE_NOT_FOUND,
    Auth,
    FakeServer,
    Fault,
    Reply,
    Request,
    go_duration_ns,
    html,
    rfc3339_ns,
    text,
    version_key,
)
from tracelens.model import Span, SpanKind, Trace

INDEX_HTML = "<!doctype html><html><head><title>Jaeger UI</title></head><body></body></html>"
_JSON = "application/json"
_HTTP_ERROR = "text/plain; charset=utf-8"  # Go's http.Error, whatever the body is
_REMOVED_ON_MAIN = re.compile(r"/api/(services|operations|traces)(/[^/]+/operations)?")
_KIND_NAMES = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
    SpanKind.INTERNAL: "internal",
}


def _json(obj: Any, status: int = 200, content_type: str = _JSON) -> Reply:
    return Reply(status, content_type, json.dumps(obj).encode() + b"\n")


def envelope(data: Any, total: int = 0, errors: list[dict[str, Any]] | None = None) -> Reply:
    return _json({"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors})


def v1_error(status: int, msg: str) -> Reply:
    body = {"data": None, "total": 0, "limit": 0, "offset": 0,
            "errors": [{"code": status, "msg": msg}]}  # fmt: skip
    return _json(body, status, _HTTP_ERROR)


def v3_error(status: int, message: str) -> Reply:
    return _json({"error": {"httpCode": status, "message": message}}, status, _HTTP_ERROR)


class BadParam(ValueError):
    """A query parameter the real server refuses with 400; the message is Jaeger's."""


class FakeJaeger(FakeServer):
    """jaeger-query on loopback holding `traces`; see the module docstring for versions."""

    def __init__(
        self,
        traces: Iterable[Trace],
        version: str = "2.20",
        prefix: str = "",
        faults: Sequence[Fault] = (),
        auth: Auth | None = None,
        tenant_header: str | None = None,
        delay_s: float = 0.0,
        *,
        tenants: Collection[str] | None = None,
        raw: Mapping[str, tuple[int, str, bytes]] | None = None,
    ) -> None:
        self.traces = list(traces)
        self.version = version
        self.tenant_header = tenant_header
        self.tenants = tenants  # None: any non-empty tenant is accepted
        super().__init__(prefix=prefix, faults=faults, auth=auth, delay_s=delay_s, raw=raw)

    def since(self, version: str) -> bool:
        return version_key(self.version) >= version_key(version)

    # -- routing ------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if self.tenant_header is not None:
            tenant = request.headers.get(self.tenant_header)
            if not tenant:
                return text(401, "missing tenant header\n")
            if self.tenants is not None and tenant not in self.tenants:
                return text(401, "unknown tenant\n")
        path = request.path
        if request.method not in ("GET", "HEAD"):
            return text(405, "Method Not Allowed\n")
        if self.version == "main" and _REMOVED_ON_MAIN.fullmatch(path):
            return text(404, PAGE_NOT_FOUND)
        try:
            return self._dispatch(request, path)
        except BadParam as e:
            if path.startswith("/api/v3/"):
                return v3_error(400, str(e))
            return v1_error(400, str(e))

    def _dispatch(self, request: Request, path: str) -> Reply:
        routes: list[tuple[str, Callable[..., Reply]]] = [
            (r"/api/services", self._services),
            (r"/api/services/([^/]+)/operations", self._service_operations),
            (r"/api/operations", self._operations),
            (r"/api/traces", self._search_v1),
            (r"/api/traces/([^/]+)", self._trace_v1),
            (r"/api/v3/services", self._services_v3),
            (r"/api/v3/operations", self._operations_v3),
            (r"/api/v3/traces", self._search_v3),
            (r"/api/v3/traces/([^/]+)", self._trace_v3),
        ]
        if self.since("2.19"):
            routes.append((r"/api/v3/trace-summaries", self._summaries_v3))
        for pattern, handler in routes:
            if m := re.fullmatch(pattern, path):
                return handler(request, *(unquote(g) for g in m.groups()))
        if path == "/api" or path.startswith("/api/"):
            return text(404, PAGE_NOT_FOUND)
        return html(INDEX_HTML)  # the UI's index.html for every other path

    # -- data -----------------------------------------------------------------------------------

    def _spans(self) -> Iterable[Span]:
        return (s for t in self.traces for s in t.spans)

    def _find(self, raw_id: str) -> Trace | None:
        tid = self._parse_id(raw_id)
        return next((t for t in self.traces if t.trace_id == tid), None)

    def _parse_id(self, raw_id: str) -> str:
        if re.fullmatch(r"[0-9a-fA-F]{1,32}", raw_id):
            return raw_id.lower().rjust(32, "0")
        if self.since("2.20"):  # base64 ids in paths since 2.20
            try:
                decoded = base64.b64decode(raw_id + "=" * (-len(raw_id) % 4), validate=True)
            except ValueError:
                decoded = b""
            if len(decoded) in (8, 16):
                return decoded.hex().rjust(32, "0")
        raise BadParam(f"malformed parameter traceID: cannot parse {raw_id!r} as a trace id")

    def _matching(
        self,
        service: str | None,
        operation: str | None,
        start_ns: int,
        end_ns: int,
        min_ns: int | None,
        max_ns: int | None,
        tags: Mapping[str, str],
        limit: int,
    ) -> list[Trace]:
        """Traces with one span meeting every condition, newest first, at most `limit`."""

        def span_ok(s: Span) -> bool:
            d = s.duration_ns
            if (service and s.service != service) or (operation and s.name != operation):
                return False
            if (min_ns is not None and d < min_ns) or (max_ns is not None and d > max_ns):
                return False
            if not start_ns <= s.start_ns <= end_ns:
                return False
            if tags:
                have = {k: _tag_text(v) for k, v in jaeger_tags(s).items()}
                return all(have.get(k) == v for k, v in tags.items())
            return True

        found = [t for t in self.traces if any(span_ok(s) for s in t.spans)]
        found.sort(key=lambda t: bounds_ns(t)[0], reverse=True)
        return found[:limit] if limit > 0 else found

    # -- v1 -------------------------------------------------------------------------------------

    def _services(self, request: Request) -> Reply:
        services = sorted({s.service for s in self._spans()})
        return envelope(services, total=len(services))

    def _service_operations(self, request: Request, service: str) -> Reply:
        names = sorted({s.name for s in self._spans() if s.service == service})
        return envelope(names, total=len(names))

    def _operations(self, request: Request) -> Reply:
        service = request.arg("service")
        if not service:
            raise BadParam("parameter 'service' is required")
        ops = self._operation_list(service, request.arg("spanKind") or "", unspecified="")
        return envelope(ops, total=len(ops))

    def _operation_list(self, service: str | None, kind: str, unspecified: str) -> list[Any]:
        pairs = {
            (s.name, _KIND_NAMES.get(s.kind, unspecified))
            for s in self._spans()
            if not service or s.service == service
        }
        return [{"name": n, "spanKind": k} for n, k in sorted(pairs) if not kind or k == kind]

    def _search_v1(self, request: Request) -> Reply:
        if "traceID" in request.query:
            found, errors = [], []
            for raw_id in request.query["traceID"]:
                trace = self._find(raw_id)
                if trace is None:
                    errors.append({"msg": "trace not found", "traceID": raw_id})
                else:
                    found.append(jaeger_v1_trace(trace))
            return envelope(found, errors=errors or None)
        service = request.arg("service")
        if not service:
            raise BadParam("parameter 'service' is required")
        now_us = time.time_ns() // 1000
        start_us = _int_param(request, "start", now_us - 48 * 3600 * 10**6)
        end_us = _int_param(request, "end", now_us)
        min_ns = _duration_param(request, "minDuration")
        max_ns = _duration_param(request, "maxDuration")
        if min_ns is not None and max_ns is not None and max_ns < min_ns:
            raise BadParam("'maxDuration' should be greater than 'minDuration'")
        tags: dict[str, str] = {}
        for raw in request.query.get("tags", []):
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError as e:
                raise BadParam(f"malformed 'tags' parameter, cannot unmarshal JSON: {e}") from e
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                raise BadParam("malformed 'tags' parameter, cannot unmarshal JSON: not a map")
            tags.update(parsed)
        for raw in request.query.get("tag", []):
            key, sep, value = raw.partition(":")
            if not sep:
                raise BadParam(f"malformed 'tag' parameter, expecting key:value, received: {raw}")
            tags[key] = value
        limit = _int_param(request, "limit", 100)
        traces = self._matching(
            service,
            request.arg("operation"),
            start_us * 1000,
            end_us * 1000 + 999,
            min_ns,
            max_ns,
            tags,
            limit,
        )
        return envelope([jaeger_v1_trace(t) for t in traces])

    def _trace_v1(self, request: Request, raw_id: str) -> Reply:
        trace = self._find(raw_id)
        if trace is None:
            return v1_error(404, "trace not found")
        return envelope([jaeger_v1_trace(trace)])

    # -- api_v3 ---------------------------------------------------------------------------------

    def _v3_doc(self, traces: Sequence[Trace]) -> Reply:
        """All traces' resourceSpans in one list, in the id and enum form of the version."""
        old = not self.since("1.54")
        docs = [otlp_v3(t, "base64" if old else "hex", "string" if old else "int") for t in traces]
        resource_spans = [rs for doc in docs for rs in doc["result"]["resourceSpans"]]
        return _json({"result": {"resourceSpans": resource_spans}})

    def _services_v3(self, request: Request) -> Reply:
        services = sorted({s.service for s in self._spans()})
        return _json({"services": services} if services else {})  # protojson omits empty lists

    def _operations_v3(self, request: Request) -> Reply:
        names = ("span_kind", "spanKind") if self.since("2.19") else ("span_kind",)
        kind = request.arg(*names) or ""
        ops = self._operation_list(request.arg("service"), kind, unspecified="internal")
        return _json({"operations": ops} if ops else {})

    def _trace_v3(self, request: Request, raw_id: str) -> Reply:
        trace = self._find(raw_id)
        if trace is None:
            return v3_error(404, "No traces found")
        return self._v3_doc([trace])

    def _v3_query(self, request: Request) -> list[Trace]:
        camel = self.since("2.19")

        def arg(snake: str, camel_name: str) -> str | None:
            names = (f"query.{snake}", f"query.{camel_name}") if camel else (f"query.{snake}",)
            return request.arg(*names)

        raw_min = arg("start_time_min", "startTimeMin")
        raw_max = arg("start_time_max", "startTimeMax")
        if not raw_min or not raw_max:
            raise BadParam("query.startTimeMin and query.startTimeMax are required")
        times = []
        for name, raw in (("query.startTimeMin", raw_min), ("query.startTimeMax", raw_max)):
            try:
                times.append(rfc3339_ns(raw))
            except ValueError as e:
                raise BadParam(f"malformed parameter {name}: {e}") from e
        if times[0] > times[1]:
            raise BadParam("query.startTimeMin must be before query.startTimeMax")
        bounds: list[int | None] = []
        for snake, camel_name in (("duration_min", "durationMin"), ("duration_max", "durationMax")):
            given = arg(snake, camel_name)
            try:
                bounds.append(go_duration_ns(given) if given else None)
            except ValueError as e:
                raise BadParam(f"malformed parameter query.{camel_name}: {e}") from e
        depth = arg("search_depth", "searchDepth") if camel else None
        depth = depth or request.arg("query.num_traces")
        try:
            limit = int(depth) if depth else 100
        except ValueError as e:
            raise BadParam(f"malformed parameter query.searchDepth: {e}") from e
        tags: dict[str, str] = {}
        if camel and (raw_attrs := request.arg("query.attributes")):
            try:
                tags = json.loads(raw_attrs)
            except json.JSONDecodeError as e:
                raise BadParam(f"malformed parameter query.attributes: {e}") from e
        service = arg("service_name", "serviceName")
        if not service and self.version == "main":
            raise BadParam("service name is required")
        operation = arg("operation_name", "operationName")
        return self._matching(
            service, operation, times[0], times[1], bounds[0], bounds[1], tags, limit
        )

    def _search_v3(self, request: Request) -> Reply:
        traces = self._v3_query(request)
        if not traces:
            return v3_error(404, "No traces found")
        return self._v3_doc(traces)

    def _summaries_v3(self, request: Request) -> Reply:
        traces = self._v3_query(request)
        return _json({"summaries": [jaeger_v3_summary(t) for t in traces]})


def _tag_text(value: object) -> str:
    """A tag value as the string Jaeger's tag search compares against."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        message = f"strconv.ParseInt: parsing {raw!r}: invalid syntax"
        raise BadParam(f"unable to parse param '{name}': {message}") from e


def _duration_param(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if not raw:
        return None
    try:
        return go_duration_ns(raw)
    except ValueError as e:
        raise BadParam(f"unable to parse param '{name}': {e}") from e
