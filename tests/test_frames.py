"""The report's DataFrames: stable column order, milliseconds, and empty tables with columns."""

from __future__ import annotations

import math

import pandas as pd

from tracelens.frames import contributors_frame, findings_frame, traces_frame
from tracelens.model import ClaimPart, Contributor, Finding, TraceSummary

STABLE = [
    "rank",
    "pattern",
    "service",
    "operation",
    "slow_ms",
    "baseline_ms",
    "excess_ms",
    "share",
    "ci_low_ms",
    "ci_high_ms",
    "traces",
    "example_trace_id",
    "whatif_p90_ms",
]


def contributor(rank: int, pattern: str, whatif: float | None, low: float) -> Contributor:
    return Contributor(
        rank=rank,
        pattern=pattern,
        service="api",
        operation="SELECT ?",
        slow_ns=80e6,
        baseline_ns=20e6,
        excess_ns=60e6,
        share=0.75,
        ci_low_ns=low,
        ci_high_ns=70e6,
        traces=9,
        example_trace_id="abc",
        whatif_p90_ns=whatif,
        more_calls_ns=45e6,
        slower_calls_ns=15e6,
        slow_calls=4.0,
        baseline_calls=1.0,
        summary="4 identical queries" if pattern else "",
    )


def test_the_contributors_frame_starts_with_the_stable_columns_in_order():
    frame = contributors_frame(
        [
            contributor(1, "n_plus_one", 250e6, 50e6),
            contributor(2, "", None, -5e6),
        ]
    )
    assert list(frame.columns[: len(STABLE)]) == STABLE
    assert list(frame.columns[len(STABLE) :]) == [
        "more_calls_ms",
        "slower_calls_ms",
        "slow_calls",
        "baseline_calls",
        "summary",
        "whatif_low_ms",
        "whatif_high_ms",
        "note",
    ]
    first = frame.iloc[0]
    assert (first.slow_ms, first.excess_ms, first.whatif_p90_ms) == (80.0, 60.0, 250.0)
    assert (first.more_calls_ms, first.slower_calls_ms) == (45.0, 15.0)
    assert first.note == ""
    assert math.isnan(frame.iloc[1].whatif_p90_ms)
    assert frame.iloc[1].note.startswith("interval includes 0")
    assert frame["rank"].dtype == "int64"


def test_an_empty_contributors_frame_still_has_its_columns():
    frame = contributors_frame([])
    assert list(frame.columns[: len(STABLE)]) == STABLE
    assert len(frame) == 0


def test_the_findings_frame_has_one_row_per_finding():
    f = Finding(
        "dns",
        "t1",
        "api",
        "lookup db.local",
        ("s1", "s2"),
        "5 s resolver timeout",
        part=ClaimPart.HEAD,
        saving_ns=5_000_000_000,
        evidence={"name": "db.local"},
    )
    frame = findings_frame([f])
    row = frame.iloc[0]
    assert (row.pattern, row.trace_id, row.part, row.spans) == ("dns", "t1", "head", 2)
    assert row.saving_ms == 5000.0
    assert row.evidence == {"name": "db.local"}
    assert list(findings_frame([]).columns) == list(frame.columns)


def test_the_traces_frame_gives_utc_start_times_and_milliseconds():
    t = TraceSummary(
        "t1", "/result", "web", 1_700_000_000_000_000_000, 250_000_000, "slow", 250_000_000, 0, 1
    )
    frame = traces_frame([t])
    row = frame.iloc[0]
    assert row.start == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    assert (row.duration_ms, row.group, row.clock_shifts) == (250.0, "slow", 1)
    assert len(traces_frame([])) == 0
