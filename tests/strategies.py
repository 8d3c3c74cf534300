"""Hypothesis strategies: `well_formed_traces()` draws traces with one root and unique ids.

"Well formed" means no repairs beyond what the critical path itself handles: every span but the
root names a parent in the trace. Within that, the draws are deliberately awkward: small integer
times so siblings touch, tie and overlap; children that overflow or lie wholly outside their
parent; producers with consumers; and client/server pairs on different hosts, so clock-skew
shifts happen too.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tracelens.model import Span, SpanKind, Trace

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_KINDS = (
    SpanKind.INTERNAL,
    SpanKind.SERVER,
    SpanKind.CLIENT,
    SpanKind.PRODUCER,
    SpanKind.CONSUMER,
)


@st.composite
def well_formed_traces(draw: st.DrawFn, max_spans: int = 30) -> Trace:
    n = draw(st.integers(min_value=1, max_value=max_spans))
    root_end = draw(st.integers(min_value=0, max_value=60))
    spans = [
        Span(
            trace_id=TRACE_ID, span_id=f"{1:016x}", parent_id=None, service="front",
            name="GET /", kind=SpanKind.SERVER, start_ns=0, end_ns=root_end, process="h0",
        )
    ]  # fmt: skip
    for k in range(2, n + 1):
        par = spans[draw(st.integers(min_value=0, max_value=len(spans) - 1))]
        # Mostly inside the parent, sometimes spilling over either end or outside it.
        start = draw(st.integers(min_value=par.start_ns - 5, max_value=par.end_ns + 3))
        end = start + draw(st.integers(min_value=0, max_value=max(1, par.duration_ns + 4)))
        host = draw(st.integers(min_value=0, max_value=2))
        spans.append(
            Span(
                trace_id=TRACE_ID, span_id=f"{k:016x}", parent_id=par.span_id,
                service=f"svc{host}", name=f"op{k % 4}", kind=draw(st.sampled_from(_KINDS)),
                start_ns=start, end_ns=end, process=f"h{host}",
            )
        )  # fmt: skip
    order = draw(st.permutations(range(n)))
    return Trace(trace_id=TRACE_ID, spans=tuple(spans[i] for i in order))
