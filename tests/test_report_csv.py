"""The contributors as CSV (tracelens/report/csv.py)."""

from __future__ import annotations

import csv as stdcsv
import io
import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.report_sample import CONTRIBUTORS, FINDINGS, sample_report
from tracelens.report import COLUMNS
from tracelens.report import csv as csv_report
from tracelens.report.safe import is_inert, visible

STABLE = (
    "rank,pattern,service,operation,slow_ms,baseline_ms,excess_ms,share,ci_low_ms,ci_high_ms,"
    "traces,example_trace_id,whatif_p90_ms"
)


def rendered(report) -> str:
    buf = io.StringIO()
    csv_report.render(report, buf)
    return buf.getvalue()


def rows(report) -> list[dict[str, str]]:
    return list(stdcsv.DictReader(io.StringIO(rendered(report))))


def test_the_csv_matches_the_golden_file(golden):
    golden("report.csv", rendered(sample_report()))


def test_the_documented_columns_come_first_in_order():
    header = rendered(sample_report()).splitlines()[0]
    assert header.startswith(STABLE + ",")
    assert header.split(",") == list(COLUMNS)


def test_rows_are_ranked_and_numbers_are_milliseconds():
    report = sample_report()
    shuffled = replace(report, contributor_rows=tuple(reversed(report.contributor_rows)))
    first, *_, last = rows(shuffled)
    assert (first["rank"], last["rank"]) == ("1", "4")
    assert first["excess_ms"] == "8700.0"
    assert first["share"] == "0.621"
    assert first["pattern"] == "n_plus_one"
    assert rows(report)[2]["pattern"] == ""  # a plain operation


def test_missing_values_are_empty_cells():
    report = sample_report()
    nan_ci = replace(CONTRIBUTORS[0], ci_low_ns=math.nan, ci_high_ns=math.inf)
    third = rows(replace(report, contributor_rows=(nan_ci, *CONTRIBUTORS[1:])))
    assert third[2]["whatif_p90_ms"] == ""  # whatif_p90_ns is None
    assert third[2]["summary"] == ""
    assert (third[0]["ci_low_ms"], third[0]["ci_high_ms"]) == ("", "")


@pytest.mark.parametrize("danger", ["=1+1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://x","y")'])
def test_text_a_spreadsheet_would_run_as_a_formula_is_escaped(danger):
    evil = replace(
        CONTRIBUTORS[0],
        service=danger,
        operation=danger,
        summary=danger,
        pattern=danger,
        example_trace_id=danger,
    )
    # the summary a row shows is its example trace's finding's
    finding = replace(
        FINDINGS[2], trace_id=danger, pattern=danger, service=danger, operation=danger
    )
    finding = replace(finding, summary=danger)
    report = replace(sample_report(), contributor_rows=(evil,), finding_rows=(finding,))
    (row,) = rows(report)
    for column in ("pattern", "service", "operation", "summary", "example_trace_id"):
        assert row[column] == "'" + danger


@pytest.mark.parametrize("danger", ["\tx", "\rx", "\x1b[2J", "\x1b]8;;http://x\x07", "a\nb"])
def test_control_characters_are_written_as_escapes_so_no_cell_starts_a_formula(danger):
    evil = replace(CONTRIBUTORS[2], service=danger, operation=danger)
    text = rendered(replace(sample_report(), contributor_rows=(evil,)))
    assert not any(ch in text for ch in "\t\x1b\x07")
    (row,) = rows(replace(sample_report(), contributor_rows=(evil,)))
    assert row["operation"] == visible(danger)
    assert "\n" not in row["operation"]


def test_each_row_summary_describes_its_own_example_trace():
    report = sample_report()
    by_rank = {int(r["rank"]): r for r in rows(report)}
    for c in report.contributor_rows:
        own = [
            f
            for f in report.finding_rows
            if f.trace_id == c.example_trace_id
            and (f.pattern, f.service, f.operation) == (c.pattern, c.service, c.operation)
        ]
        if own:
            assert by_rank[c.rank]["summary"] == own[0].summary
    # the N+1 row's core summary (41 queries) is of its example trace; the DNS one's is not
    assert by_rank[2]["summary"] != CONTRIBUTORS[1].summary
    assert "took 5.0 s" in by_rank[2]["summary"]


def test_negative_numbers_stay_numbers():
    (*_, row) = rows(sample_report())
    assert row["excess_ms"] == "-12.3"
    assert row["ci_low_ms"] == "-40.0"
    assert float(row["share"]) < 0


def test_commas_and_quotes_survive_a_round_trip_and_newlines_stay_visible():
    awkward = 'SELECT "a", b\nFROM t'
    odd = replace(CONTRIBUTORS[2], operation=awkward)
    (row,) = rows(replace(sample_report(), contributor_rows=(odd,)))
    assert row["operation"] == 'SELECT "a", b\\nFROM t'


def test_harmless_text_is_left_alone():
    assert csv_report.escape_text("GET /api/orders") == "GET /api/orders"
    assert csv_report.escape_text("a=b") == "a=b"
    assert csv_report.escape_text("XX=1") == "XX=1"  # a letter first: text, whatever follows
    assert csv_report.escape_text("=1 ") == "'=1 "


def test_a_formula_after_leading_spaces_is_escaped_but_other_space_makes_it_text():
    # spreadsheets trim ASCII spaces before looking for "="; a no-break space is a character of
    # the cell, so the cell is text (control characters never get here: visible() escapes them)
    assert csv_report.escape_text("   =HYPERLINK(1)") == "'   =HYPERLINK(1)"
    assert csv_report.escape_text("\u00a0=1") == "\u00a0=1"
    assert csv_report.escape_text("\u3000@x") == "\u3000@x"


@given(st.text())
def test_any_text_round_trips_visibly_and_never_starts_a_formula(text):
    odd = replace(CONTRIBUTORS[2], operation=text, service=text)
    (row,) = rows(replace(sample_report(), contributor_rows=(odd,)))
    shown = visible(text)
    formula = shown.lstrip(" ").startswith(("=", "+", "-", "@"))
    for column in ("operation", "service"):
        assert row[column] == ("'" + shown if formula else shown)
        assert is_inert(row[column])
