"""Which page a request of a route served, when the route's name alone does not tell pages apart.

    page_of(tree, entry)    # "query SearchResults", or "/result/[id]", or "calls: pricing, reviews"

A gateway's `/*`, a gRPC catch-all handler or `POST /graphql` in front of a GraphQL endpoint
serve many pages under one name, and the slow requests of such a route are the heavy pages: a
baseline of the light ones would blame whatever the heavy pages do by nature. Attribution
compares like pages with like by weighting the baseline to the slow set's mix of pages
(attribution.baseline_weights). A page is, in order:

- the GraphQL operation the request ran (`graphql.operation.name`, or a span named
  `query Name`/`mutation Name`, as graphql-java and the Node instrumentations name them);
- the route itself when its entry span names a page (a declared route, a path template);
- behind a generic entry span, the set of operations the entry calls directly: the shape of the
  request. Only then, because a page with a declared route that sometimes calls a cache and
  sometimes the database is one page whose slow requests are the cause, not a different page.
"""

from __future__ import annotations

import re
from collections import deque

from tracelens.graph import SpanTree
from tracelens.model import Span
from tracelens.operations import operation_of
from tracelens.routes import ENTRY_DEPTH, display_route, is_generic

_OPERATION = re.compile(r"^(query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")


def graphql_operation(span: Span) -> str | None:
    """`query SearchResults` for a GraphQL operation span, else None."""
    name = span.attributes.get("graphql.operation.name")
    if isinstance(name, str) and name:
        kind = span.attributes.get("graphql.operation.type")
        return f"{kind} {name}" if isinstance(kind, str) and kind else name
    match = _OPERATION.match(span.name)
    return f"{match.group(1)} {match.group(2)}" if match else None


def page_of(tree: SpanTree, entry: Span) -> str:
    """The page a request served (see the module's docstring); `display_route(entry)` when the
    trace tells no more."""
    start = tree.index.get(entry.span_id, tree.root)
    queue: deque[tuple[int, int]] = deque([(start, 0)])
    while queue:  # breadth first: the operation nearest the entry wins
        i, depth = queue.popleft()
        operation = graphql_operation(tree.spans[i])
        if operation is not None:
            return operation
        if depth < ENTRY_DEPTH:
            queue.extend((c, depth + 1) for c in tree.children[i])
    route = display_route(entry)
    if not is_generic(route):
        return route
    # What the entry does with ids stripped (operation_of), as a set: an N+1 that repeats a call
    # more often, or a call that fails and is retried, is the same page.
    calls = sorted({operation_of(tree.spans[c]) for c in tree.children[start]})
    return f"{route} → " + ", ".join(calls) if calls else route
