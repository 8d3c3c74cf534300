"""Past --max-spans, a uniform sample of the traces by trace id: the same sample however the
input is shared out, and a report that says which share it analysed."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import demo_file
from tracelens import pipeline
from tracelens.budget import LEVELS, Budget, level_of, run_cut, weight_of
from tracelens.readers import pieces as pieces_module
from tracelens.readers import read_traces
from tracelens.report import csv as csv_report
from tracelens.report import json as json_report


def _cut_of(ids: list[str], spans: int, limit: int, shards: int) -> tuple[int, set[str]]:
    """The run's cut and the ids the shards still hold, when `ids` are dealt to the shards."""
    budgets = [Budget(limit) for _ in range(shards)]
    held: list[list[str]] = [[] for _ in range(shards)]
    for n, trace_id in enumerate(ids):
        budget = budgets[n % shards]
        level = level_of(trace_id)
        if level < budget.cut:
            continue
        held[n % shards].append(trace_id)
        budget.hold(level, spans)
    cut = run_cut([(b.cut, b.units) for b in budgets], limit)
    return cut, {t for h in held for t in h if level_of(t) >= cut}


def test_the_sample_is_the_same_for_any_number_of_shards() -> None:
    ids = [f"{random.Random(7).getrandbits(128) ^ n:032x}" for n in range(20_000)]
    answers = {shards: _cut_of(ids, 10, 30_000, shards) for shards in (1, 2, 3, 7)}
    cuts = {cut for cut, _ in answers.values()}
    samples = {frozenset(held) for _, held in answers.values()}
    assert len(cuts) == 1
    assert len(samples) == 1
    cut, held = answers[1]
    assert cut == 4  # 20,000 traces of 18 units: 1 in 8 holds ~45,000 units, 1 in 16 ~22,500
    assert sum(weight_of(10) for _ in held) <= 30_000
    assert 0.8 * len(ids) / 2**cut <= len(held) <= 1.2 * len(ids) / 2**cut  # uniform


def test_within_the_budget_nothing_is_sampled_away() -> None:
    ids = [f"trace-{n}" for n in range(1000)]  # ids that are not hex are sampled as well
    cut, held = _cut_of(ids, 5, 1000 * weight_of(5), 2)
    assert cut == 0
    assert held == set(ids)


def test_levels_follow_the_halving_of_a_uniform_hash() -> None:
    levels = [level_of(f"{n:x}") for n in range(40_000)]
    assert all(0 <= level < LEVELS for level in levels)
    at_least_two = sum(level >= 2 for level in levels) / len(levels)
    assert 0.23 < at_least_two < 0.27


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("budget") / "demo.jsonl"
    return demo_file(path, 160, "--inject", "slow_query", "--seed", "3")


def _answer(path: Path, jobs: int, max_spans: int) -> tuple[str, dict[str, object]]:
    report = pipeline.slowest(
        str(path), route="result", jobs=jobs, resamples=200, max_spans=max_spans
    )
    out, doc = io.StringIO(), io.StringIO()
    csv_report.render(report, out)
    json_report.render(report, doc)
    return out.getvalue(), json.loads(doc.getvalue())


def test_a_sampled_run_is_the_same_whole_in_pieces_and_by_two_workers(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = sum(len(t.spans) for t in read_traces(corpus))
    budget = spans // 3  # about a third of what the traces need
    whole, doc = _answer(corpus, 1, budget)
    monkeypatch.setattr(pieces_module, "LINES_BYTES", 200_000)  # parts of traces in pieces
    in_pieces, _ = _answer(corpus, 1, budget)
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    by_workers, _ = _answer(corpus, 2, budget)
    assert in_pieces == whole
    assert by_workers == whole
    read = doc["read"]
    assert isinstance(read, dict)
    assert read["sampled"] == {"share": 0.25, "level": 2, "max_spans": budget}
    analysed = doc["stats"]["count"]  # type: ignore[index]
    assert 0 < analysed < 160 / 2


def test_the_report_says_which_share_it_analysed(corpus: Path) -> None:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "tracelens", "slowest", "--source", str(corpus)),
            *("--route", "result", "--max-spans", "5000", "--resamples", "100"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "analysed 1 in " in run.stdout
    assert "--max-spans" in run.stdout
    assert "analysed 1 in " in run.stderr  # also a warning, for a piped report


def test_max_spans_must_be_a_positive_number(corpus: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tracelens", "slowest", "--source", str(corpus), "--max-spans", "0"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "--max-spans" in run.stderr
    assert "Traceback" not in run.stderr
