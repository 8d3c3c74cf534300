"""TraceRCA (bench/baselines/tracerca.py), step by step on hand-built traces: invocations and
their latency, the mean-shift test, the 1-sigma rule, abnormal traces, the support threshold of
the set mining, set scores, and the callee/caller ratio of the final ranking."""

from __future__ import annotations

import json

import pytest

from bench.baselines import rank_of, tracelens_services
from bench.baselines.tracerca import (
    Profile,
    ServiceSet,
    TraceRCA,
    invocations,
    is_abnormal,
    localize,
    mine_sets,
    shifted,
)
from bench.nezha import DEFAULT_DATA, tracerca_services
from bench.side_by_side import compare, main
from tests.builders import span, trace
from tracelens import slowest
from tracelens.model import Span, SpanKind, Trace

SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT


def _id(i: int) -> str:
    return f"{i + 1:032x}"


def web_to_api(i: int, api_ns: int, *, extra: str | None = None) -> Trace:
    """web -> api, the api call taking `api_ns` as the web's client span sees it.

    web  |------------------------------|
    GET     |---------------------|          the caller's span of the call: its latency
    api       |-----------------|
    `extra` adds a direct child of web's server span in that service, 1 ns long.
    """
    children = [
        span(
            "GET /api",
            10,
            10 + api_ns,
            service="web",
            kind=CLIENT,
            children=[span("/api", 11, 9 + api_ns, service="api", kind=SERVER)],
        )
    ]
    if extra is not None:
        children.append(span("/x", 11, 12, service=extra, kind=SERVER))
    root = span("GET /", 0, 20 + api_ns, service="web", kind=SERVER, children=children)
    return trace(root, trace_id=_id(i))


def chain(i: int, db_ns: int) -> Trace:
    """web -> api -> db-api: the api waits on db-api, so a slow db-api slows both calls."""
    db = span("/rows", 31, 29 + db_ns, service="db-api", kind=SERVER)
    db_call = span("GET /rows", 30, 30 + db_ns, service="api", kind=CLIENT, children=[db])
    api = span("/api", 11, 40 + db_ns, service="api", kind=SERVER, children=[db_call])
    call = span("GET /api", 10, 41 + db_ns, service="web", kind=CLIENT, children=[api])
    return trace(
        span("GET /", 0, 50 + db_ns, service="web", kind=SERVER, children=[call]), trace_id=_id(i)
    )


# reference latencies: mean 100, sample standard deviation 8.3 (ddof=1 over 90/100/110 repeated)
REFERENCE_NS = [90, 100, 110] * 10


# --- step 1: invocations ----------------------------------------------------------------------
def test_an_invocation_is_a_cross_service_edge_timed_by_the_callers_span_of_the_call():
    (inv,) = invocations(web_to_api(0, 300))
    assert (inv.caller, inv.callee, inv.latency_ns) == ("web", "api", 300)  # not the api's 298


def test_a_call_under_a_parent_with_other_children_is_timed_by_the_callee_span():
    invs = sorted(invocations(web_to_api(0, 300, extra="auth")), key=lambda v: v.callee)
    # web's server span holds its client span and auth's server span: it is no span of one call
    assert [(v.caller, v.callee, v.latency_ns) for v in invs] == [
        ("web", "api", 300),
        ("web", "auth", 1),
    ]


def test_invocations_survive_a_ten_thousand_deep_chain_of_alternating_services():
    spans = [
        Span(
            trace_id=_id(0),
            span_id=f"{k + 1:016x}",
            parent_id=f"{k:016x}" if k else None,
            service="ab"[k % 2],
            name="op",
            kind=SpanKind.INTERNAL,
            start_ns=k,
            end_ns=20_000 - k,
        )
        for k in range(10_000)
    ]
    invs = list(invocations(Trace(trace_id=_id(0), spans=tuple(spans))))
    assert len(invs) == 9_999
    assert {(v.caller, v.callee) for v in invs} == {("a", "b"), ("b", "a")}


