"""The slow set and the baseline, as bands of a route's durations.

    slow, cut = slow_band(current, 90)                         # p90 and above
    base = baseline_band(current, None, 90, 50)                # one window: p50 and below
    base = baseline_band(current, before, 90, 50, "same")      # two windows: p90+ of before

Within one window the slow requests (p90 and above) are compared with the typical ones (p50 and
below). Before/after compares the same band of both windows by default: the slowest tenth of any
window is dominated by what usually makes the route's tail slow (a busy shared service, a cold
cache), so comparing it with every request of the earlier window would blame that ordinary tail
rather than what changed. `typical` and `all` choose the earlier window's p50-and-below or all of
it instead (`--baseline-band`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

SAME, TYPICAL, ALL = "same", "typical", "all"
BANDS = (SAME, TYPICAL, ALL)


class Timed(Protocol):
    @property
    def duration_ns(self) -> int: ...


T = TypeVar("T", bound=Timed)


def cut_of(items: Sequence[Timed], percentile: float) -> float:
    """The duration at `percentile` of the items (numpy's linear interpolation)."""
    import numpy as np  # here, so that the command line reads BANDS without loading numpy

    return float(np.percentile(np.array([i.duration_ns for i in items], np.float64), percentile))


def slow_band(items: Sequence[T], percentile: float) -> tuple[list[T], float]:
    """The items at or above the percentile, and that cut."""
    cut = cut_of(items, percentile)
    return [i for i in items if i.duration_ns >= cut], cut


def baseline_band(
    current: Sequence[T],
    before: Sequence[T] | None,
    percentile: float,
    baseline: float,
    band: str = SAME,
) -> list[T]:
    """The baseline: the current window's items at or below `baseline` when there is one window;
    of the `before` window, its items in the slow set's band (`same`), at or below `baseline`
    (`typical`), or all of them."""
    if before is None:
        cut = cut_of(current, baseline)
        return [i for i in current if i.duration_ns <= cut]
    if band == ALL or not before:
        return list(before)
    if band == TYPICAL:
        cut = cut_of(before, baseline)
        return [i for i in before if i.duration_ns <= cut]
    return slow_band(before, percentile)[0]


def band_words(percentile: str, baseline: str, band: str, windows: int) -> str:
    """What the baseline is, in words: `p50 and below`, `p90 and above of the baseline window`."""
    if windows < 2:
        return f"{baseline} and below"
    if band == ALL:
        return "every request of the baseline window"
    if band == TYPICAL:
        return f"{baseline} and below of the baseline window"
    return f"{percentile} and above of the baseline window"
