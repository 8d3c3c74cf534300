"""Build a trace's span tree: `build_tree(trace) -> SpanTree`, never raising on malformed data.

CONTRACT (to be implemented): see the docstrings; other modules rely on exactly this interface.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracelens.model import ClockShift, Problem, Span, Trace

SYNTHETIC_ROOT_ID = "0000000000000000"  # id of the root made when a trace has several or none


@dataclass(frozen=True, slots=True)
class SpanTree:
    """Spans of one trace indexed for walking; index-based so large traces stay cheap.

    - `spans[i]` are the trace's spans with unique ids, after clock-skew shifts (shifted spans are
      new Span objects), plus a synthetic root when needed (service "(trace)").
    - `index[span_id] -> i`; `parent[i]` is the parent index, -1 for the root; `children[i]` are
      child indices sorted by (start_ns, end_ns, span_id) so results never depend on input order.
    - `root` is the index of the root span. Orphans hang under it.
    - `problems` and `shifts` record everything repaired.
    """

    trace_id: str
    spans: tuple[Span, ...]
    index: dict[str, int]
    parent: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    root: int
    problems: tuple[Problem, ...]
    shifts: tuple[ClockShift, ...]

    @property
    def root_span(self) -> Span:
        return self.spans[self.root]

    def span(self, span_id: str) -> Span:
        return self.spans[self.index[span_id]]

    def children_of(self, span_id: str) -> list[Span]:
        return [self.spans[c] for c in self.children[self.index[span_id]]]

    def parent_of(self, span_id: str) -> Span | None:
        p = self.parent[self.index[span_id]]
        return None if p < 0 else self.spans[p]

    def ancestors(self, span_id: str) -> Iterator[Span]:
        """Parent, grandparent, ... up to the root (iterative)."""
        raise NotImplementedError

    def descendants(self, span_id: str) -> Iterator[Span]:
        """The span's subtree below it, depth first, in child order (iterative)."""
        raise NotImplementedError

    def self_check(self) -> None:
        """Assert the tree's invariants (one root, acyclic, children sorted, ids unique)."""
        raise NotImplementedError


def build_tree(trace: Trace | Sequence[Span]) -> SpanTree:
    """Index, de-duplicate, attach orphans, break cycles, undo cross-host skew; never raises."""
    raise NotImplementedError
