"""Fetched traces kept on disk: `TraceCache.for_backend(key, options)`, then `get`/`put` by id.

A trace, once complete in the backend, does not change, so a second run over the same window reads
it from here instead of the network. Entries are the backend's response bytes, gzipped, under
`<cache dir>/traces/<hash of the backend>/<id[:2]>/<id>.json.gz`. The backend is named by a hash of
its URL without credentials (and of the tenant, whose traces differ), so neither a path nor a
file holds a secret. Writes go to a temporary file first and are renamed into place, so a killed
run leaves no half entry.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import platformdirs


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
        return cls(root / "traces" / digest)

    def _path(self, trace_id: str) -> Path:
        assert self.directory is not None
        return self.directory / trace_id[:2] / f"{trace_id}.json.gz"

    def get(self, trace_id: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            return gzip.decompress(self._path(trace_id).read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile):
            return None  # absent, unreadable or damaged: fetch it again

    def put(self, trace_id: str, body: bytes) -> None:
        """Keep `body` for `trace_id`; a cache that cannot be written is skipped silently."""
        if self.directory is None:
            return
        target = self._path(trace_id)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(gzip.compress(body, compresslevel=1))
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
