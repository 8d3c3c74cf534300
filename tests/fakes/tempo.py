"""A fake Tempo query-frontend: search, trace by id (v1 and v2), TraceQL metrics, health.

    with FakeTempo(traces, version="2.9", org_id="tenant-a") as tempo:
        requests.get(f"{tempo.url}/api/search", params={"q": '{ kind = server }'},
                     headers={"X-Scope-OrgID": "tenant-a"})

TraceQL is a small subset, parsed by recursive descent (`parse_traceql`): span sets `{ … }` of
conditions joined by `&&`, `||` and parentheses that must hold on one span, span sets joined by
`&&`/`||`, an ignored `with (…)` hint, and the metrics pipelines `| quantile_over_time(duration,
q, …)` and `| count_over_time()`. Anything else is a 400, as a parse error would be.
"""

from __future__ import annotations

import json
import math
import operator
import re
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.encode import bounds_ns, root_span, tempo_search_entry, tempo_v1, tempo_v2
from tests.fakes.server import (
    PAGE_NOT_FOUND,
    Auth,
    FakeServer,
    Fault,
    Reply,
    Request,
    go_duration_ns,
    rfc3339_ns,
    text,
    version_key,
)
from tracelens.model import AttributeValue, Span, SpanKind, StatusCode, Trace

# -- TraceQL ------------------------------------------------------------------------------------


