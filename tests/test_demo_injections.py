"""Each cause `tracelens demo --inject KIND` offers is what `slowest` names first, with its pattern.

Each kind gets its own small run on top of the repaired system (`--fixed`), so that nothing else
is wrong: the result page's slowest requests must be explained by the injected cause, ranked
first under its pattern and the service where it was injected, and its what-if must lower p90.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tracelens
from tracelens.answer import Report
from tracelens.demo.run import DemoConfig, run_demo
from tracelens.demo.world import INJECTIONS
from tracelens.sources.store import LocalStore

END_NS = 1_795_000_000 * 1_000_000_000

# Where each injection lands in the demo's world (tracelens/demo/world.py).
CAUSES = {
    "slow_query": "diseases-api",  # the assessments query's plan flips to a sequential scan
    "sequential": "result-bff",  # the ResultPage loaders wait for each other
    "queueing": "hospitals-api",  # every worker busy: requests wait behind its sidecar
    "self_time": "web",  # a synchronous markdown render in the page's own code
    "connect": "web",  # a dropped SYN: tcp.connect waits out the 1 s retransmit
    "retry": "result-bff",  # the hospitals call fails at the sidecar (UF) and is retried
    "error": "departments-api",  # a pool timeout, then a 500
}


def test_every_injection_the_demo_offers_has_an_expected_cause() -> None:
    assert set(CAUSES) == set(INJECTIONS)


def _slowest(tmp_path: Path, kind: str) -> Report:
    store = LocalStore(tmp_path / kind)
    config = DemoConfig(
        store=store, requests=150, seed=1, fixed=True, inject=frozenset({kind}), end_ns=END_NS
    )
    run_demo(config)
    return tracelens.slowest(list(store.traces()), route="result", resamples=200)


@pytest.mark.parametrize("kind", INJECTIONS)
def test_slowest_names_the_injected_cause_first_with_its_pattern(tmp_path: Path, kind: str) -> None:
    # GIVEN the repaired demo with one cause injected
    # WHEN slowest explains the result page's p90
    report = _slowest(tmp_path, kind)
    # THEN the first contributor is that cause, under its pattern, where it was injected
    top = report.contributor_rows[0]
    assert (top.pattern, top.service) == (kind, CAUSES[kind]), report.contributor_rows[:3]
    assert top.excess_ns > 0
    # AND fixing it lowers the route's p90
    assert top.whatif_p90_ns is not None
    assert top.whatif_p90_ns < report.stats.p90_ns
