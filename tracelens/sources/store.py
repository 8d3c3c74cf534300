"""The local trace store, the embedded default source: `LocalStore.default().traces(window)`.

A directory of Parquet span tables partitioned by day, each with a one-row-per-trace index
(docs/store.md has the format and the reasons). `write(traces)` adds parts and then commits them
all at once by rewriting `tracelens-store.json`, the list of committed parts: an interrupted or
killed write leaves the previous data as it was, and the next writer removes what it left. Readers
list only committed parts and take no locks, so a reader never sees half a write and never blocks
a writer. `entries(window)` answers route and duration questions from the index alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tracelens.errors import SourceError
from tracelens.model import AttributeValue, Event, ReadIssue, Span, SpanKind, StatusCode, Trace
from tracelens.sources import Window

log = logging.getLogger("tracelens")

FORMAT_VERSION = 2  # 2: the manifest lists the committed parts; 1: every index file counts
MANIFEST = "tracelens-store.json"
LOCK = ".tracelens-store.lock"  # held by the one writer at a time, never by readers
_TRACES_PER_PART = 20_000  # bounds the memory one write holds before it commits a part

SPAN_SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_id", pa.string()),
        ("service", pa.string()),
        ("name", pa.string()),
        ("kind", pa.int8()),
        ("start_ns", pa.int64()),
        ("end_ns", pa.int64()),
        ("status", pa.int8()),
        ("attributes", pa.string()),  # JSON object; types survive, columns don't explode
        ("events", pa.string()),  # JSON list of [time_ns, name, attributes], null when none
        ("links", pa.list_(pa.string())),
        ("process", pa.string()),
    ]
)

INDEX_SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("start_ns", pa.int64()),  # earliest span start: what windows filter on
        ("duration_ns", pa.int64()),  # the root span's duration
        ("root_service", pa.string()),
        ("root_name", pa.string()),
        ("entry_service", pa.string()),
        ("route", pa.string()),
        ("spans", pa.int32()),
        ("part", pa.string()),  # span file, relative to the store
        ("row_offset", pa.int64()),  # first row of the trace in that file; its rows are contiguous
    ]
)


@dataclass(frozen=True, slots=True)
class StoreEntry:
    """One trace as the index knows it: enough to pick routes and slow sets without the spans."""

    trace_id: str
    start_ns: int
    duration_ns: int
    root_service: str
    root_name: str
    entry_service: str
    route: str
    spans: int


def route_of(trace: Trace) -> tuple[str, str]:
    """(service, route) of the trace's entry span.

    The entry is the earliest-starting span carrying `http.route` (a CDN or mesh gateway in front
    of the app records only raw URLs); without one, the root's GraphQL operation, URL path or name.
    """
    with_route = [s for s in trace.spans if "http.route" in s.attributes]
    if with_route:
        entry = min(with_route, key=lambda s: (s.start_ns, s.kind != SpanKind.SERVER))
        return entry.service, str(entry.attributes["http.route"])
    root = _root(trace.spans)
    for key in ("graphql.operation.name", "url.path", "http.target"):
        if key in root.attributes:
            return root.service, str(root.attributes[key])
    return root.service, root.name


def _root(spans: Sequence[Span]) -> Span:
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
    return min(roots or spans, key=lambda s: s.start_ns)


class LocalStore:
    """A tracelens store directory; `LocalStore(path)` or `LocalStore.default()`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.description = f"local store {self.path}"
        self.issues: list[ReadIssue] = []

    @classmethod
    def default(cls) -> LocalStore:
        """The store at $TRACELENS_HOME, else the user data directory (~/.local/share/tracelens)."""
        home = os.environ.get("TRACELENS_HOME")
        if home:
            return cls(home)
        import platformdirs

        return cls(platformdirs.user_data_dir("tracelens"))

    # --- writing ---------------------------------------------------------------------------
    def write(self, traces: Iterable[Trace], *, replace: bool = False) -> int:
        """Add traces as new parts (one per day of root start) and commit them; returns the count.

        Nothing becomes visible until every new part is on disk and the manifest names them, in
        one atomic rename; with `replace` the new manifest names only the new parts. Anything
        that stops the write before that rename (Ctrl-C, SIGTERM, a full disk) leaves the store
        as it was, and a `kill -9` leaves only files that the next writer removes.
        """
        with self._writer():
            before = self._committed()
            new: list[str] = []
            written = 0
            try:
                batch: list[Trace] = []
                for t in traces:
                    if t.spans:
                        batch.append(t)
                    if len(batch) >= _TRACES_PER_PART:
                        written += self._write_batch(batch, new)
                        batch = []
                if batch:
                    written += self._write_batch(batch, new)
                self._commit(new if replace else [*before, *new])
            except BaseException:
                self._discard(new)
                raise
            if replace:
                self._remove_parts(before)
        return written

    def check_writable(self) -> None:
        """Raise SourceError now, before a long run, if the store cannot be written.

        Also removes what interrupted writers left behind, as every write does first.
        """
        with self._writer():
            probe = self.path / f".probe-{uuid.uuid4().hex}.tmp"  # a new file: the real test
            with open(probe, "xb"):
                pass
            probe.unlink()

    def clear(self) -> None:
        """Remove every stored trace: an empty manifest first, so readers never see half a store."""
        with self._writer():
            self._commit([])
            for sub in ("index", "spans"):
                shutil.rmtree(self.path / sub, ignore_errors=True)

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        """The one writer at a time: the store directory, its lock, and no leftovers in it."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with open(self.path / LOCK, "ab") as lock:
                _lock_exclusive(lock.fileno())
                removed = self._sweep()
                if removed:
                    log.info("%s: removed %d leftover files", self.description, removed)
                yield
        except OSError as e:
            raise self._error("write to", e) from e

    def _write_batch(self, traces: list[Trace], new: list[str]) -> int:
        by_day: dict[str, list[tuple[int, Trace]]] = {}
        for t in traces:
            start_ns = min(s.start_ns for s in t.spans)
            by_day.setdefault(_day(start_ns), []).append((start_ns, t))
        for day, dated in sorted(by_day.items()):
            dated.sort(key=lambda pair: (pair[0], pair[1].trace_id))
            part = f"date={day}/part-{uuid.uuid4().hex}.parquet"
            new.append(part)  # before any file exists, so a failed write can remove them all
            self._write_part(part, [t for _, t in dated])
        return len(traces)

    def _write_part(self, part: str, traces: list[Trace]) -> None:
        span_rel = f"spans/{part}"
        span_rows: dict[str, list[object]] = {f.name: [] for f in SPAN_SCHEMA}
        index_rows: dict[str, list[object]] = {f.name: [] for f in INDEX_SCHEMA}
        for t in traces:
            index_rows["row_offset"].append(len(span_rows["trace_id"]))
            for s in t.spans:
                _append_span(span_rows, s)
            root = _root(t.spans)
            entry_service, route = route_of(t)
            index_rows["trace_id"].append(t.trace_id)
            index_rows["start_ns"].append(min(s.start_ns for s in t.spans))
            index_rows["duration_ns"].append(root.end_ns - root.start_ns)
            index_rows["root_service"].append(root.service)
            index_rows["root_name"].append(root.name)
            index_rows["entry_service"].append(entry_service)
            index_rows["route"].append(route)
            index_rows["spans"].append(len(t.spans))
            index_rows["part"].append(span_rel)
        _atomic_parquet(self.path / span_rel, pa.table(span_rows, schema=SPAN_SCHEMA))
        _atomic_parquet(self.path / "index" / part, pa.table(index_rows, schema=INDEX_SCHEMA))

    def _commit(self, parts: Sequence[str]) -> None:
        """Make exactly `parts` the store's content: one atomic rename of the manifest."""
        manifest = {"format": "tracelens-store", "version": FORMAT_VERSION, "parts": list(parts)}
        _atomic_write(self.path / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())

    def _discard(self, parts: Sequence[str]) -> None:
        """After a failed write: remove its parts, unless the manifest on disk names them."""
        with contextlib.suppress(Exception):  # a second Ctrl-C here leaves work for _sweep
            committed = set(self._committed())
            self._remove_parts([p for p in parts if p not in committed])

    def _remove_parts(self, parts: Iterable[str]) -> None:
        for part in parts:  # index first: a span file alone is never read
            for sub in ("index", "spans"):
                with contextlib.suppress(OSError):
                    (self.path / sub / part).unlink(missing_ok=True)

    def _sweep(self) -> int:
        """Remove temp files and the parts the manifest does not name: a killed writer's work."""
        keep = set(self._committed())
        removed = 0
        for sub in ("index", "spans"):
            for day in _subdirs(self.path / sub):
                for f in day.iterdir():
                    part = f"{day.name}/{f.name}"
                    is_part = f.name.startswith("part-") and f.name.endswith(".parquet")
                    if _is_temp(f.name) or (is_part and part not in keep):
                        f.unlink(missing_ok=True)
                        removed += 1
                with contextlib.suppress(OSError):  # only when now empty
                    day.rmdir()
        for f in [*self.path.glob(f".{MANIFEST}.*.tmp"), *self.path.glob(".probe-*.tmp")]:
            f.unlink(missing_ok=True)
            removed += 1
        return removed

    def _committed(self) -> list[str]:
        """The committed parts (`date=…/part-….parquet`): the manifest's list.

        A version 1 store has no list: there every index file is committed (its index file was
        renamed into place last), and a span file without one is a leftover.
        """
        path = self.path / MANIFEST
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = b"{}"
        try:
            manifest = json.loads(raw)
        except ValueError as e:
            raise SourceError(
                f"the local store at {self.path} has a damaged {MANIFEST} ({e}); move the "
                "store away and run `tracelens demo` again"
            ) from e
        parts = manifest.get("parts") if isinstance(manifest, dict) else None
        if parts is None:
            return sorted(
                f"{f.parent.name}/{f.name}"
                for f in (self.path / "index").glob("date=*/part-*.parquet")
            )
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise SourceError(
                f"the local store at {self.path} has a damaged {MANIFEST} (its parts are not a "
                "list of names); move the store away and run `tracelens demo` again"
            )
        return parts

    def _error(self, doing: str, e: OSError) -> SourceError:
        """One line naming the store, what could not be done and why."""
        if isinstance(e, FileExistsError | NotADirectoryError) or e.errno == errno.ENOTDIR:
            blocker = next((p for p in (self.path, *self.path.parents) if p.is_file()), None)
            if blocker == self.path:
                reason = "it is a file, not a directory"
            elif blocker is not None:
                reason = f"{blocker} is a file, not a directory"
            else:
                reason = e.strerror or str(e)
        else:
            reason = {
                errno.EACCES: "permission denied",
                errno.EPERM: "permission denied",
                errno.EROFS: "read-only file system",
                errno.ENOSPC: "no space left on device",
            }.get(e.errno or 0, e.strerror or str(e))
            if e.filename and Path(e.filename).parent not in (self.path, self.path.parent):
                reason += f" ({e.filename})"
        hint = "fix its permissions, or " if e.errno in (errno.EACCES, errno.EPERM) else ""
        if doing == "read":
            hint += "set TRACELENS_HOME to the store's directory, or pass --source"
        else:
            hint += "set TRACELENS_HOME to a directory you can write to"
        return SourceError(f"cannot {doing} the local store at {self.path}: {reason}; {hint}")

    # --- reading ---------------------------------------------------------------------------
    def entries(self, window: Window | None = None) -> list[StoreEntry]:
        """Index rows of the traces whose earliest span starts in `window`, oldest first."""
        out: list[StoreEntry] = []
        for table in self._index_tables(window):
            out.extend(
                StoreEntry(
                    trace_id=row["trace_id"],
                    start_ns=row["start_ns"],
                    duration_ns=row["duration_ns"],
                    root_service=row["root_service"],
                    root_name=row["root_name"],
                    entry_service=row["entry_service"],
                    route=row["route"],
                    spans=row["spans"],
                )
                for row in table.to_pylist()
            )
        out.sort(key=lambda e: (e.start_ns, e.trace_id))
        return out

    def traces(
        self, window: Window | None = None, *, trace_ids: Collection[str] | None = None
    ) -> Iterator[Trace]:
        """Every trace whose earliest span starts inside `window` (and is in `trace_ids`, if given).

        Streams one part at a time, so memory follows the largest part, not the store.
        """
        wanted = None if trace_ids is None else set(trace_ids)
        for table in self._index_tables(window):
            if wanted is not None:
                mask = pc.is_in(table["trace_id"], value_set=pa.array(sorted(wanted), pa.string()))
                table = table.filter(mask)
            by_part: dict[str, list[tuple[int, int, str]]] = {}
            for part, offset, count, tid in zip(
                table["part"].to_pylist(),
                table["row_offset"].to_pylist(),
                table["spans"].to_pylist(),
                table["trace_id"].to_pylist(),
                strict=True,
            ):
                by_part.setdefault(part, []).append((offset, count, tid))
            for part, slices in by_part.items():
                yield from self._read_part(part, slices)

    def _index_tables(self, window: Window | None) -> Iterator[pa.Table]:
        files = self._index_files()
        if not files:
            raise SourceError(
                f"the local store at {self.path} is empty: run `tracelens demo` or pass --source"
            )
        for path in files:
            if window is not None and not _day_may_overlap(path.parent.name, window):
                continue
            try:
                table = pq.read_table(path, schema=INDEX_SCHEMA)
            except (OSError, pa.ArrowException) as e:
                self.issues.append(ReadIssue(str(path), f"unreadable index part: {e}"))
                continue
            if window is not None:
                starts = table["start_ns"]
                mask = pa.array([True] * table.num_rows, pa.bool_())
                if window.start_ns is not None:
                    mask = pc.and_(mask, pc.greater_equal(starts, window.start_ns))
                if window.end_ns is not None:
                    mask = pc.and_(mask, pc.less(starts, window.end_ns))
                table = table.filter(mask)
            if table.num_rows:
                yield table

    def _index_files(self) -> list[Path]:
        """The committed index files: only what the manifest names, never a write in progress."""
        try:
            if self.path.exists() and not self.path.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(self.path))
            if self.path.exists():
                os.listdir(self.path)  # an unreadable store is an error, not an empty one
            return [self.path / "index" / part for part in self._committed()]
        except OSError as e:
            raise self._error("read", e) from e

    def _read_part(self, part: str, slices: list[tuple[int, int, str]]) -> Iterator[Trace]:
        path = self.path / part
        try:
            table = pq.read_table(path, schema=SPAN_SCHEMA)
        except (OSError, pa.ArrowException) as e:
            self.issues.append(ReadIssue(part, f"unreadable span part: {e}"))
            return
        for offset, count, trace_id in slices:
            rows = table.slice(offset, count).to_pylist()
            if not rows or rows[0]["trace_id"] != trace_id or rows[-1]["trace_id"] != trace_id:
                self.issues.append(
                    ReadIssue(f"{part}:{offset}", f"index does not match {trace_id}")
                )
                continue
            try:
                spans = tuple(_span_from_row(r) for r in rows)
            except (msgspec.DecodeError, ValueError, TypeError) as e:
                self.issues.append(ReadIssue(f"{part}:{offset}", f"bad span row: {e}"))
                continue
            yield Trace(trace_id=trace_id, spans=spans, origin=f"{self.path}/{part}:{offset}")