# --- step 1: the mean-shift test and the 1-sigma rule -----------------------------------------
def test_a_mean_shift_of_a_few_standard_errors_selects_the_pair_and_a_smaller_one_does_not():
    before = Profile(mean_ns=100.0, std_ns=10.0, count=100)
    # standard error: sqrt(10²/100 + 10²/100) = 1.414
    assert not shifted(Profile(104.0, 10.0, 100), before, min_shift_se=3.0)  # 2.8 SE
    assert shifted(Profile(105.0, 10.0, 100), before, min_shift_se=3.0)  # 3.5 SE
    assert shifted(Profile(95.0, 10.0, 100), before, min_shift_se=3.0)  # either way
    assert not shifted(Profile(500.0, 0.0, 1), before, min_shift_se=3.0)  # one call: no variance


def test_the_sigma_rule_flags_latencies_beyond_one_reference_deviation():
    before = Profile(mean_ns=100.0, std_ns=10.0, count=30)
    assert [is_abnormal(v, before, sigmas=1.0) for v in (89, 90, 100, 110, 111, 400)] == [
        True,
        False,
        False,
        False,
        True,
        True,
    ]


def test_a_pair_whose_mean_did_not_shift_has_no_abnormal_invocations():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    # the same spread again: a third of the calls lie 1 sigma out, but the pair did not move
    window = [web_to_api(100 + i, v) for i, v in enumerate([85, 100, 115] * 10)]
    result = localize(window, reference)
    assert result.selected_pairs == frozenset()
    assert result.abnormal_traces == frozenset()
    assert result.services == []


def test_in_a_shifted_pair_only_the_calls_beyond_one_sigma_are_abnormal():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    slow = [web_to_api(100 + i, 300) for i in range(10)]
    usual = [web_to_api(200 + i, 105) for i in range(20)]  # within 1 sigma of 100 +- 8.3
    result = localize(slow + usual, reference)
    assert result.selected_pairs == {("web", "api")}
    assert result.abnormal_traces == {t.trace_id for t in slow}
    assert result.callee_counts == {"api": 10}
    assert result.caller_counts == {"web": 10}


def test_a_pair_never_seen_in_the_reference_is_not_judged():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    window = [web_to_api(100 + i, 100, extra="auth") for i in range(20)]
    window += [web_to_api(200 + i, 100, extra="auth") for i in range(5)]
    assert localize(window, reference).selected_pairs == frozenset()


# --- step 2: abnormal traces and frequent service sets ----------------------------------------
def test_set_mining_keeps_sets_at_or_above_the_minimum_support():
    common = frozenset({"web", "api"})
    items = [common | {"auth"}] * 2 + [common | {"mail"}] + [common] * 17  # 20 abnormal traces
    found = dict(mine_sets(items, min_support=0.1, max_size=None))
    assert found[frozenset({"web", "api"})] == pytest.approx(1.0)
    assert found[frozenset({"auth"})] == pytest.approx(0.1)  # 2 of 20: at the threshold
    assert found[frozenset({"web", "api", "auth"})] == pytest.approx(0.1)
    assert frozenset({"mail"}) not in found  # 1 of 20: below it
    assert all(len(s) <= 1 for s in dict(mine_sets(items, 0.1, max_size=1)))


def test_a_service_only_in_rare_abnormal_traces_is_not_ranked():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    window = [web_to_api(100 + i, 300) for i in range(19)]
    window.append(web_to_api(200, 300, extra="mail"))  # 1 abnormal trace of 20 holds mail
    result = localize(window, reference)
    assert len(result.abnormal_traces) == 20
    assert "mail" not in result.services
    assert set(result.services) == {"web", "api"}


def test_a_set_is_scored_by_the_jaccard_index_of_its_support_and_confidence():
    # 10 abnormal traces; the set is in 8 of them and in 8 normal ones: |A ∩ T| = 8, |A ∪ T| = 18
    s = ServiceSet(frozenset({"api"}), support=0.8, confidence=0.5)
    assert s.score == pytest.approx(8 / 18)
    assert ServiceSet(frozenset({"api"}), support=1.0, confidence=1.0).score == 1.0
    assert ServiceSet(frozenset({"api"}), support=0.0, confidence=0.0).score == 0.0


