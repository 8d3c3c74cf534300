"""FileSource and open_source for paths: window filtering, issues kept, clear errors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tracelens.errors import SourceError, UsageError
from tracelens.sources import SOURCES, Window, open_source
from tracelens.sources.files import FileSource

FIXTURES = Path(__file__).parent.parent / "fixtures"


def export_line(trace_id: str, start_ns: int) -> str:
    spans = [
        {
            "traceId": trace_id,
            "spanId": trace_id[:16],
            "name": "GET",
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(start_ns + 10),
        }
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


@pytest.fixture
def three_traces(tmp_path) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_text(
        "\n".join(export_line(c * 32, t) for c, t in (("a", 100), ("b", 200), ("c", 300)))
    )
    return path


def test_the_window_filters_on_the_earliest_span_start(three_traces):
    source = FileSource(three_traces)
    assert [t.trace_id[0] for t in source.traces(Window(200, 300))] == ["b"]
    assert [t.trace_id[0] for t in source.traces(Window(start_ns=200))] == ["b", "c"]
    assert len(list(source.traces())) == 3


def test_bad_lines_are_kept_as_issues_on_the_source(three_traces):
    with three_traces.open("a") as f:
        f.write("\n{oops\n")
    source = FileSource(three_traces)
    assert len(list(source.traces())) == 3
    assert [i.origin for i in source.issues] == [f"{three_traces}:4"]


def test_open_source_takes_paths_file_urls_and_stdin(three_traces, tmp_path):
    assert open_source(str(three_traces)).description == f"file {three_traces}"
    assert open_source(f"file://{three_traces}").description == f"file {three_traces}"
    assert open_source(str(tmp_path)).description == f"directory {tmp_path}"
    assert open_source("-").description == "stdin"


def test_tracelens_source_is_the_default(three_traces, monkeypatch):
    monkeypatch.setenv("TRACELENS_SOURCE", str(three_traces))
    assert len(list(open_source(None).traces())) == 3


def test_without_a_source_the_local_store_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACELENS_SOURCE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert open_source(None).description.startswith("local store")


def test_without_a_source_or_a_store_the_error_says_what_to_run(monkeypatch):
    monkeypatch.delenv("TRACELENS_SOURCE", raising=False)
    monkeypatch.setitem(sys.modules, "tracelens.sources.store", None)  # import fails
    with pytest.raises(SourceError, match="run `tracelens demo` or pass --source"):
        open_source(None)


def test_a_missing_path_fails_when_opened(tmp_path):
    with pytest.raises(SourceError, match="no such file or directory"):
        open_source(str(tmp_path / "missing.json"))


def test_an_unregistered_url_scheme_is_a_clear_error():
    assert "nosuch+http" not in SOURCES
    with pytest.raises(UsageError, match="no source reads nosuch\\+http:// URLs"):
        open_source("nosuch+http://localhost:1")


def test_a_bare_http_url_says_which_prefix_to_add_and_hides_its_password():
    with pytest.raises(UsageError) as raised:
        open_source("http://admin:hunter22@tempo.example:3200")
    message = str(raised.value)
    assert "tempo+http://" in message
    assert "jaeger+http://" in message
    assert "hunter22" not in message
    assert "tempo.example:3200" in message


def test_a_directory_of_samples_reads_every_backend(tmp_path):
    for name in (
        "jaeger/v1-trace-object_ui_01.json",
        "otlp/otlp-jsonl_multi-in.jsonl",
        "zipkin/zipkin2_skew.json",
        "tempo/v1-batches_uppercase-hex_trace.json",
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / name, tmp_path / name)
    source = FileSource(tmp_path)
    services = {s.service for t in source.traces() for s in t.spans}
    assert {"service-x", "example-trace", "servicea", "my.service"} <= services
    assert source.issues == []
