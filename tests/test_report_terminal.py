"""The terminal report (tracelens/report/terminal.py), at several widths and without colour."""

from __future__ import annotations

import io
import time
from dataclasses import replace

import pytest

from tests.report_sample import (
    CONTRIBUTORS,
    EXAMPLE,
    SLOW_IDS,
    before_after_report,
    sample_report,
)
from tracelens.model import RouteStats, Segment, Selection, Span
from tracelens.report import terminal

S = 1_000_000_000
MS = 1_000_000


def rendered(report, width: int = 100, **options) -> str:
    buf = io.StringIO()
    options.setdefault("color_system", None)
    terminal.render(report, buf, width=width, **options)
    return buf.getvalue()


def test_the_terminal_report_matches_the_golden_file(golden):
    golden("terminal.txt", rendered(sample_report(), jaeger_ui="http://localhost:16686"))


@pytest.mark.parametrize("width", [60, 100, 150])
def test_every_width_shows_every_contributor_within_the_width(width):
    text = rendered(sample_report(), width=width, jaeger_ui="http://localhost:16686")
    for c in CONTRIBUTORS:
        assert f"{c.rank}" in text
        assert c.service in text
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert all("http://" in line for line in too_wide)  # only links run on unbroken
    assert "Evidence" in text
    assert "What to fix first" in text


def test_narrow_terminals_keep_the_interval_and_what_if_inside_the_contributor_cell():
    text = rendered(sample_report(), width=60)
    assert "95% CI 7.9–9.5 s" in text
    assert "fixed: p90 4.1 s (−73%)" in text


def test_wide_terminals_give_slow_and_baseline_their_own_columns():
    header = next(
        line for line in rendered(sample_report(), width=150).splitlines() if "contributor" in line
    )
    assert header.split()[:6] == ["#", "contributor", "slow", "base", "excess", "share"]


def test_no_color_turns_off_every_escape_even_on_a_forced_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    styled = rendered(sample_report(), color_system="truecolor", force_terminal=True)
    assert "\x1b[" in styled  # the check below could fail
    monkeypatch.setenv("NO_COLOR", "1")
    plain = rendered(sample_report(), color_system="truecolor", force_terminal=True)
    assert "\x1b" not in plain
    assert "SLO breached" in plain


def test_a_breached_slo_is_stated_with_both_numbers():
    assert "SLO breached: p90 15.2 s > 3 s" in rendered(sample_report())


def test_a_met_slo_is_stated_too():
    report = sample_report()
    met = replace(report, stats=replace(report.stats, slo_ns=20 * S))
    text = rendered(met)
    assert "within SLO: p90 15.2 s ≤ 20 s" in text
    assert "breached" not in text


def test_sample_sizes_and_skipped_traces_are_reported():
    text = rendered(sample_report())
    assert "analysed 120 of 150 traces; 30 failed to fetch" in text
    assert "slow: p90 and above, 12 traces" in text
    assert "matched: api: GET /api/orders/{id} (112)" in text


def test_before_after_mode_shows_the_baseline_window_p90():
    text = rendered(before_after_report())
    assert "baseline window: 2024-05-01 09:00:00 UTC" in text
    assert "p90 2 s" in text
    assert "p90 now +660%" in text


def test_the_histogram_marks_the_p90_and_slo_buckets():
    lines = rendered(sample_report()).splitlines()
    (p90_line,) = [line for line in lines if "◀ p90" in line]
    (slo_line,) = [line for line in lines if "◀ SLO" in line]
    assert p90_line.split()[:4] == ["10", "s", "–", "20"]
    assert slo_line.split()[:4] == ["2", "s", "–", "5"]


def test_histogram_buckets_follow_the_one_two_five_series():
    assert terminal.bucket_edges_ns(600 * MS, 21 * S) == [
        500 * MS,
        1 * S,
        2 * S,
        5 * S,
        10 * S,
        20 * S,
        50 * S,
    ]
    assert terminal.bucket_edges_ns(0, 0) == [1000, 2000]


