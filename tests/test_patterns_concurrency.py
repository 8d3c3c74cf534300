"""Identical calls: lost concurrency is `sequential`, an N+1 is sequential in the baseline too or
grew in number, and a concurrent fan-out of identical calls is an N+1 priced by its path time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.scenarios import SCENARIOS
from bench.scenarios.emit import otlp_json_line
from bench.scenarios.generate import affected, requests
from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline, merge_profile, profile_part
from tracelens.cli import main
from tracelens.detectors import default_detectors, detect_all
from tracelens.model import Edits, Finding, SpanKind, Trace
from tracelens.whatif import whatif_duration_ns

MS = 1_000_000
CALL_MS = 20


def prices(calls: int, together: bool, tid: str, width: int = 0) -> Trace:
    #  together:                        in turn:
    #  GET /cart |----------|           GET /cart |------------------------------|
    #  GET price   |----|               GET price   |----|
    #  GET price   |----|               GET price         |----|
    #  GET price   |----|               GET price               |----|  ...
    # (together with `width` k: in waves of k, each wave once the previous one has ended)
    width = width or calls
    children = []
    t: float = 2
    for k in range(calls):
        wave, place = divmod(k, width)
        start = 2 + wave * (CALL_MS + 0.5) + place * 0.01 if together else t
        children.append(
            span(
                "GET",
                int(start * MS),
                int((start + CALL_MS) * MS),
                kind=SpanKind.CLIENT,
                service="web",
                attrs={"http.request.method": "GET", "url.full": f"http://pricing/prices/{k}"},
            )
        )
        t = start + CALL_MS + 0.5
    end = int((t + 1) * MS)
    root = span("GET /cart", 0, end, kind=SpanKind.SERVER, service="web", children=children)
    return trace(root, trace_id=tid)


def baseline_of(calls: int, together: bool) -> Baseline:
    return build_baseline(analyze_trace(prices(calls, together, f"b{n:02d}")) for n in range(4))


def findings(t: Trace, baseline: Baseline) -> tuple[Finding, ...]:
    return detect_all(analyze_trace(t), baseline, default_detectors())


def test_identical_calls_that_overlap_in_the_baseline_but_ran_in_turn_are_sequential() -> None:
    # GIVEN a baseline where 8 price GETs run together, and a trace where they waited in turn
    slow = prices(8, together=False, tid="s1")
    found = findings(slow, baseline_of(8, together=True))
    # THEN it is lost concurrency, not an N+1
    assert [f.pattern for f in found] == ["sequential"]
    (f,) = found
    assert f.evidence["calls"] == 8
    # AND its what-if runs them together, as the baseline does: one call's time, not eight
    fixed_ns = whatif_duration_ns(analyze_trace(slow), f.edits)
    assert fixed_ns < (CALL_MS + 5) * MS


def test_identical_calls_in_turn_in_the_baseline_too_are_an_n_plus_one() -> None:
    found = findings(prices(8, together=False, tid="s2"), baseline_of(8, together=False))
    assert [f.pattern for f in found] == ["n_plus_one"]
    assert found[0].evidence["shape"] == "sequential"


def test_identical_calls_in_turn_whose_count_rose_are_an_n_plus_one() -> None:
    # GIVEN a baseline running 6 together; the slow trace runs 30 in turn (more than 1.5 x 6)
    found = findings(prices(30, together=False, tid="s3"), baseline_of(6, together=True))
    assert [f.pattern for f in found] == ["n_plus_one"]
    # near miss: 9 in turn is within 1.5 x 6, so that is lost concurrency again
    near = findings(prices(9, together=False, tid="s4"), baseline_of(6, together=True))
    assert [f.pattern for f in near] == ["sequential"]


def test_without_a_baseline_identical_calls_in_turn_are_an_n_plus_one() -> None:
    found = findings(prices(8, together=False, tid="s5"), build_baseline([]))
    assert [f.pattern for f in found] == ["n_plus_one"]


def test_the_usual_repeat_count_merges_exactly_across_shards() -> None:
    analyses = [analyze_trace(prices(n, together=True, tid=f"r{n:02d}")) for n in (3, 5, 6, 9)]
    whole = merge_profile([profile_part(analyses)])
    split = merge_profile([profile_part(analyses[:1]), profile_part(analyses[1:])])
    facts = analyses[0].facts
    assert facts is not None
    key = facts.keys[1]  # the price GET, the root's first child
    assert whole.repeats == split.repeats
    assert whole.width == split.width == {key: 0.0}  # all at once each time: no cap
    assert whole.repeats[key] == 5.5  # the median of 3, 5, 6, 9


def test_lost_concurrency_runs_again_as_wide_as_the_baseline_ran_it() -> None:
    # GIVEN a baseline running 8 price GETs in waves of 4 (a pool of 4), and a trace in turn
    baseline = build_baseline(
        analyze_trace(prices(8, together=True, tid=f"w{n}", width=4)) for n in range(3)
    )
    assert set(baseline.width.values()) == {4.0}
    slow = prices(8, together=False, tid="s6")
    (f,) = findings(slow, baseline)
    # THEN the sequential finding's what-if runs them 4 at a time: two waves, not one
    assert f.pattern == "sequential"
    assert set(f.edits.parallel_width.values()) == {4}
    fixed_ns = whatif_duration_ns(analyze_trace(slow), f.edits)
    assert 2 * CALL_MS * MS < fixed_ns < (2 * CALL_MS + 5) * MS
    assert f.saving_ns == pytest.approx(6 * CALL_MS * MS + 7 * MS // 2, rel=0.05)


def test_a_width_capped_parallel_group_takes_turns_on_its_lanes() -> None:
    # 5 calls of 10 in turn; parallel on 2 lanes: 10+10 | 10+10 | 10 -> 30, then the tail
    kids = [span(f"c{k}", k * 10, k * 10 + 10, span_id=f"{k + 1:016x}") for k in range(5)]
    t = trace(span("root", 0, 52, kids, span_id="a" * 16))
    members = frozenset(f"{k + 1:016x}" for k in range(5))
    two = Edits(parallel=members, parallel_width=dict.fromkeys(members, 2))
    assert whatif_duration_ns(analyze_trace(t), two) == 32
    assert whatif_duration_ns(analyze_trace(t), Edits(parallel=members)) == 12


def fan_out(calls: int, sockets: int, tid: str) -> Trace:
    #  GET /page |---------------------------|   25 GETs started together; 6 sockets, so each
    #  GET item  |-w-|==server==|                waits (w) for one before its server side runs
    #  GET item  |-----w-----|==server==|
    free = [0] * sockets
    children = []
    for k in range(calls):
        start = 1 * MS + k * 10_000
        socket = min(range(sockets), key=free.__getitem__)
        sent = max(start, free[socket])
        server = span(
            "GET /items/{id}",
            sent + MS,
            sent + (CALL_MS + 1) * MS,
            kind=SpanKind.SERVER,
            service="items",
        )
        end = sent + (CALL_MS + 2) * MS
        free[socket] = end
        children.append(
            span(
                "GET",
                start,
                end,
                [server],
                kind=SpanKind.CLIENT,
                service="bff",
                attrs={"http.request.method": "GET", "url.full": f"http://items/items/{k}"},
            )
        )
    root = span(
        "GET /page", 0, max(free) + MS, kind=SpanKind.SERVER, service="bff", children=children
    )
    return trace(root, trace_id=tid)


def test_a_concurrent_fan_out_of_identical_calls_is_an_n_plus_one_on_one_trace() -> None:
    t = fan_out(25, sockets=6, tid="f1")
    (f, *_) = findings(t, build_baseline([]))
    assert f.pattern == "n_plus_one"
    assert f.evidence["shape"] == "parallel"
    assert f.evidence["calls"] == 25
    assert f.summary.startswith("concurrent N+1")
    # its cost is what it holds of the critical path: the waves, not the sum of the calls
    assert 4 * CALL_MS * MS < f.evidence["on_path_ns"] < 25 * CALL_MS * MS
    # AND the batched call costs one call's own time, without the wait for a socket
    fixed_ns = whatif_duration_ns(analyze_trace(t), f.edits)
    assert fixed_ns < (CALL_MS + 5) * MS


def test_a_fan_out_of_four_is_no_n_plus_one() -> None:
    assert not [f for f in findings(fan_out(4, 1, "f2"), build_baseline([])) if f.pattern]


@pytest.fixture(scope="module")
def fan_out_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One request of the `n_plus_one_concurrent` scenario with the fan-out, as OTLP JSON."""
    index = min(affected(SCENARIOS["n_plus_one_concurrent"], 0, 20)[0])
    spans = next(s for i, s in enumerate(requests("n_plus_one_concurrent", 0, 20)) if i == index)
    path = tmp_path_factory.mktemp("fanout") / "one.jsonl"
    path.write_text(otlp_json_line(spans) + "\n")
    return path


def test_trace_json_shows_the_concurrent_n_plus_one_of_a_single_trace(
    fan_out_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", str(fan_out_trace), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["findings"][0]
    assert (first["pattern"], first["service"]) == ("n_plus_one", "checkout-web")
    assert "/v1/prices" in first["operation"]
    assert first["summary"].startswith("concurrent N+1")
    assert len(first["span_ids"]) >= 25 * 2  # every GET and its server span
