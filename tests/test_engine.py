"""The same answer whether the input is read whole, in pieces, or by worker processes.

The corpus is the demo's OTLP JSON lines as the SDK's batch exporter writes them: each line is a
batch of spans from many traces, so cutting the file into pieces of lines cuts traces in parts.
"""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import demo_file, once_it_has_children, with_default_ctrl_c
from tracelens import pipeline
from tracelens.answer import Report
from tracelens.readers import pieces as pieces_module
from tracelens.readers import read_traces
from tracelens.readers.pieces import pieces, read_piece
from tracelens.report import csv as csv_report


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engine") / "demo.jsonl"
    return demo_file(path, 160, "--inject", "slow_query,sequential", "--seed", "5")


def _csv(report: Report) -> str:
    out = io.StringIO()
    csv_report.render(report, out)
    return out.getvalue()


def _answer(path: Path, jobs: int) -> str:
    return _csv(pipeline.slowest(str(path), route="result", jobs=jobs, resamples=300))


def test_pieces_of_lines_cut_traces_and_reading_joins_them(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = {t.trace_id: t for t in read_traces(corpus)}
    monkeypatch.setattr(pieces_module, "LINES_BYTES", 200_000)
    cut = list(pieces(corpus))
    seen: dict[str, int] = {}
    for piece in cut:
        for trace in read_piece(piece, []):
            seen[trace.trace_id] = seen.get(trace.trace_id, 0) + 1
    assert len(cut) > 3
    assert any(n > 1 for n in seen.values()), "no trace was cut: the test proves nothing"
    assert set(seen) == set(whole)


def test_the_answer_is_the_same_read_whole_in_pieces_and_by_two_workers(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _answer(corpus, jobs=1)
    monkeypatch.setattr(pieces_module, "LINES_BYTES", 200_000)
    in_pieces = _answer(corpus, jobs=1)
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    by_workers = _answer(corpus, jobs=2)
    assert "n_plus_one" in whole
    assert "slow_query" in whole
    assert in_pieces == whole
    assert by_workers == whole


def test_a_directory_read_by_workers_reports_its_unreadable_file(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    lines = corpus.read_bytes().splitlines(keepends=True)
    for n, line in enumerate(lines):
        (folder / f"part-{n}.jsonl").write_bytes(line)
    (folder / "zz-broken.json").write_bytes(b"\x00\x01 not a trace file")
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    report = pipeline.slowest(str(folder), route="result", jobs=2, resamples=300)
    serial = pipeline.slowest(str(folder), route="result", jobs=1, resamples=300)
    assert _csv(report) == _csv(serial)
    assert any("zz-broken.json" in w for w in report.warnings)
    # The files hold the same spans as the single file, split at batch boundaries.
    assert report.stats == pipeline.slowest(str(corpus), route="result", resamples=300).stats


def test_a_directory_of_only_unreadable_files_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        (tmp_path / f"bad-{n}.bin").write_bytes(b"\x00\x01\x02 binary")
    monkeypatch.setattr(pipeline, "PARALLEL_BYTES", 0)
    with pytest.raises(pipeline.SourceError, match=r"bad-0\.bin.*and 2 more unreadable files"):
        pipeline.slowest(str(tmp_path), route="result", jobs=2)


def test_ctrl_c_stops_the_workers_without_a_traceback(corpus: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:
        for _ in range(12):
            with corpus.open("rb") as part:
                shutil.copyfileobj(part, out)
    run = subprocess.Popen(
        [
            *(sys.executable, "-m", "tracelens", "slowest", "--source", str(big)),
            *("--route", "result", "--jobs", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=with_default_ctrl_c,
    )
    try:
        once_it_has_children(run.pid)  # the worker pool is reading: interrupted mid-run
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 130
    assert b"Traceback" not in err
