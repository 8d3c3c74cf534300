"""What reading left out, counted by unit: `tally(issues) -> tuple[LeftOut, ...]`, `describe(...)`.

    left = tally(issues)  # one LeftOut per (unit, reason): files, lines, traces, spans
    describe(left)  # "1 line (not valid JSON: spans of 15 traces lost); 4 spans (no start time)"

Every reader issue says what it cost (`ReadIssue.unit`, `.count`, `.traces`), so a partial answer
can say exactly what it left out, in the unit that was lost rather than always "traces".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tracelens.model import LeftOut, ReadIssue, Unit

_ORDER = {unit: n for n, unit in enumerate(Unit)}


def reason_of(issue: ReadIssue) -> str:
    """The short why that counts group by: the issue's reason, or its message's first clause."""
    return issue.reason or issue.message.split(":", 1)[0].split(";", 1)[0][:80]


def tally(issues: Iterable[ReadIssue]) -> tuple[LeftOut, ...]:
    """The issues summed per (unit, reason), largest unit first, then by count."""
    sums: dict[tuple[Unit, str], list[int]] = {}
    for issue in issues:
        key = (Unit(issue.unit), reason_of(issue))
        acc = sums.setdefault(key, [0, 0, 0])
        acc[0] += issue.count
        acc[1] += issue.traces
        acc[2] += 1
    rows = [
        LeftOut(unit, why, n, traces, times) for (unit, why), (n, traces, times) in sums.items()
    ]
    return tuple(sorted(rows, key=lambda r: (_ORDER[r.unit], -r.count, r.reason)))


def _units(n: int, unit: Unit) -> str:
    return f"{n:,} {unit.value}" + ("" if n == 1 else "s")


def describe(left: Sequence[LeftOut]) -> str:
    """`1 line (not valid JSON: spans of 15 traces lost); 4 spans (no start time)`, or ""."""
    parts = []
    for row in left:
        if row.count == 0:  # repaired, nothing lost
            parts.append(f"{row.issues:,}× {row.reason} (repaired)")
            continue
        lost = ""
        if row.traces and row.unit is not Unit.TRACE:
            lost = f": spans of {_units(row.traces, Unit.TRACE)} lost"
        parts.append(f"{_units(row.count, row.unit)} ({row.reason}{lost})")
    return "; ".join(parts)


def skipped_traces(left: Sequence[LeftOut]) -> dict[str, int]:
    """reason -> traces left out whole (`Selection.skipped`)."""
    return {row.reason: row.count for row in left if row.unit is Unit.TRACE and row.count}
