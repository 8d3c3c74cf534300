"""The answer to "why is p90 slow": `Report`, the rows renderers print and the API returns.

    report = tracelens.slowest("traces.jsonl", route="result")
    report.contributor_rows          # tuple[Contributor, ...], ranked
    report.contributors              # the same as a pandas DataFrame (frames.py)

It sits above `model.py` so that the lowest layer imports nothing of ours: the DataFrame views load
pandas (and frames.py) only when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracelens.model import (
    Contributor,
    Finding,
    RouteStats,
    Segment,
    Selection,
    Span,
    TraceSummary,
)

if TYPE_CHECKING:  # pandas stays out of the import path of the core stages
    import pandas as pd


@dataclass(frozen=True)
class Report:
    """The answer to "why is p90 slow": the rows renderers print and the API returns as frames."""

    selection: Selection
    stats: RouteStats
    baseline_stats: RouteStats | None
    contributor_rows: tuple[Contributor, ...]
    finding_rows: tuple[Finding, ...]
    trace_rows: tuple[TraceSummary, ...]
    example_path: tuple[Segment, ...] = ()
    example_spans: Mapping[str, Span] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    too_small: bool = False
    # The p90 if every pattern cause that lowers p90 on its own were fixed together, and which.
    whatif_together_p90_ns: float | None = None
    whatif_together: tuple[str, ...] = ()
    # A typical (baseline) trace beside the example slow one, for side-by-side waterfalls.
    typical_path: tuple[Segment, ...] = ()
    typical_spans: Mapping[str, Span] = field(default_factory=dict)

    @property
    def contributors(self) -> pd.DataFrame:
        from tracelens.frames import contributors_frame

        return contributors_frame(self.contributor_rows)

    @property
    def findings(self) -> pd.DataFrame:
        from tracelens.frames import findings_frame

        return findings_frame(self.finding_rows)

    @property
    def traces(self) -> pd.DataFrame:
        from tracelens.frames import traces_frame

        return traces_frame(self.trace_rows)
