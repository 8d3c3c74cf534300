"""The report's tables as pandas DataFrames: `contributors_frame(rows)` and its two siblings.

    report.contributors      # == contributors_frame(report.contributor_rows)
    report.findings          # == findings_frame(report.finding_rows)
    report.traces            # == traces_frame(report.trace_rows)

Nanoseconds become milliseconds here (columns named `_ms`), as in every renderer. The first
columns of the contributors frame are the stable CSV columns of the design, in that order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tracelens.attribution import note
from tracelens.model import CONTRIBUTOR_COLUMNS as MODEL_CONTRIBUTOR_COLUMNS
from tracelens.model import Contributor, Finding, TraceSummary

CONTRIBUTOR_COLUMNS = (*MODEL_CONTRIBUTOR_COLUMNS, "note")
FINDING_COLUMNS = (
    "pattern",
    "service",
    "operation",
    "trace_id",
    "summary",
    "part",
    "spans",
    "saving_ms",
    "span_ids",
    "evidence",
)
TRACE_COLUMNS = (
    "trace_id",
    "route",
    "service",
    "group",
    "start",
    "duration_ms",
    "critical_path_ms",
    "problems",
    "clock_shifts",
)
_MS = 1e6


def _ms(ns: float | None) -> float:
    return float("nan") if ns is None else ns / _MS


def contributors_frame(rows: Sequence[Contributor]) -> pd.DataFrame:
    """One row per contributor, ranked; `whatif_p90_ms` is NaN where no what-if is modelled."""
    records = [
        (
            c.rank,
            c.pattern,
            c.service,
            c.operation,
            _ms(c.slow_ns),
            _ms(c.baseline_ns),
            _ms(c.excess_ns),
            c.share,
            _ms(c.ci_low_ns),
            _ms(c.ci_high_ns),
            c.traces,
            c.example_trace_id,
            _ms(c.whatif_p90_ns),
            _ms(c.more_calls_ns),
            _ms(c.slower_calls_ns),
            c.slow_calls,
            c.baseline_calls,
            c.summary,
            _ms(c.whatif_low_ns),
            _ms(c.whatif_high_ns),
            note(c),
        )
        for c in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(CONTRIBUTOR_COLUMNS))
    return frame.astype({"rank": "int64", "traces": "int64", "whatif_p90_ms": "float64"})


def findings_frame(rows: Sequence[Finding]) -> pd.DataFrame:
    """One row per finding (pattern instance in one trace) with its evidence."""
    records = [
        (
            f.pattern,
            f.service,
            f.operation,
            f.trace_id,
            f.summary,
            str(f.part),
            len(f.span_ids),
            _ms(f.saving_ns),
            f.span_ids,
            dict(f.evidence),
        )
        for f in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(FINDING_COLUMNS))
    return frame.astype({"spans": "int64", "saving_ms": "float64"})


def traces_frame(rows: Sequence[TraceSummary]) -> pd.DataFrame:
    """One row per analysed trace; `start` is a UTC timestamp, `group` slow/baseline/""."""
    frame = pd.DataFrame.from_records(
        [
            (
                t.trace_id,
                t.route,
                t.service,
                t.group,
                t.start_ns,
                _ms(t.duration_ns),
                _ms(t.critical_path_ns),
                t.problems,
                t.clock_shifts,
            )
            for t in rows
        ],
        columns=list(TRACE_COLUMNS),
    )
    frame["start"] = pd.to_datetime(frame["start"].astype("int64"), unit="ns", utc=True)
    return frame.astype({"problems": "int64", "clock_shifts": "int64"})
