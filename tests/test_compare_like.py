"""Compare like with like: before/after compares the same band of both windows, a route whose
entry serves several pages compares each page with its own typical requests, and a plain
operation gets a what-if too. Corpora from bench/scenarios/windows.py (OpenTelemetry SDK)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

import tracelens
from bench.scenarios.windows import DAY_NS, EPOCH_NS, before_after, page_mix
from tracelens.answer import Report
from tracelens.cli import main
from tracelens.model import Contributor, Trace
from tracelens.otlp_json import write_otlp_lines
from tracelens.report import baseline_words, percentiles_moved
from tracelens.report import json as json_report
from tracelens.sources import Window

NOW = Window(EPOCH_NS + DAY_NS, None)
BEFORE = Window(EPOCH_NS, EPOCH_NS + DAY_NS)
QUERY = "listings"


def _p90(traces: list[Trace]) -> float:
    durations = [max(s.end_ns for s in t.spans) - min(s.start_ns for s in t.spans) for t in traces]
    return float(np.percentile(durations, 90))


@pytest.fixture(scope="module")
def windows() -> tuple[list[Trace], list[Trace], list[Trace]]:
    return before_after(seed=3, n=200)


def _first(report: Report) -> Contributor:
    return min(report.contributor_rows, key=lambda c: c.rank)


def _compare(traces: list[Trace], band: str) -> Report:
    return tracelens.slowest(
        traces,
        route="search",
        window=NOW,
        baseline_window=BEFORE,
        baseline_band=band,
        resamples=300,
    )


def test_before_after_compares_the_same_band_and_finds_what_changed(windows) -> None:
    before, now, fixed = windows
    report = _compare(before + now, "same")
    top = _first(report)
    assert QUERY in top.operation  # the query that lost its index, not the cold profile cache
    assert top.whatif_p90_ns is not None
    true_gain = _p90(now) - _p90(fixed)
    predicted = report.stats.p90_ns - top.whatif_p90_ns
    assert abs(predicted - true_gain) <= 0.2 * true_gain
    assert len(report.selection.baseline_trace_ids) == 20  # p90 and above of 200 requests
    assert report.selection.baseline_band == "same"


def test_every_request_of_the_baseline_window_blames_the_ordinary_tail(windows) -> None:
    before, now, _ = windows
    report = _compare(before + now, "all")
    assert _first(report).service == "profile-service"  # what the same band corrects
    assert len(report.selection.baseline_trace_ids) == 200


def test_the_report_names_the_bands_and_how_the_percentiles_moved(windows) -> None:
    before, now, _ = windows
    report = _compare(before + now, "same")
    out = io.StringIO()
    json_report.render(report, out)
    doc = json.loads(out.getvalue())
    assert doc["selection"]["baseline_band"] == "same"
    assert baseline_words(report.selection) == "p90 and above of the baseline window"
    moved = percentiles_moved(report)
    assert moved is not None
    assert moved.startswith("p50 +")
    assert "p90 +" in moved


def test_the_band_is_a_cli_option_of_before_after_mode_only(
    windows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, now, _ = windows
    path = tmp_path / "windows.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(before + now, out)
    code = main(["slowest", "--source", str(path), "--route", "search", "--baseline-band", "all"])
    assert code == 2
    assert "--baseline-band needs a baseline window" in capsys.readouterr().err


@pytest.fixture(scope="module")
def pages() -> tuple[list[Trace], list[Trace]]:
    return page_mix(seed=2, n=300)


def test_each_page_is_compared_with_its_own_typical_requests(pages) -> None:
    traces, fixed = pages
    report = tracelens.slowest(traces, route="graphql", resamples=300)
    top = _first(report)
    assert (top.pattern, top.service) == ("n_plus_one", "bff")  # not search-backend's nature
    names = {p.page for p in report.selection.pages}
    assert names == {"query Search", "query Home"}
    search = next(p for p in report.selection.pages if p.page == "query Search")
    assert search.slow == len(report.selection.slow_trace_ids)  # the slow tenth is all Search
    assert search.baseline > 0
    true_gain = _p90(traces) - _p90(fixed)
    assert top.whatif_p90_ns is not None
    assert abs(report.stats.p90_ns - top.whatif_p90_ns - true_gain) <= 0.2 * true_gain


def test_a_plain_operation_gets_a_what_if_at_its_baseline_cost(windows) -> None:
    before, now, _ = windows
    report = _compare(before + now, "all")
    profile = _first(report)
    assert profile.pattern == ""
    assert profile.whatif_p90_ns is not None
    assert profile.whatif_p90_ns < 0.5 * report.stats.p90_ns  # a warm cache for every request
