"""`tracelens routes` and `tracelens trace` as users run them, on trace files."""

from __future__ import annotations

import json

import pytest

from tests.hostile import hostile_corpus
from tests.test_pipeline import corpus, page
from tracelens.cli import main
from tracelens.otlp_json import write_otlp_lines
from tracelens.report.safe import is_inert


@pytest.fixture
def mixed(tmp_path):
    path = tmp_path / "mixed.jsonl"
    traces = [page(i, "/a", 10) for i in range(30)] + [page(i + 30, "/b", 400) for i in range(5)]
    with path.open("wb") as out:
        write_otlp_lines(traces, out)
    return path


def test_routes_are_listed_slowest_p90_first_and_marked_over_the_slo(mixed, capsys):
    assert main(["routes", "-s", str(mixed), "--slo", "100ms"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "GET /" in line]
    assert "GET /b" in rows[0]
    assert rows[0].split()[-1] == "over"
    assert rows[1].split()[-1] == "ok"
    assert rows[1].split()[3] == "30"  # web: GET /a has 30 requests


def test_routes_sort_by_count_on_request(mixed, capsys):
    assert main(["routes", "-s", str(mixed), "--sort", "count"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "GET /" in line]
    assert "GET /a" in rows[0]


@pytest.fixture
def one_file(tmp_path):
    path = tmp_path / "t.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(corpus(20)[:1], out)
    return path


def test_trace_shows_the_critical_path_of_a_file(one_file, capsys):
    assert main(["trace", str(one_file)]) == 0
    out = capsys.readouterr().out
    assert "trace 00000000000000000000000000000001" in out
    assert "SELECT items" in out
    assert "patterns found" in out


def test_trace_json_gives_findings_with_pattern_and_span_ids(tmp_path, capsys):
    path = tmp_path / "n1.jsonl"
    slow = next(t for t in hostile_corpus() if len(t.spans) > 10)  # 12 sequential queries
    with path.open("wb") as out:
        write_otlp_lines([slow], out)
    assert main(["trace", str(path), "--json"]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text
    doc = json.loads(text)
    (n1,) = [f for f in doc["findings"] if f["pattern"] == "n_plus_one"]
    assert len(n1["span_ids"]) == 12
    assert doc["critical_path"][0]["span_id"]
    assert main(["trace", str(path)]) == 0
    assert is_inert(capsys.readouterr().out.replace("\n", ""))


def test_an_unknown_trace_id_is_one_line(one_file, capsys):
    assert main(["trace", "abc123", "-s", str(one_file)]) == 1
    err = capsys.readouterr().err
    assert "not found" in err
    assert "Traceback" not in err
    assert main(["trace", "not-an-id\x1b[2J"]) == 1
    assert "\x1b" not in capsys.readouterr().err
