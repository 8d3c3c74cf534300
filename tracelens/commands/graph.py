"""`tracelens graph`: a route's service/operation call graph, weighted by critical-path time.

    tracelens graph --route result                  # the calls as a tree, hottest branches first
    tracelens graph --route result --dot g.dot --graphml g.graphml --json

The route's requests are split as `slowest` splits them (slow: at or above p90; baseline: at or
below the median, or another window). Each trace's span tree is folded into a calling-context tree
of (service, operation) nodes: one node per distinct chain of calls from the root, weighted by the
mean critical-path time per request it holds in slow and in baseline requests, and its calls per
request. The terminal shows that tree; `--dot` and `--graphml` write the call graph proper (one
node per (service, operation), an edge from caller to callee) with networkx's writers; `--json`
gives both for scripts.

Every name that came from a trace is escaped (report/safe.py) before any output sees it: a
terminal, a DOT string or an XML document would otherwise act on its control characters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from tracelens.bands import SAME
from tracelens.commands.backend import config_defaults, open_from_args, show_notices
from tracelens.commands.single import CallSpan, RouteSets, route_sets
from tracelens.commands.slowest import engine_of, windows
from tracelens.errors import TracelensError, UsageError
from tracelens.report import duration, percentile_name
from tracelens.report.safe import json_inert, visible
from tracelens.report.terminal import make_console, without_trailing_spaces
from tracelens.report.words import calls_text, short_hosts, shorten
from tracelens.sources import RemoteSource

Key = tuple[str, str]  # (service, normalised operation)

GUIDE = 4  # columns rich's Tree indents each level by
MIN_NAME = 18  # a name column never narrower than this: deeper levels are cut instead
MAX_CHILDREN = 6  # callees shown under one node before "(+N more)"
FOLD_SHARE = 0.02  # a hop holding less of its branch's path time than this is folded
MINOR_SHARE = 0.005  # branches under this share of the root's time in both sets are summed up
_COLUMNS = (("slow", 8), ("baseline", 10), ("change", 9), ("calls", 10))
NUMBERS = sum(w for _, w in _COLUMNS)


# --- the model: a calling-context tree -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Context:
    """One chain of calls from the root, ending in `key`; times are means per request."""

    number: int
    parent: int  # -1 for a root
    key: Key
    slow_path_ns: float  # critical-path time of the branch: the span and everything it called
    baseline_path_ns: float
    slow_self_ns: float  # ... held by the span itself
    baseline_self_ns: float
    slow_calls: float
    baseline_calls: float

    @property
    def change_ns(self) -> float:
        return self.slow_path_ns - self.baseline_path_ns


@dataclass(frozen=True, slots=True)
class CallGraph:
    route: str
    requests: int
    slow_requests: int
    baseline_requests: int
    percentile: float
    baseline_percentile: float | None  # None: the baseline is another window
    slow_from_ns: float
    baseline_to_ns: float | None
    contexts: tuple[Context, ...]  # parents before children
    children: tuple[tuple[int, ...], ...]  # per context, hottest in slow requests first

    @property
    def roots(self) -> tuple[int, ...]:
        found = (c for c in self.contexts if c.parent < 0)
        return tuple(c.number for c in sorted(found, key=_heat))


def _heat(c: Context) -> tuple[float, float, str, str]:
    """Hottest in slow requests first, then in baseline ones; names break ties."""
    return (-c.slow_path_ns, -c.baseline_path_ns, *c.key)


class _Sums:
    """Totals per context while traces are added; `contexts()` turns them into means."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, Key], int] = {}
        self.parent: list[int] = []
        self.key: list[Key] = []
        # per context: [path_ns, self_ns, calls] for the slow set, then for the baseline
        self.sums: list[list[float]] = []

    def add(self, spans: Sequence[CallSpan], group: int) -> None:
        """One trace's spans (callers first) into the slow (0) or baseline (1) totals."""
        branch = [s.on_path_ns for s in spans]
        for i in range(len(spans) - 1, 0, -1):  # callees come after their callers
            caller = spans[i].caller
            if caller >= 0:
                branch[caller] += branch[i]
        context = [-1] * len(spans)
        base = 3 * group
        for i, s in enumerate(spans):
            parent = context[s.caller] if s.caller >= 0 else -1
            key = (visible(s.service), visible(s.operation))
            c = self.ids.get((parent, key))
            if c is None:
                c = self.ids[(parent, key)] = len(self.key)
                self.parent.append(parent)
                self.key.append(key)
                self.sums.append([0.0] * 6)
            context[i] = c
            row = self.sums[c]
            row[base] += branch[i]
            row[base + 1] += s.on_path_ns
            row[base + 2] += 1

    def contexts(self, n_slow: int, n_base: int) -> tuple[Context, ...]:
        per = (1 / max(1, n_slow),) * 3 + (1 / max(1, n_base),) * 3
        out = []
        for i, (parent, key, row) in enumerate(zip(self.parent, self.key, self.sums, strict=True)):
            m = [v * f for v, f in zip(row, per, strict=True)]
            out.append(Context(i, parent, key, m[0], m[3], m[1], m[4], m[2], m[5]))
        return tuple(out)


