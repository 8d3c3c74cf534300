"""Latency patterns on the critical path: one module per detector, its rule in its docstring.

    findings = detect_all(analysis, baseline, default_detectors())

A detector sees one trace's analysis and the baseline profile of the route (baseline.py) and yields
`Finding`s; thresholds are dataclass fields so users and tests can change them. `detect_all` runs
them in precedence order (`DETECTORS`, most specific first) and lets each span be claimed by one
finding only, then ranks what is left by critical-path cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import ClassVar, Protocol

from tracelens.analysis import TraceAnalysis
from tracelens.baseline import Baseline
from tracelens.detectors.connect import Connect
from tracelens.detectors.dns import Dns
from tracelens.detectors.error import Error
from tracelens.detectors.n_plus_one import NPlusOne
from tracelens.detectors.queueing import Queueing
from tracelens.detectors.retry import Retry
from tracelens.detectors.self_time import SelfTime
from tracelens.detectors.sequential import Sequential
from tracelens.detectors.slow_query import SlowQuery
from tracelens.model import ClaimPart, Finding


class Detector(Protocol):
    name: ClassVar[str]

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]: ...


# Precedence: a span claimed by an earlier (more specific) pattern is not claimed again later.
DETECTORS: Mapping[str, type[Detector]] = {
    d.name: d
    for d in (
        NPlusOne,
        Dns,
        Connect,
        Retry,
        SlowQuery,
        Queueing,
        Sequential,
        SelfTime,
        Error,
    )
}


def default_detectors() -> tuple[Detector, ...]:
    """Every detector with its default thresholds, in precedence order."""
    return tuple(cls() for cls in DETECTORS.values())


def _cost(finding: Finding) -> int:
    value = finding.evidence.get("on_path_ns", 0)
    return int(value) if isinstance(value, int | float) else 0


def detect_all(
    analysis: TraceAnalysis, baseline: Baseline, detectors: Iterable[Detector]
) -> tuple[Finding, ...]:
    """Run detectors in the order given; drop spans already claimed; rank by critical-path cost.

    A finding whose spans were all claimed by an earlier one is dropped; one that shares some
    keeps only its own (its `evidence["shared_span_ids"]` counts the rest), so the claims of the
    findings of a trace never overlap.
    """
    # A HEAD claim (the wait before a span's first child: DNS, connect, queueing) and an ALL
    # claim (the rest of its self time, e.g. as one of an N+1's calls) share a span without
    # overlapping, so a call slowed by DNS inside an N+1 loop is counted once for each cause.
    claimed: set[tuple[str, ClaimPart]] = set()
    kept: list[tuple[int, int, Finding]] = []
    for rank, detector in enumerate(detectors):
        found = sorted(detector.detect(analysis, baseline), key=lambda f: -_cost(f))
        for finding in found:
            part = finding.part
            own = tuple(dict.fromkeys(s for s in finding.span_ids if (s, part) not in claimed))
            if not own:
                continue
            if len(own) < len(finding.span_ids):
                evidence = {**finding.evidence, "shared_span_ids": len(finding.span_ids) - len(own)}
                finding = replace(finding, span_ids=own, evidence=evidence)
            claimed.update((s, part) for s in own)
            kept.append((_cost(finding), rank, finding))
    kept.sort(key=lambda item: (-item[0], item[1]))
    return tuple(f for _, _, f in kept)


__all__ = [
    "DETECTORS",
    "Connect",
    "Detector",
    "Dns",
    "Error",
    "NPlusOne",
    "Queueing",
    "Retry",
    "SelfTime",
    "Sequential",
    "SlowQuery",
    "default_detectors",
    "detect_all",
]
