"""Deep links from a trace id to the UI that shows it: `TraceLinks(jaeger_ui=...).urls(trace_id)`.

    jaeger_trace_url("http://localhost:16686", "4bf92f35...")  # -> .../trace/4bf92f35...
    grafana_tempo_url("https://grafana.example", "4bf92f35...", datasource="tempo")

The Grafana link opens Explore (Grafana 10+ `panes` URL) with a TraceQL query for the trace id on
the given Tempo data source uid. With no base URL configured, renderers print the bare trace id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

_HOUR_MS = 3_600_000


def _base(url: str) -> str:
    return url.rstrip("/")


def jaeger_trace_url(base: str, trace_id: str) -> str:
    """`{base}/trace/{trace_id}`: the Jaeger UI's trace page."""
    return f"{_base(base)}/trace/{quote(trace_id, safe='')}"


def grafana_tempo_url(
    base: str, trace_id: str, datasource: str = "tempo", start_ns: int | None = None
) -> str:
    """Grafana Explore showing `trace_id` from the Tempo data source with uid `datasource`.

    Given the trace's start, the time range is the hour either side of it, so data sources set
    to search by time range still find the trace; otherwise the last day.
    """
    if start_ns is None:
        time_range = {"from": "now-24h", "to": "now"}
    else:
        start_ms = start_ns // 1_000_000
        time_range = {"from": str(start_ms - _HOUR_MS), "to": str(start_ms + _HOUR_MS)}
    pane = {
        "datasource": datasource,
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": "tempo", "uid": datasource},
                "queryType": "traceql",
                "query": trace_id,
            }
        ],
        "range": time_range,
    }
    panes = json.dumps({"tracelens": pane}, separators=(",", ":"))
    return f"{_base(base)}/explore?" + urlencode(
        {"schemaVersion": "1", "panes": panes, "orgId": "1"}, quote_via=quote
    )


@dataclass(frozen=True, slots=True)
class TraceLinks:
    """The UIs a user has; `urls(trace_id)` gives one link per configured UI (maybe none)."""

    jaeger_ui: str | None = None
    grafana_url: str | None = None
    grafana_datasource: str = "tempo"

    def urls(self, trace_id: str, start_ns: int | None = None) -> list[str]:
        out: list[str] = []
        if self.jaeger_ui:
            out.append(jaeger_trace_url(self.jaeger_ui, trace_id))
        if self.grafana_url:
            out.append(
                grafana_tempo_url(self.grafana_url, trace_id, self.grafana_datasource, start_ns)
            )
        return out
