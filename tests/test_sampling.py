"""Which listed requests a backend run fetches (sampling.plan_fetch): the slow set whole, and a
baseline drawn from the band that bands.py names."""

from __future__ import annotations

from tracelens.sampling import plan_fetch
from tracelens.sources import RequestSummary

MS = 1_000_000


def _listed(prefix: str, n: int) -> list[RequestSummary]:
    return [RequestSummary(f"{prefix}{i:04d}", i, (i + 1) * MS) for i in range(n)]


def test_before_after_fetches_the_baseline_windows_same_band_by_default() -> None:
    now, before = _listed("n", 100), _listed("b", 200)
    plan = plan_fetch(now, before, percentile=90, baseline=50, sample=1000, seed=0)
    assert plan.slow_ids == {f"n{i:04d}" for i in range(90, 100)}
    # before's p90 is 180.1 ms: its 20 requests at or above it
    assert plan.baseline_ids == {f"b{i:04d}" for i in range(180, 200)}
    assert plan.baseline_listed == 20


def test_the_other_bands_fetch_the_typical_half_or_all_of_the_baseline_window() -> None:
    now, before = _listed("n", 100), _listed("b", 200)
    typical = plan_fetch(
        now, before, percentile=90, baseline=50, sample=1000, seed=0, band="typical"
    )
    every = plan_fetch(now, before, percentile=90, baseline=50, sample=1000, seed=0, band="all")
    assert typical.baseline_ids == {f"b{i:04d}" for i in range(100)}  # at or below 100.5 ms
    assert every.baseline_ids == {f"b{i:04d}" for i in range(200)}


def test_a_big_band_is_sampled_to_the_sample_size_with_the_seed() -> None:
    now, before = _listed("n", 100), _listed("b", 5000)
    first = plan_fetch(now, before, percentile=90, baseline=50, sample=100, seed=7, band="all")
    again = plan_fetch(now, before, percentile=90, baseline=50, sample=100, seed=7, band="all")
    assert len(first.baseline_ids) == 100
    assert first.baseline_ids == again.baseline_ids
    assert first.baseline_listed == 5000
