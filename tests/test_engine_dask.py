"""The Dask engine gives the local engine's answer, to the last digit, on the same archive: for
slowest (seeded bootstrap and what-if included), routes and graph; also when a worker dies
mid-run. One LocalCluster of two worker processes serves the whole module, as in CI."""

from __future__ import annotations

import io
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from tests.builders import demo_file, once_it_has_children, with_default_ctrl_c  # noqa: E402
from tracelens import engine_dask, pipeline  # noqa: E402
from tracelens.answer import Report  # noqa: E402
from tracelens.baseline import merge_profile  # noqa: E402
from tracelens.cli import main  # noqa: E402
from tracelens.detectors import default_detectors  # noqa: E402
from tracelens.engine_dask import DaskEngine  # noqa: E402
from tracelens.readers import read_traces  # noqa: E402
from tracelens.report import csv as csv_report  # noqa: E402
from tracelens.routes import RouteMatcher  # noqa: E402
from tracelens.sources.archive import ArchiveSource, map_part, write_archive  # noqa: E402
from tracelens.stages import Scope, detect_in, profile_of, whatif_of  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask")
    demo = demo_file(root / "demo.jsonl", 100, "--inject", "slow_query,sequential", "--seed", "5")
    write_archive(read_traces(demo), str(root / "archive"), buckets=6)
    return root / "archive"


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.Client]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _csv(report: Report) -> str:
    out = io.StringIO()
    csv_report.render(report, out)
    return out.getvalue()


def _address(client: distributed.Client) -> str:
    return str(client.scheduler.address)


def _kill_a_worker(client: distributed.Client) -> int:
    """SIGKILL one worker process (its nanny starts another): its shards are lost."""
    pid = min(client.run(os.getpid).values())
    os.kill(pid, signal.SIGKILL)
    return pid


def test_slowest_on_dask_gives_the_local_contributors_csv(
    archive: Path, cluster: distributed.Client
) -> None:
    want = _csv(pipeline.slowest(str(archive), route="result", resamples=500, seed=7))
    with DaskEngine(_address(cluster)) as engine:
        report = pipeline.slowest(
            str(archive), route="result", resamples=500, seed=7, engine=engine
        )
        received = engine.received_bytes
    assert _csv(report) == want
    # Only per-trace records and step results came back, not the spans.
    spans = sum(f.stat().st_size for f in archive.rglob("*.parquet"))
    assert 0 < received < 3 * spans


def test_routes_and_graph_print_the_same_on_either_engine(
    archive: Path, cluster: distributed.Client, tmp_path: Path, capsys
) -> None:
    address = _address(cluster)
    for name, args in {
        "routes": ["routes"],
        "graph": ["graph", "--route", "result", "--json"],
    }.items():
        capsys.readouterr()
        assert main([*args, "--source", str(archive)]) == 0
        local = capsys.readouterr().out
        assert main([*args, "--source", str(archive), "--scheduler", address]) == 0
        assert capsys.readouterr().out == local, name


