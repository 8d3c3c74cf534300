"""The terminal report (tracelens/report/terminal.py), at several widths and without colour."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from tests.report_sample import (
    CONTRIBUTORS,
    EXAMPLE,
    SLOW_IDS,
    before_after_report,
    sample_report,
)
from tracelens.attribution import interval_includes_zero
from tracelens.model import RouteStats, Segment, Selection, Span
from tracelens.report import terminal

S = 1_000_000_000
MS = 1_000_000


def rendered(report, width: int = 100, **options) -> str:
    buf = io.StringIO()
    options.setdefault("color_system", None)
    terminal.render(report, buf, width=width, **options)
    return buf.getvalue()


def test_the_terminal_report_matches_the_golden_files(golden):
    golden("terminal.txt", rendered(sample_report(), width=80))
    golden(
        "terminal-verbose.txt",
        rendered(sample_report(), width=80, verbose=True, jaeger_ui="http://localhost:16686"),
    )


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_every_width_fits_with_no_trailing_spaces_and_every_contributor(width):
    text = rendered(sample_report(), width=width, verbose=True, jaeger_ui="http://j:16686")
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines if "http://" not in line)
    assert not [line for line in lines if line != line.rstrip()]
    # the contributors table: one row per contributor, in rank order, "?" where it may be noise
    top = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "contributor"])
    rows = [line.split()[0] for line in lines[top + 1 : top + 1 + len(CONTRIBUTORS)]]
    assert rows == [f"{c.rank}{'?' if interval_includes_zero(c) else ''}" for c in CONTRIBUTORS]
    for c in CONTRIBUTORS:
        assert c.service in text
    assert "Evidence" in text
    assert "What to fix first" in text


def test_the_first_25_lines_at_80_columns_answer_the_question():
    head = "\n".join(rendered(sample_report(), width=80).splitlines()[:25])
    assert "Why is /api/orders/{id} slow?" in head
    assert "p50 1.2 s · p90 15.2 s · p99 21.7 s" in head
    assert "SLO breached: p90 15.2 s > 3 s" in head
    assert "What to fix first (p90 now 15.2 s)" in head
    assert "4.1 s −73%" in head  # the top fix and its what-if
    assert "all 3 together" not in head  # the sample sets no together p90
    assert "12 slow (p90 and above) vs 60 typical (p50 and below)" in head


def test_wider_terminals_get_more_columns_and_whole_names():
    narrow = rendered(sample_report(), width=80)
    wide = rendered(sample_report(), width=160)
    header = next(line for line in wide.splitlines() if line.lstrip().startswith("#  contributor"))
    assert header.split()[:4] == ["#", "contributor", "extra", "share"]
    assert {"slow", "typical", "calls", "traces"} <= set(header.split())
    assert "N+1 · orders: SELECT * FROM order_items WHERE order_id = ?" in wide
    assert (
        "slow"
        not in next(
            line for line in narrow.splitlines() if line.lstrip().startswith("#  contributor")
        ).split()
    )


def test_long_names_are_shortened_in_the_middle_never_cut_at_the_end():
    long_op = "GET /api/" + "very-long-segment/" * 8 + "tail-that-tells"
    odd = replace(CONTRIBUTORS[2], operation=long_op)
    text = rendered(replace(sample_report(), contributor_rows=(odd,)), width=80)
    (row,) = [line for line in text.splitlines() if line.lstrip().startswith("3?")]
    assert "…" in row
    assert row.split("…")[1].split()[0].endswith("tells")
    assert len(row) <= 80


def test_no_color_turns_off_every_escape_even_on_a_forced_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    styled = rendered(sample_report(), color_system="truecolor", force_terminal=True)
    assert "\x1b[" in styled  # the check below could fail
    monkeypatch.setenv("NO_COLOR", "1")
    plain = rendered(sample_report(), color_system="truecolor", force_terminal=True)
    assert "\x1b" not in plain
    assert "SLO breached" in plain


def test_a_met_slo_is_stated_and_each_fix_says_whether_it_meets_the_slo():
    report = sample_report()
    met = replace(report, stats=replace(report.stats, slo_ns=12 * S))
    text = rendered(met)
    assert "SLO breached: p90 15.2 s > 12 s" in text
    (dns,) = [line for line in text.splitlines() if "11 s −28%" in line]
    assert dns.rstrip().endswith("met")
    (n1,) = [line for line in text.splitlines() if "4.1 s −73%" in line]
    assert n1.rstrip().endswith("met")
    within = rendered(replace(report, stats=replace(report.stats, slo_ns=20 * S)))
    assert "within SLO: p90 15.2 s ≤ 20 s" in within


def test_sample_sizes_and_skipped_traces_are_reported():
    text = rendered(sample_report(), verbose=True)
    assert "120 of 150 traces: 12 slow" in text
    assert "analysed 120 of 150 traces; 30 failed to fetch" in text  # the method
    assert "api: GET /api/orders/{id} (112)" in text


def test_before_after_mode_shows_the_baseline_window_p90():
    text = rendered(before_after_report())
    assert "baseline window: 2024-05-01 09:00:00 UTC" in text
    assert "p90 2 s" in text
    assert "p90 +660%" in text
    assert "against the baseline window" in text


def test_the_histogram_marks_the_p90_and_slo_buckets():
    lines = rendered(sample_report(), verbose=True).splitlines()
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


def test_unsure_rows_are_marked_and_their_what_if_carries_the_caveat():
    text = rendered(sample_report())
    assert "may be noise: their 95% interval includes 0" in text
    ranks = [line.split()[0] for line in text.splitlines() if line.strip()]
    assert "3?" in ranks
    assert "4?" in ranks
    assert "1?" not in ranks
    (seq,) = [line for line in text.splitlines() if "15.1 s" in line]
    assert "−1%?" in seq  # the sequential row is noise: its what-if says so
    assert "so may its what-if" in text


def test_a_clear_result_has_no_warning_until_the_sample_is_flagged_too_small():
    sure = replace(sample_report(), contributor_rows=CONTRIBUTORS[:2])
    assert "may be noise" not in rendered(sure)
    assert "too few traces" not in rendered(sure)
    flagged = rendered(replace(sure, too_small=True))
    assert "too few traces to conclude: only 12 slow and 60 baseline traces" in flagged


def test_evidence_is_in_words_with_each_trace_labelled_and_links_to_each_ui():
    text = rendered(
        sample_report(),
        width=150,
        verbose=True,
        jaeger_ui="http://jaeger:16686",
        grafana_url="https://grafana.example",
    )
    assert f"http://jaeger:16686/trace/{EXAMPLE}" in text
    assert "https://grafana.example/explore?" in text
    assert f"one trace, {EXAMPLE} (10 s): 41 identical queries" in text
    assert "fixing it there saves 8 s" in text
    assert "mean over the slow set: 9.1 s per slow request vs 400 ms typical (41 vs 2" in text
    assert "found 5×" in text
    assert "per_call_ns" not in text  # no raw field dumps: those are in --json
    assert "calls=41" not in text


def test_without_a_ui_only_the_trace_id_is_printed():
    text = rendered(sample_report(), verbose=True)
    assert f"one trace, {EXAMPLE}" in text
    assert "http" not in text


def test_the_default_report_hides_the_detail_and_says_how_to_see_it():
    text = rendered(sample_report())
    assert "Evidence" not in text
    assert "--verbose" in text


def test_the_critical_path_folds_repeated_calls_into_one_row():
    text = rendered(sample_report(), verbose=True)
    (row,) = [line for line in text.splitlines() if "orders: SELECT order_items" in line]
    assert row.rstrip().endswith("8.2 s    ×41")
    assert "nearest p90" in text


def test_a_five_thousand_call_path_draws_as_one_folded_row():
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
    text = rendered(report, verbose=True)  # its speed: bench/speed.py
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
        text = rendered(empty, width=width, verbose=True)
        assert "no contributors" in text
        assert "all traces in the source" in text


def test_what_if_rows_give_the_new_p90_the_change_and_all_fixes_together():
    report = replace(
        sample_report(), whatif_together_p90_ns=2.5 * S, whatif_together=("a", "b", "c")
    )
    text = rendered(report, width=80)
    (top,) = [line for line in text.splitlines() if "4.1 s −73%" in line]
    assert top.split()[0] == "1"
    (both,) = [line for line in text.splitlines() if "all 3 together" in line]
    assert "2.5 s −84%" in both
    assert both.rstrip().endswith("met")
    assert f"one trace, {SLOW_IDS[9]}" in rendered(report, verbose=True, width=150)


def test_causes_acting_on_the_same_calls_are_said_to_overlap():
    report = sample_report()
    dns = next(f for f in report.finding_rows if f.pattern == "dns")
    n1 = next(
        f for f in report.finding_rows if f.trace_id == dns.trace_id or f.pattern == "n_plus_one"
    )
    shared = replace(dns, trace_id=n1.trace_id, span_ids=(n1.span_ids[0],))
    text = rendered(replace(report, finding_rows=(*report.finding_rows, shared)), width=80)
    assert "#1 and #2 act on the same calls" in text
    assert "#1 and #2 act on the same calls" not in rendered(report, width=80)


def test_before_after_without_a_p90_rise_says_there_is_no_regression():
    report = sample_report()
    base = replace(report.stats, p90_ns=report.stats.p90_ns * 1.02)
    text = rendered(replace(report, baseline_stats=base))
    assert "has not risen against the baseline window" in text
    risen = replace(report.stats, p90_ns=report.stats.p90_ns / 2)
    assert "has not risen" not in rendered(replace(report, baseline_stats=risen))
