"""A backend that misbehaves: retries where they help, the answer of a clean run when they do,
and otherwise one line that says what failed, where, and what to try — never a traceback."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.backend_corpus import (  # noqa: F401 - the *_fixture names are fixtures
    Answer,
    Corpus,
    answer,
    by_id_requests,
    corpus_fixture,
    file_answer_fixture,
    free_port,
    isolated_fixture,
    slowest,
)
from tests.fakes import FakeJaeger, FakeTempo, Fault
from tests.fakes.server import Seen

V2 = "/api/v2/traces/"
ATTEMPTS = 5  # one request and BackendOptions.retries (4) retries


def _kind(seen: Seen) -> str:
    return "by id" if seen.path.startswith(V2) else seen.path


@pytest.fixture(scope="module")
def clean_counts(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Counter[str]:
    """Requests of each kind that a run against a Tempo without faults makes, from a new cache."""
    from tracelens.cli import main

    tmp = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp, FakeTempo(corpus.traces) as tempo:
        mp.setenv("TRACELENS_CACHE_DIR", str(tmp / "cache"))
        mp.chdir(tmp)
        argv = ["slowest", "--route", "result", "--resamples", "200", "--source"]
        assert main([*argv, "tempo+" + tempo.url, "--csv", str(tmp / "x.csv")]) == 0
    return Counter(_kind(s) for s in tempo.requests_log)


def _extra(log: list[Seen], clean: Counter[str]) -> Counter[str]:
    """The requests a faulty run made beyond those of a clean one."""
    counts = Counter(_kind(s) for s in log)
    counts.subtract(clean)
    return +counts


# -- retried, then the same answer --------------------------------------------------------------


def test_5xx_a_few_times_then_success_gives_the_clean_answer(
    corpus: Corpus, file_answer: Answer, clean_counts: Counter[str], tmp_path: Path, capsys
) -> None:
    faults = [
        Fault(r"^/api/search$", "status", code=503, times=2),
        Fault(r"^/api/v2/traces/", "status", code=500, times=3),
        Fault(r"^/api/v2/traces/", "status", code=502, times=1),
    ]
    target = tmp_path / "x.csv"
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert _extra(tempo.requests_log, clean_counts) == {"/api/search": 2, "by id": 4}
    assert answer(run, target) == file_answer
    assert "warning" not in run.err


def test_429_is_retried_after_the_seconds_the_server_asks_for(
    corpus: Corpus, file_answer: Answer, clean_counts: Counter[str], tmp_path: Path, capsys
) -> None:
    target = tmp_path / "x.csv"
    faults = [Fault(r"^/api/search$", "retry_after", seconds=1, times=1)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        began = time.monotonic()
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
        took = time.monotonic() - began
    assert run.code == 0, run.err
    assert _extra(tempo.requests_log, clean_counts) == {"/api/search": 1}
    # TRACELENS_RETRY_BACKOFF makes other retries near-instant; this wait is the server's.
    assert took >= 0.95
    assert answer(run, target) == file_answer


def test_an_answer_slower_than_the_timeout_is_retried(
    corpus: Corpus, file_answer: Answer, clean_counts: Counter[str], tmp_path: Path, capsys
) -> None:
    target = tmp_path / "x.csv"
    faults = [Fault(r"^/api/search$", "slow", seconds=10, times=1)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        began = time.monotonic()
        run = slowest(
            capsys, "tempo+" + tempo.url, "--timeout", "0.5", "--json", "--csv", str(target)
        )
        took = time.monotonic() - began
    assert run.code == 0, run.err
    assert _extra(tempo.requests_log, clean_counts) == {"/api/search": 1}
    assert 0.5 <= took < 10  # gave up on the slow answer instead of waiting for it
    assert answer(run, target) == file_answer


@pytest.mark.parametrize("kind", ["truncate", "reset"])
def test_cut_off_bodies_and_reset_connections_are_retried(
    kind: str,
    corpus: Corpus,
    file_answer: Answer,
    clean_counts: Counter[str],
    tmp_path: Path,
    capsys,
) -> None:
    target = tmp_path / "x.csv"
    ids = corpus.by_duration()[::10][:3]  # fast, middling and slow requests: all are fetched
    faults = [Fault(rf"^{V2}{tid}$", kind, times=1) for tid in ids]  # type: ignore[arg-type]
    faults.append(Fault(r"^/api/search$", kind, times=1))  # type: ignore[arg-type]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert _extra(tempo.requests_log, clean_counts) == {"/api/search": 1, "by id": 3}
    assert answer(run, target) == file_answer


# -- traces that cannot be fetched are accounted for --------------------------------------------


def test_traces_that_always_fail_are_counted_and_listed_but_do_not_stop_the_run(
    corpus: Corpus, capsys
) -> None:
    ids = sorted(corpus.by_duration()[5:8])
    faults = [Fault(rf"^{V2}({'|'.join(ids)})$", "status", code=503, times=None)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json")
    assert run.code == 0, run.err
    m = re.search(r"warning: analysed (\d+) of (\d+) traces; 3 failed: 3 HTTP 503", run.err)
    assert m, run.err
    assert int(m[2]) - int(m[1]) == 3
    assert int(m[2]) == len(corpus.route_ids)
    sampling = json.loads(run.out)["selection"]["sampling"]
    assert sampling["failed"] == {"HTTP 503": 3}
    assert sampling["failed_trace_ids"] == ids
    asked = Counter(p.rsplit("/", 1)[1] for p in by_id_requests(tempo.requests_log, V2))
    for tid in ids:  # each fetch of each was retried before it counted as failed
        assert asked[tid] >= ATTEMPTS
        assert asked[tid] % ATTEMPTS == 0


def test_most_traces_failing_is_an_error_that_gives_the_reason(corpus: Corpus, capsys) -> None:
    faults = [Fault(rf"^{V2}", "status", code=503, times=None)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
    assert run.code == 1
    line = run.error()
    m = re.search(r"(\d+) of (\d+) traces failed to fetch \((\d+) HTTP 503\); try again", line)
    assert m, line
    assert m[1] == m[2] == m[3]
    assert tempo.url in line
    asked = Counter(by_id_requests(tempo.requests_log, V2))
    assert all(n % ATTEMPTS == 0 for n in asked.values())


def test_traces_the_backend_does_not_have_count_as_not_found_without_retries(
    corpus: Corpus, capsys
) -> None:
    ids = sorted(corpus.by_duration()[10:12])
    raw = {f"{V2}{tid}": (404, "text/plain; charset=utf-8", b"") for tid in ids}
    with FakeTempo(corpus.traces, raw=raw) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json")
    assert run.code == 0, run.err
    assert re.search(r"analysed \d+ of \d+ traces; 2 failed: 2 not found", run.err), run.err
    sampling = json.loads(run.out)["selection"]["sampling"]
    assert sampling["failed"] == {"not found": 2}
    assert sampling["failed_trace_ids"] == ids
    asked = Counter(p.rsplit("/", 1)[1] for p in by_id_requests(tempo.requests_log, V2))
    assert all(1 <= asked[tid] < ATTEMPTS for tid in ids)  # asked again per fetch, never retried


# -- failures that end the run in one line ------------------------------------------------------


@pytest.mark.parametrize("backend", ["jaeger", "tempo"])
def test_an_html_login_page_on_the_api_is_named_as_such(
    backend: str, corpus: Corpus, capsys
) -> None:
    fake_type = FakeJaeger if backend == "jaeger" else FakeTempo
    with fake_type(corpus.traces, faults=[Fault(r"^/api", "html", times=None)]) as fake:
        run = slowest(capsys, f"{backend}+{fake.url}")
    assert run.code == 1
    line = run.error()
    assert f"{backend}+{fake.url}" in line
    assert "HTML page" in line
    assert "prefix" in line
    assert "credentials" in line


def test_a_plain_text_error_from_a_proxy_is_retried_then_quoted(corpus: Corpus, capsys) -> None:
    body = "upstream connect error or disconnect/reset before headers. reset reason: overflow\n"
    faults = [Fault(r"^/api/search$", "text_error", code=502, body=body, times=None)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
    assert run.code == 1
    line = run.error()
    assert f"tempo+{tempo.url}/api/search: HTTP 502: {body.strip()}" in line
    assert sum(s.path == "/api/search" for s in tempo.requests_log) == ATTEMPTS


@pytest.mark.parametrize("backend", ["jaeger", "tempo"])
def test_an_unreachable_port_is_one_line_naming_the_url(backend: str, capsys) -> None:
    url = f"{backend}+http://127.0.0.1:{free_port()}"
    run = slowest(capsys, url)
    assert run.code == 1
    line = run.error()
    assert url in line
    assert "connection refused" in line
    assert not run.out


@pytest.mark.parametrize("backend", ["jaeger", "tempo"])
def test_a_missing_path_prefix_is_one_line_with_a_hint(
    backend: str, corpus: Corpus, capsys
) -> None:
    fake_type = FakeJaeger if backend == "jaeger" else FakeTempo
    with fake_type(corpus.traces, prefix="/" + backend) as fake:
        bare = fake.url.removesuffix("/" + backend)
        run = slowest(capsys, f"{backend}+{bare}")
    assert run.code == 1
    line = run.error()
    assert f"{backend}+{bare}" in line
    assert "prefix" in line or "base path" in line
    # A 404 is an answer, not a failure to retry.
    assert max(Counter(s.path for s in fake.requests_log).values()) == 1


def test_a_trace_api_that_refuses_the_credentials_ends_the_run_with_the_hint(
    corpus: Corpus, capsys
) -> None:
    # Search answers, but fetching by id is refused (a token scoped to search alone).
    faults = [Fault(rf"^{V2}", "status", code=401, times=None)]
    with FakeTempo(corpus.traces, faults=faults) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--token", "search-only-token")
    assert run.code == 1
    line = run.error()
    assert f"tempo+{tempo.url}/api/v2/traces: HTTP 401" in line
    assert "--token" in line
    assert "search-only-token" not in run.err


def test_a_search_answer_without_a_traces_list_is_an_empty_result(corpus: Corpus, capsys) -> None:
    # Tempo's jsonpb leaves an empty repeated field out: no "traces" key means nothing matched.
    empty = (200, "application/json", b'{"metrics": {"inspectedTraces": 12}}')
    with FakeTempo(corpus.traces, raw={"/api/search": empty}) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
    assert run.code == 2
    assert "no requests of the route in the window" in run.error()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/search", b'{"traces":' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("/api/search", b'{"traces": [{"traceID": 5}, {"traceID": "zz"}, "x", null]}'),
    ],
    ids=["nested 5000 deep", "entries of the wrong shapes"],
)
def test_hostile_search_answers_are_one_line_never_a_traceback(
    corpus: Corpus, path: str, body: bytes, capsys
) -> None:
    with FakeTempo(corpus.traces, raw={path: (200, "application/json", body)}) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
    assert run.code in (1, 2)
    assert tempo.url.split("://")[1] in run.error()


def test_a_trace_nested_too_deeply_to_read_is_counted_not_fatal(corpus: Corpus, capsys) -> None:
    victim = corpus.route_ids[0]
    deep = b'{"trace": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    raw = {f"/api/v2/traces/{victim}": (200, "application/json", deep)}
    with FakeTempo(corpus.traces, raw=raw) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json")
    assert run.code == 0, run.err
    assert "1 failed: 1 unreadable responses" in run.err
    assert json.loads(run.out)["selection"]["sampling"]["failed_trace_ids"] == [victim]
