"""The local trace store, the embedded default source: `LocalStore.default().traces(window)`.

A directory of Parquet span tables partitioned by day, each with a one-row-per-trace index
(docs/store.md has the format and the reasons). `write(traces)` adds a part atomically; readers
list only complete files and take no locks, so a reader never sees half a write and never blocks
a writer. `entries(window)` answers route and duration questions from the index alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
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

FORMAT_VERSION = 1
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
        """Add traces as new parts (one per day of root start); returns how many were written.

        With `replace`, the parts that existed before are removed once the new ones are complete,
        so readers see the old traces or the new ones, never an empty store in between.
        """
        old_parts = self._parts() if replace else []
        written = 0
        batch: list[Trace] = []
        for t in traces:
            if t.spans:
                batch.append(t)
            if len(batch) >= _TRACES_PER_PART:
                written += self._write_batch(batch)
                batch = []
        if batch:
            written += self._write_batch(batch)
        for index_file, span_file in old_parts:  # index first: a span file alone is invisible
            index_file.unlink(missing_ok=True)
            span_file.unlink(missing_ok=True)
        return written

    def _parts(self) -> list[tuple[Path, Path]]:
        """(index file, span file) of every complete part."""
        return [(f, self.path / "spans" / f.parent.name / f.name) for f in self._index_files()]

    def _write_batch(self, traces: list[Trace]) -> int:
        self._ensure_marker()
        by_day: dict[str, list[tuple[int, Trace]]] = {}
        for t in traces:
            start_ns = min(s.start_ns for s in t.spans)
            by_day.setdefault(_day(start_ns), []).append((start_ns, t))
        for day, dated in sorted(by_day.items()):
            dated.sort(key=lambda pair: (pair[0], pair[1].trace_id))
            self._write_part(day, [t for _, t in dated])
        return len(traces)

    def _write_part(self, day: str, traces: list[Trace]) -> None:
        name = f"part-{uuid.uuid4().hex}.parquet"
        span_rel = f"spans/date={day}/{name}"
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
        # Spans first, index last: the index file is the commit marker, so a crash in between
        # leaves only an unindexed span file that no reader looks at.
        _atomic_parquet(self.path / span_rel, pa.table(span_rows, schema=SPAN_SCHEMA))
        _atomic_parquet(
            self.path / f"index/date={day}/{name}", pa.table(index_rows, schema=INDEX_SCHEMA)
        )

    def _ensure_marker(self) -> None:
        marker = self.path / "tracelens-store.json"
        if marker.exists():
            return
        payload = json.dumps({"format": "tracelens-store", "version": FORMAT_VERSION}) + "\n"
        _atomic_write(marker, payload.encode())

    def clear(self) -> None:
        """Remove every stored trace (index first, so readers never see spans without an index)."""
        for sub in ("index", "spans"):
            shutil.rmtree(self.path / sub, ignore_errors=True)

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
        # Only complete files: temp files start with "." and never match "part-*.parquet".
        return sorted((self.path / "index").glob("date=*/part-*.parquet"))

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
