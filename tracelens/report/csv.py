"""The ranked contributors as CSV, one row per contributor: `render(report, out)`.

Columns are `tracelens.report.COLUMNS` in that order (docs/csv.md). Durations are milliseconds
with one decimal, `share` has three; a missing value is an empty cell. Each row's `summary`
describes its own `example_trace_id`. Text cells have their control characters escaped (a CSV is
often read with `cat`), and those that a spreadsheet would run as a formula get a leading `'`;
numbers, negative ones included, stay numbers. Rows end in CRLF (RFC 4180); open the file with
`newline=""` as the csv module asks.
"""

from __future__ import annotations

import csv
from typing import TextIO

from tracelens.answer import Report
from tracelens.report import COLUMNS, Cell, contributor_record
from tracelens.report.facts import row_summary
from tracelens.report.safe import visible

# Excel, LibreOffice and Google Sheets evaluate a cell starting with one of these (OWASP's
# "CSV injection" list); tab and CR also start formulas after some importers strip them.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_text(text: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`; harmless text is returned unchanged."""
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_STARTS) else text


def cell(value: Cell) -> str | int | float:
    """A record value as written: "" for None, escaped text, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_text(visible(value))
    return value


def render(report: Report, out: TextIO) -> None:
    """Write the header and one row per contributor, in rank order."""
    # RFC 4180 line ends; the csv module then also quotes any cell holding \r or \n
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for contributor in sorted(report.contributor_rows, key=lambda c: c.rank):
        record = contributor_record(
            contributor, ndigits=1, summary=row_summary(report, contributor)
        )
        writer.writerow([cell(record[name]) for name in COLUMNS])
