"""Published root-cause methods that tracelens is measured against, side by side.

    from bench.baselines import rank_of, tracelens_services
    from bench.baselines.tracerca import localize
    rank_of(localize(window, reference).services, {"ts-basic-service"})   # TraceRCA's rank
    rank_of(tracelens_services(report), {"ts-basic-service"})             # tracelens's

Both columns rank services, so both are read the same way: the 1-based position of the first of
the expected services in the method's ranking (None when it is not ranked).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from tracelens.answer import Report


def tracelens_services(report: Report) -> list[str]:
    """The distinct services of tracelens's ranked contributors with a positive excess, in order."""
    seen: list[str] = []
    for c in report.contributor_rows:
        if c.excess_ns <= 0:
            break
        if c.service not in seen:
            seen.append(c.service)
    return seen


def rank_of(ranking: Sequence[str], expected: Collection[str]) -> int | None:
    """1-based position of the first service of `expected` in `ranking`; None when absent."""
    return next((i for i, s in enumerate(ranking, 1) if s in expected), None)
