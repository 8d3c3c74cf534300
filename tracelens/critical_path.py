"""The chain of work that decided when a trace finished: `critical_path(tree) -> tuple[Segment, ...]`.

CONTRACT (to be implemented).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tracelens.graph import SpanTree
from tracelens.model import Segment


def critical_path(tree: SpanTree, root_id: str | None = None) -> tuple[Segment, ...]:
    """Segments tiling [root.start, root.end] exactly, in time order (the Jaeger UI's rule)."""
    raise NotImplementedError


def time_on_path(path: Sequence[Segment]) -> Mapping[str, int]:
    """Span id -> nanoseconds of the critical path it holds (its self time on the path)."""
    out: dict[str, int] = {}
    for seg in path:
        out[seg.span_id] = out.get(seg.span_id, 0) + (seg.end_ns - seg.start_ns)
    return out
