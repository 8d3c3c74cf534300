"""`tracelens slowest --source tempo+URL` against fake Tempo releases: the same answer as a file,
honest sampling, the route's entry spans, tenancy and auth, and the disk cache."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.backend_corpus import (  # noqa: F401 - the *_fixture names are fixtures
    Answer,
    Corpus,
    answer,
    basic_header,
    by_id_requests,
    cache_texts,
    corpus_fixture,
    file_answer_fixture,
    isolated_fixture,
    slowest,
)
from tests.fakes import FakeTempo
from tracelens.sources.tempo import entry_selector

V2 = "/api/v2/traces/"
V1 = "/api/traces/"


def _ids(paths: list[str]) -> set[str]:
    return {p.rsplit("/", 1)[1] for p in paths}


# -- the same answer as a file ----------------------------------------------------------------


def test_tempo_2_9_fetches_by_v2_id_and_gives_the_answer_of_the_same_traces_in_a_file(
    corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "tempo.csv"
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert answer(run, target) == file_answer
    assert set(corpus.route_ids) <= _ids(by_id_requests(tempo.requests_log, V2))
    assert not by_id_requests(tempo.requests_log, V1)
    metrics = [s.query["q"][0] for s in tempo.requests_log if s.path == "/api/metrics/query"]
    assert any("quantile_over_time(duration" in q for q in metrics)
    # Every listed request was fetched, so the percentiles are the fetched traces' own.
    method = json.loads(run.out)["stats"]["method"]
    assert method == f"all {len(corpus.route_ids)} requests of the route, fetched"


def test_tempo_2_5_without_v2_traces_falls_back_to_api_traces(
    corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "tempo.csv"
    with FakeTempo(corpus.traces, version="2.5") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert "has no /api/v2/traces; using /api/traces" in run.err
    assert answer(run, target) == file_answer
    assert len(by_id_requests(tempo.requests_log, V2)) == 1  # asked once, then never again
    assert set(corpus.route_ids) <= _ids(by_id_requests(tempo.requests_log, V1))


# -- honest sampling ----------------------------------------------------------------------------


def _sampling(out: str) -> dict[str, Any]:
    sampling: dict[str, Any] = json.loads(out)["selection"]["sampling"]
    return sampling


def _sample_line(flat: str, listed: int, sample: int) -> tuple[int, int]:
    """(slow, others) from "listed N requests; fetched all S slow and a seeded sample of K of
    the O others"; fails when the report does not say so."""
    m = re.search(
        rf"listed {listed} requests; fetched all (\d+) slow and a seeded sample of {sample} of "
        r"the (\d+) others",
        flat,
    )
    assert m, flat
    return int(m[1]), int(m[2])


@pytest.mark.parametrize("metrics", [True, False], ids=["traceql-metrics", "no-metrics"])
def test_a_sampled_baseline_and_where_the_percentiles_come_from_are_said(
    metrics: bool, corpus: Corpus, capsys
) -> None:
    n = len(corpus.route_ids)
    with FakeTempo(corpus.traces, version="2.9", metrics=metrics) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--sample", "10")
    assert run.code == 0, run.err
    flat = " ".join(run.out.split())  # the terminal report wraps at 80 columns
    slow, others = _sample_line(flat, n, 10)
    assert slow + others == n
    assert "intervals come from the fetched traces; the baseline sample widens them" in flat
    if metrics:
        # Over every request of the window, which TraceQL metrics counted.
        method = "TraceQL metrics (quantile_over_time; Tempo's are approximate), "
        assert f"p50/p90/p99 from {method}{n} requests" in flat
    else:
        assert f"p50/p90/p99 from durations of the {n} requests listed" in flat
        assert "TraceQL metrics" not in flat


