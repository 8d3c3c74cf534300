"""The accuracy scenarios: the generator itself (determinism, counterfactuals, wire format), then
tracelens against every scenario (bench/accuracy.py): cause first, decoy not, gain within 20%."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.accuracy import evaluate, table
from bench.scenarios import SCENARIOS, root_duration_ns, scenario, write_otlp_jsonl
from bench.scenarios.generate import affected, durations_ns
from bench.scenarios.plan import MS
from bench.scenarios.route import SKEWED_HOST
from tracelens.model import SpanKind, StatusCode, Trace
from tracelens.readers import read_traces

S = 1_000 * MS


def _by_id(traces: list[Trace]) -> dict[str, dict[str, object]]:
    return {t.trace_id: {s.span_id: s for s in t.spans} for t in traces}


def _spans_named(trace: Trace, name: str) -> list:
    return [s for s in trace.spans if s.name == name]


# --- the generator ----------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_corpus_and_another_seed_does_not():
    first = scenario("retry", seed=5, n=25)
    assert scenario("retry", seed=5, n=25) == first
    other = scenario("retry", seed=6, n=25)
    assert {t.trace_id for t in other}.isdisjoint(t.trace_id for t in first)


def test_fixing_the_cause_changes_only_the_affected_requests():
    sc = SCENARIOS["n_plus_one"]
    broken = scenario("n_plus_one", seed=2, n=60)
    fixed = scenario("n_plus_one", seed=2, n=60, fixed=True)
    hit = affected(sc, 2, 60)[0]
    assert len(hit) == 9  # 15% of 60
    for i, (b, f) in enumerate(zip(broken, fixed, strict=True)):
        items_b = [s for s in b.spans if "FROM items" in str(s.attributes.get("db.statement"))]
        items_f = [s for s in f.spans if "FROM items" in str(s.attributes.get("db.statement"))]
        assert len(items_f) == 1
        assert b.trace_id == f.trace_id
        if i in hit:
            assert 25 <= len(items_b) <= 45
            assert root_duration_ns(b) > root_duration_ns(f)
        else:
            assert b == f  # span for span: same ids, hosts, durations


def test_the_plans_and_the_emitted_spans_agree_on_every_root_duration():
    traces = scenario("decoy_skew", seed=4, n=30)
    assert durations_ns("decoy_skew", seed=4, n=30) == [root_duration_ns(t) for t in traces]


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if len(s.causes) == 1])
def test_each_cause_moves_p90_well_beyond_the_jitter(name):
    broken = np.array(durations_ns(name, seed=1, n=200))
    fixed = np.array(durations_ns(name, seed=1, n=200, fixed=True))
    gain_ms = (np.percentile(broken, 90) - np.percentile(fixed, 90)) / MS
    assert gain_ms > 60
    assert np.percentile(fixed, 90) > 1.05 * np.percentile(fixed, 50)  # not degenerate
    # the median moves far less than p90: the cause lives in the tail
    assert np.percentile(broken, 50) - np.percentile(fixed, 50) < 0.5 * gain_ms * MS


def test_otlp_json_lines_read_back_as_the_same_traces(tmp_path: Path):
    for name in ("retry", "decoy_async", "decoy_skew"):
        path = tmp_path / f"{name}.jsonl"
        assert write_otlp_jsonl(name, path, seed=3, n=15) == 15
        assert len(path.read_text().splitlines()) == 15
        assert _by_id(list(read_traces(path))) == _by_id(scenario(name, seed=3, n=15))


def test_spans_carry_hex_ids_kinds_and_processes_from_their_resources():
    trace = scenario("connect", seed=0, n=1)[0]
    assert len(trace.trace_id) == 32
    assert all(len(s.span_id) == 16 and s.span_id == s.span_id.lower() for s in trace.spans)
    assert all(s.process.startswith(f"{s.service}@") for s in trace.spans)
    roots = [s for s in trace.spans if s.parent_id is None]
    assert [(r.name, r.kind, r.service) for r in roots] == [
        ("GET /checkout", SpanKind.SERVER, "checkout-web")
    ]
    services = {s.service for s in trace.spans}
    assert {"cart-service", "pricing-service", "inventory-service", "shipping-service",
            "catalog-graphql", "reviews-service", "payment-service"} <= services  # fmt: skip


def test_a_skewed_host_seems_to_start_serving_210_ms_after_its_client_called():
    traces = scenario("decoy_skew", seed=0, n=60)
    late, prompt = [], []
    for t in traces:
        spans = {s.span_id: s for s in t.spans}
        server = next(s for s in t.spans if s.name == "POST /v1/quote")
        client = spans[server.parent_id]
        gap_ns = server.start_ns - client.start_ns
        (late if server.process.endswith(SKEWED_HOST) else prompt).append(gap_ns)
    assert late
    assert prompt
    assert all(200 * MS < g < 230 * MS for g in late)
    assert all(0 < g < 5 * MS for g in prompt)


def test_the_async_consumer_hangs_under_its_producer_and_outlives_the_request():
    traces = scenario("decoy_async", seed=0, n=40)
    hit = affected(SCENARIOS["decoy_async"], 0, 40)[0]
    for i, t in enumerate(traces):
        spans = {s.span_id: s for s in t.spans}
        consumer = _spans_named(t, "checkout-events process")[0]
        producer = spans[consumer.parent_id]
        assert (consumer.kind, producer.kind) == (SpanKind.CONSUMER, SpanKind.PRODUCER)
        assert consumer.links == (producer.span_id,)
        if i in hit:
            root = next(s for s in t.spans if s.parent_id is None)
            assert consumer.end_ns - root.end_ns > 1 * S


def test_dns_timeouts_sit_on_multiples_of_the_five_second_resolver_timeout():
    lookups = [s for t in scenario("dns", seed=0, n=80) for s in _spans_named(t, "dns.lookup")]
    assert len(lookups) == 80  # one per request: the payments agent does not keep sockets
    slow = [s.duration_ns for s in lookups if s.duration_ns > 1 * S]
    assert len(slow) == 12
    assert all(min(abs(d - k * 5 * S) for k in (1, 2)) < 50 * MS for d in slow)
    assert all(not s.attributes.get("net.peer.name") for s in lookups)  # Node records no host


def test_failed_attempts_are_errors_with_exception_events_and_the_retry_counts_resends():
    for t in scenario("retry", seed=0, n=60):
        calls = sorted(
            (s for s in t.spans if s.attributes.get("server.address") == "api.psp.example.com"),
            key=lambda s: s.start_ns,
        )
        *failed, last = calls
        assert last.status == StatusCode.UNSET
        assert last.attributes.get("http.request.resend_count", 0) == len(failed)
        for s in failed:
            assert s.status == StatusCode.ERROR
            assert 1_500 * MS <= s.duration_ns < 1_510 * MS
            assert [e.name for e in s.events] == ["exception"]


# --- tracelens against the scenarios --------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tracelens_names_the_cause_first_and_prices_its_fix(name):
    rows = evaluate(name, seed=0, n=300)
    assert all(r.passed for r in rows), "\n" + table(rows)
