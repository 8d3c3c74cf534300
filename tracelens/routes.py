"""Which page a trace served: `route_of(tree)` names it; `RouteMatcher(route)` selects by it.

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

# How far below the root an entry span may sit: gateway -> handler -> client -> server.
ENTRY_DEPTH = 4

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
    return [name for _, name in _ranked_names(span)]


def _ranked_names(span: Span) -> list[tuple[int, str]]:
    """(strength, name): 3 for a declared route or operation, 2 for a URL path template or a
    path-like span name, 1 for a specific span name, 0 for a generic one."""
    attrs = span.attributes
    names: list[tuple[int, str]] = []
    for key in ("http.route", "graphql.operation.name"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            names.append((3, value))
    for key in ("url.path", "http.target", "http.url", "url.full"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            match = _URL_PATH.match(value)
            names.append((2, path_template(match.group(1) if match else value)))
            break
    name = span.name
    if is_generic(name):
        names.append((0, name))
    else:
        tail = name.split(" ", 1)[-1]
        names.append((2 if tail.startswith("/") else 1, name))
    return names


_STRONGEST = 3  # a declared route or operation name


def _strength(span: Span) -> int:
    return max(strength for strength, _ in _ranked_names(span))


def is_generic(name: str) -> bool:
    """Whether a span or route name says nothing of the page (`/*`, `GET`, `graphql`)."""
    return bool(_GENERIC.match(name.strip()))


def display_route(span: Span) -> str:
    """The name a route listing shows for an entry span: method + route when both are known."""
    attrs = span.attributes
    names = route_names(span)
    best = next((n for n in names if not is_generic(n)), names[0])
    method = attrs.get("http.request.method") or attrs.get("http.method")
    if isinstance(method, str) and best.startswith("/") and not best.upper().startswith(method):
        return f"{method} {best}"
    return best


def entry_spans(tree: SpanTree) -> Iterator[tuple[int, Span]]:
    """The root, then server spans (or, in traces without kinds, any span) within ENTRY_DEPTH."""
    queue: deque[tuple[int, int]] = deque([(tree.root, 0)])
    # Traces recorded without span kinds (all INTERNAL or unspecified) have no server spans to
    # look for; then any span near the top may carry the route.
    has_servers = any(s.kind == SpanKind.SERVER for s in tree.spans)
    while queue:
        i, depth = queue.popleft()
        span = tree.spans[i]
        if depth == 0 or not has_servers or span.kind == SpanKind.SERVER:
            yield depth, span
        if depth < ENTRY_DEPTH:
            queue.extend((c, depth + 1) for c in tree.children[i])


def route_of(tree: SpanTree) -> tuple[str, Span]:
    """The most specific route name of a trace and the entry span that carries it.

    The first entry span (breadth first) with the strongest kind of name wins: a declared route
    beats a URL path, which beats a handler name such as `FilteringWebHandler.handle`.
    An analysis computes it once for its trace (`analysis.route`).
    """
    best: tuple[int, Span] | None = None
    for _, span in entry_spans(tree):
        if span.service == "(trace)":
            continue
        strength = _strength(span)
        if best is None or strength > best[0]:
            best = (strength, span)
            if strength == _STRONGEST:
                break
    if best is None:
        return tree.root_span.name, tree.root_span
    return display_route(best[1]), best[1]


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
        """The matching entry span with the strongest kind of name (first breadth first)."""
        best: tuple[int, Span] | None = None
        for _, span in entry_spans(tree):
            strength = max(
                (k for k, name in _ranked_names(span) if self.matches_name(name)), default=-1
            )
            if strength >= 0 and (best is None or strength > best[0]):
                best = (strength, span)
                if strength == _STRONGEST:  # nothing later can beat it
                    break
        return best[1] if best else None
