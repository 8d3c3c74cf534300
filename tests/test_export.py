"""`tracelens export`: what a backend gave, as OTLP JSON lines that `slowest` reads back with the
same answer; atomic, gzip by name, and honest about what it left out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.backend_corpus import (  # noqa: F401 - the *_fixture names are fixtures
    COMMON,
    Answer,
    Corpus,
    answer,
    corpus_fixture,
    file_answer_fixture,
    isolated_fixture,
    slowest,
)
from tests.fakes import FakeTempo, Fault
from tracelens.cli import main
from tracelens.readers import read_traces


def export(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["export", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_an_export_from_tempo_reads_back_with_the_same_answer(
    corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "evidence.jsonl.gz"
    with FakeTempo(corpus.traces) as tempo:
        code, err = export(
            capsys, "--route", "result", "--source", "tempo+" + tempo.url, "--out", str(out)
        )
    assert code == 0, err
    assert f"wrote {len(corpus.route_ids)} traces" in err
    with gzip.open(out, "rt", encoding="utf-8") as lines:  # really gzip, one request per line
        assert sum(1 for _ in lines) == len(corpus.route_ids)
    assert {t.trace_id for t in read_traces(out)} == set(corpus.route_ids)
    target = tmp_path / "again.csv"
    run = slowest(capsys, str(out), "--since", "2h", "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert answer(run, target) == file_answer


def test_an_export_of_a_sample_holds_the_slow_set_and_the_sampled_baseline(
    corpus: Corpus, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "sample.jsonl"
    with FakeTempo(corpus.traces) as tempo:
        code, err = export(
            capsys,
            "--route",
            "result",
            "--source",
            "tempo+" + tempo.url,
            "--sample",
            "5",
            "--out",
            str(out),
        )
        assert code == 0, err
        everything = tmp_path / "all.jsonl"
        code, err = export(
            capsys,
            "--route",
            "result",
            "--source",
            "tempo+" + tempo.url,
            "--sample",
            "5",
            "--all",
            "--out",
            str(everything),
        )
        assert code == 0, err
        # What slowest fetches with the same seed and sample: the export holds exactly that.
        run = slowest(capsys, "tempo+" + tempo.url, "--sample", "5", "--json")
    selection = json.loads(run.out)["selection"]
    written = {t.trace_id for t in read_traces(out)}
    assert set(selection["slow_trace_ids"]) <= written
    assert len(written) == selection["sampling"]["slow_listed"] + 5
    assert {t.trace_id for t in read_traces(everything)} == set(corpus.route_ids)


def test_traces_that_fail_to_fetch_are_named_and_no_partial_file_is_left(
    corpus: Corpus, tmp_path: Path, capsys
) -> None:
    lost = corpus.route_ids[0]
    out = tmp_path / "evidence.jsonl"
    faults = [Fault(path=rf"/api/v2/traces/{lost}", kind="status", code=503, times=None)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        code, err = export(
            capsys, "--route", "result", "--source", "tempo+" + tempo.url, "--out", str(out)
        )
    assert code == 0, err
    assert f"1 of {len(corpus.route_ids)} traces failed to fetch" in err
    assert lost not in {t.trace_id for t in read_traces(out)}
    assert not list(tmp_path.glob(".evidence*"))  # the temporary file is gone


def test_an_export_of_no_traces_writes_nothing_and_says_so(
    corpus: Corpus, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "none.jsonl"
    code, err = export(
        capsys,
        "--route",
        "no-such-page",
        "--source",
        str(corpus.otlp_file),
        "--since",
        "2h",
        "--out",
        str(out),
    )
    assert code == 2
    assert "nothing written" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".none*"))
