"""Latency patterns on the critical path: each detector is one module with its rule in its docstring.

    for detector in default_detectors():
        findings = list(detector.detect(analysis, baseline))

A detector sees one trace's analysis and the baseline profile of the route (baseline.py) and yields
`Finding`s; thresholds are dataclass fields so users and tests can change them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Protocol

from tracelens.analysis import TraceAnalysis
from tracelens.baseline import Baseline
from tracelens.model import Finding


class Detector(Protocol):
    name: ClassVar[str]

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]: ...
