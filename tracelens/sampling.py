"""Which of a backend's listed requests to fetch whole: `plan_fetch(listed, percentile, ...)`.

A backend lists a route's requests with their durations cheaply; fetching a trace whole costs a
request each. So the percentiles are placed on everything listed, every request at or above the
slow cut is fetched (that is what the report explains), and the rest of the route, of which the
baseline is a part, is represented by a seeded random sample. When the sample would hold every
remaining request, everything is fetched and the analysis is exactly that of the same traces in a
file. Otherwise each fetched trace stands for `weight` listed requests in what-if percentiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tracelens.bands import SAME, baseline_band, cut_of, slow_band
from tracelens.sources import RequestSummary


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """The ids to fetch, and the cuts placed on all listed requests."""

    slow_ids: frozenset[str]
    sampled_ids: frozenset[str]  # a sample of the window's requests below the cut
    baseline_ids: frozenset[str]  # the sampled ones at or below the baseline cut, or a sample
    # of the baseline window in before/after mode
    cut_ns: float  # the slow cut: the listed requests' percentile
    others_listed: int  # how many requests below the cut the sample was drawn from
    baseline_listed: int  # how many requests the baseline was drawn from

    @property
    def ids(self) -> list[str]:
        return sorted(self.slow_ids | self.sampled_ids | self.baseline_ids)


def plan_fetch(
    listed: Sequence[RequestSummary],
    before: Sequence[RequestSummary] | None,
    *,
    percentile: float,
    baseline: float,
    sample: int,
    seed: int,
    band: str = SAME,
) -> FetchPlan:
    """Slow set: listed requests at or above `percentile`. Baseline: a sample of `sample` of the
    others at or below `baseline`, or of the `before` window's requests in the `band` (bands.py)."""
    in_slow, cut = slow_band(listed, percentile)
    slow = frozenset(s.trace_id for s in in_slow)
    rng = np.random.default_rng(seed)
    others = [s for s in listed if s.duration_ns < cut]
    sampled = _sample(others, sample, rng)
    if before is None:
        base_cut = cut_of(listed, baseline)
        base = [s for s in sampled if s.duration_ns <= base_cut]
    else:
        before = baseline_band(listed, before, percentile, baseline, band)
        base = _sample(before, sample, rng)
    return FetchPlan(
        slow_ids=slow,
        sampled_ids=frozenset(s.trace_id for s in sampled),
        baseline_ids=frozenset(s.trace_id for s in base),
        cut_ns=cut,
        others_listed=len(others),
        baseline_listed=len(others) if before is None else len(before),
    )


def _sample(
    items: Sequence[RequestSummary], size: int, rng: np.random.Generator
) -> list[RequestSummary]:
    """`size` of `items` drawn without replacement, in their order; all when there are fewer."""
    if len(items) <= size:
        return list(items)
    picked = rng.choice(len(items), size=size, replace=False)
    return [items[i] for i in sorted(picked)]
