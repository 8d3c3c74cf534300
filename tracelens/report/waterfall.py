"""The critical path of one trace as a terminal waterfall: `render(tree, path, console)`.

    render(tree, critical_path(tree), Console())

One row per stretch of the path in time order: service, operation, start offset from the root's
start, milliseconds on the path, and a bar placed on the root's timeline. Back-to-back segments of
the same operation (an N+1 loop) share one row marked `×N`, so 5,000 calls stay one line. The bar
column takes what the terminal width leaves; colour follows the Console (NO_COLOR is honoured by
rich). Clock-skew shifts and repaired problems are listed under the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracelens.graph import SpanTree
from tracelens.model import Segment
from tracelens.report.safe import visible

NS_PER_MS = 1_000_000
_FIXED_COLUMNS = 58  # what the other columns and padding need before the bar gets the rest
_MIN_BAR, _MAX_BAR = 10, 60


@dataclass
class _Row:
    service: str
    operation: str
    start_ns: int
    end_ns: int
    on_path_ns: int
    segments: int


def _ms(ns: int) -> str:
    return f"{ns / NS_PER_MS:,.3f}"


def _rows(tree: SpanTree, path: Sequence[Segment]) -> list[_Row]:
    rows: list[_Row] = []
    for seg in path:
        sp = tree.span(seg.span_id)
        last = rows[-1] if rows else None
        if (
            last is not None
            and last.service == visible(sp.service)
            and last.operation == visible(sp.name)
            and last.end_ns == seg.start_ns
        ):
            last.end_ns = seg.end_ns
            last.on_path_ns += seg.end_ns - seg.start_ns
            last.segments += 1
        else:
            length = seg.end_ns - seg.start_ns
            rows.append(
                _Row(visible(sp.service), visible(sp.name), seg.start_ns, seg.end_ns, length, 1)
            )
    return rows


def _bar(start_ns: int, end_ns: int, t0: int, total_ns: int, cells: int) -> str:
    #  timeline  |··········███████·········|  t0 .. t0 + total_ns over `cells` characters
    first = (start_ns - t0) * cells // total_ns
    last = max(first, (end_ns - t0 - 1) * cells // total_ns)
    last = min(last, cells - 1)
    return "·" * first + "█" * (last - first + 1) + "·" * (cells - 1 - last)


def waterfall_table(tree: SpanTree, path: Sequence[Segment], width: int = 100) -> Table:
    """The path as a rich Table sized for a terminal `width` characters wide."""
    t0 = path[0].start_ns if path else tree.root_span.start_ns
    total_ns = max((path[-1].end_ns - t0) if path else 0, 1)
    cells = max(_MIN_BAR, min(_MAX_BAR, width - _FIXED_COLUMNS))
    table = Table(box=None, padding=(0, 1), expand=False)
    table.add_column("service", overflow="ellipsis", no_wrap=True, max_width=18)
    table.add_column("operation", overflow="ellipsis", no_wrap=True, max_width=28)
    table.add_column("start ms", justify="right", no_wrap=True)
    table.add_column("on path ms", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, min_width=cells)
    for row in _rows(tree, path):
        op = row.operation if row.segments == 1 else f"{row.operation} ×{row.segments}"
        table.add_row(
            row.service,
            op,
            _ms(row.start_ns - t0),
            _ms(row.on_path_ns),
            Text(_bar(row.start_ns, row.end_ns, t0, total_ns, cells), style="cyan"),
        )
    return table


def header(tree: SpanTree, path: Sequence[Segment]) -> Text:
    """The trace's one-line heading: id, root operation, duration and sizes."""
    root = tree.root_span
    return Text.assemble(
        (f"trace {visible(tree.trace_id)}", "bold"),
        f"  {visible(root.service)}: {visible(root.name)}  {_ms(root.end_ns - root.start_ns)} ms, "
        f"{len(tree.spans)} spans, {len(path)} path segments",
    )


def notes(tree: SpanTree) -> list[Text]:
    """One line per clock-skew shift, and one summing up the repaired problems."""
    lines = [
        Text(
            f"clock skew: {visible(s.service)} span {visible(s.span_id)} moved "
            f"{_ms(s.shift_ns)} ms relative to {visible(s.parent_service)} ({visible(s.reason)})",
            style="yellow",
        )
        for s in tree.shifts
    ]
    if tree.problems:
        counts = Counter(p.kind.value for p in tree.problems)
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        lines.append(Text(f"repaired: {summary}", style="dim"))
    return lines


def render(tree: SpanTree, path: Sequence[Segment], console: Console) -> None:
    """Print the waterfall of `path` over `tree`, then its notes, to `console`."""
    console.print(header(tree, path))
    console.print(waterfall_table(tree, path, console.width))
    for line in notes(tree):
        console.print(line)
    console.print()
