"""Names from traces come out inert in every format: terminal, Markdown, CSV, JSON and HTML."""

from __future__ import annotations

import csv as stdcsv
import io
import json as stdjson

import pytest
from markdown_it import MarkdownIt

import tracelens
from tests.hostile import hostile_corpus
from tracelens.report import csv, html, json, markdown, terminal
from tracelens.report.safe import is_inert, json_inert, visible


@pytest.fixture(scope="module")
def report():
    return tracelens.slowest(hostile_corpus(), route="result", resamples=200)


def out(render, report, **options) -> str:
    buf = io.StringIO()
    render(report, buf, **options)
    return buf.getvalue()


def test_the_hostile_names_do_reach_the_report(report):
    # the checks below could fail: the names are in the rows, raw
    assert any("\x1b" in c.service for c in report.contributor_rows)
    assert any("\x07" in c.operation for c in report.contributor_rows)


def test_visible_escapes_every_control_and_keeps_text_otherwise():
    assert visible("a\x1b[2Jb\x07\n\x9b\u202e") == "a\\x1b[2Jb\\x07\\n\\x9b\\u202e"
    assert visible("GET /orders/{id} — 5 µs") == "GET /orders/{id} — 5 µs"
    assert is_inert(visible("".join(map(chr, range(0x100)))))


@pytest.mark.parametrize("verbose", [False, True])
def test_the_terminal_shows_escapes_never_sends_them(report, verbose):
    text = out(terminal.render, report, width=80, color_system=None, verbose=verbose)
    assert is_inert(text)
    assert "\\x1b[2J" in text
    if verbose:
        assert "\\x1b]8;;http://x\\x07" in text


def test_markdown_escapes_controls_pipes_backticks_and_html(report):
    text = out(markdown.render, report, jaeger_ui="http://j:16686")
    assert is_inert(text)
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "<b>" not in rendered
    assert "<script" not in rendered
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    widths = {}
    current = 0
    for tok in tokens:
        if tok.type == "table_open":
            current += 1
        if tok.type == "tr_open":
            cells = 0
        if tok.type in ("th_open", "td_open"):
            cells += 1
        if tok.type == "tr_close":
            widths.setdefault(current, set()).add(cells)
    assert widths
    assert all(len(w) == 1 for w in widths.values())


def test_csv_cells_never_start_a_formula_nor_hold_controls(report):
    text = out(csv.render, report)
    assert is_inert(text.replace("\r\n", "\n"))
    for row in stdcsv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "@")) or cell.startswith("'")
    assert "'=HYPERLINK" not in text or '"=HYPERLINK' not in text


def test_json_is_valid_and_escapes_what_a_terminal_would_run(report):
    text = out(json.render, report)
    assert "\x1b" not in text
    assert "\x07" not in text
    doc = stdjson.loads(text)
    assert any("\x1b" in c["service"] for c in doc["contributors"])  # the data is kept exact


def test_html_escapes_names_and_holds_no_script_from_data(report):
    text = out(html.render, report)
    assert is_inert(text.replace("\n", ""))
    assert "<b>bold</b>" not in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text or "&lt;b&gt;" in text
    assert text.count("<script") == 0


def test_json_inert_writes_what_json_leaves_raw_as_escapes_and_keeps_the_rest():
    raw = stdjson.dumps({"name": "a\x7fb\x85c\u202ed"}, ensure_ascii=False)
    inert = json_inert(raw)
    assert inert == '{"name": "a\\u007fb\\u0085c\\u202ed"}'
    assert stdjson.loads(inert) == stdjson.loads(raw)  # the same characters, written inertly
    assert json_inert('{"a": 1}') == '{"a": 1}'