def test_before_after_mode_on_dask_matches_the_local_engine(
    archive: Path, cluster: distributed.Client, capsys
) -> None:
    files = ArchiveSource(str(archive)).files
    first = min(f.start_ns for f in files) // 10**9
    middle = str((first + max(f.last_ns for f in files) // 10**9) // 2)
    window = ["--start", middle, "--baseline-start", str(first - 60), "--baseline-end", middle]
    for command in (["slowest", "--resamples", "300", "--csv", "-"], ["graph", "--json"]):
        args = [*command, "--source", str(archive), "--route", "result", *window]
        capsys.readouterr()
        assert main(args) == 0
        local = capsys.readouterr().out
        assert main([*args, "--scheduler", _address(cluster)]) == 0
        assert capsys.readouterr().out == local


def test_a_worker_killed_while_files_are_read_changes_nothing(
    archive: Path, cluster: distributed.Client
) -> None:
    want = _csv(pipeline.slowest(str(archive), route="result", resamples=300))
    killed: list[int] = []

    def kill_once(_read: int) -> None:  # after the first file's briefs came back
        if not killed:
            killed.append(_kill_a_worker(cluster))

    report = pipeline.slowest(
        str(archive), route="result", resamples=300, scheduler=_address(cluster), progress=kill_once
    )
    assert killed
    assert _csv(report) == want
    cluster.wait_for_workers(2, timeout=60)


def test_shards_lost_after_detection_are_rebuilt_from_lineage_with_their_findings(
    archive: Path, cluster: distributed.Client
) -> None:
    src = ArchiveSource(str(archive))
    scope = Scope(RouteMatcher("result"))

    def run(kill: bool) -> tuple[list, list]:
        with DaskEngine(_address(cluster)) as engine:
            mapped = engine.load(src.parts(scope), scope, step=map_part)
            ids = frozenset(b.trace_id for m in mapped for b in m.briefs if b.analysed)
            profile = merge_profile(engine.run(profile_of, ids))
            found = engine.run(detect_in, profile, tuple(default_detectors()), ids, ids)
            if kill:
                _kill_a_worker(cluster)
            # whatif_of reads the findings detect_in kept on the shards
            keys = sorted(
                {(f.pattern, f.service, f.operation) for p in found for v in p.values() for f in v}
            )
            rewritten = engine.run(whatif_of, {"all": keys}, ids)
        return found, rewritten

    want = run(kill=False)
    assert any(part["all"] for part in want[1])
    assert run(kill=True) == want
    cluster.wait_for_workers(2, timeout=60)


def test_without_dask_installed_the_error_is_one_line(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = main(["slowest", "--source", str(archive), "--route", "result", "--engine", "dask"])
    err = capsys.readouterr().err
    assert code == 1
    assert "pip install 'tracelens-rca[dask]'" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unreachable_scheduler_is_one_line_naming_it(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(engine_dask, "CONNECT_TIMEOUT_S", 1.0)
    code = main(["routes", "--source", str(archive), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1
    assert "could not reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "not an address"], "is not a Dask scheduler address"),
        (["--engine", "spark"], "invalid choice: 'spark'"),
        (["--engine", "local", "--scheduler", "tcp://127.0.0.1:8786"], "drop --engine local"),
    ],
)
def test_engine_options_that_make_no_sense_are_usage_errors(
    archive: Path, args: list[str], message: str, capsys
) -> None:
    try:
        code = main(["slowest", "--source", str(archive), "--route", "result", *args])
    except SystemExit as e:
        code = int(e.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_sampled_run_on_dask_keeps_the_same_sample_as_the_local_engine(
    archive: Path, cluster: distributed.Client
) -> None:
    spans = sum(len(t.spans) for t in ArchiveSource(str(archive)).traces(None))
    budget = spans // 3  # past the budget: 1 in 2**cut of the traces, by trace id
    local = pipeline.slowest(str(archive), route="result", resamples=300, max_spans=budget)
    with DaskEngine(_address(cluster)) as engine:
        remote = pipeline.slowest(
            str(archive), route="result", resamples=300, max_spans=budget, engine=engine
        )
    assert local.selection.sample_level > 0
    assert remote.selection.sample_level == local.selection.sample_level
    assert remote.selection.slow_trace_ids == local.selection.slow_trace_ids
    assert _csv(remote) == _csv(local)


def test_ctrl_c_during_a_dask_run_is_one_word(archive: Path) -> None:
    import subprocess

    run = subprocess.Popen(
        [
            *(sys.executable, "-m", "tracelens", "slowest", "--source", str(archive)),
            *("--route", "result", "--engine", "dask", "--jobs", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=with_default_ctrl_c,
        text=True,
    )
    try:
        once_it_has_children(run.pid)  # the LocalCluster is starting: interrupted mid-run
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert (run.returncode, err.strip()) == (130, "interrupted"), err
