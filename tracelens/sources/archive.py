"""Parquet span archives: `write_archive(traces, "DIR")`, then `ArchiveSource("DIR" or URL)`.

    summary = write_archive(source.traces(window), "archive/", buckets=16)
    src = ArchiveSource("s3://bucket/archive")        # also gs://, file://, a local directory
    for part in src.parts(scope):                     # one per file, pruned by day and time
        traces = read_part(part, issues)              # on any machine that can open the URL

An archive is a directory of Parquet files with the store's span columns (store.py) plus two
per-trace ones, partitioned so that each trace lies wholly in one file: `date=` the UTC day of its
earliest span, `bucket=` a stable hash of its trace id into N buckets. A file is therefore a unit
of the map step that needs nothing from any other file. Within a file traces are sorted by route
and start, and cut into row groups of about ROW_GROUP_SPANS spans at trace boundaries; the
footer's row-group statistics (on `trace_start_ns`) and the route names listed per row group let a
reader skip what the window and the route cannot match. `tracelens-archive.json`, written last,
lists the files: an interrupted export leaves no archive. docs/archive.md has the format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.fs as pafs  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tracelens.errors import SourceError, UsageError
from tracelens.graph import build_tree
from tracelens.model import Event, ReadIssue, Span, SpanKind, StatusCode, Trace
from tracelens.readers.stream import unreadable
from tracelens.routes import RouteMatcher, entry_spans, route_names, route_of
from tracelens.sources import ARCHIVE_MANIFEST, Window

# The store's span table and its JSON codecs are the archive's too: one definition of a span row.
from tracelens.sources.store import (
    SPAN_SCHEMA,
    _append_span,
    _attrs_decoder,
    _events_decoder,
)
from tracelens.stages import Mapped, Scope, Shard, map_traces

MANIFEST = ARCHIVE_MANIFEST
FORMAT_VERSION = 1
DEFAULT_BUCKETS = 16
# Spans per row group: a row group is what the map step holds decoded at once (about 30 MB of
# Span objects), big enough that Parquet's per-group overhead and a worker's per-call overhead
# vanish, small enough that time and route pruning skip a useful share of a day's file.
ROW_GROUP_SPANS = 65_536
# Encoded spans buffered before every bucket is written out as a file: bounds the export's memory
# (arrow columns, about 150 bytes a span) while keeping files of about BUFFER_BYTES / buckets.
BUFFER_BYTES = 512 << 20
MAX_NAMES = 512  # route names listed per row group; a group with more is never skipped by route
ROW_GROUPS_KEY = b"tracelens.row_groups"

ARCHIVE_SCHEMA = SPAN_SCHEMA.append(pa.field("trace_start_ns", pa.int64())).append(
    pa.field("route", pa.string())
)
SPAN_COLUMNS = [f.name for f in SPAN_SCHEMA]  # what reading traces back needs (not `route`)
_CLOUD = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}
_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def bucket_of(trace_id: str, buckets: int) -> int:
    """The bucket of a trace: the same on every machine and run (unlike Python's `hash`)."""
    return zlib.crc32(trace_id.encode()) % buckets


def _day(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d")


# --- where the files are -------------------------------------------------------------------
def open_filesystem(url: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path in it) for a local path, file:// URL or any fsspec URL."""
    scheme = _URL.match(url)
    if scheme is None or scheme.group(1).lower() == "file":
        path = url[len("file://") :] if scheme is not None else url
        return pafs.LocalFileSystem(), str(Path(path).expanduser().resolve())
    name = scheme.group(1).lower()
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise UsageError(
            f"{url}: reading {name}:// needs fsspec: pip install 'tracelens-rca[dask]'"
        ) from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError:
        extra = _CLOUD.get(name)
        hint = f"pip install 'tracelens-rca[{extra}]'" if extra else f"install fsspec's {name}"
        raise UsageError(f"{url}: no filesystem for {name}:// is installed; {hint}") from None
    except ValueError as e:
        raise UsageError(f"{url}: {e}") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path).rstrip("/")


# --- writing -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """One file of an archive, as the manifest lists it."""

    path: str  # relative to the archive's root
    day: str
    bucket: int
    traces: int
    spans: int
    row_groups: int
    start_ns: int  # earliest and latest trace start in the file
    last_ns: int


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What `write_archive` wrote."""

    traces: int
    spans: int
    files: tuple[ArchiveFile, ...]


@dataclass(slots=True)
class _Buffered:
    """One bucket's traces not yet written: their span rows as arrow batches and one row each."""

    batches: list[pa.RecordBatch] = field(default_factory=list)
    rows: dict[str, list[object]] = field(default_factory=lambda: {f: [] for f in SPAN_COLUMNS})
    # per trace: (route, start_ns, trace_id, first row, rows, route names)
    traces: list[tuple[str, int, str, int, int, frozenset[str]]] = field(default_factory=list)
    spans: int = 0
    nbytes: int = 0


class _Writer:
    def __init__(self, url: str, buckets: int) -> None:
        if buckets < 1:
            raise UsageError(f"--buckets {buckets}: use 1 or more")
        self.url = url
        self.buckets = buckets
        self.fs, self.root = open_filesystem(url)
        self._check_empty()
        self.buffers: dict[tuple[str, int], _Buffered] = {}
        self.files: list[ArchiveFile] = []
        self.buffered_bytes = 0
        self.traces = self.spans = 0

    def _check_empty(self) -> None:
        info = self.fs.get_file_info(self.root)
        if info.type == pafs.FileType.NotFound:
            return
        if info.type != pafs.FileType.Directory:
            raise UsageError(f"--parquet {self.url}: exists and is not a directory")
        if self.fs.get_file_info(pafs.FileSelector(self.root)):
            raise UsageError(f"--parquet {self.url}: is not empty; give a new directory")

    def add(self, trace: Trace) -> None:
        if not trace.spans:
            return
        tree = build_tree(trace)
        name, entry = route_of(tree)
        route = f"{entry.service}: {name}"
        names = frozenset(n for _, span in entry_spans(tree) for n in route_names(span))
        start_ns = min(s.start_ns for s in trace.spans)
        key = (_day(start_ns), bucket_of(trace.trace_id, self.buckets))
        buf = self.buffers.setdefault(key, _Buffered())
        first = buf.spans
        for s in trace.spans:
            _append_span(buf.rows, s)
        buf.spans += len(trace.spans)
        buf.traces.append((route, start_ns, trace.trace_id, first, len(trace.spans), names))
        self.traces += 1
        self.spans += len(trace.spans)
        if len(buf.rows["trace_id"]) >= ROW_GROUP_SPANS:
            self._encode(buf)
            if self.buffered_bytes >= BUFFER_BYTES:
                self.flush()

    def _encode(self, buf: _Buffered) -> None:
        """The bucket's pending rows as an arrow batch: a tenth of their size as Python objects."""
        if not buf.rows["trace_id"]:
            return
        batch = pa.RecordBatch.from_pydict(buf.rows, schema=SPAN_SCHEMA)
        buf.batches.append(batch)
        buf.nbytes += batch.nbytes
        self.buffered_bytes += batch.nbytes
        buf.rows = {f: [] for f in SPAN_COLUMNS}

    def flush(self) -> None:
        """Write every buffered bucket as one new file."""
        for (day, bucket), buf in sorted(self.buffers.items()):
            self._encode(buf)
            self.files.append(self._write_file(day, bucket, buf))
        self.buffers = {}
        self.buffered_bytes = 0

    def _write_file(self, day: str, bucket: int, buf: _Buffered) -> ArchiveFile:
        table = pa.Table.from_batches(buf.batches, schema=SPAN_SCHEMA)
        ordered = sorted(buf.traces)  # by route, start, trace id: a row group holds few routes
        take: list[int] = []
        starts: list[int] = []
        routes: list[str] = []
        groups: list[tuple[int, int, int, set[str]]] = []  # (first row, rows, traces, names)
        for route, start_ns, _, first, count, names in ordered:
            if not groups or groups[-1][1] >= ROW_GROUP_SPANS:
                groups.append((len(take), 0, 0, set()))
            row, rows, traces, seen = groups[-1]
            groups[-1] = (row, rows + count, traces + 1, seen | names)
            take.extend(range(first, first + count))
            starts.extend([start_ns] * count)
            routes.extend([route] * count)
        table = (
            table.take(pa.array(take, pa.int64()))
            .append_column("trace_start_ns", pa.array(starts, pa.int64()))
            .append_column("route", pa.array(routes, pa.string()))
        )
        listed = [
            {"traces": traces, "routes": sorted(names) if len(names) <= MAX_NAMES else None}
            for _, _, traces, names in groups
        ]
        schema = ARCHIVE_SCHEMA.with_metadata({ROW_GROUPS_KEY: json.dumps(listed).encode()})
        rel = f"date={day}/bucket={bucket:03d}/part-{uuid.uuid4().hex}.parquet"
        target = f"{self.root}/{rel}"
        self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        with pq.ParquetWriter(
            self.fs.open_output_stream(target), schema, compression="zstd"
        ) as writer:
            for row, rows, _, _ in groups:  # one row group each: cut where a trace ends
                writer.write_table(table.slice(row, rows), row_group_size=rows)
        return ArchiveFile(
            path=rel,
            day=day,
            bucket=bucket,
            traces=len(ordered),
            spans=table.num_rows,
            row_groups=len(groups),
            start_ns=min(t[1] for t in ordered),
            last_ns=max(t[1] for t in ordered),
        )

    def commit(self) -> ArchiveSummary:
        self.flush()
        manifest = {
            "format": "tracelens-archive",
            "version": FORMAT_VERSION,
            "buckets": self.buckets,
            "row_group_spans": ROW_GROUP_SPANS,
            "files": [
                {f: getattr(a, f) for f in ArchiveFile.__dataclass_fields__} for a in self.files
            ],
        }
        # Written last, so that what an interrupted export left is no archive at all.
        with self.fs.open_output_stream(f"{self.root}/{MANIFEST}") as out:
            out.write((json.dumps(manifest, indent=1) + "\n").encode())
        return ArchiveSummary(self.traces, self.spans, tuple(self.files))

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            for a in self.files:
                self.fs.delete_file(f"{self.root}/{a.path}")


def write_archive(
    traces: Iterable[Trace], url: str, *, buckets: int = DEFAULT_BUCKETS
) -> ArchiveSummary:
    """Write traces to a new span archive at `url` (a directory that is absent or empty)."""
    writer = _Writer(url, buckets)
    try:
        for trace in traces:
            writer.add(trace)
        if writer.traces == 0:
            return ArchiveSummary(0, 0, ())
        return writer.commit()
    except OSError as e:
        writer.abort()
        raise SourceError(f"can't write the archive {url}: {e.strerror or e}") from e
    except BaseException:
        writer.abort()
        raise


# --- reading -------------------------------------------------------------------------------
def is_archive(path: str) -> bool:
    """Whether a local path is a span archive's directory."""
    return os.path.isfile(os.path.join(path, MANIFEST))


@dataclass(frozen=True, slots=True)
class ArchivePart:
    """One file to read and what to read of it: self-contained, so any worker can read it."""

    url: str  # the archive's root, as any machine of the cluster can open it
    path: str  # the file, relative to the root
    windows: tuple[Window, ...] | None  # traces starting in any of these; None: all
    route: str | None  # --route: row groups with no matching route name are skipped

    @property
    def name(self) -> str:
        return f"{self.url.rstrip('/')}/{self.path}"


def _overlaps(window: Window, first_ns: int, last_ns: int) -> bool:
    return (window.start_ns is None or last_ns >= window.start_ns) and (
        window.end_ns is None or first_ns < window.end_ns
    )


def _wanted(windows: tuple[Window, ...] | None, starts: pa.ChunkedArray) -> pa.ChunkedArray:
    mask = None
    for w in windows or ():
        m = pa.scalar(True)
        if w.start_ns is not None:
            m = pc.and_(m, pc.greater_equal(starts, w.start_ns))
        if w.end_ns is not None:
            m = pc.and_(m, pc.less(starts, w.end_ns))
        mask = m if mask is None else pc.or_(mask, m)
    return mask


def read_part(
    part: ArchivePart, issues: list[ReadIssue], counted: list[int] | None = None
) -> Iterator[Trace]:
    """The traces of one archive file in the part's windows, row group by row group.

    Row groups whose trace starts lie outside every window (the footer's statistics), or none of
    whose traces has an entry span the route can match (the names the writer listed), are not
    read; within a group only the span columns are. `counted`, when given, gets the number of
    traces the file holds appended (read or skipped), so that counts do not depend on pruning.
    """
    fs, root = open_filesystem(part.url)
    matcher = RouteMatcher(part.route) if part.route else None
    try:
        with fs.open_input_file(f"{root}/{part.path}") as f:
            pf = pq.ParquetFile(f)
            meta = pf.schema_arrow.metadata or {}
            groups = json.loads(meta.get(ROW_GROUPS_KEY, b"[]"))
            if len(groups) != pf.num_row_groups:
                raise SourceError(f"{part.name}: not a tracelens archive file (no row-group list)")
            if counted is not None:
                counted.append(sum(int(g["traces"]) for g in groups))
            column = pf.schema_arrow.get_field_index("trace_start_ns")
            for number, group in enumerate(groups):
                stats = pf.metadata.row_group(number).column(column).statistics
                if (
                    part.windows is not None
                    and stats is not None
                    and stats.has_min_max
                    and not any(_overlaps(w, stats.min, stats.max) for w in part.windows)
                ):
                    continue
                names = group.get("routes")
                if (
                    matcher is not None
                    and names is not None
                    and not any(matcher.matches_name(n) for n in names)
                ):
                    continue
                table = pf.read_row_group(number, columns=[*SPAN_COLUMNS, "trace_start_ns"])
                if part.windows is not None:
                    table = table.filter(_wanted(part.windows, table["trace_start_ns"]))
                yield from _traces_in(table, part.name)
    except (OSError, pa.ArrowException, ValueError, KeyError) as e:
        raise SourceError(f"{part.name}: unreadable archive file ({e})") from e


_KINDS = {int(k): k for k in SpanKind}
_STATUSES = {int(c): c for c in StatusCode}


def _traces_in(table: pa.Table, origin: str) -> Iterator[Trace]:
    """The table's rows as traces: each trace's rows are contiguous (the writer made them so).

    Column by column rather than row dicts (store.py's `_span_from_row`, the same fields): a
    row group is tens of thousands of spans, and building a dict per row costs more than the
    span."""
    c = {name: table.column(name).to_pylist() for name in SPAN_COLUMNS}
    spans = [
        Span(
            trace_id=trace_id,
            span_id=span_id,
            parent_id=parent_id,
            service=service,
            name=name,
            kind=_KINDS.get(kind, SpanKind.UNSPECIFIED),
            start_ns=start_ns,
            end_ns=end_ns,
            status=_STATUSES.get(status, StatusCode.UNSET),
            attributes=_attrs_decoder.decode(attributes),
            events=tuple(Event(t, n, a) for t, n, a in _events_decoder.decode(events))
            if events
            else (),
            links=tuple(links) if links else (),
            process=process or "",
        )
        for (
            trace_id, span_id, parent_id, service, name, kind, start_ns, end_ns, status,
            attributes, events, links, process,
        ) in zip(*(c[name] for name in SPAN_COLUMNS), strict=True)
    ]  # fmt: skip
    ids = c["trace_id"]
    start = 0
    for i in range(1, len(spans) + 1):
        if i == len(spans) or ids[i] != ids[start]:
            yield Trace(trace_id=ids[start], spans=tuple(spans[start:i]), origin=origin)
            start = i


class ArchiveSource:
    """A span archive (a local directory, file://, s3://, gs://, any fsspec URL) as a Source."""

    def __init__(self, url: str) -> None:
        scheme = _URL.match(url)
        # Workers open the same URL: a local path must not depend on the client's directory.
        if scheme is None or scheme.group(1).lower() == "file":
            path = url[len("file://") :] if scheme is not None else url
            url = str(Path(path).expanduser().resolve())
        self.url = url
        self.description = f"span archive {url}"
        self.issues: list[ReadIssue] = []
        fs, root = open_filesystem(url)
        try:
            with fs.open_input_stream(f"{root}/{MANIFEST}") as f:
                manifest = json.loads(f.read())
        except FileNotFoundError:
            raise SourceError(
                f"{url}: no {MANIFEST}, so not a span archive (or its export did not finish)"
            ) from None
        except (OSError, ValueError) as e:
            raise SourceError(f"{url}: can't read {MANIFEST}: {e}") from e
        if not isinstance(manifest, dict) or manifest.get("format") != "tracelens-archive":
            raise SourceError(f"{url}: {MANIFEST} is not a tracelens archive manifest")
        if manifest.get("version") != FORMAT_VERSION:
            raise SourceError(
                f"{url}: archive format version {manifest.get('version')!r}; this tracelens "
                f"reads version {FORMAT_VERSION}"
            )
        try:
            self.files = tuple(ArchiveFile(**f) for f in manifest["files"])
        except (KeyError, TypeError) as e:
            raise SourceError(f"{url}: {MANIFEST} has a damaged file list ({e})") from e

    def parts(self, scope: Scope | None = None) -> list[ArchivePart]:
        """The files that may hold traces of the scope's windows, each with what to read of it."""
        windows: tuple[Window, ...] | None = None
        if scope is not None and scope.window is not None:
            windows = (scope.window,) + (
                (scope.baseline_window,) if scope.baseline_window is not None else ()
            )
        elif scope is not None and scope.baseline_window is not None:
            windows = None  # the current window is unbounded
        route = scope.matcher.route if scope is not None and scope.matcher else None
        files = [
            f
            for f in self.files
            if windows is None or any(_overlaps(w, f.start_ns, f.last_ns) for w in windows)
        ]
        if self.files and not files:
            first = min(f.start_ns for f in self.files)
            last = max(f.last_ns for f in self.files)
            raise UsageError(
                f"no traces in the selected window: {self.description} holds traces from "
                f"{_iso(first)} to {_iso(last)}; widen --since/--start/--end"
            )
        return [ArchivePart(self.url, f.path, windows, route) for f in files]

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every trace whose earliest span starts inside `window`, file by file."""
        for part in self.parts(Scope(window=window)):
            try:
                yield from read_part(part, self.issues)
            except SourceError as e:
                self.issues.append(unreadable(part.name, e))


def _iso(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def map_part(shard: Shard, part: ArchivePart, number: int, scope: Scope) -> Mapped:
    """The map step for one archive file (stages.map_piece's counterpart): read, analyse into
    the shard, return the briefs. An unreadable file is an issue, not the end of the run."""
    issues: list[ReadIssue] = []
    counted: list[int] = []
    try:
        briefs = map_traces(shard, read_part(part, issues, counted), number, scope)
    except SourceError as e:
        # One unreadable file must not hide the rest of the archive (as for a directory).
        issues.append(unreadable(part.name, e))
        return Mapped([], issues, failed=e)
    return Mapped(briefs, issues, traces=sum(counted), file=part.name)