class TraceQLError(ValueError):
    """A query the fake (and, for real syntax errors, Tempo) refuses with 400."""


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<dur>\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)(?![\w.]))
    |(?P<num>-?(?:\d+\.\d*|\.\d+|\d+))
    |(?P<op>=~|!~|!=|>=|<=|&&|\|\||[=<>{}()|,])
    |(?P<ident>[A-Za-z_.][\w.:]*)""",
    re.VERBOSE,
)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_KINDS = {k.name.lower(): k for k in SpanKind}
_STATUSES = {c.name.lower(): c for c in StatusCode}
_INTRINSICS = {
    "name": "name", "span:name": "name", "kind": "kind", "span:kind": "kind",
    "status": "status", "span:status": "status", "duration": "duration",
    "span:duration": "duration", "span:id": "span_id", "span:parentID": "parent_id",
    "trace:id": "trace_id", "trace:rootName": "root_name", "rootName": "root_name",
    "trace:rootService": "root_service", "rootServiceName": "root_service",
    "trace:duration": "trace_duration", "traceDuration": "trace_duration",
    "nestedSetParent": "nested_set_parent",
}  # fmt: skip
_OPS = ("=", "!=", "=~", "!~", ">", ">=", "<", "<=")
_COMPARE = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
            "<": operator.lt, "<=": operator.le}  # fmt: skip

# A typed value: ("string"|"int"|"float"|"bool"|"duration"|"kind"|"status"|"nil", value)
Value = tuple[str, Any]


@dataclass(frozen=True)
class Cond:
    field: str  # an intrinsic from _INTRINSICS' values, or "span.x", "resource.x", ".x"
    op: str
    literal: Value
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class BoolOp:
    op: str  # "&&" or "||"
    left: Expr
    right: Expr


Expr = Cond | BoolOp | None  # None: the empty span set `{}`, every span


@dataclass(frozen=True)
class SpanSet:
    expr: Expr


@dataclass(frozen=True)
class SetOp:
    op: str
    left: SetExpr
    right: SetExpr


SetExpr = SpanSet | SetOp


@dataclass(frozen=True)
class Query:
    spans: SetExpr
    metric: str | None = None  # "quantile_over_time" or "count_over_time"
    quantiles: tuple[float, ...] = ()


def _tokens(query: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:
            raise TraceQLError(f"parse error at col {pos + 1}: unexpected {query[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    def escape(m: re.Match[str]) -> str:
        if m.group(1) not in _ESCAPES:
            raise TraceQLError(f"invalid escape \\{m.group(1)} in string {token}")
        return _ESCAPES[m.group(1)]

    return re.sub(r"\\(.)", escape, token[1:-1])


class _Parser:
    def __init__(self, query: str) -> None:
        self.toks = _tokens(query)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None, what: str | None = None) -> tuple[str, str]:
        """The next token, which must be `expected` when given (`what` names it for errors)."""
        if self.i >= len(self.toks):
            raise TraceQLError(f"parse error: unexpected end of query, expected {what or expected}")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise TraceQLError(f"parse error: expected {expected!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def query(self) -> Query:
        spans = self.set_or()
        metric: str | None = None
        quantiles: tuple[float, ...] = ()
        if self.peek() == "|":
            self.take("|")
            metric, quantiles = self.pipeline()
        if self.peek() == "with":  # query hints such as most_recent=true change nothing here
            self.take()
            self.take("(")
            while self.peek() not in (")", None):
                self.take()
            self.take(")")
        if self.peek() is not None:
            raise TraceQLError(f"parse error: unsupported syntax at {self.peek()!r}")
        return Query(spans, metric, quantiles)

    def set_or(self) -> SetExpr:
        left: SetExpr = self.set_and()
        while self.peek() == "||":
            self.take()
            left = SetOp("||", left, self.set_and())
        return left

    def set_and(self) -> SetExpr:
        left: SetExpr = self.spanset()
        while self.peek() == "&&":
            self.take()
            left = SetOp("&&", left, self.spanset())
        return left

    def spanset(self) -> SpanSet:
        self.take("{")
        expr = None if self.peek() == "}" else self.expr_or()
        self.take("}")
        if self.peek() in (">", "<", "~", "!~"):
            raise TraceQLError("structural operators are not supported by the fake")
        return SpanSet(expr)

    def expr_or(self) -> Expr:
        left = self.expr_and()
        while self.peek() == "||":
            self.take()
            left = BoolOp("||", left, self.expr_and())
        return left

    def expr_and(self) -> Expr:
        left = self.unary()
        while self.peek() == "&&":
            self.take()
            left = BoolOp("&&", left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.peek() == "(":
            self.take("(")
            inner = self.expr_or()
            self.take(")")
            return inner
        return self.condition()

    def field(self) -> str:
        kind, name = self.take(what="a field")
        if kind != "ident":
            raise TraceQLError(f"parse error: expected a field, found {name!r}")
        if name.endswith(".") and self.i < len(self.toks) and self.toks[self.i][0] == "str":
            name += _unquote(self.take()[1])  # span."attr with spaces"
        if name in _INTRINSICS:
            return _INTRINSICS[name]
        scope, _, attr = name.partition(".")
        if scope in ("span", "resource", "") and attr and not attr.endswith("."):
            return name
        raise TraceQLError(f"parse error: unknown or unsupported field {name!r}")

    def condition(self) -> Cond:
        field = self.field()
        _, op = self.take(what="an operator")
        if op not in _OPS:
            raise TraceQLError(f"parse error: expected an operator after {field}, found {op!r}")
        literal = self.literal(field)
        regex = None
        if op in ("=~", "!~"):
            if literal[0] != "string":
                raise TraceQLError(f"parse error: {op} needs a string, found {literal[1]!r}")
            try:
                regex = re.compile(literal[1])
            except re.error as e:
                raise TraceQLError(f"error parsing regexp: {e}") from e
        return Cond(field, op, literal, regex)

    def literal(self, field: str) -> Value:
        kind, tok = self.take(what="a value")
        if kind == "str":
            return ("string", _unquote(tok))
        if kind == "dur":
            return ("duration", go_duration_ns(tok))
        if kind == "num":
            return ("float", float(tok)) if "." in tok else ("int", int(tok))
        if kind == "ident":
            if tok in ("true", "false"):
                return ("bool", tok == "true")
            if tok == "nil":
                return ("nil", None)
            if field == "kind" and tok in _KINDS:
                return ("kind", tok)
            if field == "status" and tok in _STATUSES:
                return ("status", tok)
        raise TraceQLError(f"parse error: unexpected value {tok!r} for {field}")

    def pipeline(self) -> tuple[str, tuple[float, ...]]:
        _, name = self.take(what="a pipeline function")
        self.take("(")
        if name == "count_over_time":
            self.take(")")
            return name, ()
        if name != "quantile_over_time":
            raise TraceQLError(f"pipeline {name!r} is not supported by the fake")
        self.take("duration")  # the fake has no other quantile_over_time attribute
        quantiles = []
        while self.peek() == ",":
            self.take(",")
            kind, tok = self.take(what="a quantile")
            if kind != "num":
                raise TraceQLError(f"parse error: quantile must be a number, found {tok!r}")
            quantiles.append(float(tok))
        self.take(")")
        if not quantiles:
            raise TraceQLError("quantile_over_time needs at least one quantile")
        if self.peek() == "by":
            raise TraceQLError("by() is not supported by the fake")
        return name, tuple(quantiles)


def parse_traceql(query: str) -> Query:
    """The query's syntax tree; TraceQLError (a 400 from the server) for anything else."""
    return _Parser(query).query()