def test_the_json_counts_and_the_seed_decide_the_sample(corpus: Corpus, capsys) -> None:
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        url = "tempo+" + tempo.url
        first = slowest(capsys, url, "--sample", "10", "--json", "--seed", "7")
        again = slowest(capsys, url, "--sample", "10", "--json", "--seed", "7")
        other = slowest(capsys, url, "--sample", "10", "--json", "--seed", "8")
    assert first.code == again.code == other.code == 0
    s = _sampling(first.out)
    route = set(corpus.route_ids)
    assert s["listed"] == len(route)
    assert s["slow_listed"] + s["others_listed"] == s["listed"]
    assert (s["others_sampled"], s["others_fetched"]) == (10, 10)
    assert s["failed"] == {}
    assert s["failed_trace_ids"] == []
    sel = json.loads(first.out)["selection"]
    assert len(sel["slow_trace_ids"]) == s["slow_listed"]
    assert set(sel["slow_trace_ids"]) | set(sel["baseline_trace_ids"]) <= route
    assert 0 < len(sel["baseline_trace_ids"]) <= 10

    def stripped(out: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(out)
        doc["selection"].pop("start_ns"), doc["selection"].pop("end_ns")
        doc["selection"]["sampling"].pop("cached")
        return doc

    assert stripped(again.out) == stripped(first.out)  # same seed: the same sample and answer
    assert _sampling(again.out)["cached"] > 0  # ... though now read from the cache
    other_sel = json.loads(other.out)["selection"]
    assert other_sel["slow_trace_ids"] == sel["slow_trace_ids"]  # the slow set is never sampled
    assert other_sel["baseline_trace_ids"] != sel["baseline_trace_ids"]


# -- route selection ----------------------------------------------------------------------------


def test_the_route_is_searched_by_its_entry_spans_only(corpus: Corpus, capsys) -> None:
    service, name = corpus.entry
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json")
    assert run.code == 0, run.err
    s = _sampling(run.out)
    entry = f'resource.service.name = "{service}" && name = "{name}"'
    assert s["query"] == f"TraceQL {{ kind = server && (({entry})) }}"
    assert "/results/" not in s["query"]
    assert s["listed"] == len(corpus.route_ids)
    searches = [s.query["q"][0] for s in tempo.requests_log if s.path == "/api/search"]
    assert searches[-1] == s["query"].removeprefix("TraceQL ")


def test_an_unknown_route_is_a_usage_error_listing_the_requests_seen(
    corpus: Corpus, capsys
) -> None:
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--route", "no-such-page")
    assert run.code == 2
    line = run.error()
    assert "'no-such-page'" in line
    assert "cdn-edge: GET (" in line  # the roots the window does hold, with counts
    assert not by_id_requests(tempo.requests_log, V2)  # nothing fetched for a route not there


def test_a_window_without_requests_is_a_clear_error(corpus: Corpus, capsys) -> None:
    window = ("--start", "2020-01-01T00:00:00Z", "--end", "2020-01-01T01:00:00Z")
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, *window)
    assert run.code != 0
    assert "no requests of the route in the window" in run.error()


# -- tenancy and auth ---------------------------------------------------------------------------


def test_a_multi_tenant_tempo_needs_a_tenant_and_gets_it_on_every_request(
    corpus: Corpus, capsys
) -> None:
    with FakeTempo(corpus.traces, version="2.9", org_id="acme") as tempo:
        missing = slowest(capsys, "tempo+" + tempo.url)
        before = len(tempo.requests_log)
        ok = slowest(capsys, "tempo+" + tempo.url, "--tenant", "acme")
    assert missing.code == 1
    line = missing.error()
    assert "--tenant" in line
    assert "X-Scope-OrgID" in line
    assert tempo.url in line
    assert ok.code == 0, ok.err
    sent = tempo.requests_log[before:]
    assert by_id_requests(sent, V2)
    assert all(s.headers.get("X-Scope-OrgID") == "acme" for s in sent)


def test_grafana_cloud_style_basic_auth_under_a_prefix_works_and_stays_secret(
    corpus: Corpus, isolated: Path, tmp_path: Path, capsys
) -> None:
    user, key = "123456", "glc_eyJrIjoiZmFrZSJ9"
    md = tmp_path / "r.md"
    with FakeTempo(corpus.traces, version="2.9", prefix="/tempo", auth=("basic", user, key)) as t:
        url = t.url.replace("http://", f"http://{user}:{key}@")
        run = slowest(capsys, "tempo+" + url, "--markdown", str(md))
        as_json = slowest(capsys, "tempo+" + url, "--json")
    assert run.code == as_json.code == 0, run.err
    assert all(s.headers.get("Authorization") == basic_header(user, key) for s in t.requests_log)
    assert all(s.path.startswith("/tempo/") for s in t.requests_log)
    secret_b64 = basic_header(user, key).split()[1]
    for text in (run.out, run.err, as_json.out, as_json.err, md.read_text(encoding="utf-8")):
        assert key not in text
        assert secret_b64 not in text
    for path, body in cache_texts(isolated):
        assert key not in path
        assert key.encode() not in body


def test_a_bearer_token_from_the_environment_reaches_tempo(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("TRACELENS_TOKEN", "tempo-tok-123")
    with FakeTempo(corpus.traces, version="2.9", auth=("bearer", "tempo-tok-123")) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url)
        monkeypatch.setenv("TRACELENS_TOKEN", "stale-tok-456")
        refused = slowest(capsys, "tempo+" + tempo.url, "--no-cache")
    assert run.code == 0, run.err
    assert refused.code == 1
    line = refused.error()
    assert "credentials were refused" in line
    assert "--token" in line
    assert "stale-tok-456" not in refused.err
    assert all(s.headers["Authorization"].startswith("Bearer ") for s in tempo.requests_log)


