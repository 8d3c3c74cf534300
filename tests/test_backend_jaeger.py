"""`tracelens slowest --source jaeger+URL` against fake jaeger-query releases: the same answer as a
file, the route's entry spans only, auth and secrets, and links to the Jaeger UI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

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
    jaeger_file_answer_fixture,
    slowest,
)
from tests.fakes import FakeJaeger
from tracelens.model import Trace

FIXTURES = Path(__file__).parent.parent / "fixtures"
# The trace of Jaeger's own api_v3 snapshot at v1.53.0: base64 ids, enum names, and one span
# whose uint64 timestamp is absurd.
SNAPSHOT_1_53 = FIXTURES / "jaeger" / "v3-GetTrace_v1.53.0_base64-ids.json"
SNAPSHOT_ID = "000000000000009600000000000000a0"  # "AAAAAAAAAJYAAAAAAAAAoA==" as hex


def _answer_args(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    target = tmp_path / "contributors.csv"
    return target, ("--json", "--csv", str(target))


# -- the same answer as a file ----------------------------------------------------------------


def test_the_v1_api_gives_the_answer_of_the_same_traces_saved_by_jaeger(
    corpus: Corpus, file_answer: Answer, jaeger_file_answer: Answer, tmp_path: Path, capsys
) -> None:
    # Jaeger v1 keeps whole microseconds (startTime = start_ns // 1000, duration = end_ns // 1000
    # - start_ns // 1000), so the traces it serves are the demo's with every time truncated to
    # the µs. The CSV's 0.1 ms cells happen to hide that here, but the JSON report's µs-precise
    # excesses, findings and what-ifs do not (asserted below). The exact reference is therefore
    # the same traces as Jaeger serves them, written to a file with the fake's own encoder.
    target, args = _answer_args(tmp_path)
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, *args)
    assert run.code == 0, run.err
    assert "v1 query API" in run.err
    assert answer(run, target) == jaeger_file_answer
    assert jaeger_file_answer.report["contributors"] != file_answer.report["contributors"]
    searches = [s for s in jaeger.requests_log if s.path == "/api/traces"]
    assert searches, "the v1 search was not used"
    assert not by_id_requests(jaeger.requests_log, "/api/v3/")


def test_jaeger_main_without_v1_search_uses_api_v3_trace_summaries(
    corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    target, args = _answer_args(tmp_path)
    with FakeJaeger(corpus.traces, version="main") as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, *args)
    assert run.code == 0, run.err
    notice = next(line for line in run.err.splitlines() if line.startswith("jaeger: using"))
    assert "api_v3" in notice
    assert answer(run, target) == file_answer  # api_v3 keeps nanoseconds
    paths = [s.path for s in jaeger.requests_log]
    assert "/api/v3/trace-summaries" in paths
    assert "/api/v3/traces" not in paths  # summaries list; only the chosen traces are fetched
    fetched = {p.rsplit("/", 1)[1] for p in by_id_requests(jaeger.requests_log, "/api/v3/traces/")}
    assert set(corpus.route_ids) <= fetched


@pytest.mark.parametrize(
    ("version", "summaries"),
    [("1.53", False), ("1.60", False), ("2.20", True)],
    ids=["1.53-base64-ids-enum-names", "1.60-no-trace-summaries", "2.20-trace-summaries"],
)
def test_a_forced_api_v3_gives_the_answer_of_the_same_traces_in_a_file(
    version: str, summaries: bool, corpus: Corpus, file_answer: Answer, tmp_path: Path, capsys
) -> None:
    target, args = _answer_args(tmp_path)
    with FakeJaeger(corpus.traces, version=version) as jaeger:
        run = slowest(capsys, "jaeger+v3+" + jaeger.url, *args)
    assert run.code == 0, run.err
    assert "api_v3" in run.err
    assert answer(run, target) == file_answer
    paths = [s.path for s in jaeger.requests_log]
    assert "/api/services" not in paths  # forced: v1 is not even asked
    if summaries:
        assert "/api/v3/trace-summaries" in paths
        assert "/api/v3/traces" not in paths
    else:
        # trace-summaries answered "404 page not found": the search gives whole traces, and
        # none is fetched again by id.
        assert "/api/v3/traces" in paths
        assert not by_id_requests(jaeger.requests_log, "/api/v3/traces/")


def _renamed(trace: Trace, trace_id: str) -> Trace:
    return Trace(
        trace_id, tuple(msgspec.structs.replace(s, trace_id=trace_id) for s in trace.spans)
    )


def test_a_recorded_1_53_answer_is_decoded_and_its_implausible_span_reported(
    corpus: Corpus, tmp_path: Path, capsys
) -> None:
    # One listed request whose answer by id is Jaeger's own v1.53.0 snapshot, replayed verbatim.
    extra = _renamed(
        next(t for t in corpus.traces if t.trace_id == corpus.route_ids[0]), SNAPSHOT_ID
    )
    raw = {f"/api/v3/traces/{SNAPSHOT_ID}": (200, "application/json", SNAPSHOT_1_53.read_bytes())}
    with FakeJaeger([*corpus.traces, extra], version="2.20", raw=raw) as jaeger:
        run = slowest(capsys, "jaeger+v3+" + jaeger.url, "--json")
    assert run.code == 0, run.err
    # The base64 ids of the recording came out as hex: the span is named by them.
    assert f"span 00000000000000b4 of trace {SNAPSHOT_ID}" in run.err
    assert "not a plausible timestamp" in run.err
    sampling = json.loads(run.out)["selection"]["sampling"]
    assert sampling["failed_trace_ids"] == [SNAPSHOT_ID]
    assert sampling["listed"] == len(corpus.route_ids) + 1


def test_a_listing_cut_by_the_limit_and_a_sampled_baseline_are_said(corpus: Corpus, capsys) -> None:
    with FakeJaeger(corpus.traces, version="main") as jaeger:
        text = slowest(capsys, "jaeger+" + jaeger.url, "--limit", "16", "--sample", "5")
        doc = slowest(capsys, "jaeger+" + jaeger.url, "--limit", "16", "--sample", "5", "--json")
    assert text.code == doc.code == 0, text.err + doc.err
    s = json.loads(doc.out)["selection"]["sampling"]
    assert (s["listed"], s["complete"]) == (16, False)
    assert s["slow_listed"] + s["others_listed"] == 16
    assert (s["others_sampled"], s["others_fetched"]) == (5, 5)
    flat = " ".join(text.out.split())  # the terminal report wraps at 80 columns
    assert (
        f"listed 16 requests (the --limit: the window holds more); fetched all "
        f"{s['slow_listed']} slow and a seeded sample of 5 of the {s['others_listed']} others"
    ) in flat
    assert "p50/p90/p99 from durations of the 16 requests listed (the --limit" in flat
    summaries = [q for q in jaeger.requests_log if q.path == "/api/v3/trace-summaries"]
    assert summaries[-1].query["query.num_traces"] == ["16"]


# -- route selection ----------------------------------------------------------------------------


def test_the_route_lists_only_its_entry_spans_not_downstream_namesakes(
    corpus: Corpus, capsys
) -> None:
    service, name = corpus.entry
    assert (service, name) == ("web", "GET /result/[id]")
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, "--json")
    assert run.code == 0, run.err
    sampling = json.loads(run.out)["selection"]["sampling"]
    assert sampling["query"] == f"Jaeger v1 query API: service={service} operation={name}"
    assert "GET /results/{result_id}" not in sampling["query"]
    assert sampling["listed"] == len(corpus.route_ids)
    # The listing itself (not the small probe) searched the entry operation alone.
    listing = [
        s for s in jaeger.requests_log if s.path == "/api/traces" and s.query["limit"] != ["4"]
    ]
    assert listing
    assert {(s.query["service"][0], s.query["operation"][0]) for s in listing} == {(service, name)}


def test_an_unknown_route_is_a_usage_error_listing_the_server_operations(
    corpus: Corpus, capsys
) -> None:
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, "--route", "no-such-page")
    assert run.code == 2
    line = run.error()
    assert "'no-such-page'" in line
    assert "server operations: " in line
    assert "cdn-edge: GET" in line  # as the backend names them
    assert not run.out


def test_a_window_without_requests_of_the_route_is_a_clear_error(corpus: Corpus, capsys) -> None:
    window = ("--start", "2020-01-01T00:00:00Z", "--end", "2020-01-01T01:00:00Z")
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, *window)
    assert run.code != 0
    assert "no requests of the route in the window" in run.error()
    assert "widen --since" in run.error()


# -- auth, tenancy and secrets -------------------------------------------------------------------

USER, PASSWORD = "alice", "s3cretPW"


def test_basic_auth_from_the_url_is_sent_and_no_secret_is_written_anywhere(
    corpus: Corpus, isolated: Path, tmp_path: Path, capsys
) -> None:
    header = basic_header(USER, PASSWORD)
    csv_path, md_path = tmp_path / "r.csv", tmp_path / "r.md"
    with FakeJaeger(corpus.traces, version="main", auth=("basic", USER, PASSWORD)) as jaeger:
        url = jaeger.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        report = slowest(
            capsys, "jaeger+" + url, "--csv", str(csv_path), "--markdown", str(md_path)
        )
        as_json = slowest(capsys, "jaeger+" + url, "--json")
    assert report.code == 0, report.err
    assert as_json.code == 0, as_json.err
    assert jaeger.requests_log
    assert all(s.headers.get("Authorization") == header for s in jaeger.requests_log)
    assert by_id_requests(jaeger.requests_log, "/api/v3/traces/")  # traces reached the cache
    secrets = (PASSWORD, header.split()[1], f"{USER}:{PASSWORD}")
    texts = {
        "stdout": report.out,
        "stderr": report.err + as_json.err,
        "json": as_json.out,
        "csv": csv_path.read_text(encoding="utf-8"),
        "markdown": md_path.read_text(encoding="utf-8"),
    }
    assert jaeger.url in texts["stdout"]  # the source is named, without its credentials
    cached = list(cache_texts(isolated))
    assert any(body for _, body in cached)
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, where
        for path, body in cached:
            assert secret not in path
            assert secret.encode() not in body, path


@pytest.mark.parametrize("given", ["url", "none"])
def test_refused_or_missing_credentials_are_one_line_without_the_secret(
    given: str, corpus: Corpus, capsys
) -> None:
    with FakeJaeger(corpus.traces, version="2.20", auth=("basic", USER, PASSWORD)) as jaeger:
        url = jaeger.url
        if given == "url":
            url = url.replace("http://", f"http://{USER}:wr0ngPW@")
        run = slowest(capsys, "jaeger+" + url)
    assert run.code == 1
    line = run.error()
    assert f"jaeger+{jaeger.url}/api/services" in line  # the URL, without user:password@
    assert "401" in line
    assert "--token" in line
    assert "wr0ngPW" not in run.err + run.out
    assert f"{USER}:" not in line


@pytest.mark.parametrize("via", ["--token", "TRACELENS_TOKEN"])
def test_a_bearer_token_from_the_option_or_the_environment_is_sent(
    via: str, corpus: Corpus, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    token = "tok-9f8e7d6c5b4a"
    extra: tuple[str, ...] = ("--token", token)
    if via == "TRACELENS_TOKEN":
        monkeypatch.setenv("TRACELENS_TOKEN", token)
        extra = ()
    with FakeJaeger(corpus.traces, version="main", auth=("bearer", token)) as jaeger:
        run = slowest(capsys, "jaeger+" + jaeger.url, *extra)
    assert run.code == 0, run.err
    assert all(s.headers.get("Authorization") == f"Bearer {token}" for s in jaeger.requests_log)
    assert token not in run.out + run.err


def test_a_jaeger_tenant_goes_in_the_x_tenant_header(corpus: Corpus, capsys) -> None:
    with FakeJaeger(
        corpus.traces, version="main", tenant_header="x-tenant", tenants={"acme"}
    ) as jaeger:
        refused = slowest(capsys, "jaeger+" + jaeger.url)
        before = len(jaeger.requests_log)
        ok = slowest(capsys, "jaeger+" + jaeger.url, "--tenant", "acme")
    assert refused.code == 1
    assert "401" in refused.error()
    assert ok.code == 0, ok.err
    with_tenant = jaeger.requests_log[before:]
    assert with_tenant
    assert all(s.headers.get("x-tenant") == "acme" for s in with_tenant)


# -- links to the Jaeger UI ----------------------------------------------------------------------


def _trace_links(markdown: str) -> set[str]:
    return set(re.findall(r"\]\((\S+?/trace/[0-9a-f]{32})\)", markdown))


def test_trace_ids_link_to_the_jaeger_ui_of_the_source_unless_another_is_given(
    corpus: Corpus, tmp_path: Path, capsys
) -> None:
    default_md, other_md = tmp_path / "default.md", tmp_path / "other.md"
    ui = "https://jaeger-ui.example.net/jaeger"
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        default = slowest(capsys, "jaeger+" + jaeger.url, "--markdown", str(default_md))
        other = slowest(
            capsys, "jaeger+" + jaeger.url, "--markdown", str(other_md), "--jaeger-ui", ui
        )
    assert default.code == other.code == 0
    links = _trace_links(default_md.read_text(encoding="utf-8"))
    assert links
    assert all(link.startswith(f"{jaeger.url}/trace/") for link in links)
    assert {link.rsplit("/", 1)[1] for link in links} <= set(corpus.route_ids)
    assert f"{jaeger.url}/trace/" in default.out  # the terminal report links them too
    other_links = _trace_links(other_md.read_text(encoding="utf-8"))
    assert other_links
    assert all(link.startswith(f"{ui}/trace/") for link in other_links)
    assert jaeger.url + "/trace/" not in other_md.read_text(encoding="utf-8") + other.out