def _append_span(rows: dict[str, list[object]], s: Span) -> None:
    rows["trace_id"].append(s.trace_id)
    rows["span_id"].append(s.span_id)
    rows["parent_id"].append(s.parent_id)
    rows["service"].append(s.service)
    rows["name"].append(s.name)
    rows["kind"].append(int(s.kind))
    rows["start_ns"].append(s.start_ns)
    rows["end_ns"].append(s.end_ns)
    rows["status"].append(int(s.status))
    rows["attributes"].append(msgspec.json.encode(dict(s.attributes)).decode())
    rows["events"].append(
        msgspec.json.encode([[e.time_ns, e.name, dict(e.attributes)] for e in s.events]).decode()
        if s.events
        else None
    )
    rows["links"].append(list(s.links))
    rows["process"].append(s.process)


_attrs_decoder = msgspec.json.Decoder(dict[str, AttributeValue])
_events_decoder = msgspec.json.Decoder(list[tuple[int, str, dict[str, AttributeValue]]])


def _span_from_row(r: dict[str, object]) -> Span:
    events_json = r["events"]
    events: tuple[Event, ...] = ()
    if isinstance(events_json, str):
        events = tuple(Event(t, n, a) for t, n, a in _events_decoder.decode(events_json))
    links = r["links"]
    return Span(
        trace_id=str(r["trace_id"]),
        span_id=str(r["span_id"]),
        parent_id=None if r["parent_id"] is None else str(r["parent_id"]),
        service=str(r["service"]),
        name=str(r["name"]),
        kind=SpanKind(int(r["kind"])),  # type: ignore[call-overload]
        start_ns=int(r["start_ns"]),  # type: ignore[call-overload]
        end_ns=int(r["end_ns"]),  # type: ignore[call-overload]
        status=StatusCode(int(r["status"])),  # type: ignore[call-overload]
        attributes=_attrs_decoder.decode(str(r["attributes"])),
        events=events,
        links=tuple(str(x) for x in links) if isinstance(links, list) else (),
        process=str(r["process"] or ""),
    )


