"""Zipkin v2 JSON on real upstream files: shared span ids split, kinds, tags, incomplete spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, SpanKind, StatusCode, Trace
from tracelens.readers import read_traces

FIXTURES = Path(__file__).parent.parent / "fixtures" / "zipkin"


def read_all(path: Path, issues: list[ReadIssue] | None = None) -> list[Trace]:
    return list(read_traces(path, [] if issues is None else issues))


def test_the_server_half_of_a_shared_id_becomes_a_child_of_the_client_half():
    (trace,) = read_all(FIXTURES / "zipkin2_skew.json")
    assert trace.trace_id == "00000000000000001e223ff1f80f1c69"
    by_name = {(s.name, s.kind): s for s in trace.spans}
    client = by_name["post", SpanKind.CLIENT]
    server = by_name["post", SpanKind.SERVER]
    assert client.span_id == "74280ae0c10d8062"
    assert server.span_id not in ("74280ae0c10d8062", "")
    assert len(server.span_id) == 16
    assert server.parent_id == client.span_id
    # The local span under the shared id belongs to the server side.
    assert by_name["async", SpanKind.INTERNAL].parent_id == server.span_id
    assert len({s.span_id for s in trace.spans}) == 4
    assert (server.service, server.process) == ("serviceb", "serviceb@192.0.0.0")


def test_splitting_is_deterministic():
    first = read_all(FIXTURES / "zipkin2_yelp.json")
    assert first == read_all(FIXTURES / "zipkin2_yelp.json")


def test_the_yelp_trace_keeps_every_span_with_unique_ids_and_string_tags():
    (trace,) = read_all(FIXTURES / "zipkin2_yelp.json")
    raw = json.loads((FIXTURES / "zipkin2_yelp.json").read_text())
    assert len(trace.spans) == len(raw)
    assert len({s.span_id for s in trace.spans}) == len(raw)
    client_ids = {s["id"] for s in raw if s.get("kind") == "CLIENT"}
    shared = [s for s in raw if s.get("shared") and s["id"] in client_ids]
    assert len(shared) == 3
    for r in shared:
        server = next(
            s
            for s in trace.spans
            if s.name == r["name"]
            and s.kind == SpanKind.SERVER
            and s.start_ns == r["timestamp"] * 1000
        )
        assert server.span_id != r["id"]
        assert server.parent_id == r["id"]
    # A shared server span without a client half keeps its id.
    assert any(s.span_id == "2e8cfb154b59a41f" and s.kind == SpanKind.SERVER for s in trace.spans)
    root = next(s for s in trace.spans if s.parent_id is None)
    assert root.service == "routing"
    assert all(isinstance(v, str) for s in trace.spans for v in s.attributes.values())
    api = next(s for s in trace.spans if s.service == "yelp_main/api_proxy")
    assert api.events[0].name == "py_zipkin.logging_end"
    assert api.duration_ns == 88935 * 1000


def test_a_span_without_duration_is_skipped_with_an_issue(tmp_path):
    spans = [
        {
            "traceId": "a" * 16,
            "id": "1" * 16,
            "name": "root",
            "timestamp": 10,
            "duration": 5,
            "localEndpoint": {"serviceName": "a"},
            "tags": {"error": "boom"},
        },
        {
            "traceId": "a" * 16,
            "id": "2" * 16,
            "parentId": "1" * 16,
            "name": "open",
            "timestamp": 11,
            "localEndpoint": {"serviceName": "a"},
        },
    ]
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps([spans]))  # the /api/v2/traces shape: a list of lists
    issues: list[ReadIssue] = []
    (trace,) = read_all(path, issues)
    (span,) = trace.spans
    assert (span.kind, span.status) == (SpanKind.INTERNAL, StatusCode.ERROR)
    assert "2222222222222222" in issues[0].message
    assert "duration" in issues[0].message


def test_zipkin_v1_is_refused_clearly(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(
        json.dumps(
            [
                {
                    "traceId": "a" * 16,
                    "id": "b" * 16,
                    "name": "get",
                    "annotations": [
                        {"timestamp": 1, "value": "cs", "endpoint": {"serviceName": "x"}}
                    ],
                    "binaryAnnotations": [{"key": "http.path", "value": "/"}],
                }
            ]
        )
    )
    with pytest.raises(SourceError, match="Zipkin v1 is not supported"):
        read_all(path)
