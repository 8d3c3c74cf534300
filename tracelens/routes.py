"""Which page a trace served: `route_of(tree)` names it, `RouteMatcher(route).match(tree)` selects it.

A route is what users call the page. `--route result` matches entry spans by `http.route`, URL path
template, GraphQL operation name or span name: a case-insensitive substring, or, with a leading
`/`, the exact route. Entry spans are the root and the server spans near the top of the tree (an
ingress or gateway root often has a generic name such as `/*` or `GET`, and the page's real route
sits one or two hops below it).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from tracelens.graph import SpanTree
from tracelens.model import Span, SpanKind

ENTRY_DEPTH = 4  # how far below the root an entry span may sit (gateway -> handler -> client -> server)

_GENERIC = re.compile(
    r"^(?:/\*?|\*|/\{[^}]*\}|(?:http\s+)?(?:get|post|put|patch|delete|head|options)(?:\s+/?\*?)?"
    r"|graphql(?: operation)?|\(trace\)|ingress|request)$",
    re.IGNORECASE,
)
_URL_PATH = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]*(/[^?#]*)", re.IGNORECASE)
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{22,})$",
    re.IGNORECASE,
)


def path_template(path: str) -> str:
    """`/result/8f3a.../details?x=1` -> `/result/{id}/details`."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


def route_names(span: Span) -> list[str]:
    """Every name a user might call this span's page by, most specific first."""
    attrs = span.attributes
    names: list[str] = []
    for key in ("http.route", "graphql.operation.name"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            names.append(value)
    for key in ("url.path", "http.target", "http.url", "url.full"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            match = _URL_PATH.match(value)
            names.append(path_template(match.group(1) if match else value))
            break
    names.append(span.name)
    return names


def _is_generic(name: str) -> bool:
    return bool(_GENERIC.match(name.strip()))


def display_route(span: Span) -> str:
    """The name a route listing shows for an entry span: method + route when both are known."""
    attrs = span.attributes
    names = route_names(span)
    best = next((n for n in names if not _is_generic(n)), names[0])
    method = attrs.get("http.request.method") or attrs.get("http.method")
    if isinstance(method, str) and best.startswith("/") and not best.upper().startswith(method):
        return f"{method} {best}"
    return best


def entry_spans(tree: SpanTree) -> Iterator[tuple[int, Span]]:
    """The root, then server spans (or, in traces without kinds, any span) within ENTRY_DEPTH."""
    queue: deque[tuple[int, int]] = deque([(tree.root, 0)])
    has_kinds = any(s.kind != SpanKind.UNSPECIFIED for s in tree.spans[:64])
    while queue:
        i, depth = queue.popleft()
        span = tree.spans[i]
        if depth == 0 or not has_kinds or span.kind == SpanKind.SERVER:
            yield depth, span
        if depth < ENTRY_DEPTH:
            queue.extend((c, depth + 1) for c in tree.children[i])


def route_of(tree: SpanTree) -> tuple[str, Span]:
    """The most specific route name of a trace and the entry span that carries it."""
    fallback: tuple[str, Span] | None = None
    for _, span in entry_spans(tree):
        if span.service == "(trace)":
            continue
        if fallback is None:
            fallback = (display_route(span), span)
        if any(not _is_generic(n) for n in route_names(span)):
            return display_route(span), span
    return fallback or (tree.root_span.name, tree.root_span)


@dataclass(frozen=True, slots=True)
class RouteMatcher:
    """`--route` as typed: a case-insensitive substring, or an exact route after a leading `/`."""

    route: str

    def matches_name(self, name: str) -> bool:
        if self.route.startswith("/"):
            bare = name.split(" ", 1)[1] if " " in name and not name.startswith("/") else name
            return name == self.route or bare == self.route
        return self.route.lower() in name.lower()

    def match(self, tree: SpanTree) -> Span | None:
        """The first entry span (breadth first) whose route names match, else None."""
        for _, span in entry_spans(tree):
            if any(self.matches_name(n) for n in route_names(span)):
                return span
        return None