def _day(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d")


def _day_may_overlap(partition: str, window: Window) -> bool:
    """False only when the day partition `date=YYYY-MM-DD` lies wholly outside the window."""
    try:
        day = dt.datetime.strptime(partition.removeprefix("date="), "%Y-%m-%d").replace(
            tzinfo=dt.UTC
        )
    except ValueError:
        return True
    day_start_ns = int(day.timestamp()) * 1_000_000_000
    day_end_ns = day_start_ns + 86_400 * 1_000_000_000
    return (window.end_ns is None or day_start_ns < window.end_ns) and (
        window.start_ns is None or day_end_ns > window.start_ns
    )


def _subdirs(path: Path) -> list[Path]:
    """The `date=…` partitions under `path` (none when it does not exist)."""
    if not path.is_dir():
        return []
    return [d for d in path.iterdir() if d.name.startswith("date=") and d.is_dir()]


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _lock_exclusive(fd: int) -> None:
    """Wait for other writers of the store to finish (POSIX; on Windows writers don't wait)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    fcntl.flock(fd, fcntl.LOCK_EX)  # released when the file is closed


def _atomic_parquet(path: Path, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    _atomic_write(path, sink.getvalue().to_pybytes())


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a hidden temp file beside `path`, fsync, then rename over it: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