def build_graph(sets: RouteSets, percentile: float, baseline: float) -> CallGraph:
    """The route's calling-context tree, weighted over its slow and baseline requests."""
    sums = _Sums()
    for group, requests in enumerate((sets.slow, sets.baseline)):
        for r in requests:
            sums.add(r.calls, group)
    return graph_of(sums, sets, len(sets.slow), len(sets.baseline), percentile, baseline)


def graph_of(
    sums: _Sums, sets: RouteSets, n_slow: int, n_base: int, percentile: float, baseline: float
) -> CallGraph:
    """The graph from the totals of `n_slow` slow and `n_base` baseline requests of `sets`
    (whose lists of analyses are empty when the totals were added up elsewhere: graph_dask.py)."""
    contexts = sums.contexts(n_slow, n_base)
    kids: list[list[Context]] = [[] for _ in contexts]
    for c in contexts:
        if c.parent >= 0:
            kids[c.parent].append(c)
    return CallGraph(
        route=visible(sets.route),
        requests=sets.requests,
        slow_requests=n_slow,
        baseline_requests=n_base,
        percentile=percentile,
        baseline_percentile=baseline if sets.baseline_to_ns is not None else None,
        slow_from_ns=sets.slow_from_ns,
        baseline_to_ns=sets.baseline_to_ns,
        contexts=contexts,
        children=tuple(tuple(c.number for c in sorted(k, key=_heat)) for k in kids),
    )


# --- the call graph proper: one node per (service, operation) ------------------------------
def _ms(value_ns: float) -> float:
    return round(value_ns / 1e6, 3) + 0.0


def node_id(key: Key) -> str:
    service, operation = key
    return f"{service}: {operation}" if service else operation


def call_graph(graph: CallGraph) -> nx.DiGraph[str]:
    """Nodes (service, operation), edges caller -> callee, weighted per request. Path time of a
    node counts each branch once, even where the operation calls itself further down."""
    g: nx.DiGraph[str] = nx.DiGraph()
    g.graph.update(
        route=graph.route,
        requests=graph.requests,
        slow_requests=graph.slow_requests,
        baseline_requests=graph.baseline_requests,
        slow_from_ms=_ms(graph.slow_from_ns),
    )
    if graph.baseline_to_ns is not None:
        g.graph["baseline_to_ms"] = _ms(graph.baseline_to_ns)
    nodes: dict[Key, list[float]] = {}
    edges: dict[tuple[Key, Key], list[float]] = {}
    contexts = graph.contexts
    for c in contexts:
        row = nodes.setdefault(c.key, [0.0] * 6)
        if not _recursive(graph, c):
            row[0] += c.slow_path_ns
            row[1] += c.baseline_path_ns
        row[2] += c.slow_self_ns
        row[3] += c.baseline_self_ns
        row[4] += c.slow_calls
        row[5] += c.baseline_calls
        if c.parent >= 0:
            e = edges.setdefault((contexts[c.parent].key, c.key), [0.0] * 4)
            e[0] += c.slow_path_ns
            e[1] += c.baseline_path_ns
            e[2] += c.slow_calls
            e[3] += c.baseline_calls
    for key, (sp, bp, ss, bs, sc, bc) in nodes.items():
        g.add_node(
            node_id(key),
            service=key[0],
            operation=key[1],
            slow_path_ms=_ms(sp),
            baseline_path_ms=_ms(bp),
            change_ms=_ms(sp - bp),
            slow_self_ms=_ms(ss),
            baseline_self_ms=_ms(bs),
            slow_calls=round(sc, 3),
            baseline_calls=round(bc, 3),
        )
    for (a, b), (sp, bp, sc, bc) in edges.items():
        g.add_edge(
            node_id(a),
            node_id(b),
            weight=_ms(sp),
            slow_path_ms=_ms(sp),
            baseline_path_ms=_ms(bp),
            change_ms=_ms(sp - bp),
            slow_calls=round(sc, 3),
            baseline_calls=round(bc, 3),
        )
    return g


