"""Deep links from trace ids to Jaeger and Grafana (tracelens/report/links.py)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tracelens.report.links import TraceLinks, grafana_tempo_url, jaeger_trace_url

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_jaeger_link_is_the_trace_page_under_the_ui_base():
    assert jaeger_trace_url("http://localhost:16686", TRACE_ID) == (
        f"http://localhost:16686/trace/{TRACE_ID}"
    )
    assert jaeger_trace_url("https://jaeger.example/ui/", TRACE_ID) == (
        f"https://jaeger.example/ui/trace/{TRACE_ID}"
    )


def _pane(url: str) -> dict:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.endswith("/explore")
    assert query["schemaVersion"] == ["1"]
    (pane,) = json.loads(query["panes"][0]).values()
    return pane


def test_a_grafana_link_opens_explore_on_the_trace_with_the_given_tempo_datasource():
    url = grafana_tempo_url("https://grafana.example/", TRACE_ID, datasource="tempo-prod")
    assert url.startswith("https://grafana.example/explore?")
    pane = _pane(url)
    (query,) = pane["queries"]
    assert query["query"] == TRACE_ID
    assert query["datasource"] == {"type": "tempo", "uid": "tempo-prod"}
    assert pane["range"] == {"from": "now-24h", "to": "now"}


def test_a_grafana_link_centres_its_time_range_on_the_trace_start():
    start_ns = 1_714_557_600_000_000_000
    pane = _pane(grafana_tempo_url("http://g", TRACE_ID, start_ns=start_ns))
    start_ms = start_ns // 1_000_000
    assert pane["range"] == {"from": str(start_ms - 3_600_000), "to": str(start_ms + 3_600_000)}


def test_links_are_given_only_for_the_uis_configured():
    assert TraceLinks().urls(TRACE_ID) == []
    both = TraceLinks(jaeger_ui="http://j", grafana_url="http://g").urls(TRACE_ID)
    assert both[0] == f"http://j/trace/{TRACE_ID}"
    assert both[1].startswith("http://g/explore?")
