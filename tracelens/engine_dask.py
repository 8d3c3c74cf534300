"""Where the map steps run on Dask: `DaskEngine(scheduler)` has `Engine`'s interface.

    with DaskEngine("tcp://scheduler:8786") as engine:     # None: a LocalCluster on this machine
        mapped = engine.load(archive.parts(scope), scope, step=map_part)   # one task per file
        parts = engine.run(profile_of, baseline_ids)       # one result per shard, in shard order
        print(engine.received_bytes)                       # what travelled to this process

Each shard is the result of a Dask future, held on the worker that made it; a step runs as
`client.submit(step, shard_future, ...)` next to it, and only the step's small result comes back.
A step may change its shard (`detect_in` keeps findings on it, `take_parts` removes traces), and a
value Dask may have to compute again must not be changed in place: so a step runs on a shallow
copy and makes a new version of the shard, a new future whose lineage is the old one plus the
step. When a worker dies, Dask recomputes the lost versions from that lineage (read the file again,
replay the steps) and retries the tasks that were running there; the steps are deterministic, so
the answer is the same. The steps are stages.py's functions, unchanged.
"""

from __future__ import annotations

import gc
import logging
import pickle
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from tracelens.errors import SourceError, TracelensError
from tracelens.model import Trace
from tracelens.stages import Brief, Mapped, Scope, Shard, map_piece, map_traces

R = TypeVar("R")
T = TypeVar("T")

DASK_MISSING = "--engine dask needs Dask; install it with: pip install 'tracelens-rca[dask]'"
CONNECT_TIMEOUT_S = 10.0
SPANS_PER_TASK = 20_000  # traces already here (a backend's) go out in tasks of about this many
IN_FLIGHT_PER_WORKER = 4  # map tasks whose results are not back yet, per worker


@dataclass(slots=True)
class Version:
    """A shard after a step, and what the step returned (fetched on its own: `_result_of`)."""

    shard: Shard
    result: Any


SPAN_BYTES = 1500  # memory of one analysed span on a shard (bench/scale.py: 7.2 GB / 5M spans)


def _size_of(version: Version) -> int:
    """What a shard weighs, for Dask's scheduler: left to `sys.getsizeof` it would weigh a few
    bytes, and Dask would move shards between workers as if they cost nothing to send."""
    return 1024 + SPAN_BYTES * sum(len(a.trace.spans) for a in version.shard.analyses)


try:  # registered wherever this module is imported: the client and every worker
    from dask.sizeof import sizeof

    sizeof.register(Version)(_size_of)
except ImportError:  # without Dask, DaskEngine says how to install it
    pass


class _NoCycleCollection:
    """A step builds or walks millions of small objects that never form cycles: collecting
    them over and over costs more than the step (as in engine.py's workers). Only while our
    task runs: the worker may belong to someone else's cluster."""

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was:
            gc.enable()


def _start(step: Callable[..., Any], item: Any, number: int, scope: Scope) -> Version:
    with _NoCycleCollection():
        shard = Shard()
        return Version(shard, step(shard, item, number, scope))


def _then(version: Version, step: Callable[..., Any], args: tuple[Any, ...]) -> Version:
    with _NoCycleCollection():
        shard = version.shard.copied()
        return Version(shard, step(shard, *args))


def _result_of(version: Version) -> Any:
    return version.result


def _same(value: T) -> T:
    return value


def _apply(fn: Callable[..., T], item: Any, args: tuple[Any, ...]) -> T:
    with _NoCycleCollection():
        return fn(item, *args)


def batches(traces: Iterable[Trace], spans: int = SPANS_PER_TASK) -> Iterator[list[Trace]]:
    """Traces in lists of about `spans` spans: what one task carries to a worker."""
    chunk: list[Trace] = []
    held = 0
    for trace in traces:
        chunk.append(trace)
        held += len(trace.spans)
        if held >= spans:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


