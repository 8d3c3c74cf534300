"""Hostile and broken input (issue #10): a clear line or an exact count, never a crash or a hang."""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.test_fuzz import run_cli
from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Span, SpanKind, Trace, Unit
from tracelens.pipeline import slowest
from tracelens.readers import read_traces
from tracelens.readers.accounting import describe, tally
from tracelens.readers.pieces import pieces, read_piece

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "fixtures" / "jaeger" / "v1-trace-object_ui_01.json"
JSONL = ROOT / "fixtures" / "otlp" / "otlp-jsonl_multi-in.jsonl"
REG = ROOT / "fixtures" / "regressions"
T0 = 1_700_000_000_000_000_000


def read(path: Path | str) -> tuple[list[Trace], list[ReadIssue]]:
    issues: list[ReadIssue] = []
    return list(read_traces(path, issues)), issues


def test_json_nested_past_the_decoders_limit_is_one_line_naming_the_limit():
    with pytest.raises(SourceError, match=r"nested deeper than [\d,]+ levels"):
        read(REG / "deep-nesting-5000.json")
    code, err = run_cli(["critical-path", str(REG / "deep-nesting-5000.json")])
    assert code == 1
    assert err.count("\n") == 1


@pytest.mark.parametrize("name", ["jaeger-duration-1e400.json", "jaeger-start-1e999.json"])
def test_an_out_of_range_number_skips_its_span_and_the_rest_is_read(name):
    traces, issues = read(REG / name)
    whole, _ = read(UI)
    assert sum(len(t.spans) for t in traces) == sum(len(t.spans) for t in whole) - 1
    (issue,) = issues
    assert (issue.unit, issue.count) == (Unit.SPAN, 1)


@pytest.mark.parametrize("name", ["otlp-start-1e400.json", "otlp-kind-1e999.json"])
def test_an_out_of_range_number_in_an_otlp_span_costs_that_span_only(name):
    traces, issues = read(REG / name)
    whole, _ = read(ROOT / "fixtures" / "otlp" / "otlp2jaeger-in.json")
    assert sum(len(t.spans) for t in traces) == sum(len(t.spans) for t in whole) - 1
    (issue,) = issues
    assert (issue.unit, issue.count, issue.reason) == (Unit.SPAN, 1, "malformed span")


def test_a_fifo_with_a_writer_is_read_as_a_stream(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = JSONL.read_bytes()
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    traces, issues = read(fifo)
    writer.join(5)
    assert [t.spans for t in traces] == [t.spans for t in read(JSONL)[0]]
    assert issues == []


def test_a_gzipped_stream_through_a_fifo_is_read_too(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = gzip.compress(UI.read_bytes())
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    code, err = run_cli(["critical-path", str(fifo), "--format", "jsonl"])
    writer.join(5)
    assert (code, err) == (0, "")


def test_a_directory_holding_a_fifo_and_a_socket_skips_them_without_hanging(tmp_path):
    (tmp_path / "a.json").write_bytes(UI.read_bytes())
    os.mkfifo(tmp_path / "b.fifo")  # opening it would wait for a writer forever
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "c.sock"))
    try:
        traces, issues = read(tmp_path)
        assert len(traces) == len(read(UI)[0])
        assert sorted((Path(i.origin).name, i.unit) for i in issues) == [
            ("b.fifo", Unit.FILE),
            ("c.sock", Unit.FILE),
        ]
        assert "a FIFO" in issues[0].message
        report = slowest(str(tmp_path))
        assert report.selection.files_read == 1
        assert ("not a regular file", 2) in [(r.reason, r.count) for r in report.selection.left_out]
    finally:
        sock.close()


def test_leading_whitespace_past_512_bytes_is_not_an_empty_file():
    traces, _ = read(REG / "whitespace-600-then-jaeger.json")
    assert [t.spans for t in traces] == [t.spans for t in read(UI)[0]]


def test_a_file_of_only_whitespace_says_so(tmp_path):
    path = tmp_path / "spaces.json"
    path.write_bytes(gzip.compress(b" " * (3 << 20)))
    with pytest.raises(SourceError, match="empty file \\(only whitespace\\)"):
        read(path)


@pytest.mark.parametrize("name", ["utf16-with-bom.json", "utf16le-no-bom.json"])
def test_utf16_is_named_with_how_to_convert_it_not_called_protobuf(name):
    with pytest.raises(SourceError, match="UTF-16") as e:
        read(REG / name)
    assert "protobuf" not in str(e.value)
    assert "iconv" in str(e.value)


def test_a_bad_json_line_is_counted_by_the_traces_it_held():
    _, issues = read(REG / "jsonl-one-bad-line.jsonl")
    (issue,) = issues
    assert (issue.unit, issue.count) == (Unit.LINE, 1)
    assert issue.traces >= 1
    assert f"spans of {issue.traces}" in issue.message
    assert describe(tally(issues)).startswith("1 line (not valid JSON: spans of")


