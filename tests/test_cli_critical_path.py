"""`tracelens critical-path FILE`: jsonl and table output, trace selection, errors, skips."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from rich.console import Console

from tests.builders import span, trace
from tracelens.cli import main
from tracelens.critical_path import critical_path
from tracelens.graph import build_tree
from tracelens.model import SpanKind
from tracelens.report import waterfall

T0_US = 1_700_000_000_000_000  # µs since the epoch, as Jaeger writes startTime
CHECKOUT = "00000000000000000000000000c0ffee"
SEARCH = "4bf92f3577b34da6a3ce929d0e0e4736"


def jaeger_span(trace_id, span_id, parent, name, start_ms, end_ms, pid, kind=None):
    tags = [{"key": "span.kind", "type": "string", "value": kind}] if kind else []
    refs = [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}] if parent else []
    return {
        "traceID": trace_id, "spanID": span_id, "operationName": name, "references": refs,
        "startTime": T0_US + start_ms * 1000, "duration": (end_ms - start_ms) * 1000,
        "tags": tags, "logs": [], "processID": pid,
    }  # fmt: skip


@pytest.fixture
def traces_file(tmp_path: Path) -> Path:
    """Two traces as the Jaeger UI downloads them.

    checkout (trace id c0ffee, short in Jaeger's 16-char form):
      frontend POST /checkout     |----------------------------------------|  0..100 ms
      frontend GET cart (client)       |---------|                            10..30
      cart     GET cart (server)                          |----|              ~ 60..70 on a skewed
                                                                               host: centred 15..25
      frontend SELECT x3                       |-|-|-|                        40..70 back to back
    search:
      search   GET /search        |--------|  0..50 ms, no children
    """
    checkout = {
        "traceID": "0000000000c0ffee",
        "spans": [
            jaeger_span("0000000000c0ffee", "00000000000000a1", None, "POST /checkout", 0, 100,
                        "p1", "server"),
            jaeger_span("0000000000c0ffee", "00000000000000a2", "00000000000000a1", "GET cart",
                        10, 30, "p1", "client"),
            jaeger_span("0000000000c0ffee", "00000000000000a3", "00000000000000a2", "GET cart",
                        60, 70, "p2", "server"),
            *(
                jaeger_span("0000000000c0ffee", f"00000000000000b{k}", "00000000000000a1",
                            "SELECT", 40 + 10 * k, 50 + 10 * k, "p1", "client")
                for k in range(3)
            ),
        ],
        "processes": {
            "p1": {"serviceName": "frontend", "tags": [{"key": "ip", "type": "string",
                                                         "value": "10.0.0.1"}]},
            "p2": {"serviceName": "cart", "tags": [{"key": "ip", "type": "string",
                                                     "value": "10.0.0.2"}]},
        },
    }  # fmt: skip
    search = {
        "traceID": SEARCH,
        "spans": [jaeger_span(SEARCH, "00000000000000c1", None, "GET /search", 0, 50, "p1")],
        "processes": {"p1": {"serviceName": "search", "tags": []}},
    }
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"data": [checkout, search]}))
    return path


def jsonl(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_jsonl_prints_one_object_per_segment_and_nothing_else(traces_file, capsys):
    assert main(["critical-path", str(traces_file), "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    rows = jsonl(out)
    assert err == ""
    assert {r["traceID"] for r in rows} == {CHECKOUT, SEARCH}
    assert all(
        list(r) == ["traceID", "spanID", "service", "operation", "start_us", "end_us"] for r in rows
    )
    checkout = [r for r in rows if r["traceID"] == CHECKOUT]
    # The cart server span sat outside its client on another host: shifted to 15..25 ms.
    assert [(r["service"], r["operation"], r["start_us"] - T0_US, r["end_us"] - T0_US)
            for r in checkout] == [
        ("frontend", "POST /checkout", 0, 10_000),
        ("frontend", "GET cart", 10_000, 15_000),
        ("cart", "GET cart", 15_000, 25_000),
        ("frontend", "GET cart", 25_000, 30_000),
        ("frontend", "POST /checkout", 30_000, 40_000),
        ("frontend", "SELECT", 40_000, 50_000),
        ("frontend", "SELECT", 50_000, 60_000),
        ("frontend", "SELECT", 60_000, 70_000),
        ("frontend", "POST /checkout", 70_000, 100_000),
    ]  # fmt: skip
    assert all(isinstance(r["start_us"], int) and isinstance(r["end_us"], int) for r in rows)
    assert all(a["end_us"] == b["start_us"] for a, b in pairwise(checkout))


def test_trace_id_selects_one_trace_and_accepts_the_short_jaeger_form(traces_file, capsys):
    assert (
        main(["critical-path", str(traces_file), "--trace-id", "C0FFEE", "--format", "jsonl"]) == 0
    )
    rows = jsonl(capsys.readouterr().out)
    assert {r["traceID"] for r in rows} == {CHECKOUT}
    assert len(rows) == 9


def test_an_unknown_trace_id_is_an_error_with_exit_1(traces_file, capsys):
    assert main(["critical-path", str(traces_file), "--trace-id", "abc123"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "abc123" in err
    assert str(traces_file) in err
    assert len(err.strip().splitlines()) == 1


def test_a_trace_id_that_is_not_hex_is_looked_for_as_given(traces_file, capsys):
    assert main(["critical-path", str(traces_file), "--trace-id", "not-a-trace"]) == 1
    assert "trace not-a-trace is not in" in capsys.readouterr().err


def test_a_missing_file_is_one_line_on_stderr_and_exit_1(tmp_path, capsys):
    assert main(["critical-path", str(tmp_path / "nope.json")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "nope.json" in err
    assert "Traceback" not in err


def test_skipped_traces_are_counted_on_stderr_and_the_rest_still_printed(tmp_path, capsys):
    good = {
        "traceID": SEARCH,
        "spans": [jaeger_span(SEARCH, "00000000000000c1", None, "GET /search", 0, 50, "p1")],
        "processes": {"p1": {"serviceName": "search", "tags": []}},
    }
    bad = {
        "traceID": "00000000000000000000000000000bad",
        "spans": [{**good["spans"][0], "traceID": "0bad", "startTime": "yesterday"}],
        "processes": good["processes"],
    }
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"data": [bad, good]}))
    assert main(["critical-path", str(path), "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert [r["traceID"] for r in jsonl(out)] == [SEARCH]
    # by unit: the span that could not be read, and the trace it left with no spans
    assert err.startswith("left out 1 trace (every span skipped); 1 span (malformed span) ")
    assert "mixed.json" in err


def test_the_table_is_a_waterfall_per_trace(traces_file, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["critical-path", str(traces_file)]) == 0
    out = capsys.readouterr().out
    assert f"trace {CHECKOUT}" in out
    assert f"trace {SEARCH}" in out
    assert "SELECT ×3" in out  # back-to-back calls of one operation share a row
    assert "clock skew: cart span 00000000000000a3 moved -45.000 ms" in out
    assert "\x1b[" not in out
    assert max(map(len, out.splitlines())) <= 100


def test_waterfall_rows_give_offset_time_on_path_and_a_bar_within_the_width():
    #  X |----------------------------------------|  0..100 ms
    #  A          |----------|                        25..50
    ms = 1_000_000
    t = trace(span("X", 0, 100 * ms, service="front", kind=SpanKind.SERVER,
                   children=[span("A", 25 * ms, 50 * ms, service="db")]))  # fmt: skip
    tree = build_tree(t)
    buf = io.StringIO()
    waterfall.render(tree, critical_path(tree), Console(file=buf, width=100, color_system=None))
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith(f"trace {t.trace_id}  front: X  100.000 ms, 2 spans, 3 path")
    rows = [line.split() for line in lines[2:5]]
    assert [r[:4] for r in rows] == [
        ["front", "X", "0.000", "25.000"],
        ["db", "A", "25.000", "25.000"],
        ["front", "X", "50.000", "50.000"],
    ]
    bars = [r[4] for r in rows]
    cells = len(bars[0])
    assert {len(b) for b in bars} == {cells}
    assert bars[1] == "·" * (cells // 4) + "█" * (cells // 2 - cells // 4) + "·" * (
        cells - cells // 2
    )
    assert all(len(line) <= 100 for line in lines)


def test_a_narrow_terminal_keeps_every_line_within_its_width():
    long_name = "an operation name far too long to fit in forty columns"
    t = trace(
        span("X", 0, 100, service="a-rather-long-service", children=[span(long_name, 10, 90)])
    )
    tree = build_tree(t)
    buf = io.StringIO()
    waterfall.render(tree, critical_path(tree), Console(file=buf, width=60, color_system=None))
    assert all(len(line) <= 60 for line in buf.getvalue().splitlines()[1:])


def test_the_command_runs_as_a_module_entry_point(traces_file):
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tracelens", "critical-path", str(traces_file), "--format", "jsonl"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 10
