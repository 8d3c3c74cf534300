"""What a span *does*, with ids and literals stripped: `operation_of(span) -> str`.

    operation_of(span)   # "postgresql SELECT * FROM t WHERE id = ?", "GET inventory /items/{id}"
    op_key(span)         # (service, operation): the key the baseline and the detectors group by

Spans doing the same thing get the same string in every trace:
- DB: `db.system` + statement with literals, `?`, `$n`, `%s`, IN-lists collapsed, whitespace folded
  (`db.query.text`, old `db.statement`), else the span name;
- HTTP client/server: method + `server.address` (client) + `http.route` or the URL path with
  numeric, hex, uuid and long opaque segments -> `{id}` and query values dropped;
- RPC: `rpc.service/rpc.method`; GraphQL: `<type> <name>` from `graphql.operation.*`;
- otherwise the span name with ids and numbers stripped.

Results are cached per (name, kind, relevant attributes): the function runs on every span of
million-span corpora, and most spans repeat a handful of shapes. A URL, path or statement that
carries ids or literals is keyed on what its normalisation reads (the URL without its query, id
segments as `{id}`, number literals as `0`), so each distinct operation is normalised once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from opentelemetry.semconv._incubating.attributes import (
    graphql_attributes,
    rpc_attributes,
)
from opentelemetry.semconv.attributes import (
    db_attributes,
    http_attributes,
    server_attributes,
    url_attributes,
)

from tracelens.graph import SpanTree
from tracelens.model import AttributeValue, Span, SpanKind

OpKey = tuple[str, str]  # (service, normalised operation)

# Attribute names, current conventions first, then the pre-1.21 names old agents still send.
DB_SYSTEM = (db_attributes.DB_SYSTEM_NAME, "db.system")
DB_TEXT = (db_attributes.DB_QUERY_TEXT, "db.statement", "db.query")
DB_OPERATION = (db_attributes.DB_OPERATION_NAME, "db.operation")
DB_TABLE = (db_attributes.DB_COLLECTION_NAME, "db.sql.table", "db.mongodb.collection")
HTTP_METHOD = (http_attributes.HTTP_REQUEST_METHOD, "http.method")
HTTP_ROUTE = (http_attributes.HTTP_ROUTE, "url.template")
HTTP_URL = (url_attributes.URL_FULL, "http.url")
HTTP_PATH = (url_attributes.URL_PATH, "http.target")
HOST = (server_attributes.SERVER_ADDRESS, "net.peer.name", "http.host", "peer.hostname")
RPC = (rpc_attributes.RPC_SERVICE, rpc_attributes.RPC_METHOD)
GRAPHQL = (graphql_attributes.GRAPHQL_OPERATION_TYPE, graphql_attributes.GRAPHQL_OPERATION_NAME)
DB_ATTRS = frozenset((*DB_SYSTEM, *DB_TEXT, *DB_OPERATION, *DB_TABLE))
HTTP_ATTRS = frozenset((*HTTP_METHOD, *HTTP_ROUTE, *HTTP_URL, *HTTP_PATH))
RELEVANT = frozenset((*DB_ATTRS, *HTTP_ATTRS, *HOST, *RPC, *GRAPHQL))

_CACHE_LIMIT = 200_000  # distinct span shapes kept; unbounded URLs must not grow memory forever
_cache: dict[tuple[object, ...], str] = {}
_SEGMENT_LIMIT = 100_000  # path segments kept (least recently used go first)
_SHAPE_LIMIT = 50_000  # statement shape -> its normalised text, None where digits still show
_shapes: dict[str, str | None] = {}
_URL_KEYS = frozenset(HTTP_URL)
_PATH_KEYS = frozenset(HTTP_PATH)
_TEXT_KEYS = frozenset(DB_TEXT)
_REDUCIBLE = _URL_KEYS | _PATH_KEYS | _TEXT_KEYS

# SQL literals: quoted strings, numbers, placeholders ($1, :name, %s, %(name)s, ?), then lists.
_SQL_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w.$])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])", re.I)
_SQL_PARAM = re.compile(r"\$\d+|%\(\w+\)s|%s|(?<![:\w]):\w+|\?")
_SQL_LITERAL = re.compile(
    "|".join(f"(?:{p.pattern})" for p in (_SQL_STRING, _SQL_NUMBER, _SQL_PARAM)), re.I
)
_DIGIT = re.compile(r"\d")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:)?//([^/?#]*)([^?#]*)", re.I)
_PORT = re.compile(r":\d*$")
_SQL_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SQL_VALUES = re.compile(r"(VALUES\s*\(\?\))(?:\s*,\s*\(\?\))+", re.I)
_SPACE = re.compile(r"\s+")
# Digit runs that may start a literal (none follows a letter, digit or `_`), and where one of them,
# collapsed to a single `0`, outlived the folding: comments, literals and lists never leave a word
# character in front of what follows them.
_SQL_RUN = re.compile(r"(?<!\w)\d+")
_SQL_RUN_LEFT = re.compile(r"(?<!\w)0")
_SQL_VERB = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|UPSERT|REPLACE|CALL|EXEC)\s", re.I
)

# Path segments that are ids: numbers, uuids, hex or opaque tokens with digits, emails.
_UUID = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
_ID_SEGMENT = re.compile(
    rf"^(?:-?\d+(?:\.\d+)?|{_UUID}|(?=[0-9a-f]*\d)[0-9a-f]{{8,}}|"
    r"(?=.*\d)[A-Za-z0-9_\-=+.~]{16,}|[^@/]+@[^@/]+)$",
    re.I,
)
_HEX = "0123456789abcdefABCDEF"
_HEX_LETTERS = "abcdefABCDEF"
# Ids inside free text (span names): uuids, long hex, and numbers standing alone.
_NAME_IDS = re.compile(
    rf"{_UUID}|\b(?=[0-9a-f]*\d)[0-9a-f]{{12,}}\b|(?<![\w.\-])\d+(?![\w\-])", re.I
)


def normalise_statement(statement: str) -> str:
    """A SQL (or other query) text with comments, literals and placeholder lists folded."""
    # Statements differing only in number literals share a shape: the patterns treat every digit
    # alike, never start or end a match inside a run of digits, and repeat digits without bound,
    # so a run folds the same whatever its digits and length. Where every collapsed run was
    # folded away, the shape's text is the statement's; where one shows, fold the statement.
    shape = _SQL_RUN.sub("0", statement)
    try:
        text = _shapes[shape]
    except KeyError:
        text = _shape_text(shape)
    return _fold_statement(statement)[:400] if text is None else text


def _shape_text(shape: str) -> str | None:
    folded = _fold_statement(shape)
    text = None if _SQL_RUN_LEFT.search(folded) else folded[:400]
    if len(_shapes) >= _SHAPE_LIMIT:
        _shapes.clear()
    _shapes[shape] = text
    return text


def _fold_statement(statement: str) -> str:
    text = statement
    if "--" in text or "/*" in text:
        text = _SQL_COMMENT.sub(" ", text)
    text = _SQL_LITERAL.sub("?", text)  # strings first: one pass keeps '1' from being a number
    if "(" in text:
        text = _SQL_LIST.sub("(?)", text)
        text = _SQL_VALUES.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def normalise_path(path: str) -> str:
    """A URL path with query dropped and id-like segments replaced by `{id}`."""
    if "?" in path or "#" in path:
        path = path.split("?", 1)[0].split("#", 1)[0]
    return "/".join(map(_segment, path.split("/")))


@functools.lru_cache(maxsize=_SEGMENT_LIMIT)
def _segment(seg: str) -> str:
    """`{id}` or the segment itself: decided by the segment alone, so cached per segment."""
    if seg.isdecimal():  # \d+: Unicode decimal digits, as `isdecimal` takes them
        return "{id}"
    if len(seg) >= 8 and not seg.strip(_HEX) and seg.strip(_HEX_LETTERS):
        return "{id}"  # all hex, with a digit: a hash, an object id, a uuid without dashes
    if (
        len(seg) == 36
        and seg.count("-") == 4
        and seg[8] == seg[13] == seg[18] == seg[23] == "-"
        and not seg.strip(_HEX + "-")
        and seg.strip(_HEX_LETTERS + "-")
    ):
        return "{id}"  # a uuid with a digit
    # Every id shape but an email has a digit: most segments skip the full pattern.
    return "{id}" if (_DIGIT.search(seg) or "@" in seg) and _ID_SEGMENT.match(seg) else seg


def normalise_name(name: str) -> str:
    """A span name with ids stripped: SQL-looking names as statements, paths per segment."""
    if _SQL_VERB.match(name):
        return normalise_statement(name)
    if "/" in name:
        name = " ".join(normalise_path(tok) if "/" in tok else tok for tok in name.split(" "))
    return _NAME_IDS.sub("{id}", name)


def _first(attrs: Mapping[str, AttributeValue], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return str(value)
    return ""


def _compute(name: str, kind: SpanKind, attrs: Mapping[str, AttributeValue]) -> str:
    if not attrs:
        return normalise_name(name)
    gql_type, gql_name = _first(attrs, GRAPHQL[:1]), _first(attrs, GRAPHQL[1:])
    if gql_type or gql_name:
        return f"{gql_type or 'graphql'} {gql_name}".strip()
    rpc_service, rpc_method = _first(attrs, RPC[:1]), _first(attrs, RPC[1:])
    if rpc_service or rpc_method:
        return f"{rpc_service}/{rpc_method}"
    system = _first(attrs, DB_SYSTEM)
    text = _first(attrs, DB_TEXT)
    if text:
        return f"{system} {normalise_statement(text)}".strip()
    if system and not any(k in attrs for k in HTTP_ATTRS):
        op, table = _first(attrs, DB_OPERATION), _first(attrs, DB_TABLE)
        detail = f"{op} {table}".strip() or normalise_name(name)
        return f"{system} {detail}"
    method = _first(attrs, HTTP_METHOD).upper()
    route = _first(attrs, HTTP_ROUTE)
    url = _first(attrs, HTTP_URL)
    host = _first(attrs, HOST)
    path = ""
    if url:
        match = _URL.match(url)
        if match:
            netloc, path = match.group(1), match.group(2)
            host = host or _PORT.sub("", netloc.rsplit("@", 1)[-1]).strip("[]").lower()
        else:  # a relative or malformed URL: its path is all there is
            path = url
    path = path or _first(attrs, HTTP_PATH)
    if not (method or route or path):
        return normalise_name(name)
    target = route or (normalise_path(path) if path else normalise_name(name))
    if kind is not SpanKind.CLIENT:
        host = ""
    return " ".join(part for part in (method, host, target) if part)


def operation_of(span: Span) -> str:
    """The normalised operation of a span (see the module docstring)."""
    attrs = span.attributes
    # Unsorted: spans of one shape list their attributes in one order, and the operation does
    # not depend on the order (a shape seen in two orders is merely cached twice).
    relevant = tuple([(k, v) for k, v in attrs.items() if k in RELEVANT]) if attrs else ()
    key = (span.name, span.kind, relevant)
    try:
        return _cache[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable attribute value from a lax reader: compute uncached
        return _compute(span.name, span.kind, dict(relevant))
    # Ids in the URL or literals in the statement: key on what the operation reads of them.
    reduced = tuple([(k, _reduced(k, v)) if k in _REDUCIBLE else (k, v) for k, v in relevant])
    if reduced != relevant:
        key = (span.name, span.kind, reduced)
        try:
            return _cache[key]
        except KeyError:
            pass
    op = _compute(span.name, span.kind, dict(reduced))
    # Keys of strings only: 0, 0.0 and False are one key but read "0", "0.0" and "False", and no
    # number or bool equals a string, so a key holding one can find no stale entry either.
    if all(type(v) is str for _, v in reduced):
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = op
    return op


def _reduced(key: str, value: AttributeValue) -> AttributeValue:
    """A value `_compute` reads exactly as it reads `value`, with fewer ids and literals in it.

    It stays a non-empty string, so `_first` picks the same attribute. A URL keeps what precedes
    its path (the host comes from there) and its path normalised (normalising is idempotent and
    adds no `/`, `?` or `#`, so `_URL` splits it the same way); a path that normalises to nothing
    becomes `?`, which normalises to nothing too; a statement becomes its shape where the shape
    folds to the statement's text.
    """
    if type(value) is not str or not value:
        return value
    if key in _TEXT_KEYS:
        shape = _SQL_RUN.sub("0", value)
        text = _shapes[shape] if shape in _shapes else _shape_text(shape)
        return value if text is None else shape
    if key in _URL_KEYS and (match := _URL.match(value)):
        return value[: match.end(1)] + normalise_path(match.group(2))
    return normalise_path(value) or "?"  # a path, or a URL `_compute` takes as one


def op_key(span: Span) -> OpKey:
    return (span.service, operation_of(span))


def operations_in(tree: SpanTree) -> list[str]:
    """`operation_of` for every span of a tree, naming the callee where a call doesn't say.

    An analysis computes it once for its trace (`analysis.facts.operations`).

    Traces recorded without attributes (a span called `HTTP POST` and nothing else) would make
    calls to different services look like one operation, and a loop over several APIs look like
    an N+1; a call whose first child runs in another service is named after that child too:
    `HTTP POST -> ts-basic-service /api/v1/basicservice/basic/travels`.
    """
    spans = tree.spans
    ops = [operation_of(s) for s in spans]
    for i, kids in enumerate(tree.children):
        if not kids:
            continue
        span = spans[i]
        if span.kind is SpanKind.SERVER or span.kind is SpanKind.CONSUMER:
            continue
        child = spans[kids[0]]
        if child.service == span.service or not RELEVANT.isdisjoint(span.attributes):
            continue
        ops[i] = f"{ops[i]} -> {child.service} {ops[kids[0]]}"
    return ops
