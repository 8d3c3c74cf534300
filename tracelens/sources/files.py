"""Trace files as a Source: `FileSource(path).traces(window)` for a file, directory or "-".

A thin wrapper over `tracelens.readers.read_traces`: it keeps the read issues on the source and
filters traces by the window on their earliest span start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from tracelens.errors import SourceError
from tracelens.model import ReadIssue, Trace
from tracelens.readers import read_traces
from tracelens.sources import Window


class FileSource:
    """Traces read from a file, a directory of files (recursively) or stdin ("-")."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.issues: list[ReadIssue] = []
        if self.path == "-":
            self.description = "stdin"
        elif Path(self.path).is_dir():
            self.description = f"directory {self.path}"
        elif Path(self.path).exists():
            self.description = f"file {self.path}"
        else:
            raise SourceError(f"{self.path}: no such file or directory")

    def traces(self, window: Window | None = None) -> Iterator[Trace]:
        """Every trace whose earliest span starts inside `window` (all when None)."""
        for trace in read_traces(self.path, self.issues):
            if window is None or window.contains(min(s.start_ns for s in trace.spans)):
                yield trace
