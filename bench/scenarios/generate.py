"""Generate a scenario's corpus with the OpenTelemetry SDK: `scenario(name, seed, n, fixed=False)`.

    traces = scenario("dns", seed=1, n=400)                 # ~15% of requests hit DNS timeouts
    fixed = scenario("dns", seed=1, n=400, fixed=True)      # the same requests, cause removed
    gain_ns = p90_ns(traces) - p90_ns(fixed)                # what fixing it is truly worth
    write_otlp_jsonl("dns", path, seed=1, n=400)            # one ExportTraceServiceRequest a line

`fixed` is False (inject every cause), True (remove every cause) or a collection of cause keys to
remove. Removing a cause changes only the draws of that cause: every other duration, id and host
of every request comes out the same (each draw site has its own seeded stream), so the fixed
corpus is the true counterfactual of the broken one.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np
from opentelemetry.sdk.trace import ReadableSpan

from bench.scenarios.catalog import SCENARIOS, Scenario
from bench.scenarios.emit import Emitter, otlp_json_line, to_trace
from bench.scenarios.plan import MS, Node, Req
from bench.scenarios.route import checkout
from tracelens.model import Trace

EPOCH_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z, where every corpus starts
AFFECTED_SHARE = 0.15


def affected(sc: Scenario, seed: int, n: int) -> list[frozenset[int]]:
    """Disjoint request subsets, one per cause, each ~15% of the n requests."""
    order = list(range(n))
    random.Random(f"{seed}:{sc.name}:affected").shuffle(order)
    size = round(AFFECTED_SHARE * n)
    return [frozenset(order[k * size : (k + 1) * size]) for k in range(len(sc.causes))]


def _removed(sc: Scenario, fixed: bool | Collection[str]) -> frozenset[str]:
    if isinstance(fixed, bool):
        return frozenset(c.key for c in sc.causes) if fixed else frozenset()
    unknown = set(fixed) - {c.key for c in sc.causes}
    if unknown:
        raise ValueError(f"scenario {sc.name!r} has no cause {sorted(unknown)}")
    return frozenset(fixed)


def _lookup(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"no scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def plans(
    name: str, seed: int = 0, n: int = 400, fixed: bool | Collection[str] = False
) -> Iterator[tuple[Node, Scenario]]:
    """Each request's span tree before emission (true times), in request order."""
    sc = _lookup(name)
    removed = _removed(sc, fixed)
    subsets = affected(sc, seed, n)
    for i in range(n):
        active = frozenset(
            c.key
            for c, members in zip(sc.causes, subsets, strict=True)
            if i in members and c.key not in removed
        )
        arrival = random.Random(f"{seed}:{i}:arrival").uniform(0.0, 1_200.0)
        t0_ns = EPOCH_NS + i * 1_200 * MS + int(arrival * MS)
        req = Req(seed, i, t0_ns, active, decoy=i in subsets[0], knobs=sc.knobs)
        yield checkout(req), sc


def durations_ns(
    name: str, seed: int = 0, n: int = 400, fixed: bool | Collection[str] = False
) -> list[int]:
    """Root durations of the scenario's requests straight from the plans: no SDK, so cheap.

    Equal to the emitted traces' root durations (the route's entry host keeps true time).
    """
    return [root.end_ns - root.start_ns for root, _ in plans(name, seed, n, fixed)]


def requests(
    name: str, seed: int = 0, n: int = 400, fixed: bool | Collection[str] = False
) -> Iterator[tuple[ReadableSpan, ...]]:
    """Each request's spans as the SDK exported them, in request order."""
    emitter = Emitter()
    try:
        for i, (root, sc) in enumerate(plans(name, seed, n, fixed)):
            yield emitter.emit(root, f"{seed}:{i}", sc.clock_offset_ns)
    finally:
        emitter.shutdown()


def scenario(
    name: str, seed: int = 0, n: int = 400, fixed: bool | Collection[str] = False
) -> list[Trace]:
    """The scenario's n requests as tracelens Traces."""
    return [
        to_trace(spans, origin=f"{name}:{seed}:{i}")
        for i, spans in enumerate(requests(name, seed, n, fixed))
    ]


def write_otlp_jsonl(
    name: str, path: Path, seed: int = 0, n: int = 400, fixed: bool | Collection[str] = False
) -> int:
    """Write the scenario as OTLP JSON lines (one request a line); returns the lines written."""
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        for spans in requests(name, seed, n, fixed):
            out.write(otlp_json_line(spans) + "\n")
            lines += 1
    return lines


def root_duration_ns(trace: Trace) -> int:
    """Duration of the trace's root span (the one without a parent)."""
    root = next(s for s in trace.spans if s.parent_id is None)
    return root.end_ns - root.start_ns


def percentile_ns(traces: Sequence[Trace], q: float) -> float:
    """The q-th percentile of root durations (linear interpolation, numpy's default)."""
    return float(np.percentile([root_duration_ns(t) for t in traces], q))


def p90_ns(traces: Sequence[Trace]) -> float:
    return percentile_ns(traces, 90.0)


def p90_of(durations: Sequence[int]) -> float:
    return float(np.percentile(durations, 90.0))