def _recursive(graph: CallGraph, c: Context) -> bool:
    """True when the same operation is already on the chain above (its time is counted there)."""
    p = c.parent
    while p >= 0:
        above = graph.contexts[p]
        if above.key == c.key:
            return True
        p = above.parent
    return False


def _dot_string(text: str) -> str:
    """A DOT double-quoted string holding `text` literally (controls already escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_dot(graph: CallGraph, path: str) -> None:
    """The call graph as Graphviz DOT, through networkx and pydot, every string quoted by us:
    names with quotes, backslashes, braces or colons stay names."""
    g = call_graph(graph)
    dot: nx.DiGraph[str] = nx.DiGraph()
    top = max((d["slow_path_ms"] for _, _, d in g.edges(data=True)), default=0.0) or 1.0
    dot.graph["graph"] = {"rankdir": "LR", "label": _dot_string(f"{graph.route}: {_sets(graph)}")}
    dot.graph["node"] = {"shape": "box", "fontname": "Helvetica"}
    dot.graph["edge"] = {"fontname": "Helvetica"}
    for name, d in g.nodes(data=True):
        numbers = (
            f"slow {duration(d['slow_path_ms'] * 1e6)} · "
            f"baseline {duration(d['baseline_path_ms'] * 1e6)}"
        )
        attrs = {k: v for k, v in d.items() if k not in ("service", "operation")}
        dot.add_node(
            _dot_string(name),
            label=_dot_string(name)[:-1] + "\\n" + _dot_string(numbers)[1:],
            service=_dot_string(d["service"]),
            operation=_dot_string(d["operation"]),
            **attrs,
        )
    for a, b, d in g.edges(data=True):
        calls = f"{calls_text(d['slow_calls'])}× · {duration(d['slow_path_ms'] * 1e6)}"
        dot.add_edge(
            _dot_string(a),
            _dot_string(b),
            label=_dot_string(calls),
            penwidth=round(1 + 5 * d["slow_path_ms"] / top, 2),
            **d,
        )
    _write(path, lambda p: nx.nx_pydot.write_dot(dot, p))


def write_graphml(graph: CallGraph, path: str) -> None:
    g = call_graph(graph)
    _write(path, lambda p: nx.write_graphml(g, p))


def _write(path: str, writer: Callable[[Path], None]) -> None:
    try:
        writer(Path(path))
    except OSError as e:
        raise TracelensError(f"can't write {path}: {e.strerror or e}") from e


# --- JSON ----------------------------------------------------------------------------------
def document(graph: CallGraph) -> dict[str, Any]:
    """The graph for scripts: the sets, the call graph's nodes and edges, and the tree."""
    g = call_graph(graph)

    def branch(i: int) -> dict[str, Any]:
        c = graph.contexts[i]
        return {
            "service": c.key[0],
            "operation": c.key[1],
            "slow_path_ms": _ms(c.slow_path_ns),
            "baseline_path_ms": _ms(c.baseline_path_ns),
            "change_ms": _ms(c.change_ns),
            "slow_self_ms": _ms(c.slow_self_ns),
            "baseline_self_ms": _ms(c.baseline_self_ns),
            "slow_calls": round(c.slow_calls, 3),
            "baseline_calls": round(c.baseline_calls, 3),
            "children": [branch(k) for k in graph.children[i]],
        }

    return {
        "route": graph.route,
        "requests": graph.requests,
        "slow": {
            "requests": graph.slow_requests,
            "percentile": graph.percentile,
            "from_ms": _ms(graph.slow_from_ns),
        },
        "baseline": {
            "requests": graph.baseline_requests,
            "percentile": graph.baseline_percentile,
            "to_ms": _ms(graph.baseline_to_ns) if graph.baseline_to_ns is not None else None,
        },
        "nodes": [{"id": n, **d} for n, d in g.nodes(data=True)],
        "edges": [{"caller": a, "callee": b, **d} for a, b, d in g.edges(data=True)],
        "tree": [branch(r) for r in graph.roots],
    }


