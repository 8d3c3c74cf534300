"""Reading files: gzip by magic bytes, stdin, directories, format by content, clear errors."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Trace
from tracelens.readers import read_traces

FIXTURES = Path(__file__).parent.parent / "fixtures"
JAEGER = FIXTURES / "jaeger" / "v1-response-envelope_otlp2jaeger-out.json"
OTLP_LINES = FIXTURES / "otlp" / "otlp-jsonl_multi-in.jsonl"
ZIPKIN = FIXTURES / "zipkin" / "zipkin2_skew.json"


def read_all(path: str | Path, issues: list[ReadIssue] | None = None) -> list[Trace]:
    return list(read_traces(path, [] if issues is None else issues))


def spans_of(traces: list[Trace]) -> list[tuple[str, ...]]:
    return [tuple(s.span_id for s in t.spans) for t in traces]


@pytest.mark.parametrize("sample", [JAEGER, OTLP_LINES, ZIPKIN])
def test_the_format_comes_from_the_content_not_the_name(tmp_path, sample):
    misnamed = tmp_path / "traces.zipkin.proto.txt"
    shutil.copy(sample, misnamed)
    assert spans_of(read_all(misnamed)) == spans_of(read_all(sample))


@pytest.mark.parametrize("sample", [JAEGER, OTLP_LINES])
def test_gzip_is_recognised_by_its_magic_bytes(tmp_path, sample):
    packed = tmp_path / "no-extension"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    assert spans_of(read_all(packed)) == spans_of(read_all(sample))


def test_stdin_is_read_with_a_dash(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OTLP_LINES.read_bytes())))
    (trace,) = read_all("-")
    assert len(trace.spans) == 4
    assert trace.origin == "stdin:1"


def test_stdin_through_a_real_pipe():
    code = (
        "from tracelens.readers import read_traces\n"
        "print(sum(len(t.spans) for t in read_traces('-')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=gzip.compress(ZIPKIN.read_bytes()),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == b"4"


def test_a_directory_is_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    shutil.copy(ZIPKIN, tmp_path / "b" / "deeper" / "1.json")
    shutil.copy(JAEGER, tmp_path / "a.json")
    (tmp_path / ".hidden").write_bytes(b"\x00\x01binary")
    traces = read_all(tmp_path)
    assert [t.origin for t in traces] == [
        str(tmp_path / "a.json"),
        str(tmp_path / "b/deeper/1.json"),
    ]


def test_an_unreadable_file_in_a_directory_is_an_issue(tmp_path):
    shutil.copy(ZIPKIN, tmp_path / "good.json")
    (tmp_path / "notes.txt").write_text("hello\n")
    issues: list[ReadIssue] = []
    assert len(read_all(tmp_path, issues)) == 1
    assert [i.origin for i in issues] == [str(tmp_path / "notes.txt")]


def test_an_empty_file_says_so(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n  \n")
    with pytest.raises(SourceError, match=r"empty\.json: empty file"):
        read_all(path)


def test_a_truncated_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "cut.json"
    path.write_bytes(JAEGER.read_bytes()[:900])
    with pytest.raises(SourceError) as info:
        read_all(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid JSON")
    assert "\n" not in message


def test_protobuf_and_zstd_are_refused_naming_the_file(tmp_path):
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    data = TracesData()
    span = data.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "x"
    proto = tmp_path / "traces.json"
    proto.write_bytes(data.SerializeToString())
    with pytest.raises(SourceError, match=rf"{proto}: binary data"):
        read_all(proto)
    zstd = tmp_path / "traces.jsonl"
    zstd.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
    with pytest.raises(SourceError, match=rf"{zstd}: zstd-compressed"):
        read_all(zstd)


def test_an_unknown_json_lines_file_names_the_line(tmp_path):
    path = tmp_path / "logs.jsonl"
    path.write_text('{"level": "info", "msg": "a"}\n{"level": "info", "msg": "b"}\n')
    with pytest.raises(SourceError, match=rf"{path}:1: not a trace format"):
        read_all(path)


def test_a_missing_path_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_all(tmp_path / "nope.json")


def test_without_an_issue_list_a_bad_line_raises(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_text(OTLP_LINES.read_text() + "{broken\n")
    with pytest.raises(SourceError, match=rf"{path}:5: not valid JSON"):
        list(read_traces(path))


def test_lines_longer_than_a_read_block_split_exactly_as_iterating_the_file(monkeypatch):
    from tracelens.readers import stream

    data = b"\n\nabc\r\n" + b"x" * 50 + b"\n \n" + b"y" * 9 + b"\nlast without newline"
    for block in (1, 2, 3, 7, 64, 1 << 20):
        monkeypatch.setattr(stream, "_BLOCK_BYTES", block)
        assert list(stream._lines(io.BytesIO(data))) == list(io.BytesIO(data))


def test_a_long_lines_file_read_in_small_blocks_gives_the_same_traces(monkeypatch):
    from tracelens.readers import stream

    whole = read_all(OTLP_LINES)
    monkeypatch.setattr(stream, "_BLOCK_BYTES", 5)
    assert read_all(OTLP_LINES) == whole


def test_the_first_pass_sees_every_trace_id_on_a_line_however_it_is_spelled():
    from tracelens.readers.stream import _ids_on

    a, b = "a" * 32, "b" * 32
    same = f'[{{"traceId":"{a}"}}, {{"traceId":"{a}"}}]'.encode()
    assert list(_ids_on(same)) == [a.encode()]
    mixed = f'[{{"traceId":"{a}"}}, {{"traceID": "{b}"}}, {{"trace_id":"{a}"}}]'.encode()
    assert list(_ids_on(mixed)) == [a.encode(), b.encode()]
    spaced = f'[{{"traceId":"{a}"}}, {{"traceId" : "{a}"}}, {{"traceId":"{b}"}}]'.encode()
    assert list(_ids_on(spaced)) == [a.encode(), b.encode()]
    assert list(_ids_on(b'{"spans": []}')) == []


def test_traces_ending_on_one_line_come_out_in_the_order_they_were_first_mentioned(tmp_path):
    ids = [f"{k:x}" * 32 for k in (9, 3, 7, 1, 5)]
    spans = [
        {"traceId": t, "spanId": f"{k + 1:016x}", "name": "op",
         "startTimeUnixNano": "1000", "endTimeUnixNano": "2000"}
        for k, t in enumerate(ids)
    ]  # fmt: skip
    path = tmp_path / "export.jsonl"
    line = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    path.write_text(line + "\n" + line + "\n")
    assert [t.trace_id for t in read_all(path)] == ids
