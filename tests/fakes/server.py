"""HTTP plumbing shared by the fake backends: a loopback server, auth, faults and a request log.

    with FakeJaeger(traces, faults=[Fault(r"^/api/traces", "status", code=503)]) as fake:
        requests.get(f"{fake.url}/api/traces/abc")        # 503 once, then the real answer
        assert [s.path for s in fake.requests_log] == ["/api/traces/abc"]

A subclass implements `route(request) -> Reply` for paths below its prefix. Every request is
logged, then delayed (`delay_s`), then checked against the faults, then against `auth`, and only
then routed; `raw` overrides replay a recorded body for an exact path after the prefix.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
import socket
import ssl
import struct
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

FaultKind = Literal["status", "retry_after", "slow", "truncate", "reset", "html", "text_error"]

LOGIN_PAGE = "<html><body><form>Sign in to continue</form></body></html>"
PAGE_NOT_FOUND = "404 page not found\n"


@dataclass(frozen=True)
class Fault:
    """Misbehave on the first `times` requests whose path (after the prefix) matches `path`.

    `times=None` fires on every match. Faults are tried in order and the first one that matches
    and has fires left takes the request, so a list of faults plays out as a sequence.
    """

    path: str
    kind: FaultKind
    times: int | None = 1
    code: int = 503  # status, text_error
    body: str | None = None  # status, text_error: the text/plain body
    seconds: float = 1.0  # slow: the sleep; retry_after: the Retry-After value (whole seconds)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; `path` includes the prefix, `headers` any case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]


@dataclass(frozen=True)
class Request:
    """What a fake's router sees: `path` is below the prefix, still percent-encoded."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]

    def arg(self, *names: str) -> str | None:
        """The first value of the first of `names` present in the query string."""
        for name in names:
            if name in self.query:
                return self.query[name][0]
        return None


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def text(status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(status, content_type, body.encode())


def html(body: str, status: int = 200) -> Reply:
    return text(status, body, "text/html; charset=utf-8")


Auth = tuple[str, str, str] | tuple[str, str]


def _authorized(auth: Auth, header: str | None) -> bool:
    if auth[0] == "basic":
        token = base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()  # type: ignore[misc]
        return header == f"Basic {token}"
    if auth[0] == "bearer":
        return header == f"Bearer {auth[1]}"
    raise ValueError(f"unknown auth scheme {auth[0]!r}: use 'basic' or 'bearer'")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every reply carries a Content-Length
    # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for the
    # client's delayed ACK (40 ms on Linux), which no real backend's server makes a client wait.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests must stay quiet on stderr

    def setup(self) -> None:
        super().setup()
        self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        self.server.fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client may have reset the connection
            super().finish()

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.server.fake._serve(self)
        except OSError:  # the client went away (a read timeout, a reset): nothing to answer
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs from a burst of clients: 1 s retries
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken pipes from clients that hung up; handler bugs become 500 replies instead


class FakeServer:
    """A backend on 127.0.0.1 (random port) in a daemon thread; started on construction."""

    def __init__(
        self,
        *,
        prefix: str = "",
        faults: Sequence[Fault] = (),
        auth: Auth | None = None,
        delay_s: float = 0.0,
        raw: Mapping[str, tuple[int, str, bytes]] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.faults = tuple(faults)
        self.auth = auth
        self.delay_s = delay_s
        self.raw = dict(raw or {})
        self.requests_log: list[Seen] = []
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself
        self._fired = [0] * len(self.faults)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self.scheme = "http"
        if tls is not None:  # HTTPS: each connection's handshake happens as it is accepted
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.prefix}"

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()  # wakes sleeping `slow` faults and delays
        self._httpd.shutdown()
        self._httpd.server_close()
        for conn in list(self._connections):  # idle keep-alive connections would linger
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- to be provided by each fake ----------------------------------------------------------

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def outside_prefix(self, request: Request) -> Reply:
        return text(404, PAGE_NOT_FOUND)

    def unauthorized(self) -> Reply:
        return Reply(401, "text/plain; charset=utf-8", b"Unauthorized\n",
                     {"WWW-Authenticate": 'Basic realm="fake"'})  # fmt: skip

    # -- request handling ---------------------------------------------------------------------

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if re.search(fault.path, path) and (
                    fault.times is None or self._fired[i] < fault.times
                ):
                    self._fired[i] += 1
                    return fault
        return None

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(handler.headers.items()))
        query = parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            self.requests_log.append(Seen(handler.command, split.path, query, headers))
        if self.delay_s:
            self._closing.wait(self.delay_s)
        inside = (
            not self.prefix or split.path == self.prefix or split.path.startswith(self.prefix + "/")
        )
        path = (split.path[len(self.prefix) :] or "/") if inside else split.path
        request = Request(handler.command, path, query, headers)

        fault = self._fault_for(path) if inside else None
        if fault is not None:
            if fault.kind == "reset":
                # SO_LINGER with a zero timeout turns close() into a TCP RST
                linger = struct.pack("ii", 1, 0)
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                handler.close_connection = True
                handler.connection.close()
                return
            if fault.kind == "slow":
                self._closing.wait(fault.seconds)
            elif fault.kind != "truncate":
                self._send(handler, _fault_reply(fault))
                return
        reply = self._answer(request, inside)
        if fault is not None and fault.kind == "truncate":
            self._send(handler, reply, truncate=True)
        else:
            self._send(handler, reply)

    def _answer(self, request: Request, inside: bool) -> Reply:
        if self.auth is not None and not _authorized(
            self.auth, request.headers.get("Authorization")
        ):
            return self.unauthorized()
        if not inside:
            return self.outside_prefix(request)
        if request.path in self.raw:
            status, content_type, body = self.raw[request.path]
            return Reply(status, content_type, body)
        try:
            return self.route(request)
        except Exception:
            tb = traceback.format_exc()
            with self._lock:
                self.errors.append(tb)
            return text(500, f"fake server bug:\n{tb}")

    def _send(self, handler: _Handler, reply: Reply, truncate: bool = False) -> None:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if truncate:
            handler.send_header("Connection", "close")
        handler.end_headers()
        if handler.command == "HEAD":
            return
        if truncate:
            # the full Content-Length was promised; half the body, then the connection closes
            handler.wfile.write(reply.body[: len(reply.body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.wfile.write(reply.body)


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "retry_after":
        return Reply(429, "text/plain; charset=utf-8", b"Too Many Requests\n",
                     {"Retry-After": str(round(fault.seconds))})  # fmt: skip
    if fault.kind == "html":
        return html(LOGIN_PAGE)
    if fault.kind == "text_error":
        body = fault.body or "upstream connect error or disconnect/reset before headers\n"
        return text(fault.code, body)
    # "status": what a proxy in front of the backend says
    return text(fault.code, fault.body or f"{HTTPStatus(fault.code).phrase}\n")


# -- parameter formats both backends share ------------------------------------------------------

_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9,
             "m": 60 * 10**9, "h": 3600 * 10**9}  # fmt: skip
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)")


def go_duration_ns(raw: str) -> int:
    """A Go duration string ("1.5s", "1m30s", "500us") in ns; ValueError as Go would refuse it."""
    body = raw[1:] if raw[:1] in "+-" else raw
    if body == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(body):
        m = _GO_PART.match(body, pos)
        if m is None:
            raise ValueError(f'time: invalid duration "{raw}"')
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if not body:
        raise ValueError(f'time: invalid duration "{raw}"')
    return -round(total) if raw.startswith("-") else round(total)


def rfc3339_ns(raw: str) -> int:
    """An RFC 3339 time with optional fraction (up to ns) as Unix ns; ValueError otherwise."""
    m = _RFC3339.fullmatch(raw)
    if m is None:
        raise ValueError(f'parsing time "{raw}" as RFC 3339: cannot parse')
    date, clock, frac, zone = m.groups()
    zone = "+00:00" if zone in "Zz" else zone
    whole = dt.datetime.fromisoformat(f"{date}T{clock}{zone}")
    return int(whole.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0"))


def version_key(version: str) -> tuple[int, int, int]:
    """Versions as numbers: "2.20" -> (2, 20, 0); "main" sorts after every release."""
    if version == "main":
        return (10**6, 0, 0)
    parts = [int(p) for p in version.removeprefix("v").split(".")]
    major, minor, patch = (*parts, 0, 0)[:3]
    return (major, minor, patch)
