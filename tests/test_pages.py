"""Which page a request served (pages.py): the GraphQL operation, the route, or behind a generic
entry the set of operations it calls."""

from __future__ import annotations

from tests.builders import span, trace
from tracelens.graph import build_tree
from tracelens.model import SpanKind
from tracelens.pages import page_of

SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT


def _page(root) -> str:
    tree = build_tree(trace(root))
    return page_of(tree, tree.root_span)


def _call(path: str, start: int, service: str = "gw") -> object:
    return span(
        "GET",
        start,
        start + 5,
        kind=CLIENT,
        service=service,
        attrs={
            "http.request.method": "GET",
            "url.full": f"http://svc{path}",
            "server.address": "svc",
        },
    )


def test_the_graphql_operation_names_the_page_from_its_attributes_or_its_span_name() -> None:
    by_attribute = span(
        "POST /graphql",
        0,
        100,
        [
            span(
                "GraphQL Operation",
                1,
                99,
                attrs={"graphql.operation.name": "Search", "graphql.operation.type": "query"},
            )
        ],
        kind=SERVER,
        attrs={"http.route": "/graphql"},
    )
    by_name = span("POST /graphql", 0, 100, [span("query Home", 1, 99)], kind=SERVER)
    assert _page(by_attribute) == "query Search"
    assert _page(by_name) == "query Home"


def test_a_route_that_names_its_page_is_the_page() -> None:
    root = span(
        "GET /result/{id}",
        0,
        100,
        [_call("/a", 1)],
        kind=SERVER,
        attrs={"http.route": "/result/{id}"},
    )
    assert _page(root) == "/result/{id}"


def test_behind_a_generic_entry_the_page_is_the_set_of_calls_whatever_their_count() -> None:
    search = span("/*", 0, 100, [_call("/search", 1), _call("/items/1", 10)], kind=SERVER)
    n_plus_one = span(
        "/*",
        0,
        100,
        [_call("/search", 1), *(_call(f"/items/{i}", 10 + i) for i in range(9))],
        kind=SERVER,
    )
    home = span("/*", 0, 100, [_call("/home", 1)], kind=SERVER)
    assert _page(search) == _page(n_plus_one)  # more calls of the same kind: the same page
    assert _page(search) != _page(home)
    assert "GET svc /items/{id}" in _page(search)
