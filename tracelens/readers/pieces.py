"""Trace input cut into self-contained pieces: `pieces(path)`, then `read_piece(piece, issues)`.

    for piece in pieces("traces.jsonl"):          # cheap: finds boundaries, parses nothing
        traces = list(read_piece(piece, issues))  # the real work, anywhere (a worker process)

So that reading runs on every core, the file is cut where no decoding is needed to find a cut: a
directory into its files, JSON lines into runs of whole lines, and a Jaeger document (`{"data":
[...]}`) into runs of its whole traces (msgspec finds their bounds without decoding them). Other
documents are one piece. A trace whose lines fall into two runs comes out of each as a part; the
reader of the pieces joins parts that share a trace id (`join_parts`). Pieces carry their line
and trace numbers, so messages name the same places as reading the file whole.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Trace
from tracelens.readers.detect import add_whole_trace, split_traces
from tracelens.readers.group import Sink, finish
from tracelens.readers.stream import (
    _BOM,
    _NL,
    MAX_LINE_BYTES,
    _is_lines,
    _looks_like_lines,
    _open,
    _read_lines,
    _read_stream,
    files_in,
    line_too_long,
    not_regular,
    read_file,
    read_head,
    read_rest,
)

LINES_BYTES = 4 << 20  # JSON lines per piece: big enough to amortise sending it to a worker
TRACES_PER_PIECE = 200  # whole traces of a Jaeger document per piece


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of the input that can be read on its own; exactly one of the content fields is set.

    `path`: a whole file of a directory, read where the piece is read. `lines`: JSON lines
    starting at line `first_line` (`leading`: the start of the file). `traces`: whole Jaeger
    traces, numbered from `first_trace` + 1. `document`: one JSON document. `unread`: an entry
    of a directory that is not a regular file (a FIFO, a socket), skipped with an issue.
    """

    name: str
    path: str | None = None
    unread: str | None = None
    lines: bytes | None = None
    first_line: int = 1
    leading: bool = True
    traces: tuple[bytes, ...] = ()
    first_trace: int = 0
    document: bytes | None = None


def pieces(path: str | os.PathLike[str]) -> Iterator[Piece]:
    """The pieces of a file, a directory (its files, sorted) or "-" (stdin), in input order."""
    if os.fspath(path) == "-":
        yield from _stream_pieces(None, "stdin")
        return
    root = Path(path)
    if root.is_dir():
        files, others = files_in(root)
        for other in others:
            yield Piece(name=str(other), unread=str(other))
        for file in files:
            yield Piece(name=str(file), path=str(file))
        return
    if not root.exists():
        raise SourceError(f"{root}: no such file or directory")
    yield from _stream_pieces(root, str(root))


def _stream_pieces(path: Path | None, name: str) -> Iterator[Piece]:
    """Pieces of a file or of stdin, read front to back as a stream (FIFOs and pipes too)."""
    stream = _open(path, name)
    with stream:
        try:
            head = read_head(stream, name)
            if _is_lines(head.removeprefix(_BOM)):
                yield from _line_pieces(head, stream, name)
                return
            data = read_rest(stream, head, name)
        except (OSError, EOFError, zlib.error) as e:
            raise SourceError(f"{name}: cannot read: {e}") from e
    try:
        parts = split_traces(data)
    except msgspec.DecodeError:
        if _looks_like_lines(data):  # lines longer than the sniffed head
            yield from _line_pieces(data, io.BytesIO(), name)
            return
        parts = None  # not JSON: the document reader says why
    if parts is None:
        yield Piece(name=name, document=data)
        return
    for at in range(0, len(parts), TRACES_PER_PIECE):
        batch = tuple(bytes(part) for part in parts[at : at + TRACES_PER_PIECE])
        yield Piece(name=name, traces=batch, first_trace=at)


def _line_pieces(head: bytes, stream: BinaryIO, name: str) -> Iterator[Piece]:
    held = head
    line = 1
    leading = True
    while True:
        if len(held) >= LINES_BYTES:
            cut = held.rfind(_NL, 0, LINES_BYTES)
            if cut < 0:  # a line longer than a piece: it is a piece of its own
                cut = held.find(_NL, LINES_BYTES)
                if cut < 0 and len(held) > MAX_LINE_BYTES:
                    raise line_too_long(name)
            if cut >= 0:
                run, held = held[: cut + 1], held[cut + 1 :]
                yield Piece(name=name, lines=run, first_line=line, leading=leading)
                line += run.count(_NL)
                leading = False
                continue
        block = stream.read(LINES_BYTES)
        if not block:
            break
        held += block
    if held.strip() or leading:
        yield Piece(name=name, lines=held, first_line=line, leading=leading)


def read_piece(piece: Piece, issues: list[ReadIssue] | None) -> Iterator[Trace]:
    """The traces of one piece; bad traces, lines and spans go to `issues` (None: raise)."""
    name = piece.name
    if piece.unread is not None:
        if issues is None:
            raise SourceError(f"{name}: not a regular file")
        issues.append(not_regular(Path(piece.unread)))
        return
    try:
        if piece.path is not None:
            yield from read_file(Path(piece.path), name, issues)
            return
        if piece.lines is not None:
            stream = io.BytesIO(piece.lines)
            yield from _read_lines(
                stream, name, issues, first_line=piece.first_line, leading=piece.leading
            )
            return
        if piece.document is not None:
            yield from _read_stream(io.BytesIO(piece.document), name, issues)
            return
        for i, part in enumerate(piece.traces, piece.first_trace + 1):
            sink = Sink(f"{name} (trace {i})", issues)
            add_whole_trace(part, sink)
            yield from sink.traces(name)
    except msgspec.DecodeError as e:
        raise SourceError(f"{name}: not valid JSON ({e})") from e


def join_parts(parts: Sequence[Trace]) -> Trace:
    """One trace from its parts read from consecutive pieces, in input order."""
    first = parts[0]
    spans = [s for part in parts for s in part.spans]
    return finish(first.trace_id, spans, first.origin)
