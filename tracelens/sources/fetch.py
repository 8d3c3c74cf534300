"""Fetch many traces by id at once: `fetch_traces(ids, download, cache, concurrency, progress)`.

Shared by the Jaeger and Tempo sources. A bounded thread pool (the HTTP session's connection pool
has the same size) runs `download(trace_id) -> bytes`; each body is parsed by the same readers
that read files, so a fetched trace is analysed exactly as the same trace saved to a file. The
disk cache is asked first and filled after. A trace that fails after the session's retries is
returned in `Fetched.failed` with a countable reason; nothing is raised for one trace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import msgspec

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Trace
from tracelens.readers import parse_json
from tracelens.readers.detect import TooDeep
from tracelens.sources import Fetched, FetchProgress
from tracelens.sources.cache import TraceCache
from tracelens.sources.http import Backend, HTTPFailure


class NotFound(Exception):
    """The backend has no trace with this id (or an empty one)."""


def download_body(backend: Backend, path: str) -> bytes:
    """The body of GET `path` for one trace: NotFound for a 404 that means the trace is absent
    (not one that means the path does not exist), HTTPFailure for any other failure."""
    response = backend.get(path)
    if response.status_code == 404 and not response.content.lstrip().lower().startswith(
        b"404 page not found"
    ):
        raise NotFound
    failure = backend.failure(response)
    if failure is not None:
        raise failure
    return bytes(response.content)


def parse_trace(body: bytes, trace_id: str, origin: str, issues: list[ReadIssue]) -> Trace:
    """The trace `trace_id` in a response body; NotFound when it holds no spans of it."""
    try:
        traces = parse_json(body, origin, issues)
    except msgspec.DecodeError:
        raise HTTPFailure("responses not JSON", f"{origin}: the response is not JSON") from None
    except TooDeep:
        raise  # an unreadable response, not a missing trace
    except SourceError:
        raise NotFound from None
    for trace in traces:
        if trace.trace_id == trace_id:
            return trace
    raise NotFound


def fetch_traces(
    trace_ids: Sequence[str],
    download: Callable[[str], bytes],
    parse: Callable[[bytes, str], Trace],
    cache: TraceCache,
    concurrency: int,
    progress: FetchProgress | None = None,
) -> Fetched:
    """Each id's trace: from `cache`, else `download` then `parse`, `concurrency` at a time."""
    traces: dict[str, Trace] = {}
    failed: dict[str, str] = {}
    cached = 0
    lock = threading.Lock()
    total = len(trace_ids)

    # Cache hits are read here, in one thread: loading one costs less than handing it to a pool.
    to_fetch = []
    for trace_id in dict.fromkeys(trace_ids):
        hit = cache.get(trace_id)
        if hit is None:
            to_fetch.append(trace_id)
        else:
            traces[trace_id] = hit
    cached = len(traces)

    def one(trace_id: str) -> None:
        try:
            trace = parse(download(trace_id), trace_id)
        except NotFound:
            reason = "not found"
        except HTTPFailure as e:
            reason = e.reason
        except Exception:
            reason = "unreadable responses"
        else:
            cache.put(trace)
            with lock:
                traces[trace_id] = trace
            return
        with lock:
            failed[trace_id] = reason

    def report() -> None:
        if progress is not None:
            with lock:
                progress(len(traces) + len(failed), len(failed), cached, total)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="fetch")
    try:
        pending: set[Future[None]] = {pool.submit(one, t) for t in to_fetch}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
            report()
    finally:
        # On Ctrl-C, drop what has not started; the running downloads end with their timeouts.
        pool.shutdown(wait=False, cancel_futures=True)
    ordered = tuple(traces[t] for t in dict.fromkeys(trace_ids) if t in traces)
    return Fetched(traces=ordered, failed=failed, cached=cached)
