"""Per-trace figures the later stages need, computed once in the map step: `trace_facts(...)`.

    facts = trace_facts(tree, path)          # analyze_trace does this for the route's traces
    facts.keys[i], facts.on_path[i], facts.head_on_path[i], facts.self_ns[i], facts.head_ns[i]

Indices are the tree's span indices. The baseline profile, every detector and the attribution read
these figures from the analysis that carries them; nothing is cached behind their backs. Also the
span classifiers the detectors share (is this a call, a DB statement, a failure; which host does it
reach), so that "what is a call" means the same thing in every detector, whatever the
instrumentation or the lack of attributes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracelens.graph import SpanTree
from tracelens.model import Segment, Span, SpanKind, StatusCode
from tracelens.operations import DB_ATTRS, HOST, HTTP_URL, RPC, OpKey, operations_in

MS = 1_000_000
NO_CHILD = -1  # head gap of a span without children

_CALL_NAME = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|UPSERT|CALL|EXEC|HTTP\b|GET|POST|PUT|PATCH|"
    r"HEAD|OPTIONS|redis|memcached|mongo|grpc|rpc)\b",
    re.I,
)
_SQL_NAME = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|UPSERT|CALL|EXEC)\b", re.I)
_CALL_ATTRS = DB_ATTRS | {"http.method", "http.request.method", "rpc.system", *RPC}
_COMPOSITE = ("span.composite.count", "composite.count", "elastic.composite.count")
_STATUS_KEYS = ("http.response.status_code", "http.status_code", "rpc.grpc.status_code")
_CACHE_SYSTEMS = frozenset({"redis", "memcached", "valkey", "hazelcast", "ehcache"})


_DNS_EXACT = frozenset({"dns.lookup", "http.dns", "resolve", "dns", "dns.resolve", "getaddrinfo"})
_DNS_PREFIX = ("dns lookup", "dns.lookup", "dns resolve", "dns.resolve", "dns query", "dns.query")
# Node's instrumentation-net names its spans `tcp.connect`, `tls.connect` and `ipc.connect`.
_CONNECT_EXACT = frozenset(
    {
        "connect",
        "http.connect",
        "http.tls",
        "http.getconn",
        "tls",
        "ssl",
        "tcp.connect",
        "tls.connect",
        "ipc.connect",
    }
)
_CONNECT_PREFIX = (
    "http.connect",
    "http.tls",
    "tls handshake",
    "ssl handshake",
    "sslhandshake",
    "socket connect",
    "tcp connect",
    "http connection_setup",
    "http wait_for_connection",
    "connection_setup",
    "wait_for_connection",
)
_SCOPE, _LIBRARY = "otel.scope.name", "otel.library.name"
_SCOPE_KEYS = (_SCOPE, _LIBRARY)
_CONNECT_SCOPES = frozenset(
    {
        "System.Net.Sockets",
        "System.Net.Security",
        "System.Net.Http.Connections",
        "@opentelemetry/instrumentation-net",
    }
)


def _scope(span: Span) -> str:
    for key in _SCOPE_KEYS:
        value = span.attributes.get(key)
        if value:
            return str(value)
    return ""


def is_dns(span: Span) -> bool:
    """A name lookup: Node `dns.lookup`, Go `http.dns`, netty `RESOLVE`, .NET, `dns.*` attrs."""
    if span.kind is SpanKind.SERVER:
        return False
    name = span.name.lower()
    if name in _DNS_EXACT or name.startswith(_DNS_PREFIX):
        return True
    if _scope(span) == "System.Net.NameResolution":
        return True
    return any(k.startswith("dns.") for k in span.attributes)


def is_connection(span: Span) -> bool:
    """Connection set-up or pool wait: TCP connect, TLS, Go getconn, .NET connection spans."""
    if span.kind is SpanKind.SERVER or is_dns(span):
        return False
    name = span.name.lower()
    if name in _CONNECT_EXACT or name.startswith(_CONNECT_PREFIX):
        return True
    return _scope(span) in _CONNECT_SCOPES or "http.conn.reused" in span.attributes


def is_db(span: Span) -> bool:
    """A database statement: DB attributes, or a SQL-looking name when there are none."""
    attrs = span.attributes
    if any(k in attrs for k in DB_ATTRS):
        return True
    return bool(_SQL_NAME.match(span.name)) and span.kind in (
        SpanKind.CLIENT,
        SpanKind.UNSPECIFIED,
        SpanKind.INTERNAL,
    )


def is_cache(span: Span) -> bool:
    system = str(span.attributes.get("db.system.name", span.attributes.get("db.system", "")))
    return system.lower() in _CACHE_SYSTEMS


def is_call(span: Span) -> bool:
    """An outgoing call (remote API, DB, cache, queue): by kind, else attributes, else name."""
    if span.kind in (SpanKind.CLIENT, SpanKind.PRODUCER):
        return True
    if span.kind is SpanKind.SERVER or span.kind is SpanKind.CONSUMER:
        return False
    attrs = span.attributes
    if any(k in attrs for k in _CALL_ATTRS):
        return True
    return bool(_CALL_NAME.match(span.name))


def status_code(span: Span) -> int:
    for key in _STATUS_KEYS[:2]:
        value = span.attributes.get(key)
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return 0
    return 0


def is_failure(span: Span) -> bool:
    """Status ERROR, an `error` tag, HTTP 5xx or 429, or an exception event."""
    if span.status is StatusCode.ERROR:
        return True
    attrs = span.attributes
    err = attrs.get("error")
    if err is True or (isinstance(err, str) and err.lower() == "true"):
        return True
    if str(attrs.get("otel.status_code", "")).upper() == "ERROR":
        return True
    code = status_code(span)
    if code >= 500 or code == 429:
        return True
    return any(e.name == "exception" for e in span.events)


def failure_reason(span: Span) -> str:
    code = status_code(span)
    if code:
        return f"HTTP {code}"
    kind = span.attributes.get("error.type") or span.attributes.get("exception.type")
    if kind:
        return str(kind)
    for e in span.events:
        if e.name == "exception":
            return str(e.attributes.get("exception.type", "exception"))
    return "error"


def composite_count(span: Span) -> int:
    """How many calls a span stands for (Elastic compresses identical calls into one span)."""
    for key in _COMPOSITE:
        value = span.attributes.get(key)
        if value is not None:
            try:
                return max(1, int(value))
            except (TypeError, ValueError):
                return 1
    return 1


def host_of(span: Span) -> str:
    for key in HOST:
        value = span.attributes.get(key)
        if value:
            return str(value)
    for key in HTTP_URL:
        value = span.attributes.get(key)
        if isinstance(value, str) and "://" in value:
            rest = value.split("://", 1)[1]
            return rest.split("/", 1)[0].split("@")[-1].rsplit(":", 1)[0]
    return ""


_CALL, _DNS, _CONNECTION, _DB, _MAY_FAIL, _SEVERAL = 1, 2, 4, 8, 16, 32
_FAILURE_ATTRS = frozenset({"error", "otel.status_code", *_STATUS_KEYS[:2]})
_SHAPE_LIMIT = 100_000  # distinct span shapes kept, as operations.py bounds its cache
_shapes: dict[tuple[object, ...], int] = {}


def _classify(span: Span) -> int:
    flags = 0
    if is_dns(span):
        flags |= _DNS
    elif is_connection(span):
        flags |= _CONNECTION
    if is_call(span):
        flags |= _CALL
    if is_db(span):
        flags |= _DB
    if any(k in span.attributes for k in _FAILURE_ATTRS):
        flags |= _MAY_FAIL
    if any(k in span.attributes for k in _COMPOSITE):
        flags |= _SEVERAL
    return flags


def _shape_flags(span: Span) -> int:
    """`_classify` cached by what it reads: name, kind, attribute names and the scope."""
    attrs = span.attributes
    try:
        key = (span.name, span.kind, tuple(attrs), attrs.get(_SCOPE), attrs.get(_LIBRARY))
        return _shapes[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable scope value from a lax reader
        return _classify(span)
    if len(_shapes) >= _SHAPE_LIMIT:
        _shapes.clear()
    flags = _shapes[key] = _classify(span)
    return flags


@dataclass(frozen=True, slots=True)
class TraceFacts:
    tree: SpanTree
    spans: tuple[Span, ...]
    duration_ns: int  # the root's
    operations: list[str]  # operations_in: normalised, "" where a span says nothing
    named: list[str]  # the operation, else the span name, else "(unnamed)": what reports show
    keys: list[OpKey]  # (service, operation)
    on_path: list[int]  # critical-path ns held by the span (its own segments)
    head_on_path: list[int]  # ... of which before its first child starts
    self_ns: list[int]
    head_ns: list[int]  # start -> first child start; NO_CHILD for leaves
    # Candidates, in index order, so that each detector looks only at the spans it can use:
    calls: list[int]  # is_call, but neither DNS nor connection set-up
    lookups: list[int]  # is_dns
    connections: list[int]  # is_connection
    statements: list[int]  # is_db
    failing: list[int]  # is_failure
    callers: list[tuple[int, int]]  # (caller, its callee) for every span with a callee
    composite: list[int]  # spans that may stand for several calls (composite_count)

    @property
    def trace_id(self) -> str:
        return self.tree.trace_id

    def subtree(self, i: int) -> Iterator[int]:
        """The span and everything below it (iterative)."""
        stack = [i]
        while stack:
            j = stack.pop()
            yield j
            stack.extend(reversed(self.tree.children[j]))

    def ancestors(self, i: int) -> Iterator[int]:
        j = self.tree.parent[i]
        seen = 0
        while j >= 0 and seen <= len(self.spans):  # bound guards a malformed parent table
            yield j
            j = self.tree.parent[j]
            seen += 1

    def subtree_on_path(self, i: int) -> int:
        return sum(self.on_path[j] for j in self.subtree(i))

    def callee(self, i: int) -> int:
        """The first child of a caller span (the server side of a call), or -1.

        A caller is a CLIENT span with children; a proxy's SERVER span whose first child is
        the SERVER span of another service (an inbound sidecar or an ingress gateway handing
        the request on: the wait between them is the callee's accept queue); or, in traces
        without kinds (where readers can only say UNSPECIFIED or INTERNAL), a span whose child
        belongs to another service.
        """
        return _callee(self.spans, self.tree.children, i)


def _callee(spans: tuple[Span, ...], children: tuple[tuple[int, ...], ...], i: int) -> int:
    kids = children[i]
    if not kids:
        return -1
    span = spans[i]
    if span.kind is SpanKind.CLIENT:
        return kids[0]
    if span.kind is SpanKind.SERVER:
        first = spans[kids[0]]
        return kids[0] if first.kind is SpanKind.SERVER and first.service != span.service else -1
    if span.kind is SpanKind.UNSPECIFIED or span.kind is SpanKind.INTERNAL:
        first = spans[kids[0]]
        if first.service != span.service and first.kind in (
            SpanKind.UNSPECIFIED,
            SpanKind.INTERNAL,
            SpanKind.SERVER,
        ):
            return kids[0]
    return -1


def trace_facts(tree: SpanTree, path: Sequence[Segment]) -> TraceFacts:
    """Every per-span figure of one trace that the baseline, detectors and attribution read."""
    spans = tree.spans
    n = len(spans)
    operations = operations_in(tree)
    # One tuple per distinct key of the trace, not one per span: a trace repeats a few keys.
    distinct: dict[OpKey, OpKey] = {}
    keys = [
        distinct.setdefault(k, k) for k in zip([s.service for s in spans], operations, strict=True)
    ]
    named = [op or s.name or "(unnamed)" for op, s in zip(operations, spans, strict=True)]
    self_ns, heads = gaps_ns(tree)
    on_path = [0] * n
    head_on_path = [0] * n
    index = tree.index
    for span_id, lo, hi in path:
        i = index.get(span_id)
        if i is None:
            continue
        on_path[i] += hi - lo
        head = heads[i]
        head_end = hi if head == NO_CHILD else spans[i].start_ns + head
        part = (hi if hi < head_end else head_end) - lo
        if part > 0:
            head_on_path[i] += part
    calls: list[int] = []
    lookups: list[int] = []
    connections: list[int] = []
    statements: list[int] = []
    failing: list[int] = []
    callers: list[tuple[int, int]] = []
    composite: list[int] = []
    children = tree.children
    error = StatusCode.ERROR
    shapes = _shapes
    for i, s in enumerate(spans):
        attrs = s.attributes
        try:  # _shape_flags, inlined: this runs for every span of every trace
            flags = shapes[(s.name, s.kind, tuple(attrs), attrs.get(_SCOPE), attrs.get(_LIBRARY))]
        except (KeyError, TypeError):
            flags = _shape_flags(s)
        if flags & _DNS:
            lookups.append(i)
        elif flags & _CONNECTION:
            connections.append(i)
        elif flags & _CALL:
            calls.append(i)
        if flags & _DB:
            statements.append(i)
        if flags & _SEVERAL:
            composite.append(i)
        if (flags & _MAY_FAIL or s.status is error or s.events) and is_failure(s):
            failing.append(i)
        if children[i]:
            c = _callee(spans, children, i)
            if c >= 0:
                callers.append((i, c))
    root = spans[tree.root] if spans and tree.root >= 0 else None
    return TraceFacts(
        tree=tree,
        spans=spans,
        duration_ns=root.end_ns - root.start_ns if root is not None else 0,
        operations=operations,
        named=named,
        keys=keys,
        on_path=on_path,
        head_on_path=head_on_path,
        self_ns=self_ns,
        head_ns=heads,
        calls=calls,
        lookups=lookups,
        connections=connections,
        statements=statements,
        failing=failing,
        callers=callers,
        composite=composite,
    )


def gaps_ns(tree: SpanTree) -> tuple[list[int], list[int]]:
    """Per span index: (self time, head gap). Self time is the duration minus the union of the
    children (clipped to the span); the head gap is the time from its start to its first child's
    start (NO_CHILD for a leaf)."""
    spans = tree.spans
    self_ns: list[int] = []
    head_ns: list[int] = []
    for s, kids in zip(spans, tree.children, strict=True):
        start, end = s.start_ns, s.end_ns
        if not kids:
            self_ns.append(max(0, end - start))
            head_ns.append(NO_CHILD)
            continue
        covered = 0
        cursor = start
        for c in kids:  # sorted by start, so one sweep merges the union
            child = spans[c]
            lo = child.start_ns if child.start_ns > cursor else cursor
            hi = child.end_ns if child.end_ns < end else end
            if hi > lo:
                covered += hi - lo
                cursor = hi
        self_ns.append(max(0, end - start - covered))
        head_ns.append(max(0, spans[kids[0]].start_ns - start))
    return self_ns, head_ns
