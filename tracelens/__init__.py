"""tracelens: why is p90 slow, and what do we fix first?

import tracelens
report = tracelens.slowest("traces.jsonl", route="result")
report.contributors      # pandas DataFrame, ranked by share of the p90 excess
report.findings          # pattern instances with their evidence
report.traces            # one row per analysed trace
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "BackendOptions",
    "Report",
    "Trace",
    "__version__",
    "open_source",
    "read_traces",
    "slowest",
]

if TYPE_CHECKING:
    from tracelens.answer import Report
    from tracelens.model import Trace
    from tracelens.pipeline import slowest
    from tracelens.readers import read_traces
    from tracelens.sources import open_source
    from tracelens.sources.http import BackendOptions


def __getattr__(name: str) -> Any:
    # Imported on first use so that `tracelens --help` does not pay for numpy and pandas.
    if name == "slowest":
        from tracelens.pipeline import slowest

        return slowest
    if name == "read_traces":
        from tracelens.readers import read_traces

        return read_traces
    if name == "open_source":
        from tracelens.sources import open_source

        return open_source
    if name == "BackendOptions":
        from tracelens.sources.http import BackendOptions

        return BackendOptions
    if name in ("Report", "Trace"):
        from tracelens import model

        return getattr(model, name)
    raise AttributeError(f"module 'tracelens' has no attribute {name!r}")