def test_ids_that_are_not_hex_or_base64_are_kept_instead_of_skipping_spans(tmp_path):
    spans = [
        {"traceID": "trace-123", "spanID": "span-A", "operationName": "a", "processID": "p1",
         "startTime": 1_700_000_000_000_000, "duration": 10},
        {"traceID": "trace-123", "spanID": "span-B", "operationName": "b", "processID": "p1",
         "startTime": 1_700_000_000_000_001, "duration": 5,
         "references": [{"refType": "CHILD_OF", "traceID": "trace-123", "spanID": "span-A"}]},
    ]  # fmt: skip
    path = tmp_path / "ids.json"
    doc = {"traceID": "trace-123", "spans": spans, "processes": {"p1": {"serviceName": "s"}}}
    path.write_text(json.dumps(doc))
    (trace,), issues = read(path)
    assert issues == []
    assert trace.trace_id == "trace-123"
    assert {(s.span_id, s.parent_id) for s in trace.spans} == {
        ("span-A", None),
        ("span-B", "span-A"),
    }


def test_when_every_span_is_skipped_critical_path_exits_1_saying_what_happened():
    sample = ROOT / "fixtures" / "jaeger" / "v3-GetTrace_hex-ids.json"  # no start or end time
    code, err = run_cli(["critical-path", str(sample)])
    assert code == 1
    assert "no trace of" in err
    assert "1 span (no start time)" in err
    code, err = run_cli(["slowest", "--source", str(sample)])
    assert code == 1
    assert "window" not in err  # no window was given
    assert "no trace could be analysed" in err


def test_a_trace_over_max_spans_per_trace_is_left_out_and_counted():
    code, err = run_cli(["critical-path", str(UI), "--max-spans-per-trace", "1"])
    assert code == 1
    assert "more spans than --max-spans-per-trace" in err
    code, _ = run_cli(["critical-path", str(UI), "--max-spans-per-trace", "0"])
    assert code == 2


def _span(tid: str, sid: str, parent: str | None, start_ms: int, end_ms: int) -> Span:
    return Span(tid, sid, parent, "web", "GET /page", SpanKind.SERVER,
                T0 + start_ms * 1_000_000, T0 + end_ms * 1_000_000,
                attributes={"http.route": "/page"})  # fmt: skip


def test_a_fragment_whose_root_was_lost_is_left_out_of_the_route_and_counted():
    traces = [
        Trace(f"{i:032x}", (_span(f"{i:032x}", f"{i:016x}", None, i * 1000, i * 1000 + 100 + i),))
        for i in range(1, 41)
    ]
    fragment_id = f"{99:032x}"
    fragment = Trace(
        fragment_id, (_span(fragment_id, "f" * 16, "e" * 16, 50_000, 99_000),)
    )  # its parent, the root, was lost; 49 s would be the slowest request by far
    report = slowest([*traces, fragment], resamples=20)
    assert fragment_id not in {t.trace_id for t in report.trace_rows}
    assert report.stats.count == 40
    (row,) = [r for r in report.selection.left_out if r.reason.startswith("fragment")]
    assert (row.unit, row.count) == (Unit.TRACE, 1)
    assert report.selection.skipped[row.reason] == 1


def test_the_slowest_report_says_what_was_read_and_left_out_by_unit(tmp_path, capsys):
    from tracelens.cli import main

    path = tmp_path / "in.jsonl"
    path.write_bytes((REG / "jsonl-one-bad-line.jsonl").read_bytes())
    code = main(["slowest", "--source", str(path), "--resamples", "100", "--json"])
    out, err = capsys.readouterr()
    if code == 0:
        doc = json.loads(out)
        assert doc["read"]["files"] == 1
        assert doc["read"]["left_out"][0]["unit"] == "line"
        assert "warning: read " in err
        assert "1 line (not valid JSON" in err
    else:  # what is left may be too little for a report; it must still say so in one line
        assert err.count("\n") == 1


def test_a_trace_with_bad_utf8_in_a_jaeger_document_is_left_out_alone(tmp_path: Path) -> None:
    # Found by the fuzzer: one trace's bad byte failed the whole file (and crashed on the way).
    def trace(tid: str, name: bytes) -> bytes:
        return (
            b'{"traceID":"' + tid.encode() + b'","spans":[{"traceID":"' + tid.encode() + b'",'
            b'"spanID":"00000000000000a1","operationName":"' + name + b'","references":[],'
            b'"startTime":1700000000000000,"duration":1000,"processID":"p1"}],'
            b'"processes":{"p1":{"serviceName":"svc"}}}'
        )

    path = tmp_path / "traces.json"
    path.write_bytes(
        b'{"data":['
        + b",".join([trace("a1", b"GET"), trace("b2", b"GET \xff\xfe"), trace("c3", b"POST")])
        + b"]}"
    )
    issues: list[ReadIssue] = []
    read = [t.trace_id for t in read_traces(path, issues)]
    assert [t[-2:] for t in read] == ["a1", "c3"]
    assert len(issues) == 1
    assert "trace 2" in issues[0].origin
    assert "not valid JSON" in issues[0].message
    pieces_read = [t.trace_id for p in pieces(path) for t in read_piece(p, [])]
    assert pieces_read == read
