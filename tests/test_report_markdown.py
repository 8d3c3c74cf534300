"""The Markdown write-up (tracelens/report/markdown.py), parsed as GitHub would parse it."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from markdown_it import MarkdownIt

from tests.report_sample import CONTRIBUTORS, EXAMPLE, FINDINGS, before_after_report, sample_report
from tracelens.report import markdown


def rendered(report, **options) -> str:
    buf = io.StringIO()
    markdown.render(report, buf, **options)
    return buf.getvalue()


def cells(row: str) -> list[str]:
    """Split a GFM table row on unescaped pipes, as GitHub does."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def tables(text: str) -> list[list[list[str]]]:
    """Each GFM table as rows of cell texts, from markdown-it's own parse (commonmark + tables)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    found: list[list[list[str]]] = []
    row: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            found.append([])
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            row.append(tokens[i + 1].content if tokens[i + 1].type == "inline" else "")
        elif tok.type == "tr_close":
            found[-1].append(row)
    return found


def html(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def test_the_markdown_matches_the_golden_file(golden):
    golden("report.md", rendered(sample_report(), jaeger_ui="http://localhost:16686"))


def test_it_opens_with_a_summary_in_plain_words():
    text = rendered(sample_report())
    assert text.startswith("## Why is `/api/orders/{id}` slow?\n")
    (summary,) = [line for line in text.splitlines() if line.startswith("**Summary.**")]
    assert "p90 of **15.2 s**" in summary
    assert "5.1× its 3 s SLO" in summary
    assert "62%" in summary  # the top cause's share
    assert "4.1 s (−73%)" in summary  # what fixing it gives
    assert "95% interval of 7.9–9.5 s" in summary  # how sure


def test_the_tables_are_tables_with_every_row_whole():
    text = rendered(sample_report())
    fix_table, contributors = tables(text)
    assert fix_table[0][:2] == ["#", "cause"]
    assert len(fix_table) - 1 == 3  # the three modelled fixes, the plain operation has none
    assert contributors[0][:2] == ["#", "contributor"]
    assert len(contributors) - 1 == len(CONTRIBUTORS)
    assert all(len(r) == len(contributors[0]) for r in contributors)
    assert any("POST /cart | GET /price" in cell for r in contributors for cell in r)


def test_backticks_pipes_and_newlines_in_operations_cannot_break_a_cell():
    odd = replace(CONTRIBUTORS[2], operation="SELECT `a`\n| b")
    text = rendered(replace(sample_report(), contributor_rows=(odd,)))
    contributors = tables(text)[-1]
    (row,) = contributors[1:]
    assert len(row) == len(contributors[0])
    assert "``api: SELECT `a`\\n\\| b``" in text  # a longer fence than the backticks inside


def test_findings_link_trace_ids_when_a_ui_is_given():
    linked = rendered(sample_report(), jaeger_ui="http://jaeger:16686")
    assert f"[`{EXAMPLE}`](http://jaeger:16686/trace/{EXAMPLE})" in linked
    assert f'href="http://jaeger:16686/trace/{EXAMPLE}"' in html(linked)
    plain = rendered(sample_report())
    assert f"one trace, `{EXAMPLE}`" in plain
    assert "http" not in plain


def test_summaries_cannot_inject_markup():
    odd = replace(FINDINGS[2], summary="<script>x</script> *all* [calls]")
    text = rendered(replace(sample_report(), finding_rows=(odd,)))
    assert "\\<script\\>x\\</script\\> \\*all\\* \\[calls\\]" in text
    assert "<script>" not in html(text)


def test_the_fix_table_gives_each_fix_its_p90_and_the_slo_verdict():
    text = rendered(sample_report())
    fix_table = tables(text)[0]
    by_rank = {r[0]: r for r in fix_table[1:]}
    assert by_rank["2"][4] == "11 s (−28%)"
    assert by_rank["2"][5] == "9.8–12.5 s"  # the what-if's 95% interval
    assert by_rank["2"][6] == "missed"
    assert "### What to fix first (p90 now 15.2 s)" in text


def test_uncertain_rows_are_flagged():
    text = rendered(sample_report())
    assert "may be noise: their 95% interval includes 0" in text
    assert "| 3? |" in text


def test_before_after_mode_names_the_baseline_window():
    assert "baseline window" in rendered(before_after_report())