def _typed(value: AttributeValue | None) -> Value | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    return ("string", value)


class _TraceView:
    """The trace-level facts conditions may ask about, computed once per trace."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.root = root_span(trace)
        start, end = bounds_ns(trace)
        self.duration_ns = end - start
        self.ids = {s.span_id for s in trace.spans}

    def value(self, s: Span, field: str) -> Value | None:
        if field == "name":
            return ("string", s.name)
        if field == "kind":
            return ("kind", s.kind.name.lower())
        if field == "status":
            return ("status", s.status.name.lower())
        if field == "duration":
            return ("duration", s.duration_ns)
        if field == "span_id":
            return ("string", s.span_id)
        if field == "parent_id":
            return ("string", s.parent_id) if s.parent_id else None
        if field == "trace_id":
            return ("string", s.trace_id)
        if field == "trace_duration":
            return ("duration", self.duration_ns)
        if field == "nested_set_parent":
            return ("int", 1 if s.parent_id in self.ids else -1)
        if field in ("root_name", "root_service"):
            if self.root is None:
                return None
            return ("string", self.root.name if field == "root_name" else self.root.service)
        resource = {"service.name": s.service}
        if s.process and s.process != s.service:
            resource["service.instance.id"] = s.process
        if field.startswith("span."):
            return _typed(s.attributes.get(field[5:]))
        if field.startswith("resource."):
            return _typed(resource.get(field[9:]))
        key = field[1:]  # unscoped: the span's attribute, else the resource's
        return _typed(s.attributes[key] if key in s.attributes else resource.get(key))


def _compare(value: Value | None, cond: Cond, anchored: bool) -> bool:
    lit_kind, lit = cond.literal
    op = cond.op
    if lit_kind == "nil":
        return (value is None) if op == "=" else (value is not None) if op == "!=" else False
    if value is None:
        return False  # a missing attribute satisfies no comparison
    kind, v = value
    if cond.regex is not None:
        if kind != "string":
            return False
        found = (cond.regex.fullmatch if anchored else cond.regex.search)(v) is not None
        return found if op == "=~" else not found
    numeric = {"int", "float"}
    if not (kind == lit_kind or (kind in numeric and lit_kind in numeric)):
        return False  # type mismatch: Tempo matches nothing rather than failing
    if kind in ("bool", "kind", "status") and op not in ("=", "!="):
        return False
    return bool(_COMPARE[op](v, lit))


def _holds(expr: Expr, view: _TraceView, s: Span, anchored: bool) -> bool:
    if expr is None:
        return True
    if isinstance(expr, Cond):
        return _compare(view.value(s, expr.field), expr, anchored)
    if expr.op == "&&":
        return _holds(expr.left, view, s, anchored) and _holds(expr.right, view, s, anchored)
    return _holds(expr.left, view, s, anchored) or _holds(expr.right, view, s, anchored)


def matched_spans(spans: SetExpr, trace: Trace, anchored: bool = True) -> list[Span]:
    """The spans that make `trace` match, [] when it does not (`anchored`: Tempo 2.7+ regex)."""
    view = _TraceView(trace)

    def run(node: SetExpr) -> list[Span]:
        if isinstance(node, SpanSet):
            return [s for s in trace.spans if _holds(node.expr, view, s, anchored)]
        left, right = run(node.left), run(node.right)
        if node.op == "&&" and not (left and right):
            return []
        return left + [s for s in right if s not in left]

    return run(spans)


def quantile(values: Sequence[float], q: float) -> float:
    """Exact quantile with linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# -- the server ---------------------------------------------------------------------------------


