"""The report as JSON for scripts (tracelens/report/json.py)."""

from __future__ import annotations

import enum
import io
import json
import math
from dataclasses import replace

from tests.report_sample import CONTRIBUTORS, FINDINGS, before_after_report, sample_report
from tracelens.model import ClaimPart
from tracelens.report import COLUMNS
from tracelens.report import json as json_report


def rendered(report) -> str:
    buf = io.StringIO()
    json_report.render(report, buf)
    return buf.getvalue()


def test_the_json_matches_the_golden_file(golden):
    golden("report.json", rendered(sample_report()))


def test_top_level_keys_come_in_their_published_order():
    doc = json.loads(rendered(sample_report()))
    assert list(doc) == [
        "tracelens",
        "schema",
        "selection",
        "stats",
        "baseline_stats",
        "too_small",
        "contributors",
        "whatif_together",
        "findings",
        "warnings",
        "skipped",
        "read",
    ]


def test_contributors_carry_the_csv_columns_in_milliseconds():
    doc = json.loads(rendered(sample_report()))
    first = doc["contributors"][0]
    assert list(first) == list(COLUMNS)
    assert first["excess_ms"] == 8700.0
    assert doc["contributors"][2]["whatif_p90_ms"] is None
    assert doc["contributors"][2]["pattern"] == ""


def test_stats_say_whether_the_slo_is_breached():
    doc = json.loads(rendered(sample_report()))
    assert doc["stats"] == {
        "count": 120,
        "p50_ms": 1200.0,
        "p90_ms": 15200.0,
        "p99_ms": 21700.0,
        "slo_ms": 3000.0,
        "breach": True,
        "method": None,
    }
    assert doc["baseline_stats"] is None
    after = json.loads(rendered(before_after_report()))
    assert after["baseline_stats"]["p90_ms"] == 2000.0
    assert after["selection"]["baseline_window_ns"][1] == after["selection"]["start_ns"]


def test_selection_and_skipped_say_what_was_analysed():
    doc = json.loads(rendered(sample_report()))
    assert doc["selection"]["traces_analysed"] == 120
    assert doc["selection"]["traces_total"] == 150
    assert doc["selection"]["slow_traces"] == len(doc["selection"]["slow_trace_ids"]) == 12
    assert doc["selection"]["percentile"] == "p90"
    assert doc["skipped"] == {"failed to fetch": 30}


class Colour(enum.Enum):
    RED = "red"


def test_any_evidence_becomes_valid_json():
    odd = replace(
        FINDINGS[0],
        part=ClaimPart.HEAD,
        evidence={
            "ids": frozenset({"b", "a"}),
            "kind": Colour.RED,
            "ratio": math.nan,
            "nested": {"depth": (1, 2.5, math.inf)},
            "obj": object,
            3: "int key",
        },
    )
    report = replace(
        sample_report(),
        finding_rows=(odd,),
        contributor_rows=(replace(CONTRIBUTORS[0], share=math.nan),),
    )
    text = rendered(report)
    doc = json.loads(text)  # strict: NaN would not parse back as a number from other tools
    assert "NaN" not in text
    assert "Infinity" not in text
    (finding,) = doc["findings"]
    assert finding["part"] == "head"
    assert finding["evidence"]["ids"] == ["a", "b"]
    assert finding["evidence"]["kind"] == "red"
    assert finding["evidence"]["ratio"] is None
    assert finding["evidence"]["nested"] == {"depth": [1, 2.5, None]}
    assert finding["evidence"]["3"] == "int key"
    assert doc["contributors"][0]["share"] is None


def test_the_output_is_one_document_and_a_newline():
    text = rendered(sample_report())
    assert text.endswith("}\n")
    json.loads(text)
