"""Parquet span archives: every trace in one file, read back whole, pruned by time and route, and
the same answer as the traces they were exported from."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.backend_corpus import (  # noqa: F401 - the *_fixture names are fixtures
    Answer,
    Corpus,
    answer,
    corpus_fixture,
    file_answer_fixture,
    slowest,
)
from tests.builders import demo_file
from tests.fakes import FakeTempo
from tracelens import pipeline
from tracelens.answer import Report
from tracelens.cli import main
from tracelens.errors import SourceError, UsageError
from tracelens.readers import read_traces
from tracelens.report import csv as csv_report
from tracelens.sources import Window, open_source
from tracelens.sources import archive as archive_module
from tracelens.sources.archive import (
    MANIFEST,
    ArchivePart,
    ArchiveSource,
    bucket_of,
    read_part,
    write_archive,
)
from tracelens.stages import Scope


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "demo.jsonl"
    return demo_file(path, 120, "--inject", "slow_query", "--seed", "3")


def _csv(report: Report) -> str:
    out = io.StringIO()
    csv_report.render(report, out)
    return out.getvalue()


def _spans(trace) -> list[tuple]:
    return sorted(
        (s.span_id, s.parent_id, s.service, s.name, s.start_ns, s.end_ns, dict(s.attributes))
        for s in trace.spans
    )


def test_each_trace_lies_whole_in_the_file_of_its_day_and_bucket(
    demo: Path, tmp_path: Path
) -> None:
    given = {t.trace_id: t for t in read_traces(demo)}
    summary = write_archive(given.values(), str(tmp_path / "a"), buckets=4)
    assert summary.traces == len(given)
    src = ArchiveSource(str(tmp_path / "a"))
    where: dict[str, str] = {}
    for part in src.parts():
        for trace in read_part(part, []):
            assert trace.trace_id not in where, "a trace is in two files or two row groups"
            where[trace.trace_id] = part.path
            assert f"bucket={bucket_of(trace.trace_id, 4):03d}/" in part.path
            assert _spans(trace) == _spans(given[trace.trace_id])
    assert set(where) == set(given)


def test_row_groups_end_where_traces_end_and_list_their_routes(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "ROW_GROUP_SPANS", 500)  # many groups from a small corpus
    write_archive(read_traces(demo), str(tmp_path / "a"), buckets=1)
    (part,) = ArchiveSource(str(tmp_path / "a")).parts()
    pf = pq.ParquetFile(tmp_path / "a" / part.path)
    assert pf.num_row_groups > 3
    listed = json.loads(pf.schema_arrow.metadata[b"tracelens.row_groups"])
    for n, group in enumerate(listed):
        table = pf.read_row_group(n, columns=["trace_id", "route"])
        assert table.num_rows >= 500 or n == pf.num_row_groups - 1
        assert len(set(table["trace_id"].to_pylist())) == group["traces"]
        assert group["routes"]
    ids = [pf.read_row_group(n, columns=["trace_id"])["trace_id"] for n in range(len(listed))]
    for a, b in itertools.pairwise(ids):  # no trace continues into the next group
        assert a[-1].as_py() != b[0].as_py()


def test_a_window_and_a_route_skip_row_groups_and_keep_what_they_match(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_module, "ROW_GROUP_SPANS", 300)
    traces = list(read_traces(demo))
    write_archive(traces, str(tmp_path / "a"), buckets=1)
    (whole,) = ArchiveSource(str(tmp_path / "a")).parts()
    starts = sorted(min(s.start_ns for s in t.spans) for t in traces)
    window = Window(starts[len(starts) // 2], starts[-10])
    part = ArchivePart(whole.url, whole.path, (window,), None)
    got = {t.trace_id for t in read_part(part, [])}
    assert got == {t.trace_id for t in traces if window.contains(min(s.start_ns for s in t.spans))}
    read: list[int] = []
    original = pq.ParquetFile.read_row_group

    def counting(self, i, *args, **kwargs):
        read.append(i)
        return original(self, i, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counting)
    list(read_part(ArchivePart(whole.url, whole.path, None, "/hospitals/[id]"), []))
    by_route = len(read)
    read.clear()
    list(read_part(whole, []))
    assert 0 < by_route < len(read)  # the route's groups only
    read.clear()
    assert list(read_part(ArchivePart(whole.url, whole.path, None, "no such page"), [])) == []
    assert read == []


def test_an_archive_gives_the_file_s_answer_in_one_process_and_in_workers(
    demo: Path, tmp_path: Path
) -> None:
    write_archive(read_traces(demo), str(tmp_path / "a"), buckets=3)
    want = _csv(pipeline.slowest(str(demo), route="result", resamples=300))
    assert _csv(pipeline.slowest(str(tmp_path / "a"), route="result", resamples=300)) == want
    jobs = pipeline.slowest(str(tmp_path / "a"), route="result", resamples=300, jobs=2)
    assert _csv(jobs) == want


def test_export_writes_an_archive_that_slowest_reads_back(
    demo: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "week"
    code = main(
        [
            *("export", "--source", str(demo), "--route", "result"),
            *("--parquet", str(target), "--buckets", "5"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["buckets"] == 5
    assert "wrote " in err
    assert f"in {len(manifest['files'])} files" in err
    assert isinstance(open_source(str(target)), ArchiveSource)
    assert isinstance(open_source(f"file://{target}"), ArchiveSource)
    for out, source in (("file.csv", str(demo)), ("archive.csv", str(target))):
        main(["slowest", "--source", source, "--route", "result", "--csv", str(tmp_path / out)])
    assert (tmp_path / "file.csv").read_text() == (tmp_path / "archive.csv").read_text()
    capsys.readouterr()
    again = main(["export", "--source", str(demo), "--parquet", str(target)])
    assert again == 2
    assert "is not empty; give a new directory" in capsys.readouterr().err


def test_an_export_from_tempo_to_an_archive_has_the_file_s_answer(
    corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "archive"
    with FakeTempo(corpus.traces) as tempo:
        code = main(
            [
                *("export", "--route", "result", "--source", "tempo+" + tempo.url),
                *("--parquet", str(target)),
            ]
        )
    assert code == 0, capsys.readouterr().err
    csv = tmp_path / "again.csv"
    run = slowest(capsys, str(target), "--since", "2h", "--json", "--csv", str(csv))
    assert run.code == 0, run.err
    assert answer(run, csv) == file_answer


def test_an_fsspec_url_is_written_and_read_like_a_directory(demo: Path) -> None:
    url = "memory://tracelens-test/archive"
    write_archive(read_traces(demo), url, buckets=2)
    src = open_source(url)
    assert isinstance(src, ArchiveSource)
    assert len(list(src.traces())) == len(list(read_traces(demo)))
    want = _csv(pipeline.slowest(str(demo), route="result", resamples=300))
    assert _csv(pipeline.slowest(url, route="result", resamples=300)) == want


def test_a_window_outside_the_archive_names_what_it_holds(demo: Path, tmp_path: Path) -> None:
    write_archive(read_traces(demo), str(tmp_path / "a"))
    with pytest.raises(UsageError, match=r"holds traces from .* to .*; widen"):
        ArchiveSource(str(tmp_path / "a")).parts(Scope(window=Window(0, 10**9)))


def test_a_damaged_file_is_left_out_and_named(demo: Path, tmp_path: Path) -> None:
    write_archive(read_traces(demo), str(tmp_path / "a"), buckets=3)
    src = ArchiveSource(str(tmp_path / "a"))
    broken = tmp_path / "a" / src.files[0].path
    broken.write_bytes(b"not parquet")
    report = pipeline.slowest(str(tmp_path / "a"), route="result", resamples=300)
    assert any(str(broken) in w and "unreadable archive file" in w for w in report.warnings)
    assert report.selection.files_read == 2


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "no tracelens-archive.json, so not a span archive"),
        ("{", "can't read tracelens-archive.json"),
        ('{"format": "other"}', "is not a tracelens archive manifest"),
        ('{"format": "tracelens-archive", "version": 9}', "archive format version 9"),
    ],
)
def test_what_is_not_an_archive_is_one_clear_line(
    tmp_path: Path, manifest: str | None, message: str
) -> None:
    if manifest is not None:
        (tmp_path / MANIFEST).write_text(manifest)
    with pytest.raises(SourceError, match=message):
        ArchiveSource(str(tmp_path))


def test_an_interrupted_export_leaves_no_archive(demo: Path, tmp_path: Path) -> None:
    def cut_short():
        for n, trace in enumerate(read_traces(demo)):
            if n == 50:
                raise KeyboardInterrupt
            yield trace

    with pytest.raises(KeyboardInterrupt):
        write_archive(cut_short(), str(tmp_path / "a"))
    assert not (tmp_path / "a" / MANIFEST).exists()
    assert not list((tmp_path / "a").rglob("*.parquet"))


def test_a_cloud_url_without_its_filesystem_says_which_extra_to_install() -> None:
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed")
    with pytest.raises(UsageError, match=r"pip install 'tracelens-rca\[s3\]'"):
        open_source("s3://bucket/archive")
