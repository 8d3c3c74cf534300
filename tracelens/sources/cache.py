"""Fetched traces kept on disk: `TraceCache.for_backend(key, options)`, then `get`/`put` by id.

A trace, once complete in the backend, does not change, so a second run over the same window reads
it from here instead of the network. Entries are the trace as the readers made it (ids and units
already normalised), as gzipped msgpack, which loads about seven times faster than parsing the
backend's JSON again, under `<cache dir>/traces/v1/<backend hash>/<id[:2]>/<id>.msgpack.gz`. The
backend is named by a hash of its URL without credentials (and of the tenant, whose traces
differ), so neither a path nor a file holds a secret. Writes go to a temporary file first and are
renamed into place, so a killed run leaves no half entry.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import msgspec
import platformdirs

from tracelens.model import Trace

FORMAT = "v1"  # part of the path: a new entry format starts a new cache
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Trace)


class TraceCache:
    """Trace responses by trace id; a disabled cache finds nothing and keeps nothing."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def for_backend(cls, key: str, enabled: bool, cache_dir: str | None) -> TraceCache:
        if not enabled:
            return cls(None)
        root = Path(cache_dir or platformdirs.user_cache_dir("tracelens"))
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return cls(root / "traces" / FORMAT / digest)

    def _path(self, trace_id: str) -> Path:
        assert self.directory is not None
        return self.directory / trace_id[:2] / f"{trace_id}.msgpack.gz"

    def get(self, trace_id: str) -> Trace | None:
        if self.directory is None:
            return None
        try:
            trace = _decoder.decode(gzip.decompress(self._path(trace_id).read_bytes()))
        except (OSError, EOFError, gzip.BadGzipFile, msgspec.DecodeError):
            return None  # absent, unreadable or damaged: fetch it again
        return trace if trace.trace_id == trace_id and trace.spans else None

    def put(self, trace: Trace) -> None:
        """Keep `trace`; a cache that cannot be written is skipped silently."""
        trace_id = trace.trace_id
        if self.directory is None:
            return
        target = self._path(trace_id)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(gzip.compress(_encoder.encode(trace), compresslevel=1))
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
