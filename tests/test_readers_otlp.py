"""OTLP/JSON, Tempo and Jaeger api_v3 files: id encodings, enums, AnyValues, JSON lines merging."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, SpanKind, StatusCode, Trace, Unit
from tracelens.readers import parse_document, read_traces

FIXTURES = Path(__file__).parent.parent / "fixtures"


def read_all(path: Path, issues: list[ReadIssue] | None = None) -> list[Trace]:
    return list(read_traces(path, [] if issues is None else issues))


def test_the_spec_example_lowercases_uppercase_hex_ids():
    (trace,) = read_all(FIXTURES / "otlp" / "opentelemetry-proto_examples_trace.json")
    (span,) = trace.spans
    assert trace.trace_id == "5b8efff798038103d269b633813fc60c"
    assert (span.span_id, span.parent_id) == ("eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert (span.service, span.kind) == ("my.service", SpanKind.SERVER)
    assert (span.start_ns, span.duration_ns) == (1544712660000000000, 1_000_000_000)
    assert span.attributes == {"my.span.attr": "some value"}


def test_tempo_batches_with_uppercase_hex_are_not_base64_decoded():
    (trace,) = read_all(FIXTURES / "tempo" / "v1-batches_uppercase-hex_trace.json")
    assert trace.trace_id == "5b8efff798038103d269b633813fc60c"
    assert trace.spans[0].span_id == "eee19b7ec3c1b174"


def test_api_v3_at_1_53_decodes_base64_and_skips_the_absurd_timestamp():
    issues: list[ReadIssue] = []
    traces = read_all(FIXTURES / "jaeger" / "v3-GetTrace_v1.53.0_base64-ids.json", issues)
    assert traces == []  # its only span has a zero Go time cast to uint64
    issue, emptied = issues
    assert "000000000000009600000000000000a0" in issue.message  # base64 trace id, decoded
    assert "00000000000000b4" in issue.message  # base64 span id, decoded
    assert "11651379494838206464" in issue.message
    assert (issue.unit, emptied.unit) == (Unit.SPAN, Unit.TRACE)  # the trace it left empty, too
    assert "every span" in emptied.message


def test_a_span_without_start_or_end_time_is_dropped_and_its_empty_trace_said():
    issues: list[ReadIssue] = []
    assert read_all(FIXTURES / "jaeger" / "v3-GetTrace_hex-ids.json", issues) == []
    assert [(i.unit, i.reason) for i in issues] == [
        (Unit.SPAN, "no start time"),
        (Unit.TRACE, "every span skipped"),
    ]
    assert "trace 00000000000000000000000000000001" in issues[1].message


def test_api_v3_at_1_54_reads_hex_ids_and_integer_enums():
    doc = json.loads((FIXTURES / "jaeger" / "v3-GetTrace_hex-ids.json").read_text())
    (raw,) = doc["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    raw.update(startTimeUnixNano="1700000000000000000", endTimeUnixNano="1700000000000001000")
    (trace,) = parse_document(doc, "v3")
    (span,) = trace.spans
    assert trace.trace_id == "00000000000000000000000000000001"
    assert (span.span_id, span.parent_id) == ("0000000000000002", None)
    assert (span.kind, span.status) == (SpanKind.SERVER, StatusCode.ERROR)


def test_enum_names_base64_ids_and_every_anyvalue_shape():
    tid, sid = bytes(range(1, 17)), bytes(range(1, 9))
    span = {
        "traceId": base64.b64encode(tid).decode(),
        "spanId": base64.b64encode(sid).decode(),
        "parentSpanId": "",
        "name": "GET /x",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": 1700000000000000000,  # a number, not a string
        "endTimeUnixNano": "1700000000500000000",
        "status": {"code": "STATUS_CODE_ERROR"},
        "attributes": [
            {"key": "s", "value": {"stringValue": "v"}},
            {"key": "i", "value": {"intValue": "42"}},
            {"key": "d", "value": {"doubleValue": 1.5}},
            {"key": "b", "value": {"boolValue": True}},
            {
                "key": "arr",
                "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}},
            },
            {
                "key": "kv",
                "value": {"kvlistValue": {"values": [{"key": "a", "value": {"boolValue": False}}]}},
            },
            {"key": "empty", "value": {}},
        ],
        "events": [
            {
                "timeUnixNano": "1700000000100000000",
                "name": "retry",
                "attributes": [{"key": "n", "value": {"intValue": 2}}],
            }
        ],
        "links": [
            {"traceId": tid.hex().upper(), "spanId": "0A0B0C0D0E0F1011"},
            {"traceId": "ff" * 16, "spanId": "1111111111111111"},
        ],
    }
    doc = {
        "trace": {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [
                            {"key": "service.name", "value": {"stringValue": "web"}},
                            {"key": "host.name", "value": {"stringValue": "node-7"}},
                        ]
                    },
                    "scopeSpans": [{"scope": {"name": "lib"}, "spans": [span]}],
                }
            ]
        },
        "status": "PARTIAL",
    }
    (trace,) = parse_document(doc, "tempo v2")
    (s,) = trace.spans
    assert trace.trace_id == tid.hex()
    assert (s.span_id, s.parent_id) == (sid.hex(), None)
    assert (s.kind, s.status) == (SpanKind.CLIENT, StatusCode.ERROR)
    assert (s.start_ns, s.end_ns) == (1700000000000000000, 1700000000500000000)
    assert s.attributes["i"] == 42
    assert s.attributes["d"] == 1.5
    assert s.attributes["b"] is True
    assert json.loads(str(s.attributes["arr"])) == [1, "x"]
    assert json.loads(str(s.attributes["kv"])) == {"a": False}
    assert s.attributes["empty"] == ""
    assert s.events[0].name == "retry"
    assert s.events[0].attributes == {"n": 2}
    assert s.links == ("0a0b0c0d0e0f1011",)  # the link into another trace is not kept
    assert (s.service, s.process) == ("web", "web@node-7")


def test_snake_case_and_instrumentation_library_spans_read_like_camel_case(tmp_path):
    camel = json.loads((FIXTURES / "otlp" / "otlp2jaeger-in.json").read_text())
    snake = {
        "resource_spans": [
            {
                "resource": camel["resourceSpans"][0]["resource"],
                "instrumentation_library_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": s["traceId"],
                                "span_id": s["spanId"],
                                "parent_span_id": s["parentSpanId"],
                                "name": s["name"],
                                "kind": s["kind"],
                                "start_time_unix_nano": int(s["startTimeUnixNano"]),
                                "end_time_unix_nano": int(s["endTimeUnixNano"]),
                                "attributes": [
                                    {
                                        "key": a["key"],
                                        "value": {"string_value": a["value"]["stringValue"]},
                                    }
                                    for a in s.get("attributes", [])
                                ],
                            }
                            for s in camel["resourceSpans"][0]["scopeSpans"][0]["spans"]
                        ]
                    }
                ],
            }
        ]
    }
    path = tmp_path / "snake"
    path.write_text(json.dumps(snake))
    (from_snake,) = read_all(path)
    (from_camel,) = read_all(FIXTURES / "otlp" / "otlp2jaeger-in.json")
    assert from_snake.spans == from_camel.spans
    assert len(from_camel.spans) == 2  # the duplicate span survives reading


def test_json_lines_merge_the_parts_of_one_trace():
    (trace,) = read_all(FIXTURES / "otlp" / "otlp-jsonl_multi-in.jsonl")
    assert trace.trace_id == "c620759e5d60fafb8ee0922b30e06bc6"
    assert len(trace.spans) == 4
    by_id = {s.span_id: s for s in trace.spans}
    assert by_id["49b8e9efa1e8a3b1"].parent_id == "eff3153be6b1fb93"
    assert by_id["eff3153be6b1fb93"].parent_id is None


def export_line(trace_id: str, span_ids: list[str]) -> str:
    spans = [
        {
            "traceId": trace_id,
            "spanId": s,
            "name": s,
            "startTimeUnixNano": "1000",
            "endTimeUnixNano": "2000",
        }
        for s in span_ids
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


def test_interleaved_export_lines_emit_each_trace_once_its_last_line_is_read(tmp_path):
    a, b = "a" * 32, "b" * 32
    path = tmp_path / "export"
    path.write_text(
        "\n".join(
            [
                export_line(a, ["a000000000000001"]),
                export_line(b, ["b000000000000001"]),
                export_line(a, ["a000000000000002"]),
                json.dumps({"result": json.loads(export_line(b, ["b000000000000002"]))}),
            ]
        )
        + "\n"
    )
    reader = read_traces(path, [])
    first = next(reader)
    assert first.trace_id == a
    assert len(first.spans) == 2
    assert first.origin == f"{path}:1"
    second = next(reader)
    assert second.trace_id == b
    assert [s.name for s in second.spans] == [
        "b000000000000001",
        "b000000000000002",
    ]
    assert next(reader, None) is None


def test_a_bad_line_is_an_issue_with_its_line_number(tmp_path):
    path = tmp_path / "export"
    path.write_text(
        export_line("a" * 32, ["a000000000000001"])
        + "\n{not json\n"
        + export_line("c" * 32, ["c000000000000001"])
        + "\n"
    )
    issues: list[ReadIssue] = []
    traces = read_all(path, issues)
    assert [t.trace_id[0] for t in traces] == ["a", "c"]
    (issue,) = issues
    assert issue.origin == f"{path}:2"
    assert "not valid JSON" in issue.message


def test_tempo_search_results_hold_no_spans(tmp_path):
    path = tmp_path / "search"
    path.write_text(
        json.dumps(
            {
                "traces": [
                    {
                        "traceID": "d6e9329d67b6146a",
                        "rootServiceName": "api",
                        "startTimeUnixNano": "1",
                        "durationMs": 5,
                    }
                ]
            }
        )
    )
    with pytest.raises(SourceError, match=r"no spans|not spans"):
        read_all(path)


def test_an_empty_tempo_v2_trace_means_no_traces(tmp_path):
    path = tmp_path / "notfound.json"
    path.write_text('{"trace": {}}')
    assert read_all(path) == []


def test_one_odd_id_in_a_batch_still_normalises_every_id_and_zero_parents_are_roots(tmp_path):
    spans = [
        {
            "traceId": "a" * 32,
            "spanId": "00000000000000a1",
            "parentSpanId": "0000000000000000",
            "name": "root",
            "startTimeUnixNano": "1",
            "endTimeUnixNano": "9",
        },
        {
            "traceId": "A" * 32,
            "spanId": "00000000000000A2",
            "parentSpanId": "00000000000000A1",
            "name": "child",
            "startTimeUnixNano": "2",
            "endTimeUnixNano": "3",
        },
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    (trace,) = read_all(path)
    root, child = trace.spans
    assert (root.span_id, root.parent_id) == ("00000000000000a1", None)
    assert (child.span_id, child.parent_id) == ("00000000000000a2", "00000000000000a1")
