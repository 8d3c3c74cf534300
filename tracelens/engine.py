"""Where the map steps run: `Engine(jobs)` holds the shards, in this process or in worker processes.

    with Engine(jobs=2) as engine:
        mapped = engine.load(pieces("traces.jsonl"), scope)    # read and analyse, in parallel
        parts = engine.run(profile_of, baseline_ids)           # one result per shard
        profile = merge_profile(parts)

With one job the single shard lives in this process. With more, each shard lives in its own
worker process (a one-worker `ProcessPoolExecutor` per shard, so that a step reaches the shard
that holds its traces, as Dask reaches data on its workers): pieces of the input go out while
the input is still being cut, and only the steps' small results come back. The steps are the
functions of stages.py; the engine only decides where they run.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import forkserver, resource_tracker
from types import TracebackType
from typing import Any, Protocol, TypeVar

from tracelens.model import Trace
from tracelens.stages import Brief, Mapped, Scope, Shard, map_piece, map_traces

R = TypeVar("R")
P = TypeVar("P")  # what one map task reads: a Piece of trace files, a part of a span archive

_shard = Shard()  # in a worker process: the shard it holds


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group; the parent stops the workers itself, and a
    # traceback per worker would bury its one-line message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A shard is millions of small objects that never form cycles: collecting them over and over
    # while they are built costs more than building them (as in the parent, pipeline.py).
    gc.disable()


def _load(
    step: Callable[[Shard, P, int, Scope], Mapped], item: P, number: int, scope: Scope
) -> Mapped:
    return step(_shard, item, number, scope)


def _add(traces: list[Trace], number: int, scope: Scope) -> list[Brief]:
    return map_traces(_shard, traces, number, scope)


def _run(step: Callable[..., R], args: tuple[Any, ...]) -> R:
    return step(_shard, *args)


def start_helpers_quietly(*, fork_server: bool = True) -> None:
    """Start the resource tracker, and the fork server that forks the workers, with stderr on
    /dev/null. A worker stopped while it starts (Ctrl-C, an error elsewhere) prints a traceback
    of its own, and the tracker warns of the queues an interrupted pool leaves; the parent
    reports every error of a worker itself, from the worker's result."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
        if fork_server:
            forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Shards(Protocol):
    """What the pipeline asks of an engine: this module's `Engine`, engine_dask's `DaskEngine`."""

    def load(
        self,
        pieces: Iterable[Any],
        scope: Scope,
        progress: Callable[[int], None] | None = None,
        *,
        step: Callable[..., Mapped] = ...,
    ) -> list[Mapped]: ...

    def add(self, traces: Iterable[Trace], number: int, scope: Scope) -> list[Brief]: ...

    def run(self, step: Callable[..., R], *args: Any) -> list[R]: ...


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


def workers_can_start() -> bool:
    """Whether worker processes can start here: they import the main module again, which a
    session typed into an interpreter (`python -`, the REPL) does not have as a file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return (path is None and getattr(main, "__spec__", None) is not None) or (
        path is not None and os.path.isfile(path)
    )


class Engine:
    """Shards of the analysed traces, and the steps run on each of them."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, jobs)
        self._local = Shard()
        self._pools: list[ProcessPoolExecutor] = []
        if self.jobs > 1:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["tracelens.engine"])
            start_helpers_quietly()
            self._pools = [
                ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker)
                for _ in range(self.jobs)
            ]

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(cancel=error is not None)

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers; with `cancel` (an error, Ctrl-C) without waiting for their work."""
        for pool in self._pools:
            if cancel:
                # shutdown() lets a running step finish; an interrupted run must stop now.
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
            # Not waiting when cancelled: a worker still starting may never answer. (The
            # resource tracker, started quietly, says nothing of the queues left behind.)
            pool.shutdown(wait=not cancel, cancel_futures=True)
        self._pools = []

    def load(
        self,
        pieces: Iterable[P],
        scope: Scope,
        progress: Callable[[int], None] | None = None,
        *,
        step: Callable[[Shard, P, int, Scope], Mapped] = map_piece,  # type: ignore[assignment]
    ) -> list[Mapped]:
        """Read and analyse every piece into the shards; each piece's result, in input order.

        `step` reads one piece: stages.map_piece for trace files, archive.map_part for the files
        of a span archive."""
        results: list[Mapped] = []
        briefs = 0

        def collect(result: Mapped) -> None:
            nonlocal briefs
            results.append(result)
            briefs += len(result.briefs)
            if progress is not None:
                progress(briefs)

        if not self._pools:
            for number, piece in enumerate(pieces):
                collect(step(self._local, piece, number, scope))
            return results
        pending: deque[Future[Mapped]] = deque()
        for number, piece in enumerate(pieces):
            pool = self._pools[number % len(self._pools)]
            pending.append(pool.submit(_load, step, piece, number, scope))
            while len(pending) > 2 * len(self._pools):  # bounds the pieces held in memory
                collect(pending.popleft().result())
        while pending:
            collect(pending.popleft().result())
        return results

    def add(self, traces: Iterable[Trace], number: int, scope: Scope) -> list[Brief]:
        """Analyse traces already in this process (a backend's, the store's) into a shard."""
        if not self._pools:
            return map_traces(self._local, traces, number, scope)
        return self._pools[0].submit(_add, list(traces), number, scope).result()

    def run(self, step: Callable[..., R], *args: Any) -> list[R]:
        """`step(shard, *args)` on every shard, the results in shard order."""
        if not self._pools:
            return [step(self._local, *args)]
        futures = [pool.submit(_run, step, args) for pool in self._pools]
        return [f.result() for f in futures]
