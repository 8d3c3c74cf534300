"""The fake Jaeger and Tempo servers behave as backends.md §1-§3 and the real samples say."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes import FakeJaeger, FakeTempo, Fault, TraceQLError, matched_spans, parse_traceql
from tests.fakes.encode import jaeger_v3_summary, otlp_v3
from tracelens.model import Event, Span, SpanKind, StatusCode, Trace
from tracelens.readers import parse_document

FIXTURES = Path(__file__).parent.parent / "fixtures"
S = 10**9
MS = 10**6
# Whole seconds an hour ago: inside Jaeger's default 48 h search window, µs-exact for v1.
T0 = (time.time_ns() // S - 3600) * S

ID_A = "0000000000000000a1b2c3d4e5f60718"  # a 64-bit id: Jaeger v1 prints 16 chars
ID_B = "0af7651916cd43dd8448eb211c80319c"  # one leading zero, trimmed by Tempo search
ID_C = "f1e2d3c4b5a697881122334455667788"


def _span(
    tid: str,
    sid: str,
    parent: str | None,
    service: str,
    name: str,
    start: int,
    end: int,
    kind: SpanKind = SpanKind.INTERNAL,
    **kw: Any,
) -> Span:
    return Span(tid, sid, parent, service, name, kind, T0 + start, T0 + end, **kw)


#  bff  GET /result    |----------------------------------------|  0..4 s      server, root
#  bff  GET             |---------|                                  0.1..1.2 s   client
#  api  GET /items       |--------|                                  0.15..1.15 s server, host-1
#  api  SELECT items      |------|                                   0.2..1.1 s   error
# B: one 0.5 ms server span at 10 s; C: a 2 s GraphQL server span at 20 s and a linked child.
TRACE_A = Trace(
    ID_A,
    (
        _span(
            ID_A,
            "a000000000000001",
            None,
            "bff",
            "GET /result",
            0,
            4 * S,
            SpanKind.SERVER,
            attributes={"http.route": "/result", "http.status_code": 200},
        ),
        _span(
            ID_A,
            "a000000000000002",
            "a000000000000001",
            "bff",
            "GET",
            100 * MS,
            1200 * MS,
            SpanKind.CLIENT,
            attributes={"http.url": "http://api/items", "retry": True},
        ),
        _span(
            ID_A,
            "a000000000000003",
            "a000000000000002",
            "api",
            "GET /items",
            150 * MS,
            1150 * MS,
            SpanKind.SERVER,
            process="api@host-1",
            attributes={"http.route": "/items"},
            events=(Event(T0 + 200 * MS, "cache miss", {"key": "k1"}),),
        ),
        _span(
            ID_A,
            "a000000000000004",
            "a000000000000003",
            "api",
            "SELECT items",
            200 * MS,
            1100 * MS,
            process="api@host-1",
            status=StatusCode.ERROR,
            attributes={"db.system": "postgresql", "rows": 12, "ratio": 0.5},
        ),
    ),
)
TRACE_B = Trace(
    ID_B,
    (
        _span(
            ID_B,
            "b000000000000001",
            None,
            "bff",
            "GET /home",
            10 * S,
            10 * S + 500_000,
            SpanKind.SERVER,
            attributes={"http.route": "/home"},
        ),
    ),
)
TRACE_C = Trace(
    ID_C,
    (
        _span(
            ID_C,
            "c000000000000001",
            None,
            "bff",
            "POST /graphql",
            20 * S,
            22 * S,
            SpanKind.SERVER,
            status=StatusCode.OK,
            attributes={"http.route": "/graphql", "graphql.operation.name": "ResultPage"},
        ),
        _span(
            ID_C,
            "c000000000000002",
            "c000000000000001",
            "bff",
            "resolve",
            20 * S + 1000,
            21 * S,
            links=("c000000000000001",),
        ),
    ),
)
TRACES = [TRACE_A, TRACE_B, TRACE_C]


def _shape(trace: Trace) -> list[tuple[str, str | None, str, str, int, int, SpanKind]]:
    return sorted(
        (s.span_id, s.parent_id, s.service, s.name, s.start_ns, s.end_ns, s.kind)
        for s in trace.spans
    )


def _back(doc: object) -> dict[str, Trace]:
    return {t.trace_id: t for t in parse_document(doc, "fake")}


def _v3_window(**extra: str) -> dict[str, str]:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 // S - 60))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 // S + 3600))
    return {"query.start_time_min": start, "query.start_time_max": end, **extra}


V1_WINDOW = {"start": str(T0 // 1000 - 10**6), "end": str(T0 // 1000 + 3600 * 10**6)}


# -- shared plumbing ----------------------------------------------------------------------------


def test_url_carries_the_prefix_and_the_log_records_what_was_sent():
    with FakeJaeger(TRACES, prefix="/jaeger/") as fake:
        assert fake.url == f"http://127.0.0.1:{fake.port}/jaeger"
        r = requests.get(
            f"{fake.url}/api/services", params={"x": ["1", "2"]}, headers={"X-Custom": "yes"}
        )
        assert r.status_code == 200
        outside = requests.get(f"http://127.0.0.1:{fake.port}/api/services")
        assert outside.status_code == 404
        seen = fake.requests_log[0]
        assert (seen.method, seen.path, seen.query) == (
            "GET",
            "/jaeger/api/services",
            {"x": ["1", "2"]},
        )
        assert seen.headers["x-custom"] == "yes"
        assert len(fake.requests_log) == 2


def test_a_status_fault_fires_its_times_then_the_real_answer_comes():
    faults = [Fault(r"^/api/services$", "status", times=2, code=502)]
    with FakeJaeger(TRACES, faults=faults) as fake:
        codes = [requests.get(f"{fake.url}/api/services").status_code for _ in range(3)]
        other = requests.get(f"{fake.url}/api/v3/services")
        assert codes == [502, 502, 200]
        assert other.status_code == 200
        assert len(fake.requests_log) == 4


def test_faults_in_a_list_play_out_in_order_and_times_none_is_forever():
    faults = [
        Fault("/api/echo", "status", code=500),
        Fault("/api/echo", "text_error", times=None, code=503),
    ]
    with FakeTempo(TRACES, faults=faults) as fake:
        first, second, third = (requests.get(f"{fake.url}/api/echo") for _ in range(3))
        assert (first.status_code, first.text) == (500, "Internal Server Error\n")
        assert second.status_code == third.status_code == 503
        assert second.headers["Content-Type"].startswith("text/plain")
        with pytest.raises(json.JSONDecodeError):
            json.loads(second.text)


def test_retry_after_answers_429_with_the_header_in_seconds():
    with FakeTempo(TRACES, faults=[Fault("search", "retry_after", seconds=7)]) as fake:
        r = requests.get(f"{fake.url}/api/search")
        assert (r.status_code, r.headers["Retry-After"]) == (429, "7")
        assert requests.get(f"{fake.url}/api/search").status_code == 200


def test_slow_fault_makes_a_client_time_out_and_close_stays_prompt():
    fake = FakeTempo(TRACES, faults=[Fault("echo", "slow", times=None, seconds=5)])
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{fake.url}/api/echo", timeout=0.2)
    started = time.monotonic()
    fake.close()
    assert time.monotonic() - started < 1.5


def test_slow_fault_answers_normally_after_its_sleep():
    with FakeTempo(TRACES, faults=[Fault("echo", "slow", seconds=0.2)]) as fake:
        started = time.monotonic()
        r = requests.get(f"{fake.url}/api/echo", timeout=5)
        assert (r.status_code, r.text) == (200, "echo")
        assert time.monotonic() - started >= 0.2


def test_truncate_promises_the_whole_body_and_sends_half():
    with FakeJaeger(TRACES, faults=[Fault("^/api/traces/", "truncate")]) as fake:
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            requests.get(f"{fake.url}/api/traces/{ID_A}")
        assert requests.get(f"{fake.url}/api/traces/{ID_A}").status_code == 200


def test_reset_closes_the_socket_without_an_answer():
    with FakeJaeger(TRACES, faults=[Fault("^/api/services", "reset")]) as fake:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{fake.url}/api/services")
        assert requests.get(f"{fake.url}/api/services").status_code == 200


def test_html_fault_is_a_login_page_with_200():
    with FakeTempo(TRACES, faults=[Fault(".", "html")]) as fake:
        r = requests.get(f"{fake.url}/api/search")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/html")
        assert "<form>Sign in" in r.text


@pytest.mark.parametrize(
    ("auth", "good"),
    [
        (("basic", "123456", "glc_token"), {"auth": ("123456", "glc_token")}),
        (("bearer", "s3cret"), {"headers": {"Authorization": "Bearer s3cret"}}),
    ],
)
def test_auth_refuses_missing_or_wrong_credentials(auth, good):
    with FakeTempo(TRACES, auth=auth) as fake:
        missing = requests.get(f"{fake.url}/api/echo")
        wrong = requests.get(f"{fake.url}/api/echo", auth=("x", "y"))
        right = requests.get(f"{fake.url}/api/echo", **good)
        assert (missing.status_code, missing.text) == (401, "Unauthorized\n")
        assert wrong.status_code == 401
        assert right.status_code == 200
        assert fake.requests_log[-1].headers["authorization"].startswith(("Basic", "Bearer"))


def test_concurrent_clients_are_served_in_parallel_with_keep_alive():
    with FakeJaeger(TRACES, delay_s=0.1) as fake, requests.Session() as session:
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(lambda _: session.get(f"{fake.url}/api/services").status_code, range(16))
            )
        assert codes == [200] * 16
        assert 0.1 <= time.monotonic() - started < 1.0
        assert not fake.errors


def test_raw_overrides_replay_a_real_sample_verbatim():
    body = (FIXTURES / "jaeger/v3-GetTrace_v1.53.0_base64-ids.json").read_bytes()
    path = "/api/v3/traces/00000000000000960000000000000a0"
    with FakeJaeger([], version="1.53", raw={path: (200, "application/json", body)}) as fake:
        r = requests.get(fake.url + path)
        assert r.content == body
        assert (
            r.json()["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"]
            == "SPAN_KIND_SERVER"
        )


# -- Jaeger v1 ----------------------------------------------------------------------------------


def test_jaeger_v1_envelope_matches_the_real_sample_keys():
    sample = json.loads((FIXTURES / "jaeger/v1-response-envelope_otlp2jaeger-out.json").read_text())
    with FakeJaeger(TRACES) as fake:
        doc = requests.get(f"{fake.url}/api/traces/{ID_A}").json()
    assert doc.keys() == sample.keys()
    assert (doc["total"], doc["limit"], doc["offset"], doc["errors"]) == (0, 0, 0, None)
    assert doc["data"][0].keys() == sample["data"][0].keys()
    assert doc["data"][0]["spans"][0].keys() == sample["data"][0]["spans"][0].keys()  # no flags


def test_jaeger_v1_trace_prints_64_bit_ids_short_and_reads_back_the_same():
    with FakeJaeger(TRACES) as fake:
        short = requests.get(f"{fake.url}/api/traces/a1b2c3d4e5f60718").json()
        full = requests.get(f"{fake.url}/api/traces/{ID_A}").json()
    assert short == full
    trace = full["data"][0]
    assert trace["traceID"] == "a1b2c3d4e5f60718"
    db = next(s for s in trace["spans"] if s["operationName"] == "SELECT items")
    tags = {t["key"]: (t["type"], t["value"]) for t in db["tags"]}
    assert tags["error"] == ("bool", True)
    assert tags["otel.status_code"] == ("string", "ERROR")
    assert tags["rows"] == ("int64", 12)
    assert tags["ratio"] == ("float64", 0.5)
    assert (db["startTime"], db["duration"]) == ((T0 + 200 * MS) // 1000, 900_000)
    assert trace["processes"][db["processID"]]["tags"] == [
        {"key": "hostname", "type": "string", "value": "host-1"}
    ]
    assert _shape(_back(full)[ID_A]) == _shape(TRACE_A)


def test_jaeger_v1_links_follow_the_parent_and_events_become_logs():
    with FakeJaeger(TRACES) as fake:
        trace = requests.get(f"{fake.url}/api/traces/{ID_C}").json()["data"][0]
        api = requests.get(f"{fake.url}/api/traces/{ID_A}").json()["data"][0]["spans"][2]
    resolve = trace["spans"][1]
    assert [r["refType"] for r in resolve["references"]] == ["CHILD_OF", "FOLLOWS_FROM"]
    assert trace["spans"][0]["references"] == []
    assert api["logs"][0]["timestamp"] == (T0 + 200 * MS) // 1000
    assert api["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "cache miss"}


def test_jaeger_v1_errors_are_an_envelope_sent_as_text_plain():
    with FakeJaeger(TRACES) as fake:
        ops = requests.get(f"{fake.url}/api/operations")
        missing = requests.get(f"{fake.url}/api/traces/{'9' * 32}")
        search = requests.get(f"{fake.url}/api/traces", params={"limit": "5"})
        order = requests.get(
            f"{fake.url}/api/traces",
            params={"service": "bff", "minDuration": "2s", "maxDuration": "1s"},
        )
    assert ops.status_code == 400
    assert ops.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert ops.text.endswith("\n")
    assert ops.json() == {
        "data": None,
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": [{"code": 400, "msg": "parameter 'service' is required"}],
    }
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": 404, "msg": "trace not found"}]
    assert search.status_code == 400
    assert order.json()["errors"][0]["msg"] == "'maxDuration' should be greater than 'minDuration'"


def test_jaeger_v1_services_and_operations():
    with FakeJaeger(TRACES) as fake:
        services = requests.get(f"{fake.url}/api/services").json()
        names = requests.get(f"{fake.url}/api/services/api/operations").json()
        server = requests.get(
            f"{fake.url}/api/operations", params={"service": "bff", "spanKind": "server"}
        ).json()
    assert (services["data"], services["total"]) == (["api", "bff"], 2)
    assert sorted(names["data"]) == ["GET /items", "SELECT items"]
    assert sorted(o["name"] for o in server["data"]) == [
        "GET /home",
        "GET /result",
        "POST /graphql",
    ]
    assert {o["spanKind"] for o in server["data"]} == {"server"}


def _v1_ids(fake: FakeJaeger, **params: str) -> list[str]:
    doc = requests.get(f"{fake.url}/api/traces", params={**V1_WINDOW, **params}).json()
    return [t["traceID"] for t in doc["data"]]


def test_jaeger_v1_search_filters_spans_not_traces_and_returns_newest_first():
    with FakeJaeger(TRACES) as fake:
        assert _v1_ids(fake, service="bff") == [ID_C, ID_B, "a1b2c3d4e5f60718"]
        assert _v1_ids(fake, service="bff", limit="2") == [ID_C, ID_B]
        assert _v1_ids(fake, service="bff", minDuration="3s") == ["a1b2c3d4e5f60718"]
        # trace A lasts 4 s, but none of api's spans lasts 2 s
        assert _v1_ids(fake, service="api", minDuration="2s") == []
        assert _v1_ids(fake, service="api", operation="GET /items", maxDuration="1.5s") == [
            "a1b2c3d4e5f60718"
        ]
        assert _v1_ids(fake, service="bff", tags=json.dumps({"http.route": "/home"})) == [ID_B]
        assert _v1_ids(fake, service="bff", tag="retry:true") == ["a1b2c3d4e5f60718"]
        recent = requests.get(f"{fake.url}/api/traces", params={"service": "bff", "lookback": "1h"})
        assert len(recent.json()["data"]) == 3  # default window is now-48h..now; lookback ignored


def test_jaeger_v1_multi_get_reports_missing_ids_with_200():
    with FakeJaeger(TRACES) as fake:
        r = requests.get(f"{fake.url}/api/traces", params={"traceID": [ID_B, "1234"]})
    assert r.status_code == 200
    assert [t["traceID"] for t in r.json()["data"]] == [ID_B]
    assert r.json()["errors"] == [{"msg": "trace not found", "traceID": "1234"}]


def test_jaeger_main_removed_v1_search_services_and_operations():
    with FakeJaeger(TRACES, version="main") as fake:
        for path in (
            "/api/services",
            "/api/operations",
            "/api/services/bff/operations",
            "/api/traces",
        ):
            r = requests.get(fake.url + path, params={"service": "bff"})
            assert (r.status_code, r.text) == (404, "404 page not found\n"), path
            assert r.headers["Content-Type"].startswith("text/plain")
        assert requests.get(f"{fake.url}/api/traces/{ID_B}").status_code == 200
        assert requests.get(f"{fake.url}/api/v3/services").json() == {"services": ["api", "bff"]}


def test_jaeger_unknown_api_paths_404_and_other_paths_serve_the_ui():
    with FakeJaeger(TRACES, prefix="/jaeger") as fake:
        api = requests.get(f"{fake.url}/api/nope")
        ui = requests.get(f"{fake.url}/search")
        summaries = requests.get(f"{fake.url}/api/v3/trace-summaries", params=_v3_window())
    assert (api.status_code, api.text) == (404, "404 page not found\n")
    assert ui.status_code == 200
    assert ui.headers["Content-Type"].startswith("text/html")
    assert "Jaeger UI" in ui.text
    assert [s["traceId"] for s in summaries.json()["summaries"]] == [ID_C, ID_B, ID_A]  # 2.19+


def test_jaeger_tenant_header_is_required():
    with FakeJaeger(TRACES, tenant_header="x-tenant") as fake:
        missing = requests.get(f"{fake.url}/api/services")
        given = requests.get(f"{fake.url}/api/services", headers={"x-tenant": "team-a"})
    assert missing.status_code == 401
    assert not missing.text.startswith("{")
    assert given.status_code == 200


# -- Jaeger api_v3 ------------------------------------------------------------------------------


def test_jaeger_v3_search_concatenates_every_trace_in_one_result():
    with FakeJaeger(TRACES) as fake:
        r = requests.get(
            f"{fake.url}/api/v3/traces", params=_v3_window(**{"query.service_name": "bff"})
        )
    assert r.status_code == 200
    assert r.json().keys() == {"result"}
    back = _back(r.json())
    assert sorted(back) == sorted([ID_A, ID_B, ID_C])
    assert _shape(back[ID_A]) == _shape(TRACE_A)
    spans = r.json()["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert spans[0]["traceId"] == ID_C
    assert spans[0]["kind"] == 2


def test_jaeger_v3_no_match_is_404_no_traces_found_as_text_plain():
    with FakeJaeger(TRACES) as fake:
        none = requests.get(
            f"{fake.url}/api/v3/traces", params=_v3_window(**{"query.service_name": "nope"})
        )
        trace = requests.get(f"{fake.url}/api/v3/traces/{'9' * 32}")
        window = requests.get(f"{fake.url}/api/v3/traces", params={"query.service_name": "bff"})
    assert none.status_code == 404
    assert none.headers["Content-Type"].startswith("text/plain")
    assert none.json() == {"error": {"httpCode": 404, "message": "No traces found"}}
    assert trace.status_code == 404
    assert window.status_code == 400
    assert window.json()["error"]["httpCode"] == 400
    assert "required" in window.json()["error"]["message"]


def test_jaeger_v3_camel_case_and_search_depth_only_from_2_19():
    camel = {
        "query.startTimeMin": _v3_window()["query.start_time_min"],
        "query.startTimeMax": _v3_window()["query.start_time_max"],
        "query.serviceName": "bff",
        "query.searchDepth": "1",
    }
    with FakeJaeger(TRACES, version="2.19") as new, FakeJaeger(TRACES, version="2.18") as old:
        assert len(_back(requests.get(f"{new.url}/api/v3/traces", params=camel).json())) == 1
        assert requests.get(f"{old.url}/api/v3/traces", params=camel).status_code == 400
        summaries = requests.get(f"{new.url}/api/v3/trace-summaries", params=camel).json()
        old_summaries = requests.get(f"{old.url}/api/v3/trace-summaries", params=camel)
    assert [s["traceId"] for s in summaries["summaries"]] == [ID_C]
    assert (old_summaries.status_code, old_summaries.text) == (404, "404 page not found\n")


def test_jaeger_v3_summary_has_the_real_sample_shape_with_zeros_omitted():
    sample = json.loads((FIXTURES / "jaeger/v3-FindTraceSummaries.json").read_text())["summaries"][
        0
    ]
    summary = jaeger_v3_summary(TRACE_A)
    assert set(summary) == set(sample)  # no orphans in TRACE_A, so orphanSpanCount is omitted
    assert summary["minStartTimeUnixNano"] == str(T0)
    assert summary["maxEndTimeUnixNano"] == str(T0 + 4 * S)
    assert (summary["spanCount"], summary["errorSpanCount"]) == (4, 1)
    assert "errorSpanCount" not in jaeger_v3_summary(TRACE_B)


def test_jaeger_1_53_writes_base64_ids_and_enum_names_that_decode_to_the_same_trace():
    sample = json.loads((FIXTURES / "jaeger/v3-GetTrace_v1.53.0_base64-ids.json").read_text())
    with FakeJaeger(TRACES, version="1.53") as old, FakeJaeger(TRACES, version="1.54") as new:
        old_doc = requests.get(f"{old.url}/api/v3/traces/{ID_A}").json()
        new_doc = requests.get(f"{new.url}/api/v3/traces/{ID_A}").json()
    span = old_doc["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    real = sample["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert base64.b64decode(span["traceId"]).hex() == ID_A
    assert (
        (span["kind"], span["parentSpanId"])
        == ("SPAN_KIND_SERVER", "")
        == (real["kind"], real["parentSpanId"])
    )
    db = old_doc["result"]["resourceSpans"][1]["scopeSpans"][0]["spans"][1]
    assert db["status"] == {"code": "STATUS_CODE_ERROR"}
    assert new_doc["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == ID_A
    assert _shape(_back(old_doc)[ID_A]) == _shape(_back(new_doc)[ID_A]) == _shape(TRACE_A)


def test_jaeger_v3_hex_form_matches_the_real_sample_conventions():
    sample = json.loads((FIXTURES / "jaeger/v3-GetTrace_hex-ids.json").read_text())
    real = sample["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    ours = otlp_v3(TRACE_B)["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert isinstance(real["kind"], int)
    assert isinstance(ours["kind"], int)
    assert "parentSpanId" not in real
    assert "parentSpanId" not in ours
    assert len(ours["traceId"]) == len(real["traceId"]) == 32


def test_jaeger_v3_services_and_operations():
    with FakeJaeger(TRACES) as fake:
        services = requests.get(f"{fake.url}/api/v3/services").json()
        ops = requests.get(f"{fake.url}/api/v3/operations", params={"service": "api"}).json()
    with FakeJaeger([]) as empty:
        nothing = requests.get(f"{empty.url}/api/v3/services").json()
    assert services == {"services": ["api", "bff"]}
    assert ops == {
        "operations": [
            {"name": "GET /items", "spanKind": "server"},
            {"name": "SELECT items", "spanKind": "internal"},
        ]
    }
    assert nothing == {}  # protojson omits the empty list


# -- Tempo --------------------------------------------------------------------------------------


def _search(fake: FakeTempo, q: str | None = None, **params: str) -> requests.Response:
    window = {"start": str(T0 // S - 60), "end": str(T0 // S + 3600)}
    return requests.get(
        f"{fake.url}/api/search", params={**window, **params, **({"q": q} if q else {})}
    )


def test_tempo_search_trims_ids_and_omits_durationms_under_a_millisecond():
    with FakeTempo(TRACES) as fake:
        doc = _search(fake, "{ kind = server }").json()
    by_id = {t["traceID"]: t for t in doc["traces"]}
    assert sorted(by_id) == sorted(["a1b2c3d4e5f60718", "af7651916cd43dd8448eb211c80319c", ID_C])
    a, b = by_id["a1b2c3d4e5f60718"], by_id["af7651916cd43dd8448eb211c80319c"]
    assert (a["rootServiceName"], a["rootTraceName"], a["durationMs"]) == (
        "bff",
        "GET /result",
        4000,
    )
    assert a["startTimeUnixNano"] == str(T0)
    assert "durationMs" not in b
    assert a["spanSet"] == a["spanSets"][0]
    assert a["spanSet"]["matched"] == 2
    assert [s["spanID"] for s in a["spanSet"]["spans"]] == ["a000000000000001", "a000000000000003"]
    assert a["spanSet"]["spans"][0]["durationNanos"] == str(4 * S)
    assert doc["metrics"]["inspectedTraces"] == 3
    assert isinstance(doc["metrics"]["inspectedBytes"], str)


def test_tempo_search_takes_the_first_found_and_sorts_them_newest_first():
    with FakeTempo(TRACES) as fake:
        two = _search(fake, limit="2").json()["traces"]
        one_span = _search(fake, "{ }", spss="1").json()["traces"]
        slow = _search(fake, minDuration="3s").json()["traces"]
    assert [t["traceID"] for t in two] == ["af7651916cd43dd8448eb211c80319c", "a1b2c3d4e5f60718"]
    assert all(len(t["spanSets"][0]["spans"]) == 1 for t in one_span)
    assert [t["traceID"] for t in slow] == ["a1b2c3d4e5f60718"]


def test_tempo_search_rejects_bad_parameters_with_plain_text():
    with FakeTempo(TRACES) as fake:
        start_only = requests.get(f"{fake.url}/api/search", params={"start": "100"})
        reversed_ = requests.get(f"{fake.url}/api/search", params={"start": "200", "end": "100"})
        zero = _search(fake, limit="0")
        both = _search(fake, "{}", tags="service.name=bff")
        bad_q = _search(fake, "{ span.x = }")
    for r in (start_only, reversed_, zero, both, bad_q):
        assert r.status_code == 400
        assert r.headers["Content-Type"].startswith("text/plain")
    assert start_only.text.startswith("http parameter start must be before end")


def test_tempo_trace_by_id_v1_is_batches_and_v2_is_trace_with_the_same_spans():
    with FakeTempo(TRACES) as fake:
        v1 = requests.get(f"{fake.url}/api/traces/{ID_A.upper()}").json()
        v2 = requests.get(f"{fake.url}/api/v2/traces/a1b2c3d4e5f60718").json()
    assert list(v1) == ["batches"]
    assert v2.keys() >= {"trace"}
    assert list(v2["trace"]) == ["resourceSpans"]
    span = v1["batches"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == base64.b64encode(bytes.fromhex(ID_A)).decode()
    assert span["kind"] == "SPAN_KIND_SERVER"
    assert "parentSpanId" not in span
    assert span["attributes"][1] == {"key": "http.status_code", "value": {"intValue": "200"}}
    assert _shape(_back(v1)[ID_A]) == _shape(_back(v2)[ID_A]) == _shape(TRACE_A)


def test_tempo_trace_by_id_errors():
    with FakeTempo(TRACES) as fake, FakeTempo(TRACES, version="2.5") as old:
        missing = requests.get(f"{fake.url}/api/traces/{'9' * 32}")
        bad = requests.get(f"{fake.url}/api/traces/xyz")
        v2_missing = requests.get(f"{fake.url}/api/v2/traces/{'9' * 32}")
        v2_old = requests.get(f"{old.url}/api/v2/traces/{ID_B}")
    with FakeTempo(TRACES, v2_not_found_200=True) as lenient:
        empty = requests.get(f"{lenient.url}/api/v2/traces/{'9' * 32}")
    assert (missing.status_code, missing.content) == (404, b"")
    assert bad.status_code == 400
    assert bad.text.startswith("trace IDs can only contain hex characters")
    assert (v2_missing.status_code, v2_missing.content) == (404, b"")
    assert (v2_old.status_code, v2_old.text) == (404, "404 page not found\n")
    assert empty.status_code == 200
    assert empty.json()["trace"] == {}


def test_tempo_tenancy_needs_an_org_id_and_hides_other_tenants_traces():
    with FakeTempo(TRACES, org_id="tenant-a") as fake:
        none = requests.get(f"{fake.url}/api/traces/{ID_B}")
        other = {"X-Scope-OrgID": "tenant-b"}
        hidden = requests.get(f"{fake.url}/api/traces/{ID_B}", headers=other)
        empty = requests.get(f"{fake.url}/api/search", headers=other).json()
        mine = requests.get(
            f"{fake.url}/api/traces/{ID_B}", headers={"X-Scope-OrgID": "tenant-b|tenant-a"}
        )
        ready = requests.get(f"{fake.url}/ready")
    assert (none.status_code, none.text) == (401, "no org id\n")
    assert hidden.status_code == 404
    assert empty["traces"] == []
    assert mine.status_code == 200
    assert (ready.status_code, ready.text) == (200, "ready")


def test_tempo_health_and_buildinfo():
    with FakeTempo(TRACES, version="2.9", prefix="/tempo") as fake:
        assert requests.get(f"{fake.url}/api/echo").text == "echo"
        assert requests.get(f"{fake.url}/api/status/buildinfo").json()["version"] == "2.9"


# -- TraceQL metrics ----------------------------------------------------------------------------


def _metrics(fake: FakeTempo, path: str, q: str, **params: str) -> requests.Response:
    window = {"start": str(T0 // S - 60), "end": str(T0 // S + 3600)}
    return requests.get(f"{fake.url}/api/metrics/{path}", params={"q": q, **window, **params})


def test_tempo_quantiles_are_seconds_over_matching_spans():
    q = "{ kind = server } | quantile_over_time(duration, .5, .9)"
    with FakeTempo(TRACES) as fake:
        instant = _metrics(fake, "query", q).json()
        ranged = _metrics(fake, "query_range", q, step="1m").json()
        rfc = _metrics(
            fake,
            "query",
            q,
            start=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 // S - 60)),
            end=str(T0 + 3600 * S),
        ).json()
    # server spans: 0.0005 s, 1 s, 2 s, 4 s
    labels = [s["labels"] for s in instant["series"]]
    assert labels == [
        [{"key": "p", "value": {"doubleValue": 0.5}}],
        [{"key": "p", "value": {"doubleValue": 0.9}}],
    ]
    assert [s["value"] for s in instant["series"]] == pytest.approx([1.5, 3.4])
    assert ranged["series"][0]["samples"][0]["value"] == pytest.approx(1.5)
    assert isinstance(ranged["series"][0]["samples"][0]["timestampMs"], str)
    assert rfc == instant


def test_tempo_count_over_time_and_when_metrics_are_missing():
    q = '{ resource.service.name = "api" } | count_over_time()'
    with FakeTempo(TRACES) as fake, FakeTempo(TRACES, metrics=False) as off:
        count = _metrics(fake, "query", q).json()["series"]
        since = requests.get(f"{fake.url}/api/metrics/query", params={"q": q, "since": "2h"}).json()
        bad = _metrics(fake, "query", "{ kind = }  | count_over_time()")
        absent = _metrics(off, "query_range", q)
    with FakeTempo(TRACES, version="2.4") as old:
        no_instant = _metrics(old, "query", q)
        has_range = _metrics(old, "query_range", q)
    assert count == [
        {"labels": [{"key": "__name__", "value": {"stringValue": "count_over_time"}}], "value": 2.0}
    ]
    assert since["series"][0]["value"] == 2.0  # the last two hours hold T0 + 150 ms
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("text/plain")
    assert (absent.status_code, absent.text) == (404, "404 page not found\n")
    assert no_instant.status_code == 404
    assert has_range.status_code == 200
    assert "promLabels" in has_range.json()["series"][0]  # removed in 2.9


# -- the TraceQL evaluator ----------------------------------------------------------------------


def _ids(q: str, trace: Trace = TRACE_A, anchored: bool = True) -> list[str]:
    return [s.span_id[-1] for s in matched_spans(parse_traceql(q).spans, trace, anchored)]


@pytest.mark.parametrize(
    ("query", "spans"),
    [
        ("{}", ["1", "2", "3", "4"]),
        ('{ span.http.route = "/result" && kind = server }', ["1"]),
        ('{ kind = client || resource.service.name = "api" }', ["2", "3", "4"]),
        ('{ kind = server && (name = "GET /items" || span.http.route = "/result") }', ["1", "3"]),
        ('{ (kind = server && name = "GET /items") || status = error }', ["3", "4"]),
        ('{ name =~ "GET" }', ["2"]),  # fully anchored
        ('{ name =~ "GET.*" }', ["1", "2", "3"]),
        ('{ name =~ "(?i)select.*" }', ["4"]),
        ('{ name !~ "GET.*" }', ["4"]),
        ('{ span.nope != "x" }', []),  # a missing attribute matches nothing...
        ("{ span.nope = nil }", ["1", "2", "3", "4"]),
        ("{ span.http.route != nil }", ["1", "3"]),  # ...except nil checks
        ("{ duration > 3s }", ["1"]),
        ("{ duration >= 1s && duration < 1.1s }", ["3"]),
        ("{ duration < 100us }", []),
        ("{ duration <= 900ms }", ["4"]),
        ("{ span.rows > 10 && span.ratio < 0.75 }", ["4"]),
        ("{ span.retry = true }", ["2"]),
        ("{ span.http.status_code = 200 }", ["1"]),
        ('{ span.http.status_code = "200" }', []),  # types must match
        ('{ .service.name = "api" && .db.system = "postgresql" }', ["4"]),
        ('{ trace:rootName = "GET /result" && trace:rootService = "bff" && name = "GET" }', ["2"]),
        ('{ rootServiceName = "bff" && traceDuration > 3s && kind = server }', ["1", "3"]),
        ("{ trace:duration < 3s }", []),
        ("{ nestedSetParent < 0 }", ["1"]),
        ('{ span."http.url" = "http://api/items" }', ["2"]),
        ("{ status = error } && { kind = client }", ["4", "2"]),
        ('{ status = ok } || { span.http.route = "/items" }', ["3"]),
        ('{ name = "GET" } && { name = "missing" }', []),
        ("{ kind = server } with (most_recent=true)", ["1", "3"]),
    ],
)
def test_traceql_span_sets(query, spans):
    assert _ids(query) == spans


def test_traceql_regex_is_unanchored_before_tempo_2_7():
    assert _ids('{ name =~ "GET" }', anchored=False) == ["1", "2", "3"]
    with FakeTempo(TRACES, version="2.6") as old:
        found = _search(old, '{ name =~ "result" }').json()["traces"]
    assert [t["traceID"] for t in found] == ["a1b2c3d4e5f60718"]


def test_traceql_strings_take_go_escapes():
    trace = Trace(ID_B, (Span(ID_B, "b1", None, "s", 'say "hi" \\S'),))
    assert _ids(r'{ name = "say \"hi\" \\S" }', trace) == ["1"]
    assert _ids(r'{ name =~ "say .hi. \\\\S" }', trace) == ["1"]
    with pytest.raises(TraceQLError):
        parse_traceql(r'{ name =~ "\S+" }')  # Go refuses the escape


@pytest.mark.parametrize(
    "query",
    [
        "{ span.x = }",
        "{ kind = banana }",
        "{ foo = 1 }",
        '{ name = "a" } > { name = "b" }',
        '{ name = "a" } | select(span.x)',
        '{ name =~ "(" }',
        '{ name = "a"',
        '{ name = "a" } | quantile_over_time(duration, .9) by (resource.service.name)',
    ],
)
def test_traceql_unsupported_or_broken_syntax_is_an_error(query):
    with pytest.raises(TraceQLError):
        parse_traceql(query)
