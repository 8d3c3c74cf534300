"""The whole report as one JSON document for scripts: `render(report, out)`.

Keys come in a fixed order; durations are milliseconds (three decimals), and the contributor
objects carry the CSV columns (`tracelens.report.COLUMNS`) under the same names. Only valid JSON
is written (NaN and infinities become null), so stdout can be piped straight into `jq`.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import Any, TextIO

from tracelens import __version__
from tracelens.answer import Report
from tracelens.model import Finding, RouteStats, Sampling, Selection
from tracelens.report import contributor_record, ms, percentile_name, sample_counts
from tracelens.report.facts import row_summary
from tracelens.report.safe import json_inert

SCHEMA_VERSION = 1
_DIGITS = 3  # microsecond precision in milliseconds


def _plain(value: Any, depth: int = 0) -> Any:
    """Evidence values as JSON types: sets sorted, enums by value, NaN -> None, else str()."""
    if depth > 20:  # evidence is shallow; a deeper structure is a detector bug, not worth a crash
        return str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value, depth + 1)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [_plain(v, depth + 1) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item(), depth + 1)
    return str(value)


def _stats(stats: RouteStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "count": stats.count,
        "p50_ms": ms(stats.p50_ns, _DIGITS),
        "p90_ms": ms(stats.p90_ns, _DIGITS),
        "p99_ms": ms(stats.p99_ns, _DIGITS),
        "slo_ms": ms(stats.slo_ns, _DIGITS),
        "breach": stats.breaches_slo,
        "method": stats.method or None,
    }


def _selection(selection: Selection, analysed: int, total: int) -> dict[str, Any]:
    window = selection.baseline_window
    return {
        "route": selection.route,
        "matched": dict(selection.matched),
        "start_ns": selection.start_ns,
        "end_ns": selection.end_ns,
        "percentile": percentile_name(selection.percentile),
        "baseline_percentile": percentile_name(selection.baseline_percentile),
        "baseline_window_ns": None if window is None else list(window),
        "baseline_band": selection.baseline_band or None,
        "pages": [
            {"page": p.page, "slow": p.slow, "baseline": p.baseline} for p in selection.pages
        ],
        "traces_total": total,
        "traces_analysed": analysed,
        "slow_traces": len(selection.slow_trace_ids),
        "baseline_traces": len(selection.baseline_trace_ids),
        "slow_trace_ids": list(selection.slow_trace_ids),
        "baseline_trace_ids": list(selection.baseline_trace_ids),
        "sampling": None if selection.sampling is None else _sampling(selection.sampling),
    }


def _sampling(s: Sampling) -> dict[str, Any]:
    """What the backend listed and what was fetched; every count a script needs to judge it."""
    return {
        "backend": s.backend,
        "query": s.query,
        "listed": s.listed,
        "complete": s.complete,
        "slow_listed": s.slow_listed,
        "slow_fetched": s.slow_fetched,
        "others_listed": s.others_listed,
        "others_sampled": s.others_sampled,
        "others_fetched": s.others_fetched,
        "failed": dict(s.failed),
        "failed_trace_ids": list(s.failed_ids),
        "cached": s.cached,
        "unlisted": dict(s.unlisted),
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "pattern": f.pattern,
        "service": f.service,
        "operation": f.operation,
        "trace_id": f.trace_id,
        "span_ids": list(f.span_ids),
        "part": str(f.part),
        "saving_ms": ms(f.saving_ns, _DIGITS),
        "summary": f.summary,
        "evidence": _plain(f.evidence),
    }


def document(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data, keys in their published order."""
    analysed, total = sample_counts(report)
    contributors = sorted(report.contributor_rows, key=lambda c: c.rank)
    return {
        "tracelens": __version__,
        "schema": SCHEMA_VERSION,
        "selection": _selection(report.selection, analysed, total),
        "stats": _stats(report.stats),
        "baseline_stats": _stats(report.baseline_stats),
        "too_small": report.too_small,
        "contributors": [
            contributor_record(c, ndigits=_DIGITS, summary=row_summary(report, c))
            for c in contributors
        ],
        "whatif_together": {
            "fixes": list(report.whatif_together),
            "p90_ms": ms(report.whatif_together_p90_ns, _DIGITS),
        },
        "findings": [_finding(f) for f in report.finding_rows],
        "warnings": list(report.warnings),
        "skipped": dict(report.selection.skipped),
        "read": {
            "traces": report.selection.traces_read,
            "files": report.selection.files_read,
            "sampled": (
                {
                    "share": 2.0**-report.selection.sample_level,
                    "level": report.selection.sample_level,
                    "max_spans": report.selection.max_spans,
                }
                if report.selection.sample_level
                else None
            ),
            "left_out": [
                {
                    "unit": str(row.unit),
                    "reason": row.reason,
                    "count": row.count,
                    "traces_hit": row.traces,
                }
                for row in report.selection.left_out
            ],
        },
    }


def render(report: Report, out: TextIO) -> None:
    """Write the report as indented JSON followed by a newline."""
    text = json.dumps(document(report), indent=2, ensure_ascii=False, allow_nan=False)
    out.write(json_inert(text) + "\n")
