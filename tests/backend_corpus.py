"""What the Jaeger and Tempo client tests share: one demo corpus per session and a CLI runner.

    from tests.backend_corpus import corpus_fixture, ...   # the fixtures, named without _fixture
    run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(csv_path))
    assert run.code == 0 and answer(run, csv_path) == file_answer

The corpus is `tracelens demo --requests 60 --seed 3`, written by the real OpenTelemetry SDK; its
requests end a minute before the session starts, so they lie in a backend's default window (the
last hour) and in `--since 2h` for files. `file_answer` is the contributors CSV and the
window-free part of the JSON report (contributors, findings, what-ifs, stats, the slow and
baseline sets) of the same traces read from the OTLP file, which every backend run is held to.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import Seen
from tests.fakes.encode import jaeger_v1_trace
from tracelens.cli import main
from tracelens.graph import build_tree
from tracelens.model import Trace
from tracelens.readers import read_traces
from tracelens.routes import RouteMatcher

ROUTE = "result"
REQUESTS = "60"  # of which 28 are the result page's: enough to sample, few enough to be quick
# Few bootstrap resamples: the tests compare answers, they do not need tight intervals.
COMMON = ("--route", ROUTE, "--resamples", "200")
# Everything a developer's shell may set that would change what a run does.
TRACELENS_ENV = (
    "TRACELENS_SOURCE",
    "TRACELENS_CONFIG",
    "TRACELENS_TOKEN",
    "TRACELENS_USER",
    "TRACELENS_PASSWORD",
    "TRACELENS_TENANT",
    "TRACELENS_HEADERS",
    "TRACELENS_CA_BUNDLE",
)


@dataclass(frozen=True)
class Corpus:
    traces: list[Trace]
    otlp_file: Path  # the demo's OTLP JSON lines
    jaeger_file: Path  # the same traces as Jaeger v1 serves them: {"data": [...]}, whole µs
    route_ids: tuple[str, ...]  # the requests of ROUTE, by their entry span, as files see them
    entry: tuple[str, str]  # (service, span name) of those entry spans

    def by_duration(self) -> list[str]:
        """ROUTE's trace ids, fastest first."""
        ids = set(self.route_ids)
        ordered = sorted(
            (t for t in self.traces if t.trace_id in ids),
            key=lambda t: max(s.end_ns for s in t.spans) - min(s.start_ns for s in t.spans),
        )
        return [t.trace_id for t in ordered]


@dataclass(frozen=True)
class Answer:
    """What a run concluded: the CSV, and the JSON report without what names the source."""

    csv: str
    report: dict[str, Any]


def answer_of(json_text: str) -> dict[str, Any]:
    """The JSON report without the window, the sampling account and the stats' method, which
    differ between a file and a backend holding the same traces."""
    doc = json.loads(json_text)
    for key in ("start_ns", "end_ns", "sampling"):
        doc["selection"].pop(key)
    doc["stats"].pop("method")
    doc.pop("warnings")
    doc.pop("read")  # how many files: none from a backend
    return dict(doc)


def answer(run: Run, csv_path: Path) -> Answer:
    """The answer of a run made with `--json --csv csv_path`."""
    return Answer(csv_path.read_text(encoding="utf-8"), answer_of(run.out))


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def error(self) -> str:
        """The one line of an error; fails unless stderr holds exactly one `error:` line."""
        lines = [line for line in self.err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, self.err
        return lines[0]


def slowest(capsys: pytest.CaptureFixture[str], source: str, *extra: str) -> Run:
    """`tracelens slowest --route result --source SOURCE ...` in-process; never a traceback."""
    capsys.readouterr()  # what came before is not this run's
    code = main(["slowest", *COMMON, "--source", source, *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "Traceback" not in out
    return Run(code, out, err)


def by_id_requests(log: list[Seen], prefix: str) -> list[str]:
    """The paths of requests for one trace by id under `prefix` (e.g. "/api/v2/traces/")."""
    return [seen.path for seen in log if seen.path.startswith(prefix) and seen.path != prefix]


def free_port() -> int:
    """A loopback port nothing listens on: bound, then closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cache_texts(cache_dir: Path) -> Iterator[tuple[str, bytes]]:
    """Every path under the cache dir, with each file's content (gunzipped where it is gzip)."""
    for path in sorted(cache_dir.rglob("*")):
        body = b""
        if path.is_file():
            body = path.read_bytes()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
        yield str(path), body


# Each test module imports these fixtures, which makes each its own definition; the corpus and
# the reference CSVs are still made once per session, here.
_made: dict[str, Any] = {}


def _once(key: str, make: Callable[[], Any]) -> Any:
    if key not in _made:
        _made[key] = make()
    return _made[key]


def _make_corpus(root: Path) -> Corpus:
    otlp_file = root / "demo.jsonl"
    assert main(["demo", "--out", str(otlp_file), "--requests", REQUESTS, "--seed", "3"]) == 0
    traces = list(read_traces(otlp_file))
    jaeger_file = root / "jaeger-v1.json"
    jaeger_file.write_text(json.dumps({"data": [jaeger_v1_trace(t) for t in traces]}))
    matcher = RouteMatcher(ROUTE)
    entries = {t.trace_id: matcher.match(build_tree(t)) for t in traces}
    route_ids = tuple(sorted(tid for tid, e in entries.items() if e is not None))
    pairs = {(e.service, e.name) for e in entries.values() if e is not None}
    assert len(pairs) == 1, pairs  # the demo's result page has one entry span
    return Corpus(traces, otlp_file, jaeger_file, route_ids, pairs.pop())


def _file_answer(source: Path, tmp: Path) -> Answer:
    target = tmp / "file.csv"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        for name in TRACELENS_ENV:
            mp.delenv(name, raising=False)
        mp.chdir(tmp)
        argv = ["slowest", *COMMON, "--source", str(source), "--since", "2h"]
        assert main([*argv, "--json", "--csv", str(target)]) == 0
    return Answer(target.read_text(encoding="utf-8"), answer_of(out.getvalue()))


@pytest.fixture(scope="session", name="corpus")
def corpus_fixture(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    corpus: Corpus = _once("corpus", lambda: _make_corpus(tmp_path_factory.mktemp("corpus")))
    return corpus


@pytest.fixture(scope="session", name="file_answer")
def file_answer_fixture(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Answer:
    """The answer for the corpus read from its OTLP file (ns times)."""
    made: Answer = _once(
        "file", lambda: _file_answer(corpus.otlp_file, tmp_path_factory.mktemp("file"))
    )
    return made


@pytest.fixture(scope="session", name="jaeger_file_answer")
def jaeger_file_answer_fixture(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Answer:
    """The answer for the corpus as Jaeger v1 serves it (whole µs), read from a file."""
    made: Answer = _once(
        "jaeger", lambda: _file_answer(corpus.jaeger_file, tmp_path_factory.mktemp("jaeger"))
    )
    return made


@pytest.fixture(autouse=True, name="isolated")
def isolated_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No user cache, no settings from the shell, and retries that back off for milliseconds.

    Returns the cache dir (TRACELENS_CACHE_DIR), which starts empty in every test.
    """
    for name in TRACELENS_ENV:
        monkeypatch.delenv(name, raising=False)
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("TRACELENS_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("TRACELENS_RETRY_BACKOFF", "0.01")
    monkeypatch.chdir(tmp_path)  # and no tracelens.toml from the working directory
    return cache_dir
