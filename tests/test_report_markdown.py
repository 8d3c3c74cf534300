"""The Markdown write-up (tracelens/report/markdown.py)."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from tests.report_sample import CONTRIBUTORS, EXAMPLE, FINDINGS, before_after_report, sample_report
from tracelens.report import markdown


def rendered(report, **options) -> str:
    buf = io.StringIO()
    markdown.render(report, buf, **options)
    return buf.getvalue()


def cells(row: str) -> list[str]:
    """Split a GFM table row on unescaped pipes, as GitHub does."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_the_markdown_matches_the_golden_file(golden):
    golden("report.md", rendered(sample_report(), jaeger_ui="http://localhost:16686"))


def test_the_heading_names_the_route_and_the_stats_line_the_slo():
    text = rendered(sample_report())
    assert text.startswith("## Why is `/api/orders/{id}` slow?\n")
    assert "**p50 1.2 s · p90 15.2 s · p99 21.7 s** — SLO 3 s on p90 **breached**" in text
    assert "(baseline window p90 2 s)" in rendered(before_after_report())


def test_every_table_row_has_as_many_cells_as_the_header_even_with_pipes_in_names():
    text = rendered(sample_report())
    table = [line for line in text.splitlines() if line.startswith("|")]
    header, _, *rows = table
    assert len(rows) == len(CONTRIBUTORS)
    assert all(len(cells(r)) == len(cells(header)) for r in rows)
    assert "POST /cart \\| GET /price" in rows[3]


def test_backticks_and_newlines_in_operations_cannot_break_a_cell():
    odd = replace(CONTRIBUTORS[2], operation="SELECT `a`\n| b")
    text = rendered(replace(sample_report(), contributor_rows=(odd,)))
    (row,) = [line for line in text.splitlines() if line.startswith("| 3")]
    assert len(cells(row)) == 9
    assert "``api: SELECT `a` \\| b``" in row  # a longer fence than the backticks inside


def test_findings_link_trace_ids_when_a_ui_is_given():
    linked = rendered(sample_report(), jaeger_ui="http://jaeger:16686")
    assert f"[`{EXAMPLE}`](http://jaeger:16686/trace/{EXAMPLE})" in linked
    plain = rendered(sample_report())
    assert f"trace `{EXAMPLE}`" in plain
    assert "http" not in plain


def test_summaries_cannot_inject_markup():
    odd = replace(FINDINGS[2], summary="<script>x</script> *all* [calls]")
    text = rendered(replace(sample_report(), finding_rows=(odd,)))
    assert "\\<script\\>x\\</script\\> \\*all\\* \\[calls\\]" in text


def test_the_what_if_list_gives_each_fix_and_its_p90():
    text = rendered(sample_report())
    assert "### What to fix first: p90 if each were fixed (p90 now 15.2 s)" in text
    assert "- fix `DNS · checkout: lookup payments.internal` → p90 11 s (−28%)" in text
    assert text.count("- fix ") == 3  # the plain operation has no what-if


def test_uncertain_rows_are_flagged():
    text = rendered(sample_report())
    assert "may be noise: their 95% interval includes 0" in text
    assert "| 3? |" in text
