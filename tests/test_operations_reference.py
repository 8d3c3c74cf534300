"""operation_of's caches and fast paths change no answer: every string equals the plain logic's.

The reference below is `operations.py` as it was before the per-segment and per-shape caches: the
same patterns, applied to the whole value on every call. Drawn values vary only in their ids and
literals too, so later spans meet cache entries that earlier spans of the same shape left.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracelens import operations as ops
from tracelens.model import AttributeValue, ReadIssue, Span, SpanKind
from tracelens.readers import read_traces

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


# -- the reference: the straightforward normalisation ---------------------------------------------


def ref_statement(statement: str) -> str:
    text = statement
    if "--" in text or "/*" in text:
        text = ops._SQL_COMMENT.sub(" ", text)
    text = ops._SQL_LITERAL.sub("?", text)
    if "(" in text:
        text = ops._SQL_LIST.sub("(?)", text)
        text = ops._SQL_VALUES.sub(r"\1", text)
    return ops._SPACE.sub(" ", text).strip()[:400]


def ref_path(path: str) -> str:
    path = path.split("?", 1)[0].split("#", 1)[0]
    return "/".join(
        "{id}" if (ops._DIGIT.search(seg) or "@" in seg) and ops._ID_SEGMENT.match(seg) else seg
        for seg in path.split("/")
    )


def ref_name(name: str) -> str:
    if ops._SQL_VERB.match(name):
        return ref_statement(name)
    if "/" in name:
        name = " ".join(ref_path(tok) if "/" in tok else tok for tok in name.split(" "))
    return ops._NAME_IDS.sub("{id}", name)


def _first(attrs: Mapping[str, AttributeValue], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return str(value)
    return ""


def ref_operation(name: str, kind: SpanKind, attrs: Mapping[str, AttributeValue]) -> str:
    if not attrs:
        return ref_name(name)
    gql_type, gql_name = _first(attrs, ops.GRAPHQL[:1]), _first(attrs, ops.GRAPHQL[1:])
    if gql_type or gql_name:
        return f"{gql_type or 'graphql'} {gql_name}".strip()
    rpc_service, rpc_method = _first(attrs, ops.RPC[:1]), _first(attrs, ops.RPC[1:])
    if rpc_service or rpc_method:
        return f"{rpc_service}/{rpc_method}"
    system = _first(attrs, ops.DB_SYSTEM)
    text = _first(attrs, ops.DB_TEXT)
    if text:
        return f"{system} {ref_statement(text)}".strip()
    if system and not any(k in attrs for k in ops.HTTP_ATTRS):
        op, table = _first(attrs, ops.DB_OPERATION), _first(attrs, ops.DB_TABLE)
        detail = f"{op} {table}".strip() or ref_name(name)
        return f"{system} {detail}"
    method = _first(attrs, ops.HTTP_METHOD).upper()
    route = _first(attrs, ops.HTTP_ROUTE)
    url = _first(attrs, ops.HTTP_URL)
    host = _first(attrs, ops.HOST)
    path = ""
    if url:
        match = ops._URL.match(url)
        if match:
            netloc, path = match.group(1), match.group(2)
            host = host or ops._PORT.sub("", netloc.rsplit("@", 1)[-1]).strip("[]").lower()
        else:
            path = url
    path = path or _first(attrs, ops.HTTP_PATH)
    if not (method or route or path):
        return ref_name(name)
    target = route or (ref_path(path) if path else ref_name(name))
    if kind is not SpanKind.CLIENT:
        host = ""
    return " ".join(part for part in (method, host, target) if part)


def span(name: str, kind: SpanKind, attrs: Mapping[str, AttributeValue]) -> Span:
    return Span(
        trace_id="t", span_id="s", parent_id=None, service="svc", name=name, kind=kind,
        attributes=attrs,
    )  # fmt: skip


def assert_same(name: str, kind: SpanKind, attrs: Mapping[str, AttributeValue]) -> None:
    assert ops.operation_of(span(name, kind, attrs)) == ref_operation(name, kind, attrs)


# -- drawn values: awkward pieces glued together, then redrawn with other ids and literals --------

_DIGITS = st.text("0123456789", min_size=1, max_size=12)
_HEXISH = st.text("0123456789abcdefABCDEF", min_size=1, max_size=40)
_UUIDS = (
    st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | st.uuids().map(lambda u: u.hex)
)
_AWKWARD = st.sampled_from(
    ["", "-", ".", "_", "~", "=", "+", "@", ":", "?", "#", "[", "]", "{id}", " ", "\t", "\n",
     "٣", "²", "ſ", "K", "e", "E", "x", "0x", "1e5", "-7", "3.25", "a@b.com", "user@", "%", "$"]
)  # fmt: skip
_WORDS = st.sampled_from(["api", "v1", "v2", "items", "users", "orders", "me", "ts-order", "x"])

segments = st.one_of(
    _DIGITS, _HEXISH, _UUIDS, _AWKWARD, _WORDS,
    st.lists(st.one_of(_DIGITS, _HEXISH, _AWKWARD, _WORDS), max_size=6).map("".join),
    st.text(st.characters(codec="utf-8"), max_size=20),
)  # fmt: skip
paths = st.lists(segments, max_size=7).map("/".join) | st.lists(segments, max_size=7).map(
    lambda segs: "/" + "/".join(segs)
)
queries = st.sampled_from(["", "?", "#", "?a=1&b=2", "#frag/9", "?x=1#y", "??", "?/9/x"])
schemes = st.sampled_from(["", "http:", "HTTPS:", "grpc+tls:", "1x:", "h:", "http:/", "http"])
netlocs = st.sampled_from(
    ["", "inv", "inv:8080", "INV.Example:443", "u:p@h:1", "[::1]:80", "a@b@c", "h:", "123"]
)
urls = st.one_of(
    st.tuples(schemes, st.sampled_from(["//", "/", ""]), netlocs, paths, queries).map("".join),
    st.tuples(paths, queries).map("".join),
    st.text(max_size=30),
)

_SQL_PIECES = st.sampled_from(
    ["SELECT", "select", "INSERT INTO", "UPDATE", "DELETE", "WITH", "FROM", "WHERE", "AND", "IN",
     "VALUES", "values", "SET", "LIMIT", "*", "t", "t1", "order0_", "id1_0_", "x::int4", "a.b",
     "x.5", "=", "<", "+", ",", "(", ")", "'", "''", "'a''b'", "'12'", "'--'", "'/*'", "--c 1\n",
     "/* 9 */", "/*", "*/", "$1", "$", ":name1", ":", "::", "%s", "%(n1)s", "%(", "?", "-", "e",
     "1e", "12ab", "0x1F", "1.5", "-3", "2e-7", ".5", "1.", "\n", "\t", "  ", "٣",
     "VALUES (1, 'a'), (2, 'b')", "(1, 2, 3)", "( ? , ? )"]
)  # fmt: skip
statements = st.one_of(
    st.lists(st.one_of(_SQL_PIECES, _DIGITS), max_size=25).map(" ".join),
    st.lists(st.one_of(_SQL_PIECES, _DIGITS), max_size=25).map("".join),
    st.text(st.sampled_from("0123456789 ()',?$:%s-/*\nab_.e"), max_size=40),
    # Near the 400-character cut: literals before and after it.
    st.tuples(st.integers(360, 420), _DIGITS, _DIGITS).map(
        lambda t: f"SELECT {'c, ' * (t[0] // 3)} {t[1]} FROM t WHERE id = {t[2]}"
    ),
    st.tuples(st.integers(380, 410), _DIGITS).map(lambda t: f"{'x' * t[0]} = {t[1]} AND t1 = 2"),
)
names = st.one_of(
    statements,
    st.lists(st.one_of(paths, _WORDS, _DIGITS, _UUIDS, _AWKWARD), max_size=5).map(" ".join),
    st.tuples(st.sampled_from(["GET ", "HTTP POST ", "SELECT ", "SELECT?", ""]), paths).map(
        "".join
    ),
    st.text(max_size=20),
)


@st.composite
def other_literals(draw: st.DrawFn, value: str) -> str:
    """`value` with each run of digits redrawn: the same shape, other ids and literals."""
    return re.sub(r"\d+", lambda _: draw(_DIGITS), value)


_VALUES: dict[str, st.SearchStrategy[str]] = {
    **dict.fromkeys(ops.HTTP_URL, urls),
    **dict.fromkeys(ops.HTTP_PATH, paths.flatmap(lambda p: queries.map(lambda q: p + q))),
    **dict.fromkeys(ops.DB_TEXT, statements),
}
_PLAIN = st.sampled_from(["", "GET", "get", "postgresql", "inv", "/items/{id}", "q", "Svc"])
_ODD: st.SearchStrategy[AttributeValue] = st.one_of(
    st.integers(-5, 10**6), st.booleans(), st.just(1.5)
)


@st.composite
def attributes(draw: st.DrawFn) -> dict[str, AttributeValue]:
    keys = draw(st.lists(st.sampled_from(sorted(ops.RELEVANT)), max_size=6, unique=True))
    attrs: dict[str, AttributeValue] = {}
    for key in keys:
        if draw(st.integers(0, 9)) == 0:
            attrs[key] = draw(_ODD)
        else:
            attrs[key] = draw(_VALUES.get(key, _PLAIN))
    if draw(st.booleans()):
        attrs["http.status_code"] = 200  # not relevant: ignored by the key
    return attrs


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=500)
@given(paths, st.data())
@example("/items/١٢/a@b.com/123\n/%s" % ("ab" * 8), None)
def test_paths_normalise_as_the_reference_does(path: str, data: st.DataObject | None) -> None:
    assert ops.normalise_path(path) == ref_path(path)
    if data is not None:
        again = data.draw(other_literals(path))
        assert ops.normalise_path(again) == ref_path(again)


@settings(max_examples=500)
@given(statements, st.data())
@example("SELECT 1:b, t1, x.5, %(a)s0, '5' -- 7\n FROM t WHERE a IN (1, 2)", None)
def test_statements_normalise_as_the_reference_does(
    statement: str, data: st.DataObject | None
) -> None:
    assert ops.normalise_statement(statement) == ref_statement(statement)
    if data is not None:
        again = data.draw(other_literals(statement))
        assert ops.normalise_statement(again) == ref_statement(again)


@settings(max_examples=300)
@given(names)
def test_names_normalise_as_the_reference_does(name: str) -> None:
    assert ops.normalise_name(name) == ref_name(name)


@settings(max_examples=600)
@given(names, st.sampled_from(SpanKind), attributes(), st.data())
def test_operations_are_the_references_for_drawn_spans(
    name: str, kind: SpanKind, attrs: dict[str, AttributeValue], data: st.DataObject
) -> None:
    assert_same(name, kind, attrs)
    # A sibling with other ids and literals meets the entry this span left in the caches.
    sibling = {
        k: data.draw(other_literals(v)) if isinstance(v, str) else v for k, v in attrs.items()
    }
    assert_same(name, kind, sibling)
    assert_same(name, kind, attrs)


def test_a_full_cache_is_emptied_and_refilled_with_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ops, "_CACHE_LIMIT", 3)
    monkeypatch.setattr(ops, "_SHAPE_LIMIT", 3)
    for i in range(20):
        assert_same("GET", SpanKind.CLIENT, {"url.full": f"http://h/a{i % 4}/{i}/b{i % 3}?q={i}"})
        assert_same(
            "q", SpanKind.CLIENT, {"db.statement": f"SELECT c{i % 5} FROM t WHERE id = {i}"}
        )
    assert len(ops._cache) <= 3
    assert ops._segment.cache_info().maxsize == ops._SEGMENT_LIMIT
    assert len(ops._shapes) <= 3


# -- real attribute values ----------------------------------------------------------------------


def _real_spans() -> Iterator[Span]:
    files = sorted(glob.glob(str(ROOT / "fixtures" / "*" / "*.json*")))
    files += sorted(glob.glob(str(SHARED / "reference" / "samples" / "*" / "*.json*")))
    files += sorted(glob.glob(str(SHARED / "datasets" / "nezha-tt" / "*" / "traces.jsonl.gz")))
    for path in files:
        issues: list[ReadIssue] = []
        try:
            for trace in read_traces(path, issues):
                yield from trace.spans
        except Exception:  # metadata documents (services, summaries) hold no spans
            continue


def test_operations_are_the_references_for_every_real_span() -> None:
    seen: set[tuple[object, ...]] = set()
    checked = 0
    for s in _real_spans():
        key = (s.name, s.kind, tuple(s.attributes.items()))
        if key in seen:
            continue
        seen.add(key)
        assert ops.operation_of(s) == ref_operation(s.name, s.kind, s.attributes), s
        for value in s.attributes.values():  # every string a real agent sent, as each kind
            if isinstance(value, str):
                assert ops.normalise_statement(value) == ref_statement(value)
                assert ops.normalise_path(value) == ref_path(value)
                assert ops.normalise_name(value) == ref_name(value)
        checked += 1
    assert checked > 50
