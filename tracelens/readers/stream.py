"""Read trace files: `read_path(path, issues) -> Iterator[Trace]` for a file, directory or "-".

Content decides everything, never the name: gzip by its magic bytes, then one JSON document or
JSON lines (several complete values, one per line). JSON lines stream: a cheap first pass finds
the last line that mentions each trace id, so a trace spread over several lines (OTLP file
exporter) is emitted as soon as its last line is read, and memory holds only unfinished traces.
Stdin is buffered in memory first, so it gets the same treatment.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Span, Trace, Unit
from tracelens.readers.detect import add_json, add_whole_trace, split_traces
from tracelens.readers.group import Sink, finish
from tracelens.readers.ids import BadId, trace_id

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BOM = b"\xef\xbb\xbf"
_TRACE_ID = re.compile(rb'"trace_?[iI][dD]"\s*:\s*"([^"]*)"')
_TRACE_KEY = b'"trace'  # how every _TRACE_ID match starts
_BLOCK_BYTES = 1 << 20
_RAW = msgspec.json.Decoder(msgspec.Raw)
_NL = b"\n"
_SPACE = re.compile(rb"\s*")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # never in JSON text
_HEAD_BYTES = 1 << 20  # JSON lines are told apart within the first MiB
_DONE = msgspec.Raw(b"null")


def _is_json(line: bytes) -> bool:
    try:
        _RAW.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


MAX_DOCUMENT_BYTES = 1 << 30  # one JSON document (not JSON lines) read whole: 1 GiB
MAX_LINE_BYTES = 512 << 20  # one line of JSON lines: 512 MiB
_SPOOL_BYTES = 16 << 20  # non-seekable input kept in memory up to this, then in a temp file


def _spooled(source: BinaryIO) -> BinaryIO:
    """A seekable copy of a stream that cannot seek (stdin, a FIFO, `<(zcat x.gz)`).

    Reading JSON lines takes two passes; the copy lives in memory while small, then in an
    anonymous temporary file, so memory stays bounded whatever the size of the input.
    """
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115  # returned
    shutil.copyfileobj(source, copy, _BLOCK_BYTES)
    copy.seek(0)
    return copy  # type: ignore[return-value]  # a binary file object


def _open(path: Path | None, name: str) -> BinaryIO:
    """A seekable binary stream of the decompressed content; SourceError for binary formats.

    Input that is not a regular file (stdin, a FIFO, process substitution) is read once, as a
    stream, into a spooled copy: nothing seeks on it.
    """
    stream: BinaryIO
    try:
        if path is None:
            stream = _spooled(sys.stdin.buffer)
        else:
            raw = path.open("rb")
            if raw.seekable():
                stream = raw
            else:
                with raw:
                    stream = _spooled(raw)
    except OSError as e:
        raise SourceError(f"{name}: cannot read: {e.strerror or e}") from e
    magic = stream.read(4)
    stream.seek(0)
    if magic.startswith(_GZIP):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        try:
            magic = stream.read(4)
            stream.seek(0)
        except (OSError, EOFError, zlib.error) as e:
            raise SourceError(f"{name}: broken gzip data: {e}") from e
    if magic.startswith(_ZSTD):
        raise SourceError(f"{name}: zstd-compressed; decompress it first (zstd -d) or export JSON")
    return stream


def read_head(stream: BinaryIO, name: str) -> bytes:
    """The first MiB of the content after any leading whitespace, checked to look like JSON.

    Whitespace is read past in blocks without holding it (a gzip bomb of spaces costs time,
    not memory); SourceError when nothing else follows or the text is not JSON.
    """
    head = stream.read(_HEAD_BYTES)
    spaced = 0
    while head and not head.removeprefix(_BOM).strip():
        spaced += len(head)
        head = stream.read(_HEAD_BYTES)
    if not head:
        raise SourceError(f"{name}: empty file" + (" (only whitespace)" if spaced else ""))
    _check_text(head, name)
    return head


def read_rest(stream: BinaryIO, head: bytes, name: str) -> bytes:
    """`head` and the rest of the stream as one document, refused over MAX_DOCUMENT_BYTES."""
    blocks = [head]
    size = len(head)
    while block := stream.read(_BLOCK_BYTES * 16):
        size += len(block)
        if size > MAX_DOCUMENT_BYTES:
            raise SourceError(
                f"{name}: one JSON document larger than {MAX_DOCUMENT_BYTES >> 20:,} MiB, the "
                "most tracelens reads whole; export JSON lines (one trace or batch per line)"
            )
        blocks.append(block)
    return b"".join(blocks).removeprefix(_BOM)


def line_too_long(name: str) -> SourceError:
    return SourceError(
        f"{name}: a line longer than {MAX_LINE_BYTES >> 20:,} MiB, the most tracelens reads "
        "as one JSON value; split the export into smaller batches"
    )


_UTF16 = (b"\xff\xfe", b"\xfe\xff")


def _is_utf16(head: bytes) -> bool:
    """A byte-order mark, or ASCII text with every other byte zero (UTF-16 without a BOM)."""
    if head.startswith(_UTF16):
        return True
    sample = head[:128]
    if len(sample) < 8 or len(sample) % 2:
        sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return False
    low, high = sample[0::2], sample[1::2]
    return (not high.strip(b"\0") and 0 not in low) or (not low.strip(b"\0") and 0 not in high)


def _check_text(head: bytes, name: str) -> None:
    """SourceError unless `head` (the first bytes, past leading whitespace) looks like JSON."""
    if _is_utf16(head):
        raise SourceError(
            f"{name}: UTF-16 text, not UTF-8; convert it first, e.g. "
            "iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.json"
        )
    text = head.removeprefix(_BOM).lstrip()[:512]
    if not text:
        raise SourceError(f"{name}: empty file")
    if text[:1] not in (b"{", b"["):
        sample = text[:8].hex(" ")
        if _CONTROL.search(text) or not _decodes(text):
            raise SourceError(
                f"{name}: binary data (first bytes {sample}), not JSON; protobuf and other "
                "binary exports are not read, export OTLP/JSON instead"
            )
        raise SourceError(f"{name}: not a JSON trace file (it starts with {text[:20]!r})")


def _decodes(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3  # a character cut off at the end of the sample is fine
    return True


def read_file(path: Path | None, name: str, issues: list[ReadIssue] | None) -> Iterator[Trace]:
    """Every trace in one file (None: stdin); `name` is what messages call it."""
    stream = _open(path, name)
    with stream:
        try:
            yield from _read_stream(stream, name, issues)
        except (OSError, EOFError, zlib.error) as e:
            raise SourceError(f"{name}: cannot read: {e}") from e


def _read_stream(stream: BinaryIO, name: str, issues: list[ReadIssue] | None) -> Iterator[Trace]:
    head = read_head(stream, name)
    if _is_lines(head.removeprefix(_BOM)):
        yield from _read_lines(stream, name, issues)
        return
    data = read_rest(stream, head, name)
    try:
        parts = split_traces(data)
        if parts is not None:
            del data  # each part is a whole trace: decode, emit and free them one at a time
            for i, part in enumerate(parts):
                sink = Sink(f"{name} (trace {i + 1})", issues)
                add_whole_trace(part, sink)
                parts[i] = _DONE
                yield from sink.traces(name)
            return
        sink = Sink(name, issues)
        add_json(data, sink)
    except msgspec.DecodeError as e:
        if _looks_like_lines(data):
            yield from _read_lines(stream, name, issues)
            return
        raise SourceError(f"{name}: not valid JSON ({_where(data, e)})") from e
    yield from sink.traces(name)


def _is_lines(head: bytes) -> bool:
    """JSON lines: the first non-blank line is a whole JSON value and more text follows it."""
    start = _SPACE.match(head).end()  # type: ignore[union-attr]  # \s* always matches
    end = head.find(_NL, start)
    return end >= 0 and bool(head[end:].strip()) and _is_json(head[start:end])


def _looks_like_lines(data: bytes) -> bool:
    """JSON lines after all: one value then more (a first line longer than the sniffed head,
    or a broken first line followed by good ones)."""
    lines = [line for line in data.split(_NL, 20)[:20] if line.strip()]
    return len(lines) > 1 and any(
        line.lstrip()[:1] in (b"{", b"[") and _is_json(line) for line in lines
    )


def _where(data: bytes, e: msgspec.DecodeError) -> str:
    """The decode error, with a line number where msgspec names a byte offset."""
    message = str(e)
    if "truncated" in message:
        return f"{message}: the file ends inside a JSON value; is it cut short?"
    found = re.search(r"byte (\d+)", message)
    if found:
        message += f", line {data.count(_NL, 0, int(found.group(1))) + 1}"
    return message


def _lines(stream: BinaryIO, name: str = "input") -> Iterator[bytes]:
    """The stream's lines, each with its newline, as iterating the stream gives them.

    Reads big blocks and finds newlines with memchr: the stream's own line iterator tests byte
    by byte, which shows on the long lines of OTLP exports (a trace or more per line).
    """
    held: list[bytes] = []  # the start of a line longer than what was read so far
    while True:
        block = stream.read(_BLOCK_BYTES)
        if not block:
            break
        start = 0
        if held:
            end = block.find(_NL)
            if end < 0:
                held.append(block)
                if len(held) * _BLOCK_BYTES > MAX_LINE_BYTES:
                    raise line_too_long(name)
                continue
            held.append(block[: end + 1])
            yield b"".join(held)
            held = []
            start = end + 1
        find = block.find  # memchr; bytes.split and readline test byte by byte
        end = find(_NL, start)
        while end >= 0:
            yield block[start : end + 1]
            start = end + 1
            end = find(_NL, start)
        if start < len(block):
            held.append(block[start:])
    if held:
        yield b"".join(held)


def _ids_on(line: bytes) -> Iterable[bytes]:
    """The raw trace ids a line mentions, each once, in order of first mention."""
    found = _TRACE_ID.search(line)
    if found is None:
        return ()
    # One id repeated on every span is the norm. Every match starts at a `"trace`; when each of
    # those starts this very match text, every match is this one (a match is fixed by where it
    # starts), and two C-level counts replace collecting every match.
    if line.count(found.group(0)) == line.count(_TRACE_KEY):
        return (found.group(1),)
    return dict.fromkeys(_TRACE_ID.findall(line))


def _last_lines(stream: BinaryIO, first_line: int = 1, name: str = "input") -> dict[int, list[str]]:
    """line number -> the trace ids last mentioned on that line (the first pass)."""
    last: dict[bytes, int] = {}
    for lineno, line in enumerate(_lines(stream, name), first_line):
        for raw in _ids_on(line):
            last[raw] = lineno
    by_id: dict[str, int] = {}
    for raw, lineno in last.items():
        try:
            tid = trace_id(raw.decode("utf-8", "replace").replace("\\/", "/"))
        except BadId:
            continue
        by_id[tid] = max(lineno, by_id.get(tid, 0))
    ends: dict[int, list[str]] = {}
    for tid, lineno in by_id.items():
        ends.setdefault(lineno, []).append(tid)
    return ends


def _read_lines(
    stream: BinaryIO,
    name: str,
    issues: list[ReadIssue] | None,
    *,
    first_line: int = 1,
    leading: bool = True,
) -> Iterator[Trace]:
    """The traces of a run of JSON lines; `first_line` numbers the stream's first line, and a
    `leading` run (the start of its file) decides on its first document whether this is a trace
    file at all."""
    stream.seek(0)
    ends = _last_lines(stream, first_line, name)
    stream.seek(0)
    pending: dict[str, tuple[list[Span], str]] = {}
    emitted: set[str] = set()
    first_json = leading
    for lineno, line in enumerate(_lines(stream, name), first_line):
        if line.isspace():  # no copy of a long line, unlike strip()
            continue
        origin = f"{name}:{lineno}"
        sink = Sink(origin, issues)
        try:
            add_json(line.removeprefix(_BOM) if lineno == 1 and leading else line, sink)
        except msgspec.DecodeError as e:
            hit = len(list(_ids_on(line)))
            lost = f": spans of {hit:,} traces lost" if hit else ""
            sink.skip(f"not valid JSON ({e}){lost}", Unit.LINE, traces=hit, reason="not valid JSON")
            continue
        except SourceError as e:
            if first_json or issues is None:
                raise  # the first document decides whether this is a trace file at all
            hit = len(list(_ids_on(line)))
            sink.skip(
                str(e).removeprefix(f"{origin}: "),
                Unit.LINE,
                traces=hit,
                reason="not a trace document",
            )
            continue
        first_json = False
        for tid, spans in sink.groups.items():
            held = pending.get(tid)
            if held is None:
                if tid in emitted:
                    sink.skip(
                        f"trace {tid} continues after it was complete; read as a new trace",
                        Unit.TRACE,
                        count=0,
                        reason="trace continued after it was complete",
                    )
                pending[tid] = (spans, origin)
            else:
                held[0].extend(spans)
        for tid in ends.pop(lineno, ()):
            done = pending.pop(tid, None)
            if done is not None:
                emitted.add(tid)
                if done[0]:
                    yield finish(tid, done[0], done[1])
                else:
                    Sink(done[1], issues).emptied(tid)
    for tid, (spans, origin) in pending.items():
        if spans:
            yield finish(tid, spans, origin)
        else:
            Sink(origin, issues).emptied(tid)


def files_in(root: Path) -> tuple[list[Path], list[Path]]:
    """(regular files, other entries: FIFOs, sockets, devices) under `root`, sorted, skipping
    hidden files and directories; SourceError when there are no regular files.

    Entries that are not regular files are never opened: reading a FIFO waits for a writer.
    """
    found: list[Path] = []
    others: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if f.startswith("."):
                continue
            entry = Path(dirpath, f)
            try:
                regular = stat.S_ISREG(entry.stat().st_mode)
            except OSError:
                regular = True  # a broken link: reading it says why
            (found if regular else others).append(entry)
    if not found:
        what = " regular" if others else ""
        raise SourceError(f"{root}: directory holds no{what} files")
    return sorted(found), sorted(others)


def not_regular(path: Path) -> ReadIssue:
    """The issue for a directory entry that is a FIFO, socket or device: skipped unread."""
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
    return ReadIssue(
        str(path),
        f"{kind}, not a regular file; skipped unread",
        Unit.FILE,
        reason="not a regular file",
    )


def read_path(path: str | os.PathLike[str], issues: list[ReadIssue] | None) -> Iterator[Trace]:
    """Every trace under `path`: a file, a directory (recursively) or "-" for stdin."""
    if os.fspath(path) == "-":
        yield from read_file(None, "stdin", issues)
        return
    root = Path(path)
    if root.is_dir():
        files, others = files_in(root)
        if issues is not None:
            issues.extend(not_regular(other) for other in others)
        failed: list[SourceError] = []
        for file in files:
            try:
                yield from read_file(file, str(file), issues)
            except SourceError as e:
                # One unreadable file must not hide the rest of a directory.
                if issues is None:
                    raise
                failed.append(e)
                issues.append(unreadable(file, e))
        if len(failed) == len(files):
            more = f" (and {len(files) - 1} more unreadable files)" if len(files) > 1 else ""
            raise SourceError(f"{failed[0]}{more}")
        return
    if not root.exists():
        raise SourceError(f"{root}: no such file or directory")
    yield from read_file(root, str(root), issues)


def unreadable(file: Path | str, e: SourceError) -> ReadIssue:
    """The issue for one file of a directory that could not be read at all."""
    name = str(file)
    return ReadIssue(name, str(e).removeprefix(f"{name}: "), Unit.FILE, reason="unreadable file")
