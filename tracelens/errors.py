"""The one error root: a problem the user can fix, printed as one line without a traceback."""

from __future__ import annotations

from typing import ClassVar


class TracelensError(Exception):
    """A problem the user can fix. Printed as one message, without a traceback."""

    exit_code: ClassVar[int] = 1


class SourceError(TracelensError):
    """A source can't be reached, read or parsed: names the input and what is wrong."""


class UsageError(TracelensError):
    """The command line asks for something that can't be answered as asked (exit 2)."""

    exit_code: ClassVar[int] = 2