class BadRequest(ValueError):
    """A 400 with this plain-text message."""


def _seconds_param(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as e:
        raise BadRequest(f'invalid {name}: strconv.ParseInt: parsing "{raw}"') from e
    if not 0 <= value < 2**32:
        raise BadRequest(f"invalid {name}: value out of range")
    return value


def _metrics_time_ns(raw: str, name: str) -> int:
    """Unix seconds (≤ 10 digits), nanoseconds (more), fractional seconds, or RFC 3339."""
    try:
        if re.fullmatch(r"\d+", raw):
            return int(raw) * 10**9 if len(raw) <= 10 else int(raw)
        if re.fullmatch(r"\d+\.\d+", raw):
            return round(float(raw) * 10**9)
        return rfc3339_ns(raw)
    except ValueError as e:
        raise BadRequest(f"invalid {name}: {e}") from e


class FakeTempo(FakeServer):
    """Tempo's query-frontend on loopback holding `traces`."""

    def __init__(
        self,
        traces: Iterable[Trace],
        version: str = "2.9",
        prefix: str = "",
        faults: Sequence[Fault] = (),
        auth: Auth | None = None,
        org_id: str | None = None,
        metrics: bool = True,
        delay_s: float = 0.0,
        *,
        v2_not_found_200: bool = False,
        raw: Mapping[str, tuple[int, str, bytes]] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.traces = list(traces)
        self.version = version
        self.org_id = org_id
        self.metrics = metrics
        self.v2_not_found_200 = v2_not_found_200
        super().__init__(prefix=prefix, faults=faults, auth=auth, delay_s=delay_s, raw=raw, tls=tls)

    def since(self, version: str) -> bool:
        return version_key(self.version) >= version_key(version)

    def route(self, request: Request) -> Reply:
        path = request.path
        if path == "/ready":
            return text(200, "ready")
        if path == "/api/echo":
            return text(200, "echo")
        if path == "/api/status/buildinfo" and self.since("2.3"):
            return _json({"version": self.version, "revision": "fake", "branch": "HEAD"})
        if self.org_id is not None and not request.headers.get("X-Scope-OrgID"):
            return text(401, "no org id\n")
        try:
            return self._dispatch(request, path)
        except (BadRequest, TraceQLError) as e:
            return text(400, f"{e}\n")

    def _dispatch(self, request: Request, path: str) -> Reply:
        if path == "/api/search":
            return self._search(request)
        if m := re.fullmatch(r"/api/traces/([^/]*)", path):
            return self._trace(request, m.group(1), v2=False)
        if (m := re.fullmatch(r"/api/v2/traces/([^/]*)", path)) and self.since("2.6"):
            return self._trace(request, m.group(1), v2=True)
        if self.metrics and path == "/api/metrics/query_range" and self.since("2.4"):
            return self._metrics(request, instant=False)
        if self.metrics and path == "/api/metrics/query" and self.since("2.6"):
            return self._metrics(request, instant=True)
        return text(404, PAGE_NOT_FOUND)

    def _visible(self, request: Request) -> list[Trace]:
        """Every trace, or none for a request naming other tenants (`a|b` names several)."""
        if self.org_id is None:
            return self.traces
        tenants = (request.headers.get("X-Scope-OrgID") or "").split("|")
        return self.traces if self.org_id in tenants else []

    # -- search ---------------------------------------------------------------------------------

    def _search(self, request: Request) -> Reply:
        q, tags = request.arg("q"), request.arg("tags")
        if q and tags:
            raise BadRequest("invalid request: tags and q cannot be combined")
        query = parse_traceql(q) if q else parse_traceql("{}")
        if query.metric is not None:
            raise BadRequest("invalid TraceQL query: metrics queries are not allowed in search")
        start, end = _seconds_param(request, "start"), _seconds_param(request, "end")
        if end is not None and start is None:
            start = 0
        if start is not None and (end is None or end <= start):
            raise BadRequest(_order_message(start, end or 0))
        limit = self._int(request, "limit", 20)
        if limit <= 0:
            raise BadRequest("invalid limit: must be a positive number")
        spss = self._int(request, "spss", 3)
        bounds = []
        for name in ("minDuration", "maxDuration"):
            raw = request.arg(name)
            try:  # Tempo keeps whole milliseconds
                bounds.append(go_duration_ns(raw) // 1_000_000 * 1_000_000 if raw else None)
            except ValueError as e:
                raise BadRequest(f"invalid {name}: {e}") from e
        min_ns, max_ns = bounds
        if min_ns is not None and max_ns is not None and min_ns > max_ns:
            raise BadRequest("invalid maxDuration: must be greater than minDuration")
        legacy = _logfmt(tags) if tags else {}
        anchored = self.since("2.7")

        visible = self._visible(request)
        found: list[tuple[int, dict[str, Any]]] = []
        for trace in visible:  # the first `limit` found, not the newest
            if len(found) >= limit:
                break
            t_start, t_end = bounds_ns(trace)
            window = start is not None and end is not None
            if window and (t_end < start * 10**9 or t_start > end * 10**9):  # type: ignore[operator]
                continue
            d = t_end - t_start
            if (min_ns is not None and d < min_ns) or (max_ns is not None and d > max_ns):
                continue
            if legacy and not _legacy_match(trace, legacy):
                continue
            spans = matched_spans(query.spans, trace, anchored)
            if spans:
                found.append((t_start, tempo_search_entry(trace, spans, spss)))
        found.sort(key=lambda pair: pair[0], reverse=True)
        spans_seen = sum(len(t.spans) for t in visible)
        metrics = {"inspectedTraces": len(visible), "inspectedBytes": str(spans_seen * 200),
                   "completedJobs": 1, "totalJobs": 1}  # fmt: skip
        return _json({"traces": [entry for _, entry in found], "metrics": metrics})

    def _int(self, request: Request, name: str, default: int) -> int:
        raw = request.arg(name)
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError as e:
            raise BadRequest(f'invalid {name}: strconv.Atoi: parsing "{raw}"') from e

    # -- trace by id ----------------------------------------------------------------------------

    def _trace(self, request: Request, raw_id: str, v2: bool) -> Reply:
        bad = next((i for i, c in enumerate(raw_id) if c not in "0123456789abcdefABCDEF"), None)
        if bad is not None:
            raise BadRequest(
                "trace IDs can only contain hex characters: "
                f"invalid character '{raw_id[bad]}' at position {bad + 1}"
            )
        if not raw_id or len(raw_id) > 32:
            raise BadRequest(f"trace IDs can't be empty or larger than 128 bits: {raw_id}")
        start, end = _seconds_param(request, "start"), _seconds_param(request, "end")
        if start is not None and end is not None and end <= start:
            raise BadRequest(_order_message(start, end))
        tid = raw_id.lower().rjust(32, "0")
        trace = next((t for t in self._visible(request) if t.trace_id == tid), None)
        if trace is not None and start is not None and end is not None:
            t_start, t_end = bounds_ns(trace)
            if t_end < start * 10**9 or t_start > end * 10**9:
                trace = None  # only the blocks of the window were searched
        if trace is None:
            if v2 and self.v2_not_found_200:
                return _json({"trace": {}, "metrics": {"inspectedBytes": "0"}})
            return Reply(404, "text/plain; charset=utf-8", b"")
        if not v2:
            return _json(tempo_v1(trace))
        doc = tempo_v2(trace)
        doc["metrics"] = {"inspectedBytes": str(len(trace.spans) * 200)}
        return _json(doc)

    # -- TraceQL metrics ------------------------------------------------------------------------

    def _metrics(self, request: Request, instant: bool) -> Reply:
        q = request.arg("q", "query")
        if not q:
            raise BadRequest("invalid TraceQL query: empty query")
        query = parse_traceql(q)
        if query.metric is None:
            raise BadRequest("invalid TraceQL query: a metrics query needs a metrics pipeline")
        if query.metric == "quantile_over_time" and not self.since("2.5"):
            raise TraceQLError("parse error: unknown function quantile_over_time")
        raw_end = request.arg("end")
        end_ns = _metrics_time_ns(raw_end, "end") if raw_end else time.time_ns()
        raw_start, since = request.arg("start"), request.arg("since")
        if raw_start:
            start_ns = _metrics_time_ns(raw_start, "start")
        else:
            try:
                start_ns = end_ns - (go_duration_ns(since) if since else 3600 * 10**9)
            except ValueError as e:
                raise BadRequest(f"invalid since: {e}") from e
        if end_ns <= start_ns:
            raise BadRequest("invalid start: end must be after start")
        anchored = self.since("2.7")
        durations = [
            s.duration_ns / 1e9
            for t in self._visible(request)
            for s in matched_spans(query.spans, t, anchored)
            if start_ns <= s.start_ns < end_ns
        ]
        series: list[tuple[list[dict[str, Any]], float]] = []
        if query.metric == "count_over_time":
            if durations:
                label = {"key": "__name__", "value": {"stringValue": "count_over_time"}}
                series.append(([label], float(len(durations))))
        elif durations:
            for p in query.quantiles:
                label = {"key": "p", "value": {"doubleValue": p}}
                series.append(([label], quantile(durations, p)))
        out = []
        for labels, value in series:
            entry: dict[str, Any] = {"labels": labels}
            if not self.since("2.9"):  # the legacy string form, removed in 2.9
                entry["promLabels"] = "{" + ", ".join(_prom(label) for label in labels) + "}"
            if instant:
                entry["value"] = value
            else:
                entry["samples"] = [{"timestampMs": str(start_ns // 10**6), "value": value}]
            out.append(entry)
        metrics = {"inspectedBytes": str(len(durations) * 200), "totalJobs": 1, "completedJobs": 1}
        return _json({"series": out, "metrics": metrics})


def _order_message(start: int, end: int) -> str:
    return f"http parameter start must be before end. received start={start} end={end}"


def _prom(label: Mapping[str, Any]) -> str:
    value = next(iter(label["value"].values()))
    return f'{label["key"]}="{value}"'


def _json(obj: Any, status: int = 200) -> Reply:
    return Reply(status, "application/json", json.dumps(obj).encode())


def _logfmt(raw: str) -> dict[str, str]:
    """Legacy `tags=` search: `key=value key2="v w"`; a repeated key is a 400."""
    out: dict[str, str] = {}
    for m in re.finditer(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)', raw):
        key, value = m.group(1), m.group(2)
        if key in out:
            raise BadRequest(f"invalid tags: duplicate key {key}")
        out[key] = value[1:-1] if value.startswith('"') else value
    return out


def _legacy_match(trace: Trace, tags: Mapping[str, str]) -> bool:
    """Each tag's value is a case-insensitive substring of that attribute on some span."""

    def values(s: Span, key: str) -> list[str]:
        found = {"name": s.name, "service.name": s.service}.get(key)
        attr = s.attributes.get(key)
        return [str(v) for v in (found, attr) if v is not None]

    return all(
        any(value.lower() in v.lower() for s in trace.spans for v in values(s, key))
        for key, value in tags.items()
    )