# --- the terminal tree ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Line:
    """One line of the tree: a chain of folded hops shown as one, or the callees left out."""

    names: tuple[str, ...]
    slow_ns: float
    baseline_ns: float
    slow_calls: float | None
    baseline_calls: float | None
    last: int  # the context whose callees go below; -1 for "(+N more)"


def _fold(graph: CallGraph, i: int) -> _Line:
    """Context `i`, and the hops below it that only pass the call on (one callee, as many calls,
    next to no path time of their own), as one line."""
    first = graph.contexts[i]
    names = [node_id(first.key)]
    c = first
    while len(graph.children[c.number]) == 1:
        below = graph.contexts[graph.children[c.number][0]]
        if not (_passes_on(c, below)):
            break
        names.append(node_id(below.key))
        c = below
    return _Line(
        tuple(names),
        first.slow_path_ns,
        first.baseline_path_ns,
        first.slow_calls,
        first.baseline_calls,
        c.number,
    )


def _passes_on(c: Context, below: Context) -> bool:
    same_calls = abs(c.slow_calls - below.slow_calls) < 1e-9 and (
        abs(c.baseline_calls - below.baseline_calls) < 1e-9
    )
    return (
        same_calls
        and c.slow_self_ns <= FOLD_SHARE * c.slow_path_ns
        and c.baseline_self_ns <= FOLD_SHARE * c.baseline_path_ns
    )


def _time(value_ns: float) -> str:
    """A duration in at most 7 characters: `15.2 s`, `850 ms`, `0.42 ms`, `0 ms`."""
    v_ms = abs(value_ns) / 1e6
    if v_ms < 0.005:
        return "0 ms"
    if v_ms < 1:
        return f"{v_ms:.2f} ms"
    return duration(abs(value_ns))


def _change(value_ns: float) -> str:
    text = _time(value_ns)
    if text == "0 ms":
        return "0"
    return ("+" if value_ns > 0 else "−") + text


def _label(names: Sequence[str], width: int) -> str:
    """A folded chain's names in `width` columns: whole if they fit, else the hops by their
    service and the last call whole, else that shortened in the middle. Hosts are cut to their
    service name (the full names are in --json, --dot and --graphml)."""
    names = [short_hosts(n) for n in names]
    joined = " › ".join(names)
    if len(joined) > width and len(names) > 1:
        hops = dict.fromkeys(n.split(": ", 1)[0] for n in names[:-1])
        joined = " › ".join([*hops, names[-1]])
    return shorten(joined, width)


def _row(line: _Line, width: int, style: str = "") -> Text:
    """The line's name, shortened in the middle to `width - NUMBERS`, then the numbers."""
    name_width = max(2, width - NUMBERS)
    calls = ""
    if line.slow_calls is not None and line.baseline_calls is not None:
        calls = f"{calls_text(line.slow_calls)}/{calls_text(line.baseline_calls)}"
    cells = (
        _time(line.slow_ns),
        _time(line.baseline_ns),
        _change(line.slow_ns - line.baseline_ns),
        calls,
    )
    text = Text(_label(line.names, name_width - 1).ljust(name_width), style=style, no_wrap=True)
    for (_, w), cell in zip(_COLUMNS, cells, strict=True):
        text.append(cell.rjust(w), style="bold" if cell is cells[0] else "")
    return text


def _minor(graph: CallGraph, i: int, total_ns: float) -> bool:
    c = graph.contexts[i]
    limit = MINOR_SHARE * total_ns
    return c.slow_path_ns < limit and c.baseline_path_ns < limit


def _more(graph: CallGraph, left: Sequence[int]) -> _Line:
    return _Line(
        (f"(+{len(left)} more)",),
        sum(graph.contexts[k].slow_path_ns for k in left),
        sum(graph.contexts[k].baseline_path_ns for k in left),
        None,
        None,
        -1,
    )


