"""The whole pipeline on small hand-built corpora: selection, sets, sums and errors."""

import random

import pytest

import tracelens
from tests.builders import span, trace
from tracelens.errors import UsageError
from tracelens.model import SpanKind
from tracelens.sources import Window

MS = 1_000_000
SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT


def page(i: int, route: str, db_ms: int, t0: int = 1_700_000_000_000 * MS):
    """A page that calls one API, which runs one query; the query's time varies."""
    start = t0 + i * 1000 * MS
    return trace(
        span(
            "GET",
            start,
            start + (db_ms + 30) * MS,
            service="web",
            kind=SERVER,
            attrs={"http.route": route, "http.request.method": "GET"},
            children=[
                span(
                    "GET",
                    start + 5 * MS,
                    start + (db_ms + 25) * MS,
                    service="web",
                    kind=CLIENT,
                    attrs={
                        "http.request.method": "GET",
                        "server.address": "api",
                        "url.full": "http://api/items",
                    },
                    children=[
                        span(
                            "GET /items",
                            start + 6 * MS,
                            start + (db_ms + 24) * MS,
                            service="api",
                            kind=SERVER,
                            attrs={"http.route": "/items"},
                            children=[
                                span(
                                    "SELECT items",
                                    start + 8 * MS,
                                    start + (db_ms + 8) * MS,
                                    service="api",
                                    kind=CLIENT,
                                    attrs={
                                        "db.system": "postgresql",
                                        "db.query.text": "SELECT * FROM items",
                                    },
                                )
                            ],
                        ),
                    ],
                ),
            ],
        ),
        trace_id=f"{i + 1:032x}",
    )


def corpus(n: int = 200, seed: int = 1):
    rng = random.Random(seed)
    traces = [page(i, "/result/[id]", rng.randint(10, 30)) for i in range(n)]
    for i in rng.sample(range(n), n // 8):  # one in eight requests hits a slow query
        traces[i] = page(i, "/result/[id]", rng.randint(900, 1100))
    return traces


def test_excesses_add_up_to_the_gap_between_the_sets():
    report = tracelens.slowest(corpus(), route="result")
    slow = {t.trace_id: t for t in report.trace_rows if t.group == "slow"}
    base = {t.trace_id: t for t in report.trace_rows if t.group == "baseline"}
    gap = sum(t.duration_ns for t in slow.values()) / len(slow) - sum(
        t.duration_ns for t in base.values()
    ) / len(base)
    assert sum(c.excess_ns for c in report.contributor_rows) == pytest.approx(gap, rel=1e-9)


def test_the_slow_query_is_the_top_contributor_and_its_fix_lowers_p90():
    report = tracelens.slowest(corpus(), route="result", slo_ns=500 * MS)
    top = report.contributor_rows[0]
    assert (top.pattern, top.service) == ("slow_query", "api")
    assert "items" in top.operation.lower()
    assert report.stats.breaches_slo
    # p90 is a slow page's (~1 s); fixed, every page is a fast one (db 10..30 ms + 30 ms)
    assert report.stats.p90_ns > 900 * MS
    assert top.whatif_p90_ns is not None
    assert 40 * MS <= top.whatif_p90_ns <= 60 * MS
    assert report.selection.matched == {"web: GET /result/[id]": 200}


def test_several_routes_without_route_is_a_usage_error_listing_them():
    traces = [page(i, "/result/[id]", 20) for i in range(5)]
    traces += [page(i + 5, "/search", 20) for i in range(3)]
    with pytest.raises(UsageError, match=r"/result/\[id\] \(5\).*/search \(3\)"):
        tracelens.slowest(traces)


def test_a_single_route_is_used_without_asking():
    report = tracelens.slowest([page(i, "/search", 20 + i) for i in range(30)])
    assert report.selection.route == "GET /search"


def test_an_unknown_route_lists_the_routes_seen():
    with pytest.raises(UsageError, match="no traces match route 'basket'"):
        tracelens.slowest(corpus(40), route="basket")


def test_before_after_mode_takes_the_baseline_from_another_window():
    before = [page(i, "/result/[id]", 20) for i in range(50)]
    after = [page(i + 100, "/result/[id]", 400) for i in range(50)]
    t0 = 1_700_000_000_000 * MS
    report = tracelens.slowest(
        before + after,
        route="result",
        window=Window(t0 + 100 * 1000 * MS, None),
        baseline_window=Window(t0, t0 + 100 * 1000 * MS),
    )
    assert report.baseline_stats is not None
    assert report.baseline_stats.p90_ns < 100 * MS < report.stats.p90_ns
    assert len(report.selection.baseline_trace_ids) == 50
    assert report.contributor_rows[0].service == "api"


def test_the_api_returns_dataframes():
    report = tracelens.slowest(corpus(), route="result")
    frame = report.contributors
    assert list(frame.columns[:13]) == [
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
    assert len(report.traces) == 200


def test_skipping_the_replays_below_each_fixs_floor_changes_no_whatif(monkeypatch, tmp_path):
    # The demo's causes and plain operations, priced with the replays that cannot move a
    # what-if skipped (pipeline._replayed) and with every edited trace replayed.
    import tracelens.pipeline
    import tracelens.stages
    from tests.builders import demo_file

    path = demo_file(tmp_path / "demo.jsonl", 400)
    replays: list[str] = []
    replay_one = tracelens.stages.whatif_duration_ns

    def counted(a, edits):
        replays.append(a.trace.trace_id)
        return replay_one(a, edits)

    monkeypatch.setattr(tracelens.stages, "whatif_duration_ns", counted)
    skipping = tracelens.slowest(path, route="result")
    skipped = len(replays)
    replays.clear()
    monkeypatch.setattr(tracelens.pipeline, "replay_floor_ns", lambda *a, **k: -float("inf"))
    everything = tracelens.slowest(path, route="result")

    def whatifs(report):
        return [
            (c.fix_name, c.whatif_p90_ns, c.whatif_low_ns, c.whatif_high_ns)
            for c in report.contributor_rows
        ]

    assert whatifs(skipping) == whatifs(everything)
    assert skipping.whatif_together_p90_ns == everything.whatif_together_p90_ns
    assert sum(c.whatif_p90_ns is not None for c in skipping.contributor_rows) >= 3
    assert skipped < len(replays) / 2  # and most replays were skipped
