"""Jaeger v1 JSON on real upstream files: ids, parents, links, services, kinds, units, tags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, SpanKind, StatusCode, Trace, Unit
from tracelens.readers import parse_document, read_traces

FIXTURES = Path(__file__).parent.parent / "fixtures" / "jaeger"


def read_all(path: Path, issues: list[ReadIssue] | None = None) -> list[Trace]:
    return list(read_traces(path, [] if issues is None else issues))


def test_a_bare_trace_object_gives_parents_links_and_typed_tags():
    (trace,) = read_all(FIXTURES / "v1-trace-object_ui_01.json")
    assert trace.trace_id == "00000000000000000000000000000001"  # 16-char id padded to 32
    by_id = {}
    for s in trace.spans:
        by_id.setdefault(s.span_id, []).append(s)
    assert len(by_id["0000000000000002"]) == 2  # duplicate span ids survive reading
    (s4,) = by_id["0000000000000004"]
    # The CHILD_OF into trace 00ff is skipped; the parent is the same-trace CHILD_OF; the
    # FOLLOWS_FROM to the same span is a link.
    assert s4.parent_id == "0000000000000002"
    assert s4.links == ("0000000000000002",)
    assert by_id["0000000000000005"][0].parent_id == "0000000000000004"
    assert {s.service for s in trace.spans} == {"service-x", "service-y"}
    tagged = by_id["0000000000000002"][1]
    assert tagged.attributes["javascript_limit"] == 9223372036854775222  # int64 sent as string
    assert tagged.attributes["peer.ipv4"] == 23456
    assert tagged.attributes["temperature"] == 72.5
    assert tagged.attributes["blob"] == "AAAwOQ=="
    assert tagged.status == StatusCode.ERROR  # error=true
    first = by_id["0000000000000002"][0]
    assert first.events[0].name == "some-event"
    assert first.events[0].time_ns == 1485467191639875 * 1000


def test_the_envelope_keeps_the_missing_parent_and_converts_microseconds():
    (trace,) = read_all(FIXTURES / "v1-response-envelope_otlp2jaeger-out.json")
    assert trace.trace_id == "83a9efd15c1c98a977e0711cc93ee28b"
    assert len(trace.spans) == 2  # an exact duplicate span is kept for the tree to drop
    span = trace.spans[0]
    assert span.parent_id == "909541b92cf05311"  # not in the trace: an orphan, still read
    assert span.kind == SpanKind.SERVER
    assert span.service == "telemetrygen"
    assert span.start_ns == 1706678909209712000
    assert span.duration_ns == 123_000


def test_spans_with_embedded_process_group_into_their_trace():
    (trace,) = read_all(FIXTURES / "v1-spans-embedded-process_trace_success.json")
    assert trace.trace_id == "00000000000000002be38093ead7a083"
    server, client = trace.spans
    assert (server.service, server.kind) == ("16af988c443cff37", SpanKind.SERVER)
    assert (client.parent_id, client.kind) == (server.span_id, SpanKind.CLIENT)
    assert client.status == StatusCode.ERROR  # "type": "bool", "value": "true"
    assert client.attributes["error"] is True


def test_two_hosts_of_one_service_are_two_processes():
    doc = {
        "traceID": "abc",
        "spans": [
            {
                "traceID": "abc",
                "spanID": "1",
                "operationName": "a",
                "references": [],
                "startTime": 1,
                "duration": 5,
                "processID": "p1",
            },
            {
                "traceID": "abc",
                "spanID": "2",
                "operationName": "b",
                "references": [{"refType": "CHILD_OF", "traceID": "abc", "spanID": "1"}],
                "startTime": 2,
                "duration": 1,
                "processID": "p2",
            },
        ],
        "processes": {
            "p1": {
                "serviceName": "api",
                "tags": [{"key": "hostname", "type": "string", "value": "h1"}],
            },
            "p2": {
                "serviceName": "api",
                "tags": [{"key": "hostname", "type": "string", "value": "h2"}],
            },
        },
    }
    (trace,) = parse_document(doc, "test")
    a, b = trace.spans
    assert (a.service, b.service) == ("api", "api")
    assert a.process != b.process
    assert (a.span_id, b.parent_id) == ("0000000000000001", "0000000000000001")


def test_json_lines_of_trace_objects_and_the_envelope_read_the_same(tmp_path):
    doc = json.loads((FIXTURES / "v1-trace-object_ui_01.json").read_text())
    other = json.loads(json.dumps(doc).replace("0000000000000001", "00000000000000aa"))
    path = tmp_path / "lines"
    path.write_text(json.dumps(doc) + "\n" + json.dumps(other) + "\n")
    lines = read_all(path)
    assert [t.trace_id[-2:] for t in lines] == ["01", "aa"]
    assert [t.origin for t in lines] == [f"{path}:1", f"{path}:2"]
    envelope = tmp_path / "envelope"
    envelope.write_text(json.dumps({"data": [doc, other], "errors": None}))
    assert [t.spans for t in read_all(envelope)] == [t.spans for t in lines]


def test_a_bad_trace_in_an_envelope_is_an_issue_and_the_rest_is_read(tmp_path):
    good = json.loads((FIXTURES / "v1-trace-object_ui_01.json").read_text())
    bad = {"traceID": "02", "spans": [{"spanID": "1", "startTime": "soon"}]}
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"data": [bad, good]}))
    issues: list[ReadIssue] = []
    (trace,) = read_all(path, issues)
    assert trace.trace_id.endswith("01")
    span, emptied = issues  # the span that could not be read, and the trace it left empty
    assert "trace 1" in span.origin or "trace 1" in span.message
    assert "startTime" in span.message
    assert (span.unit, emptied.unit) == (Unit.SPAN, Unit.TRACE)


def test_an_error_envelope_names_the_server_message(tmp_path):
    path = tmp_path / "err.json"
    path.write_text('{"data":null,"total":0,"errors":[{"code":404,"msg":"trace not found"}]}')
    with pytest.raises(SourceError, match="trace not found"):
        read_all(path)


def test_trace_summaries_hold_no_spans():
    with pytest.raises(SourceError, match="no spans"):
        read_all(FIXTURES / "v3-FindTraceSummaries.json")


def test_a_services_list_is_not_a_trace_file(tmp_path):
    copy = tmp_path / "services.json"
    shutil.copy(FIXTURES / "v3-GetServices.json", copy)
    with pytest.raises(SourceError) as info:
        read_all(copy)
    assert str(info.value).startswith(f"{copy}: not a trace format")
    assert "\n" not in str(info.value)
