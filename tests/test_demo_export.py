"""The demo through the real OTLP exporters into receivers on loopback (HTTP/protobuf and gRPC)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tracelens.demo.run import DemoConfig, run_demo
from tracelens.errors import TracelensError

END_NS = 1_795_000_000 * 1_000_000_000
S = 1_000_000_000
CLIENT, SERVER = 3, 2  # OTLP span kinds


class Receiver:
    """What an OTLP receiver got: flat (resource attributes, span) pairs."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.lock = threading.Lock()

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        return [
            (_attrs(rs.resource.attributes), span)
            for request in self.requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]


def _value(v: AnyValue) -> Any:
    return getattr(v, v.WhichOneof("value") or "string_value")


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Receiver, list[int]]]:
    receiver = Receiver()
    status = [200]  # a test may make the receiver refuse

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.path == "/v1/traces"
            assert self.headers["Content-Type"] == "application/x-protobuf"
            if status[0] == 200:
                receiver.add(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
            reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(status[0])
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", receiver, status
    finally:
        server.shutdown()
        server.server_close()


def test_the_demo_exports_the_incident_over_otlp_http(http_receiver) -> None:
    endpoint, receiver, _ = http_receiver
    result = run_demo(DemoConfig(requests=150, seed=3, otlp_endpoint=endpoint, end_ns=END_NS))
    spans = receiver.spans()
    assert len(spans) == result.spans
    assert len({s.trace_id for _, s in spans}) == result.traces == 150
    assert all(len(s.trace_id) == 16 and len(s.span_id) == 8 for _, s in spans)

    services = {r["service.name"] for r, _ in spans}
    assert services >= {
        "cdn-edge",
        "istio-ingressgateway",
        "web",
        "web.prod",
        "result-bff",
        "result-bff.prod",
        "diseases-api",
        "hospitals-api",
        "departments-api",
        "symptoms-api",
    }
    assert all(
        "k8s.pod.name" in r and "k8s.node.name" in r
        for r, _ in spans
        if r["service.name"] != "cdn-edge"
    )

    attrs = [(r, s, _attrs(s.attributes)) for r, s in spans]
    assert any(a.get("http.route") == "/result/[id]" and s.kind == SERVER for _, s, a in attrs)
    ops = [(s, a) for _, s, a in attrs if a.get("graphql.operation.name") == "ResultPage"]
    assert ops
    assert all(
        a["graphql.operation.type"] == "query" and s.name == "query ResultPage" for s, a in ops
    )
    db = [a for _, _, a in attrs if "db.system" in a]
    assert db
    assert all(a["db.system"] == "postgresql" and a["db.query.text"] for a in db)
    clients = [(r, s, a) for r, s, a in attrs if s.kind == CLIENT and "url.full" in a]
    assert all(a["http.request.method"] and a["server.address"] for _, _, a in clients)

    # N+1: one ResultPage operation with a sequential call per hospital under it.
    op_span = ops[0][0]
    calls = sorted(
        (
            s
            for _, s, a in clients
            if s.parent_span_id == op_span.span_id
            and a["server.address"].startswith("hospitals-api")
        ),
        key=lambda s: s.start_time_unix_nano,
    )
    assert len(calls) >= 8
    assert all(a.end_time_unix_nano <= b.start_time_unix_nano for a, b in itertools.pairwise(calls))

    # DNS timeouts: the BFF's client spans wait ~k x 5 s before the callee's first span starts.
    first_child: dict[bytes, int] = {}
    for _, s in spans:
        if s.parent_span_id:
            first_child[s.parent_span_id] = min(
                first_child.get(s.parent_span_id, 2**63), s.start_time_unix_nano
            )
    bff_gaps = [
        (first_child[s.span_id] - s.start_time_unix_nano) / S
        for r, s, _ in clients
        if r["service.name"] == "result-bff" and s.span_id in first_child
    ]
    timeouts = [g for g in bff_gaps if g > 4.9]
    assert timeouts
    assert all(min(abs(g - k * 5) for k in (1, 2, 3)) < 0.5 for g in timeouts)
    lookups = [s for r, s, _ in attrs if s.name == "dns.lookup" and r["service.name"] == "web"]
    assert any(s.end_time_unix_nano - s.start_time_unix_nano > 5 * S for s in lookups)


def test_a_receiver_that_refuses_the_spans_fails_the_demo(http_receiver) -> None:
    endpoint, _, status = http_receiver
    status[0] = 400  # not retryable: the exporter gives up at once
    with pytest.raises(TracelensError, match=r"accepted 0 of \d+ spans"):
        run_demo(DemoConfig(requests=5, seed=1, otlp_endpoint=endpoint, end_ns=END_NS))


def test_the_demo_exports_over_otlp_grpc() -> None:
    import grpc

    receiver = Receiver()

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # the generated name
            receiver.add(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        result = run_demo(
            DemoConfig(
                requests=40,
                seed=2,
                fixed=True,
                otlp_endpoint=f"http://127.0.0.1:{port}",
                otlp_protocol="grpc",
                end_ns=END_NS,
            )
        )
    finally:
        server.stop(None)
    spans = receiver.spans()
    assert len(spans) == result.spans
    assert {r["service.name"] for r, _ in spans} >= {"web", "result-bff", "hospitals-api"}