class DaskEngine:
    """Shards of the analysed traces on a Dask cluster, and the steps run on each of them."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise TracelensError(DASK_MISSING) from None
        self._cluster: Any = None
        try:
            if scheduler is None:
                import dask

                from tracelens.engine import default_jobs, start_helpers_quietly

                # Shards are graphs of millions of small objects: writing them to disk and
                # reading them back costs more than analysing the traces again, so the workers
                # of our own cluster never spill (they still pause, and restart past the limit).
                with dask.config.set(
                    {
                        "distributed.worker.memory.target": False,
                        "distributed.worker.memory.spill": False,
                    }
                ):
                    # An interrupted cluster leaves queues the tracker would warn of.
                    start_helpers_quietly(fork_server=False)
                    self._cluster = LocalCluster(
                        n_workers=workers or default_jobs(),
                        threads_per_worker=1,  # pure Python steps: threads would share a core
                        processes=True,
                        dashboard_address=":0",  # any free port: never clash with another cluster
                        silence_logs=logging.ERROR,
                    )
                self.client = Client(self._cluster, set_as_default=False)
            else:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError, RuntimeError) as e:
            if self._cluster is not None:
                self._cluster.close()
            if scheduler:
                raise SourceError(
                    f"could not reach the Dask scheduler at {scheduler}: {e}; is `dask "
                    "scheduler` running there?"
                ) from e
            from tracelens.engine import workers_can_start

            hint = (
                "; worker processes import the main module again, which a session typed into "
                "an interpreter does not have as a file: run a script, or pass a scheduler"
                if not workers_can_start()
                else ""
            )
            raise SourceError(f"a local Dask cluster could not start: {e}{hint}") from e
        self._shards: list[Any] = []  # a future per shard: its current Version
        self._held: list[Any] = []  # step arguments the shards' lineage needs
        self.received_bytes = 0  # pickled size of every result that came back to this process
        self.tasks = 0

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(cancel=error is not None)

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def close(self, *, cancel: bool = False) -> None:
        """Forget the shards and disconnect; a LocalCluster this engine started is stopped."""
        self._shards, self._held = [], []  # closing the client releases what they held
        if cancel:
            # Stopped mid-run (Ctrl-C, an error): the scheduler, comms and the client's loop log
            # every task and connection cut short, with tracebacks; the run says why it stopped.
            logging.disable(logging.CRITICAL)
        try:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
        finally:
            if cancel:
                logging.disable(logging.NOTSET)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.tasks += 1
        name = getattr(args[0], "__name__", "") if args and callable(args[0]) else ""
        key = f"tracelens-{fn.__name__.strip('_')}-{name}-{uuid.uuid4().hex}"
        with warnings.catch_warnings():
            # The archive's parts and the steps' arguments are data the lineage must hold.
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*", category=UserWarning)
            return self.client.submit(fn, *args, key=key, pure=False)

    def _fetch(self, futures: Sequence[Any]) -> list[Any]:
        results = self.client.gather(list(futures))
        self.received_bytes += sum(len(pickle.dumps(r, protocol=5)) for r in results)
        return list(results)

    def load(
        self,
        items: Iterable[Any],
        scope: Scope,
        progress: Callable[[int], None] | None = None,
        *,
        step: Callable[[Shard, Any, int, Scope], Any] = map_piece,
    ) -> list[Any]:
        """Read and analyse every item (an archive part, a piece of a file) into a shard of its
        own on the cluster; each item's result (a `Mapped` from map_piece and map_part), in
        input order."""
        from distributed import as_completed

        results: dict[int, Any] = {}
        numbers: dict[str, int] = {}
        briefs = 0
        done = as_completed(loop=self.client.loop)
        limit = IN_FLIGHT_PER_WORKER * max(1, self.workers)

        def collect(future: Any) -> None:
            nonlocal briefs
            (mapped,) = self._fetch([future])
            results[numbers.pop(future.key)] = mapped
            briefs += len(mapped.briefs) if isinstance(mapped, Mapped) else 0
            future.release()
            if progress is not None:
                progress(briefs)

        for number, item in enumerate(items):
            version = self._submit(_start, step, item, number, scope)
            self._shards.append(version)
            out = self._submit(_result_of, version)
            numbers[out.key] = number
            done.add(out)
            while done.count() >= limit:  # bounds the input held by tasks not yet run
                collect(next(done))
        for future in done:
            collect(future)
        return [results[n] for n in sorted(results)]

    def add(self, traces: Iterable[Trace], number: int, scope: Scope) -> list[Brief]:
        """Analyse traces already in this process (a backend's, the store's) into new shards:
        they travel inside the tasks, so a lost shard can be made again."""
        outs = []
        for chunk in batches(traces):
            version = self._submit(_start, map_traces, chunk, number, scope)
            self._shards.append(version)
            outs.append(self._submit(_result_of, version))
        return [b for part in self._fetch(outs) for b in part]

    def run(self, step: Callable[..., R], *args: Any) -> list[R]:
        """`step(shard, *args)` on every shard, the results in shard order."""
        if not self._shards:
            return []
        # Sent once (not once per shard) and kept: recomputing a lost version needs them.
        held = self._submit(_same, args)
        self._held.append(held)
        self._shards = [self._submit(_then, v, step, held) for v in self._shards]
        outs = [self._submit(_result_of, v) for v in self._shards]
        return self._fetch(outs)

    def map(self, fn: Callable[..., R], items: Iterable[Any], *args: Any) -> list[R]:
        """`fn(item, *args)` for each item, on the cluster, holding nothing afterwards
        (`tracelens routes`); the results in item order."""
        outs = [self._submit(_apply, fn, item, args) for item in items]
        return self._fetch(outs)
