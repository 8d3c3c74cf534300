"""Accuracy scenarios for tracelens: OpenTelemetry SDK corpora, each with known causes.

    from bench.scenarios import SCENARIOS, scenario, p90_ns
    traces = scenario("n_plus_one", seed=0, n=400)
    true_gain_ns = p90_ns(traces) - p90_ns(scenario("n_plus_one", seed=0, n=400, fixed=True))

bench/accuracy.py runs tracelens on every scenario and prints how well it names and prices each
cause; tests/test_accuracy.py asserts it.
"""

from bench.scenarios.catalog import SCENARIOS, Cause, Decoy, Scenario
from bench.scenarios.generate import (
    p90_ns,
    percentile_ns,
    requests,
    root_duration_ns,
    scenario,
    write_otlp_jsonl,
)

__all__ = [
    "SCENARIOS",
    "Cause",
    "Decoy",
    "Scenario",
    "p90_ns",
    "percentile_ns",
    "requests",
    "root_duration_ns",
    "scenario",
    "write_otlp_jsonl",
]
