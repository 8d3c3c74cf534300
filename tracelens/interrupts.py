"""Ctrl-C and SIGTERM at any moment of a command, the first import included: exit 130 or 143
and one word, never a traceback.

    with deferred_interrupts():       # a signal now is held ...
        from tracelens.commands import slowest
    # ... and raised here, as KeyboardInterrupt (SIGINT) or Terminated (SIGTERM)

This module imports only the standard library, so that `launch` (the `tracelens` program) can
hold signals before anything heavy loads.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a command's modules load, then act on them.

    A signal that lands inside an import is raised in the import machinery's own callbacks,
    where Python prints it as an ignored exception with a traceback and carries on; held until
    the import is done, it stops the command as anywhere else.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda number, frame: held.append(number))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if held:
        raise Terminated() if held[0] == signal.SIGTERM else KeyboardInterrupt()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that writers unwind the same way (exit 143)."""


def terminate(signum: int, frame: object) -> None:
    raise Terminated


def launch() -> int:
    """The `tracelens` program: load the command line with signals held, then run it."""
    try:
        with deferred_interrupts():
            from tracelens.cli import main
    except KeyboardInterrupt as e:
        print("terminated" if isinstance(e, Terminated) else "interrupted", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    return main()