def test_unsure_rows_are_marked_and_explained():
    text = rendered(sample_report())
    assert "may be noise: their 95% interval includes 0" in text
    assert "too few traces" not in text
    assert " 3? " in text
    assert " 4? " in text
    assert " 1? " not in text


def test_a_clear_result_has_no_warning_until_the_sample_is_flagged_too_small():
    sure = replace(sample_report(), contributor_rows=CONTRIBUTORS[:2])
    assert "may be noise" not in rendered(sure)
    assert "too few traces" not in rendered(sure)
    flagged = rendered(replace(sure, too_small=True))
    assert "too few traces to conclude: only 12 slow and 60 baseline traces" in flagged


def test_findings_show_evidence_and_links_to_each_configured_ui():
    text = rendered(
        sample_report(),
        width=150,
        jaeger_ui="http://jaeger:16686",
        grafana_url="https://grafana.example",
    )
    assert f"http://jaeger:16686/trace/{EXAMPLE}" in text
    assert "https://grafana.example/explore?" in text
    assert "calls=41, parent=OrderLoader.load, per_call_ns=200 ms" in text
    assert "41 spans: SELECT order_items" in text  # names from the example trace's spans
    assert "(5 found)" in text


def test_without_a_ui_only_the_trace_id_is_printed():
    text = rendered(sample_report())
    assert f"trace {EXAMPLE}" in text
    assert "http" not in text


def test_the_critical_path_folds_repeated_calls_into_one_row():
    text = rendered(sample_report())
    (row,) = [line for line in text.splitlines() if "orders: SELECT order_items" in line]
    assert row.rstrip().endswith("8.2 s  ×41")


def test_a_five_thousand_call_path_draws_quickly():
    t0 = 0
    spans = {"root": Span("t", "root", None, "api", "GET /", start_ns=0, end_ns=10_001 * MS)}
    path = [Segment("root", 0, MS)]
    for k in range(5000):
        sid = f"q{k}"
        spans[sid] = Span(
            "t",
            sid,
            "root",
            "db",
            "SELECT",
            start_ns=t0 + (1 + 2 * k) * MS,
            end_ns=t0 + (3 + 2 * k) * MS,
        )
        path.append(Segment(sid, (1 + 2 * k) * MS, (3 + 2 * k) * MS))
    report = replace(sample_report(), example_path=tuple(path), example_spans=spans)
    began = time.perf_counter()
    text = rendered(report)
    assert time.perf_counter() - began < 2
    assert "×5000" in text


def test_names_that_look_like_markup_are_printed_literally():
    odd = replace(CONTRIBUTORS[2], operation="GET /[bold]x[/bold]")
    text = rendered(replace(sample_report(), contributor_rows=(odd,)))
    assert "GET /[bold]x[/bold]" in text


def test_an_empty_report_still_renders():
    empty = sample_report().__class__(
        selection=Selection("", {}, None, None, 90.0, 50.0, (), ()),
        stats=RouteStats(0, 0.0, 0.0, 0.0),
        baseline_stats=None,
        contributor_rows=(),
        finding_rows=(),
        trace_rows=(),
    )
    for width in (40, 60, 100):
        text = rendered(empty, width=width)
        assert "no contributors" in text
        assert "all traces in the source" in text


def test_what_if_lines_give_the_new_p90_and_the_change():
    text = rendered(sample_report(), width=150)
    assert "fix N+1 · orders: SELECT * FROM order_items WHERE order_id = ? → p90 4.1 s (−73%)" in (
        text
    )
    assert f"trace {SLOW_IDS[9]}" in text


def test_before_after_without_a_p90_rise_says_there_is_no_regression():
    report = sample_report()
    base = replace(report.stats, p90_ns=report.stats.p90_ns * 1.02)
    text = rendered(replace(report, baseline_stats=base))
    assert "has not risen against the baseline window" in text
    risen = replace(report.stats, p90_ns=report.stats.p90_ns / 2)
    assert "has not risen" not in rendered(replace(report, baseline_stats=risen))
