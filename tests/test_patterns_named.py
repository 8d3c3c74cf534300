"""Causes named by their pattern whatever the instrumentation: Node's net spans are connection
set-up, a wait behind a sidecar is queueing, and an error is blamed on the span that failed."""

from __future__ import annotations

import pytest

from tests.builders import span, trace
from tracelens.analysis import analyze_trace
from tracelens.baseline import Baseline, build_baseline
from tracelens.detectors import Error, default_detectors, detect_all
from tracelens.facts import is_connection
from tracelens.model import Event, Finding, Span, SpanKind, StatusCode, Trace
from tracelens.whatif import whatif_duration_ns

MS = 1_000_000


def _span(name: str, scope: str = "") -> Span:
    attrs = {"otel.scope.name": scope} if scope else {}
    return Span("t", "a1", None, "web", name, SpanKind.INTERNAL, 0, 1, attributes=attrs)


def test_node_net_spans_are_connection_set_up() -> None:
    for name in ("tcp.connect", "tls.connect", "ipc.connect"):
        assert is_connection(_span(name))
    assert is_connection(_span("socket", scope="@opentelemetry/instrumentation-net"))
    assert not is_connection(_span("tcp.send"))


def findings(t: Trace, baseline: Baseline) -> tuple[Finding, ...]:
    return detect_all(analyze_trace(t), baseline, default_detectors())


def behind_sidecar(wait_ms: int, tid: str) -> Trace:
    #  bff      GET /page   |-----------------------------|
    #  bff      GET           |---------------------------|
    #  api.prod sidecar        |--wait--|================|    the app's workers are all busy
    #  api      GET /items              |================|
    app = span(
        "GET /items",
        (2 + wait_ms) * MS,
        (2 + wait_ms + 30) * MS,
        kind=SpanKind.SERVER,
        service="api",
    )
    sidecar = span(
        "api.prod.svc.cluster.local:8080/*",
        2 * MS,
        (3 + wait_ms + 30) * MS,
        [app],
        kind=SpanKind.SERVER,
        service="api.prod",
    )
    client = span(
        "GET",
        1 * MS,
        (4 + wait_ms + 30) * MS,
        [sidecar],
        kind=SpanKind.CLIENT,
        service="bff",
        attrs={
            "http.request.method": "GET",
            "url.full": "http://api.prod.svc.cluster.local:8080/items",
        },
    )
    root = span(
        "GET /page", 0, (5 + wait_ms + 30) * MS, [client], kind=SpanKind.SERVER, service="bff"
    )
    return trace(root, trace_id=tid)


def test_a_wait_between_a_sidecar_and_its_app_is_queueing_at_the_callee() -> None:
    baseline = build_baseline(analyze_trace(behind_sidecar(0, f"b{n}")) for n in range(3))
    found = findings(behind_sidecar(900, "s"), baseline)
    assert [(f.pattern, f.service) for f in found] == [("queueing", "api")]
    assert found[0].evidence["caller_services"] == ["api.prod"]
    # near miss: the same hop without the wait is nothing
    assert findings(behind_sidecar(0, "s2"), baseline) == ()


def test_a_sidecar_wait_of_five_seconds_is_not_taken_for_a_dns_timeout() -> None:
    baseline = build_baseline(analyze_trace(behind_sidecar(0, f"b{n}")) for n in range(3))
    found = findings(behind_sidecar(5_000, "s"), baseline)
    assert [f.pattern for f in found] == ["queueing"]


def failed_page(call_ms: int, own_ms: int, tid: str, failed: bool = True) -> Trace:
    #  web  GET /page |--own--|------------------|   ERROR: the GraphQL body it got held errors[]
    #  web  POST              |----call_ms-------|   200, just slower than usual
    call = span(
        "POST",
        own_ms * MS,
        (own_ms + call_ms) * MS,
        kind=SpanKind.CLIENT,
        service="web",
        attrs={"http.request.method": "POST", "url.full": "http://bff/graphql"},
    )
    status = StatusCode.ERROR if failed else StatusCode.UNSET
    events = (Event(name="exception", time_ns=(own_ms + call_ms) * MS),) if failed else ()
    root = span(
        "GET /page",
        0,
        (own_ms + call_ms + 1) * MS,
        [call],
        kind=SpanKind.SERVER,
        service="web",
        status=status,
        events=events,
    )
    return trace(root, trace_id=tid)


BASE_PAGES = build_baseline(
    analyze_trace(failed_page(100, 20, f"b{n}", failed=False)) for n in range(3)
)


def test_a_failing_parent_is_not_blamed_for_a_child_that_got_slower() -> None:
    found = Error().detect(analyze_trace(failed_page(600, 20, "s")), BASE_PAGES)
    assert list(found) == []


def test_a_failing_parent_is_blamed_for_its_own_time_and_fixed_to_its_baseline_self_time() -> None:
    analysis = analyze_trace(failed_page(100, 400, "s"))
    (f,) = Error().detect(analysis, BASE_PAGES)
    assert (f.service, f.operation) == ("web", "GET /page")
    root_id = analysis.tree.root_span.span_id
    assert f.edits.gap_scale[root_id] == pytest.approx(21 / 401)
    assert whatif_duration_ns(analysis, f.edits) == pytest.approx(121 * MS, rel=0.01)
