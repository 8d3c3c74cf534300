"""A hand-written `Report` for the renderer tests: four contributors, their findings, a trace.

Numbers are chosen, not computed: the renderers must print what they are given.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from tracelens.answer import Report
from tracelens.model import (
    Contributor,
    Finding,
    RouteStats,
    Segment,
    Selection,
    Span,
    SpanKind,
    TraceSummary,
)

MS = 1_000_000
S = 1_000_000_000
START_NS = 1_714_557_600 * S  # 2024-05-01 10:00:00 UTC


def trace_id(i: int) -> str:
    return hashlib.md5(f"trace-{i}".encode()).hexdigest()  # ids, not security


SLOW_IDS = tuple(trace_id(i) for i in range(12))
BASE_IDS = tuple(trace_id(i) for i in range(70, 130))
EXAMPLE = SLOW_IDS[0]

CONTRIBUTORS = (
    Contributor(
        rank=1,
        pattern="n_plus_one",
        service="orders",
        operation="SELECT * FROM order_items WHERE order_id = ?",
        slow_ns=9.1 * S,
        baseline_ns=0.4 * S,
        excess_ns=8.7 * S,
        share=0.6213,
        ci_low_ns=7.9 * S,
        ci_high_ns=9.5 * S,
        traces=12,
        example_trace_id=EXAMPLE,
        whatif_p90_ns=4.1 * S,
        more_calls_ns=8.1 * S,
        slower_calls_ns=0.6 * S,
        slow_calls=41.0,
        baseline_calls=2.0,
        summary="41 identical queries under OrderLoader.load, one per order item",
    ),
    Contributor(
        rank=2,
        pattern="dns",
        service="checkout",
        operation="lookup payments.internal",
        slow_ns=5.02 * S,
        baseline_ns=1.2 * MS,
        excess_ns=5.0188 * S,
        share=0.3585,
        ci_low_ns=3.1 * S,
        ci_high_ns=6.8 * S,
        traces=5,
        example_trace_id=SLOW_IDS[3],
        whatif_p90_ns=11.0 * S,
        whatif_low_ns=9.8 * S,
        whatif_high_ns=12.5 * S,
        more_calls_ns=0.0,
        slower_calls_ns=5.0188 * S,
        slow_calls=1.0,
        baseline_calls=1.0,
        summary="DNS lookup of payments.internal hit the 5 s resolver timeout",
    ),
    Contributor(
        rank=3,
        pattern="",
        service="api",
        operation="GET /api/orders/{id}",
        slow_ns=450 * MS,
        baseline_ns=380 * MS,
        excess_ns=70 * MS,
        share=0.005,
        ci_low_ns=-20 * MS,
        ci_high_ns=160 * MS,
        traces=12,
        example_trace_id=EXAMPLE,
        whatif_p90_ns=None,
        more_calls_ns=0.0,
        slower_calls_ns=70 * MS,
        slow_calls=1.0,
        baseline_calls=1.0,
    ),
    Contributor(
        rank=4,
        pattern="sequential",
        service="gateway",
        operation="POST /cart | GET /price",
        slow_ns=310 * MS,
        baseline_ns=322.3 * MS,
        excess_ns=-12.3 * MS,
        share=-0.0009,
        ci_low_ns=-40 * MS,
        ci_high_ns=15 * MS,
        traces=3,
        example_trace_id=SLOW_IDS[7],
        whatif_p90_ns=15.1 * S,
        more_calls_ns=-2.3 * MS,
        slower_calls_ns=-10 * MS,
        slow_calls=2.0,
        baseline_calls=2.1,
    ),
)


def _n_plus_one(tid: str, calls: int, saving_ns: int) -> Finding:
    return Finding(
        pattern="n_plus_one",
        trace_id=tid,
        service="orders",
        operation="SELECT * FROM order_items WHERE order_id = ?",
        span_ids=tuple(f"d{tid[:4]}{k:010x}" for k in range(calls)),
        summary=f"{calls} identical queries under OrderLoader.load, one per order item",
        saving_ns=saving_ns,
        evidence={
            "calls": calls,
            "parent": "OrderLoader.load",
            "per_call_ns": 200 * MS,
            "statement": "SELECT * FROM order_items WHERE order_id = ?",
        },
    )


FINDINGS = (
    _n_plus_one(BASE_IDS[0], 2, 0),  # a baseline trace: shown after the slow ones
    _n_plus_one(SLOW_IDS[5], 38, 7_400 * MS),
    _n_plus_one(SLOW_IDS[0], 41, 8_000 * MS),
    _n_plus_one(SLOW_IDS[9], 40, 7_800 * MS),
    _n_plus_one(SLOW_IDS[11], 12, 2_000 * MS),
    Finding(
        pattern="dns",
        trace_id=SLOW_IDS[3],
        service="checkout",
        operation="lookup payments.internal",
        span_ids=("c0ffee0000000001",),
        summary="DNS lookup of payments.internal took 5.0 s (resolver timeout 5 s)",
        saving_ns=5_000 * MS,
        evidence={
            "name": "payments.internal",
            "attempts": 2,
            "timeout_ns": 5 * S,
            "search": ["payments.internal.svc.cluster.local", "payments.internal"],
        },
    ),
)


def _example() -> tuple[tuple[Segment, ...], dict[str, Span]]:
    """api GET 0..15.2 s: OrderLoader with 41 sequential queries, a DNS timeout, a charge."""
    t0 = START_NS + 30 * S

    def mk(sid: str, parent: str | None, service: str, name: str, a_ms: int, b_ms: int) -> Span:
        return Span(
            trace_id=EXAMPLE,
            span_id=sid,
            parent_id=parent,
            service=service,
            name=name,
            kind=SpanKind.INTERNAL,
            start_ns=t0 + a_ms * MS,
            end_ns=t0 + b_ms * MS,
        )

    spans = [
        mk("a000000000000001", None, "api", "GET /api/orders/{id}", 0, 15_200),
        mk("b000000000000001", "a000000000000001", "orders", "OrderLoader.load", 100, 8_400),
    ]
    path = [
        Segment("a000000000000001", t0, t0 + 100 * MS),
        Segment("b000000000000001", t0 + 100 * MS, t0 + 200 * MS),
    ]
    for k in range(41):
        a = 200 + 200 * k
        sid = f"d{EXAMPLE[:4]}{k:010x}"
        spans.append(mk(sid, "b000000000000001", "orders", "SELECT order_items", a, a + 200))
        path.append(Segment(sid, t0 + a * MS, t0 + (a + 200) * MS))
    spans += [
        mk(
            "c0ffee0000000001",
            "a000000000000001",
            "checkout",
            "dns payments.internal",
            8_400,
            13_400,
        ),
        mk("e000000000000001", "a000000000000001", "payments", "POST /charge", 13_400, 15_000),
    ]
    path += [
        Segment("c0ffee0000000001", t0 + 8_400 * MS, t0 + 13_400 * MS),
        Segment("e000000000000001", t0 + 13_400 * MS, t0 + 15_000 * MS),
        Segment("a000000000000001", t0 + 15_000 * MS, t0 + 15_200 * MS),
    ]
    return tuple(path), {s.span_id: s for s in spans}


def _trace_rows() -> tuple[TraceSummary, ...]:
    rows = []
    for i in range(120):
        # a long-tailed spread: most requests near a second, the slow tenth 10-22 s
        duration_ns = int((0.6 + 0.9 * (i % 7) / 6) * S) if i >= 12 else int((10 + i) * S)
        tid = trace_id(i)
        group = "slow" if tid in SLOW_IDS else "baseline" if tid in BASE_IDS else ""
        rows.append(
            TraceSummary(
                tid,
                "/api/orders/{id}",
                "api",
                START_NS + i * 4 * S,
                duration_ns,
                group,
                duration_ns,
                0,
                0,
            )
        )
    return tuple(rows)


def sample_report() -> Report:
    path, spans = _example()
    return Report(
        selection=Selection(
            route="/api/orders/{id}",
            matched={"api: GET /api/orders/{id}": 112, "api: GET /api/orders/{id}/v2": 8},
            start_ns=START_NS,
            end_ns=START_NS + 3600 * S,
            percentile=90.0,
            baseline_percentile=50.0,
            slow_trace_ids=SLOW_IDS,
            baseline_trace_ids=BASE_IDS,
            traces_total=120,
            skipped={"failed to fetch": 30},
        ),
        stats=RouteStats(count=120, p50_ns=1.2 * S, p90_ns=15.2 * S, p99_ns=21.7 * S, slo_ns=3 * S),
        baseline_stats=None,
        contributor_rows=CONTRIBUTORS,
        finding_rows=FINDINGS,
        trace_rows=_trace_rows(),
        example_path=path,
        example_spans=spans,
        warnings=("traces.jsonl:17: span 3f2a has no parent in the trace",),
    )


def before_after_report() -> Report:
    """The sample in before/after mode: the baseline is an earlier window."""
    report = sample_report()
    return replace(
        report,
        selection=replace(report.selection, baseline_window=(START_NS - 3600 * S, START_NS)),
        baseline_stats=RouteStats(count=96, p50_ns=0.9 * S, p90_ns=2.0 * S, p99_ns=4.4 * S),
    )
