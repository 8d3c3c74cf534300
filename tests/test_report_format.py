"""The presentation rules every renderer shares (tracelens/report/__init__.py)."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import pytest

from tests.report_sample import CONTRIBUTORS, sample_report
from tracelens.attribution import interval_includes_zero
from tracelens.frames import contributors_frame
from tracelens.report import (
    contributor_label,
    duration,
    duration_range,
    evidence_for,
    ms,
    percent,
    percentile_name,
    sample_sentence,
    window_text,
)

MS = 1_000_000
S = 1_000_000_000


@pytest.mark.parametrize(
    ("value_ns", "text"),
    [
        (0, "0 ms"),
        (420_000, "0.42 ms"),
        (5_000, "5 µs"),
        (850 * MS, "850 ms"),
        (999.7 * MS, "1 s"),  # rounds up into seconds rather than printing "1000 ms"
        (1.25 * S, "1.25 s"),
        (15.23 * S, "15.2 s"),
        (3 * S, "3 s"),
        (1234 * S, "1234 s"),
        (-12.3 * MS, "-12.3 ms"),
        (None, "-"),
        (math.nan, "-"),
    ],
)
def test_durations_read_as_people_write_them(value_ns, text):
    assert duration(value_ns) == text


def test_an_interval_uses_one_unit_for_both_ends():
    assert duration_range(0.9 * S, 1.4 * S) == "0.9–1.4 s"
    assert duration_range(-20 * MS, 160 * MS) == "-20–160 ms"
    assert duration_range(None, 1) == "-"


def test_percentages_carry_a_real_minus_sign_and_plus_only_when_asked():
    assert percent(0.6213) == "62%"
    assert percent(-0.73, signed=True) == "−73%"
    assert percent(0.05, signed=True) == "+5%"
    assert percent(-0.0009) == "0%"


def test_milliseconds_round_and_never_print_negative_zero():
    assert ms(1_234_567) == 1.2
    assert ms(-10_000) == 0.0
    assert str(ms(-10_000)) == "0.0"
    assert ms(None) is None
    assert ms(math.inf) is None


def test_percentile_names_accept_fractions_and_percents():
    assert percentile_name(90.0) == "p90"
    assert percentile_name(0.99) == "p99"
    assert percentile_name(99.9) == "p99.9"


def test_labels_name_the_pattern_and_the_operation():
    assert contributor_label(CONTRIBUTORS[0]).startswith("N+1 · orders: SELECT")
    assert contributor_label(CONTRIBUTORS[2]) == "api: GET /api/orders/{id}"


def test_the_window_says_when_it_is_open_ended():
    assert window_text(None, None) == "all traces in the source"
    assert window_text(0, 3600 * S) == "1970-01-01 00:00:00 UTC → 1970-01-01 01:00:00 UTC"
    assert window_text(0, None).startswith("since ")


def test_the_sample_sentence_counts_skipped_traces_with_their_reasons():
    report = sample_report()
    assert sample_sentence(report) == "analysed 120 of 150 traces; 30 failed to fetch"
    clean = replace(report, selection=replace(report.selection, skipped={}))
    assert sample_sentence(clean) == "analysed 120 traces"


def test_an_interval_touching_zero_is_not_a_conclusion():
    assert not interval_includes_zero(CONTRIBUTORS[0])
    assert interval_includes_zero(CONTRIBUTORS[2])
    assert interval_includes_zero(replace(CONTRIBUTORS[0], ci_low_ns=0.0))  # touching
    assert interval_includes_zero(replace(CONTRIBUTORS[0], ci_low_ns=math.nan))
    assert interval_includes_zero(replace(CONTRIBUTORS[0], ci_high_ns=math.nan))
    assert interval_includes_zero(replace(CONTRIBUTORS[0], ci_high_ns=math.inf))
    below = replace(CONTRIBUTORS[0], ci_low_ns=-2.0 * S, ci_high_ns=-1.0 * S)
    assert not interval_includes_zero(below)  # wholly below zero is a conclusion too


def test_the_frames_note_and_the_renderers_mark_say_the_same_thing_nan_included():
    from tracelens.report import markdown, terminal
    from tracelens.report.facts import fixes

    rows = (
        replace(CONTRIBUTORS[0], ci_low_ns=math.nan),  # no interval: not a conclusion
        replace(CONTRIBUTORS[1], ci_low_ns=1.0 * S, ci_high_ns=2.0 * S),  # clear
        *CONTRIBUTORS[2:],
    )
    report = replace(sample_report(), contributor_rows=rows)
    notes = list(contributors_frame(rows)["note"])
    assert [bool(n) for n in notes] == [interval_includes_zero(c) for c in rows]
    assert notes[0]
    assert not notes[1]
    unsure = {f.contributor.rank: f.unsure for f in fixes(report)}
    assert all(unsure[c.rank] == interval_includes_zero(c) for c in rows if c.rank in unsure)
    out = io.StringIO()
    terminal.render(report, out, width=160, color_system=None)
    marks = {c.rank for c in rows if interval_includes_zero(c)}
    table = [line.split() for line in out.getvalue().splitlines()]
    assert {int(w[0][:-1]) for w in table if w and w[0][:-1].isdigit() and w[0][-1] == "?"} == marks
    out = io.StringIO()
    markdown.render(report, out)
    assert "| 1? |" in out.getvalue().replace("  ", " ")
    assert "| 2? |" not in out.getvalue().replace("  ", " ")


def test_evidence_prefers_slow_traces_with_the_biggest_saving():
    report = sample_report()
    shown = evidence_for(report, CONTRIBUTORS[0], limit=5)
    slow = set(report.selection.slow_trace_ids)
    assert [f.saving_ns for f in shown] == sorted((f.saving_ns for f in shown), reverse=True)
    assert [f.trace_id in slow for f in shown] == [True, True, True, True, False]
    assert evidence_for(report, CONTRIBUTORS[2]) == []