def test_confidence_counts_the_normal_traces_that_hold_the_set():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    slow = [web_to_api(100 + i, 300) for i in range(10)]
    usual = [web_to_api(200 + i, 100, extra="auth") for i in range(10)]  # normal, with auth
    result = localize(slow + usual, reference)
    (api,) = [s for s in result.sets if s.services == {"api"}]
    assert (api.support, api.confidence) == (1.0, 0.5)  # every trace calls the api
    assert not any("auth" in s.services for s in result.sets)  # in no abnormal trace


# --- step 3: the ranking ----------------------------------------------------------------------
def test_the_callee_of_the_abnormal_invocations_ranks_above_its_callers():
    reference = [chain(i, v) for i, v in enumerate(REFERENCE_NS)]
    window = [chain(100 + i, 400) for i in range(12)]
    result = localize(window, reference)
    # both pairs shift; db-api is only ever the callee, the api both, the web only the caller
    assert result.selected_pairs == {("web", "api"), ("api", "db-api")}
    assert result.callee_counts == {"api": 12, "db-api": 12}
    assert result.caller_counts == {"web": 12, "api": 12}
    assert result.services == ["db-api", "api", "web"]
    assert result.scores["db-api"] == pytest.approx(13 * result.scores["api"])


def test_support_scoring_weighs_the_best_sets_support_instead_of_its_jaccard_index():
    reference = [web_to_api(i, v) for i, v in enumerate(REFERENCE_NS)]
    slow = [web_to_api(100 + i, 300) for i in range(10)]
    usual = [web_to_api(200 + i, 100) for i in range(10)]
    jaccard = TraceRCA().localize(slow + usual, reference)
    support = TraceRCA(set_score="support").localize(slow + usual, reference)
    assert jaccard.services == support.services == ["api", "web"]
    assert jaccard.scores["api"] == pytest.approx(0.5 * 11)  # score 0.5, ratio (10+1)/(0+1)
    assert support.scores["api"] == pytest.approx(1.0 * 11)


def test_the_ranking_does_not_depend_on_the_order_of_the_traces():
    reference = [chain(i, v) for i, v in enumerate(REFERENCE_NS)]
    window = [chain(100 + i, 400) for i in range(6)] + [chain(200 + i, 100) for i in range(6)]
    forward = localize(window, reference)
    backward = localize(window[::-1], reference[::-1])
    assert forward.services == backward.services
    assert forward.scores == pytest.approx(backward.scores)


# --- the side-by-side helpers -----------------------------------------------------------------
def test_rank_of_is_the_position_of_the_first_expected_service():
    assert rank_of(["a", "b", "c"], {"c", "b"}) == 2
    assert rank_of(["a"], {"z"}) is None


def test_both_methods_name_the_saturated_pricing_service_on_a_generated_scenario():
    row = compare("self_time", seed=3, n=80)
    assert row.expected == ("pricing-service",)
    assert (row.tracelens_rank, row.tracerca_rank) == (1, 1)


def test_tracelens_services_are_distinct_and_each_has_a_row_with_excess():
    traces = [web_to_api(i, 100 + (i % 10) * 50) for i in range(40)]
    report = slowest(traces, resamples=50)
    services = tracelens_services(report)
    assert services  # the api's calls make the slow requests slow
    assert len(services) == len(set(services))
    positive = {c.service for c in report.contributor_rows if c.excess_ns > 0}
    assert set(services) <= positive


def test_an_unknown_scenario_is_one_line_and_exit_2(capsys):
    assert main(["no-such-scenario"]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "no-such-scenario" in out


NEZHA_CASE = DEFAULT_DATA / "20230130T122929_ts-verification-code-service_network_delay"


@pytest.mark.skipif(not NEZHA_CASE.exists(), reason="the Nezha data set is not beside the repo")
def test_on_a_real_trainticket_case_tracerca_reads_both_windows_and_names_a_delayed_service():
    truth = json.loads((NEZHA_CASE / "truth.json").read_text())
    services = tracerca_services(NEZHA_CASE, truth)
    assert services[0] == truth["root_cause_service"] == "ts-verification-code-service"
    assert "ts-gateway-service" in services  # the entry: in every abnormal trace, never a callee