def tree(graph: CallGraph, width: int) -> Tree:
    """The calling-context tree at `width` columns: hottest branches first, hops folded, cut at
    the depth where names would get too narrow and after MAX_CHILDREN callees."""
    max_depth = max(0, (width - NUMBERS - MIN_NAME) // GUIDE)
    total = max((graph.contexts[r].slow_path_ns for r in graph.roots), default=0.0)
    top = Tree(Text(""), hide_root=True, guide_style="dim")

    def grow(node: Tree, kids: Sequence[int], depth: int) -> None:
        line_width = width - GUIDE * depth
        shown = [k for k in kids if not _minor(graph, k, total)][:MAX_CHILDREN]
        left = [k for k in kids if k not in shown]
        if len(left) == 1:  # a line of its own takes no more room than "(+1 more)"
            shown, left = list(kids), []
        if depth > max_depth:
            node.add(_row(_more(graph, kids), line_width, "dim"))
            return
        for k in shown:
            line = _fold(graph, k)
            branch = node.add(_row(line, line_width))
            if graph.children[line.last]:
                grow(branch, graph.children[line.last], depth + 1)
        if left:
            node.add(_row(_more(graph, left), line_width, "dim"))

    grow(top, graph.roots, 0)
    return top


def _sets(graph: CallGraph) -> str:
    slow = (
        f"{graph.slow_requests} slow (≥ {percentile_name(graph.percentile)}, "
        f"{duration(graph.slow_from_ns)})"
    )
    if graph.baseline_percentile is None or graph.baseline_to_ns is None:
        base = f"{graph.baseline_requests} baseline (the baseline window)"
    else:
        base = (
            f"{graph.baseline_requests} baseline (≤ {percentile_name(graph.baseline_percentile)}, "
            f"{duration(graph.baseline_to_ns)})"
        )
    return f"{slow} vs {base}"


def render(graph: CallGraph, console: Console) -> None:
    """The header, the column titles and the tree, at the console's width."""
    width = console.width
    console.print(Text(f"Call graph of {graph.route}", style="bold"), no_wrap=True)
    console.print(Text(f"{graph.requests} requests: {_sets(graph)}"))
    console.print(
        Text(
            "critical-path time per request of each call and all it called, in slow and "
            "baseline requests; calls per request (slow/baseline); › joins hops that only "
            "pass a call on",
            style="dim",
        )
    )
    console.print()
    titles = Text("".ljust(width - NUMBERS), no_wrap=True)
    for name, w in _COLUMNS:
        titles.append(name.rjust(w), style="bold")
    console.print(titles)
    console.print(tree(graph, width))


# --- the command ---------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    config = config_defaults(args, ("source", "route"))
    if not 0 < args.percentile < 100 or not 0 < args.baseline <= 100:
        raise UsageError("--percentile and --baseline are percentiles between 0 and 100")
    current, baseline_window = windows(args, time.time_ns())
    show_notices()
    source = open_from_args(args, config)
    asked = (source, args.route, current, baseline_window)
    band = args.baseline_band or SAME
    sets = {"percentile": args.percentile, "baseline": args.baseline, "baseline_band": band}
    if engine_of(args) == "dask" and not isinstance(source, RemoteSource):
        from tracelens.commands.graph_dask import dask_graph

        graph = dask_graph(*asked, **sets, scheduler=args.scheduler, workers=args.jobs)
    else:  # a backend's traces are the few it was asked for: fetched and analysed here
        chosen = route_sets(*asked, **sets, limit=args.limit, sample=args.sample, seed=args.seed)
        graph = build_graph(chosen, args.percentile, args.baseline)
    if args.dot:
        write_dot(graph, args.dot)
    if args.graphml:
        write_graphml(graph, args.graphml)
    if args.json:
        text = json.dumps(document(graph), indent=2, ensure_ascii=False)
        sys.stdout.write(json_inert(text) + "\n")
        return 0
    console = make_console(sys.stdout)
    with console.capture() as captured:
        render(graph, console)
    sys.stdout.write(without_trailing_spaces(captured.get()))
    return 0
