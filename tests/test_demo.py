"""The demo's traces: the incident's numbers, determinism, instrumentation shapes, the command."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import pytest

from tracelens.cli import main
from tracelens.demo.run import DemoConfig, DemoResult, run_demo
from tracelens.model import SpanKind, StatusCode, Trace
from tracelens.sources.store import LocalStore

END_NS = 1_795_000_000 * 1_000_000_000
S = 1_000_000_000
RESULT = "/result/[id]"


def demo(store_dir: Path, **kw: object) -> tuple[DemoResult, list[Trace]]:
    store = LocalStore(store_dir)
    config = DemoConfig(store=store, end_ns=END_NS, **kw)  # type: ignore[arg-type]
    result = run_demo(config)
    return result, list(store.traces())


def route_of(t: Trace) -> str:
    entries = [s for s in t.spans if "http.route" in s.attributes]
    return str(min(entries, key=lambda s: s.start_ns).attributes["http.route"]) if entries else ""


def root_durations_s(traces: Iterable[Trace], route: str) -> list[float]:
    out = []
    for t in traces:
        if route_of(t) == route:
            root = next(s for s in t.spans if s.parent_id is None)
            out.append(root.duration_ns / S)
    return sorted(out)


def p90(xs: list[float]) -> float:
    return xs[round(0.9 * (len(xs) - 1))]


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[Trace]]:
    return demo(tmp_path_factory.mktemp("incident"), requests=300, seed=1)


def test_the_incident_result_page_has_a_p90_near_15_seconds(incident) -> None:
    result, traces = incident
    durations = root_durations_s(traces, RESULT)
    assert len(durations) > 80
    assert 12 <= p90(durations) <= 18
    assert durations[len(durations) // 2] < 8  # the timeouts are a tail: the median stays lower
    assert result.traces == len(traces) == 300
    assert result.spans == sum(len(t.spans) for t in traces)


def test_the_fixed_result_page_has_a_p90_near_2_seconds(tmp_path: Path) -> None:
    _, traces = demo(tmp_path, requests=300, seed=1, fixed=True)
    durations = root_durations_s(traces, RESULT)
    assert 1.5 <= p90(durations) <= 2.5
    assert max(durations) < 5  # no resolver timeouts at all


def test_the_window_ends_where_asked_and_covers_several_routes(incident) -> None:
    result, traces = incident
    starts = [min(s.start_ns for s in t.spans) for t in traces]
    assert min(starts) >= END_NS - 20 * 60 * S
    assert max(starts) < END_NS
    assert {route_of(t) for t in traces} >= {RESULT, "/search", "/api/symptoms", "/hospitals/[id]"}
    assert set(result.routes) == {RESULT, "/", "/search", "/api/symptoms", "/hospitals/[id]"}


def test_the_same_seed_gives_the_same_traces_and_ids(tmp_path: Path) -> None:
    def spans(path: Path, seed: int) -> list[tuple[object, ...]]:
        _, traces = demo(path, requests=40, seed=seed)
        return sorted(
            (s.trace_id, s.span_id, s.parent_id, s.name, s.start_ns, s.end_ns, dict(s.attributes))
            for t in traces
            for s in t.spans
        )

    first = spans(tmp_path / "a", 7)
    assert first == spans(tmp_path / "b", 7)
    other = spans(tmp_path / "c", 8)
    assert {x[0] for x in first}.isdisjoint({x[0] for x in other})


def test_the_node_frontend_traces_nameless_dns_lookups_and_the_java_bff_none(incident) -> None:
    _, traces = incident
    spans = [s for t in traces for s in t.spans]
    lookups = [s for s in spans if s.name == "dns.lookup"]
    assert lookups
    assert {s.service for s in lookups} == {"web"}
    assert all(s.kind == SpanKind.CLIENT for s in lookups)
    assert not any(
        "dns.question.name" in s.attributes or "server.address" in s.attributes for s in lookups
    )
    assert any(s.duration_ns >= 5 * S for s in lookups)  # the frontend's pods hit the race too
    bff = [s for s in spans if s.service == "result-bff"]
    assert not any("dns" in s.name.lower() or "resolve" in s.name.lower() for s in bff)
    assert not any("graphql.field.name" in s.attributes for s in bff)  # fetcher spans are opt-in
    dotnet = [s for s in spans if "dns.question.name" in s.attributes]
    assert dotnet
    assert {s.service for s in dotnet} == {"symptoms-api"}


def test_bff_dns_timeouts_show_as_a_gap_before_the_callee_starts(incident) -> None:
    _, traces = incident
    gaps_s = []
    for t in traces:
        children: dict[str, list[int]] = {}
        for s in t.spans:
            if s.parent_id:
                children.setdefault(s.parent_id, []).append(s.start_ns)
        gaps_s.extend(
            (min(children[s.span_id]) - s.start_ns) / S
            for s in t.spans
            if s.service == "result-bff" and s.kind == SpanKind.CLIENT and s.span_id in children
        )
    timeouts = [g for g in gaps_s if g >= 4.9]
    assert len(timeouts) > 20
    assert all(any(abs(g - k * 5) < 0.5 for k in (1, 2, 3, 4)) for g in timeouts)
    assert sorted(gaps_s)[len(gaps_s) // 2] < 0.1  # most lookups are fast


def test_the_incident_calls_the_apis_once_per_hospital_one_after_another(incident) -> None:
    _, traces = incident
    t = next(t for t in traces if route_of(t) == RESULT)
    op = next(s for s in t.spans if s.attributes.get("graphql.operation.name") == "ResultPage")
    assert op.name == "query ResultPage"
    assert op.attributes["graphql.operation.type"] == "query"
    calls = sorted(
        (
            s
            for s in t.spans
            if s.parent_id == op.span_id
            and "hospitals-api" in str(s.attributes.get("server.address"))
        ),
        key=lambda s: s.start_ns,
    )
    assert len(calls) >= 8
    assert len({str(s.attributes["url.full"]) for s in calls}) == len(calls)  # one id each
    assert all(a.end_ns <= b.start_ns for a, b in itertools.pairwise(calls))


def test_fixed_batches_each_loader_into_one_call(tmp_path: Path) -> None:
    _, traces = demo(tmp_path, requests=60, seed=2, fixed=True)
    for t in traces:
        if route_of(t) != RESULT:
            continue
        op = next(s for s in t.spans if s.name == "query ResultPage")
        targets = [s.attributes["server.address"] for s in t.spans if s.parent_id == op.span_id]
        assert sorted(targets) == sorted(
            ["diseases-api.prod.svc.cluster.local"] * 2
            + ["hospitals-api.prod.svc.cluster.local", "departments-api.prod.svc.cluster.local"]
        )


def test_resolver_spans_wrap_each_call_in_a_field_span(tmp_path: Path) -> None:
    _, traces = demo(tmp_path, requests=40, seed=3, resolver_spans=True)
    spans = {s.span_id: s for t in traces for s in t.spans}
    fields = [s for s in spans.values() if "graphql.field.name" in s.attributes]
    assert {s.attributes["graphql.field.name"] for s in fields} >= {"hospitals", "departments"}
    for s in spans.values():
        if s.service == "result-bff" and s.kind == SpanKind.CLIENT:
            assert "graphql.field.name" in spans[s.parent_id or ""].attributes


def test_injected_causes_leave_their_signatures(tmp_path: Path) -> None:
    inject = frozenset(
        {"slow_query", "sequential", "queueing", "self_time", "connect", "retry", "error"}
    )
    _, traces = demo(tmp_path, requests=200, seed=4, fixed=True, inject=inject)
    spans = [s for t in traces for s in t.spans]
    by_id = {s.span_id: s for s in spans}
    assert any(
        s.attributes.get("db.collection.name") == "assessments" and s.duration_ns > S for s in spans
    )
    assert any(s.name == "tcp.connect" and s.duration_ns >= S for s in spans)
    assert any(
        s.attributes.get("response_flags") == "UF" and s.status == StatusCode.ERROR for s in spans
    )
    assert any(s.parent_id is None and s.status == StatusCode.ERROR for s in spans)
    queued = [
        s
        for s in spans
        if s.service == "hospitals-api"
        and s.kind == SpanKind.SERVER
        and s.start_ns - by_id[s.parent_id or ""].start_ns > 200_000_000
    ]
    assert queued
    in_turn = together = 0
    for t in traces:  # sequential: now and then the hospitals call waits for the diseases call
        if route_of(t) == RESULT:
            op = next(s for s in t.spans if s.name == "query ResultPage")
            calls = {
                str(s.attributes["url.full"]).split("?")[0].rsplit("/", 1)[1]: s
                for s in t.spans
                if s.parent_id == op.span_id and s.status != StatusCode.ERROR
            }
            if "diseases" in calls and "hospitals" in calls:
                waited = calls["diseases"].end_ns <= calls["hospitals"].start_ns
                in_turn += waited
                together += not waited
    assert in_turn
    assert together
    pool_timeouts = [  # error: departments-api waits out its pool timeout, then fails
        s
        for s in spans
        if s.service == "departments-api"
        and s.status == StatusCode.ERROR
        and s.duration_ns >= 2 * S
        and any(
            e.attributes.get("exception.type") == "sqlalchemy.exc.TimeoutError" for e in s.events
        )
    ]
    assert pool_timeouts


def test_out_writes_otlp_json_lines_the_readers_load(tmp_path: Path) -> None:
    from tracelens.readers import read_traces

    out = tmp_path / "demo.jsonl"
    result = run_demo(DemoConfig(requests=50, seed=5, out=str(out), end_ns=END_NS))
    lines = out.read_text().splitlines()
    assert lines
    assert all(line.startswith('{"resourceSpans":') for line in lines)
    assert '"traceId":"' in lines[0]
    assert "==" not in lines[0]
    traces = list(read_traces(out))
    assert len(traces) == result.traces == 50
    assert sum(len(t.spans) for t in traces) == result.spans
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_command_fills_the_store_and_names_the_next_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACELENS_HOME", str(tmp_path))
    assert main(["demo", "--requests", "30", "--seed", "2"]) == 0
    err = capsys.readouterr().err
    assert "30 requests, 30 traces" in err
    assert str(tmp_path) in err
    assert "tracelens slowest --route result" in err
    assert len(LocalStore(tmp_path).entries()) == 30
    assert main(["demo", "--requests", "20", "--append", "--fixed"]) == 0
    assert len(LocalStore(tmp_path).entries()) == 50
    assert main(["demo", "--requests", "10"]) == 0  # replaces by default
    assert len(LocalStore(tmp_path).entries()) == 10


def test_an_unknown_cause_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--inject", "slow_query,cosmic_rays"])
    assert exit_info.value.code == 2
    assert "cosmic_rays" in capsys.readouterr().err


def test_a_run_stopped_part_way_leaves_the_store_and_out_file_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracelens.demo.emit import Emitter

    # GIVEN a store and an --out file from an earlier complete run
    store = LocalStore(tmp_path / "store")
    run_demo(DemoConfig(store=store, requests=20, seed=3, end_ns=END_NS))
    before = [e.trace_id for e in store.entries()]
    out = tmp_path / "spans.jsonl"
    out.write_text("earlier run\n")
    # WHEN a later run is interrupted after emitting half of its requests
    real_emit = Emitter.emit
    emitted = itertools.count()

    def emit_then_stop(self: Emitter, root: object) -> None:
        if next(emitted) == 15:
            raise KeyboardInterrupt
        real_emit(self, root)  # type: ignore[arg-type]

    monkeypatch.setattr(Emitter, "emit", emit_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_demo(DemoConfig(store=store, out=str(out), requests=30, seed=4, end_ns=END_NS))
    # THEN neither destination holds the partial run, and no temp file is left
    assert [e.trace_id for e in LocalStore(store.path).entries()] == before
    assert out.read_text() == "earlier run\n"
    assert not list(tmp_path.glob(".*.tmp"))