# -- the disk cache -----------------------------------------------------------------------------


def test_a_second_run_reads_every_trace_from_the_cache_and_no_cache_fetches_again(
    corpus: Corpus, file_answer: Answer, isolated: Path, tmp_path: Path, capsys
) -> None:
    csvs = [tmp_path / f"run{i}.csv" for i in range(3)]
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        log, url = tempo.requests_log, "tempo+" + tempo.url
        first = slowest(capsys, url, "--json", "--csv", str(csvs[0]))
        n_first = len(log)
        second = slowest(capsys, url, "--csv", str(csvs[1]))  # the terminal report
        n_second = len(log)
        third = slowest(capsys, url, "--json", "--csv", str(csvs[2]), "--no-cache")
    assert first.code == second.code == third.code == 0
    fetched = _ids(by_id_requests(log[:n_first], V2))
    assert set(corpus.route_ids) <= fetched
    assert any(isolated.rglob("*.gz"))  # the cache is where TRACELENS_CACHE_DIR says
    assert by_id_requests(log[n_first:n_second], V2) == []
    assert f"({len(corpus.route_ids)} from the cache)" in " ".join(second.out.split())
    assert _ids(by_id_requests(log[n_second:], V2)) == fetched
    assert json.loads(third.out)["selection"]["sampling"]["cached"] == 0
    assert answer(first, csvs[0]) == answer(third, csvs[2]) == file_answer
    assert csvs[1].read_text(encoding="utf-8") == file_answer.csv


def test_a_damaged_cache_entry_is_fetched_again(
    corpus: Corpus, file_answer: Answer, isolated: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "again.csv"
    with FakeTempo(corpus.traces, version="2.9") as tempo:
        log = tempo.requests_log
        assert slowest(capsys, "tempo+" + tempo.url).code == 0
        fetched = _ids(by_id_requests(log, V2))
        entries = [p for p in isolated.rglob("*") if p.is_file()]
        assert entries
        for i, path in enumerate(entries):  # cut short, or not gzip at all
            body = path.read_bytes()
            path.write_bytes(body[: len(body) // 2] if i % 2 else b"not a cache entry")
        n = len(log)
        run = slowest(capsys, "tempo+" + tempo.url, "--json", "--csv", str(target))
    assert run.code == 0, run.err
    assert _ids(by_id_requests(log[n:], V2)) == fetched
    assert answer(run, target) == file_answer


def test_tempo_2_5_gives_window_percentiles_from_one_step_range_queries(
    corpus: Corpus, capsys
) -> None:
    # Tempo 2.4-2.5 have TraceQL metrics but no instant endpoint: one step over the whole window.
    with FakeTempo(corpus.traces, version="2.5") as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--sample", "5", "--json")
    assert run.code == 0, run.err
    method = json.loads(run.out)["stats"]["method"]
    assert method.startswith("TraceQL metrics (quantile_over_time")
    ranges = [s for s in tempo.requests_log if s.path == "/api/metrics/query_range"]
    assert ranges
    for seen in ranges:
        start, end = int(seen.query["start"][0]), int(seen.query["end"][0])
        assert seen.query["step"] == [f"{end - start}s"]


def test_search_results_whose_root_has_not_arrived_are_left_out_and_counted(
    corpus: Corpus, capsys
) -> None:
    # The route's own search results, as Tempo would list them, with one root still missing.
    query = {"q": entry_selector([corpus.entry]), "limit": 1000}
    with FakeTempo(corpus.traces) as tempo:
        found = requests.get(tempo.url + "/api/search", params=query, timeout=10).json()
    assert len(found["traces"]) == len(corpus.route_ids)
    fragment = dict(found["traces"][0], rootServiceName="<root span not yet received>")
    fragment.pop("rootTraceName", None)
    body = json.dumps({"traces": [fragment, *found["traces"][1:]]}).encode()
    with FakeTempo(corpus.traces, raw={"/api/search": (200, "application/json", body)}) as tempo:
        run = slowest(capsys, "tempo+" + tempo.url, "--json")
        shown = slowest(capsys, "tempo+" + tempo.url)
    assert run.code == 0, run.err
    assert _sampling(run.out)["unlisted"] == {"root span not yet received": 1}
    flat = " ".join(shown.out.split())
    assert "search results left out of the listing: 1 root span not yet received" in flat
