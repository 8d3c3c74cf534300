"""One demo run, simulated, emitted and exported: `run_demo(DemoConfig(...)) -> DemoResult`.

Same seed, same traces (trace and span ids included); only the window moves with the clock,
unless `end_ns` pins it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from tracelens.demo.emit import SeededIdGenerator, emit
from tracelens.demo.export import (
    CountingExporter,
    FanoutExporter,
    JsonLinesExporter,
    StoreExporter,
    otlp_exporter,
    processor_for,
)
from tracelens.demo.world import INJECTIONS, Scenario, simulate
from tracelens.errors import TracelensError
from tracelens.sources.store import LocalStore

WINDOW_NS = 20 * 60 * 1_000_000_000  # requests arrive over 20 minutes
END_LAG_NS = 60 * 1_000_000_000  # ...ending a minute ago, so `--since 1h` finds them


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """What to simulate and where to send it: the store, unless `out` or `otlp_endpoint` is set."""

    requests: int = 300
    seed: int = 1
    fixed: bool = False
    inject: frozenset[str] = frozenset()
    resolver_spans: bool = False
    out: str | None = None
    otlp_endpoint: str | None = None
    otlp_protocol: str = "http/protobuf"
    store: LocalStore | None = None  # None: LocalStore.default(), when no other destination
    append: bool = False
    end_ns: int | None = None  # the window's end; None: a minute ago


@dataclass(frozen=True, slots=True)
class DemoResult:
    requests: int
    traces: int
    spans: int
    start_ns: int
    end_ns: int
    destinations: tuple[str, ...]
    routes: dict[str, int] = field(default_factory=dict)


def run_demo(config: DemoConfig) -> DemoResult:
    """Simulate, emit through the real SDK, export and flush; raise TracelensError on lost spans.

    The store and `out` keep their earlier data until every span has arrived: an exception
    (lost spans, Ctrl-C, SIGTERM as raised by the CLI) leaves them as they were.
    """
    unknown = sorted(config.inject - set(INJECTIONS))
    if unknown:
        raise TracelensError(
            f"unknown --inject {', '.join(unknown)}: choose from {', '.join(INJECTIONS)}"
        )
    if config.requests < 1:
        raise TracelensError("--requests must be at least 1")
    store: LocalStore | None = None
    if config.store is not None or not (config.out or config.otlp_endpoint):
        store = config.store or LocalStore.default()
        store.check_writable()  # fail before the run, not after it
    rng = random.Random(config.seed)
    make = Scenario.fixed if config.fixed else Scenario.incident
    scenario = make(config.inject, config.resolver_spans)
    end_ns = config.end_ns if config.end_ns is not None else time.time_ns() - END_LAG_NS
    ids = SeededIdGenerator(random.Random(rng.getrandbits(64)))
    requests = simulate(scenario, rng, config.requests, end_ns, WINDOW_NS)

    exporters: list[tuple[str, CountingExporter]] = []
    # Destinations that keep their earlier data until this run's data is complete.
    pending: list[StoreExporter | JsonLinesExporter] = []
    try:
        if config.out:
            pending.append(JsonLinesExporter(config.out))
            exporters.append((f"OTLP JSON lines {config.out}", CountingExporter(pending[-1])))
        if config.otlp_endpoint:
            inner = otlp_exporter(config.otlp_endpoint, config.otlp_protocol)
            exporters.append(
                (f"OTLP {config.otlp_protocol} {config.otlp_endpoint}", CountingExporter(inner))
            )
        if store is not None:
            pending.append(StoreExporter(store, replace=not config.append))
            exporters.append((str(store.description), CountingExporter(pending[-1])))
        spans = emit(
            requests,
            processor_for(
                FanoutExporter([e for _, e in exporters]), spans_expected=200 * len(requests)
            ),
            ids,
        )
        for where, counter in exporters:
            if counter.failed or counter.exported != spans:
                raise TracelensError(
                    f"{where} accepted {counter.exported} of {spans} spans; "
                    "is the receiver running?"
                )
        for destination in pending:  # only now, with every span accounted for
            destination.commit()
    finally:
        for destination in pending:
            destination.discard()
    routes: dict[str, int] = {}
    for r in requests:
        routes[r.route] = routes.get(r.route, 0) + 1
    return DemoResult(
        requests=len(requests),
        traces=len(requests),
        spans=spans,
        start_ns=min(r.root.start_ns for r in requests),
        end_ns=max(r.root.end_ns for r in requests),
        destinations=tuple(where for where, _ in exporters),
        routes=routes,
    )
