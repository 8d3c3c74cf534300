"""Ctrl-C and SIGTERM while the program is still loading: exit 130 or 143 with one word, never a
traceback. The signal is sent by an import hook at the moment a given module starts to load, so
each case lands where it means to, on a loaded machine too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HOOK = """
import os, signal, sys
class SignalOnImport:
    def find_spec(self, name, path, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.{signal})
        return None
sys.meta_path.insert(0, SignalOnImport())
from tracelens.interrupts import launch
sys.argv = ["tracelens", *{argv!r}]
raise SystemExit(launch())
"""


def _run(module: str, signal_name: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    script = HOOK.format(module=module, signal=signal_name, argv=argv)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "module",
    [
        "tracelens.cli",  # the command line's own imports
        "tracelens.budget",  # building the parser
        "tracelens.commands.slowest",  # the command's modules
        "numpy",  # the analysis's libraries
    ],
)
@pytest.mark.parametrize(
    ("signal_name", "code", "word"),
    [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")],
)
def test_a_signal_while_loading_stops_the_command_in_one_word(
    module: str, signal_name: str, code: int, word: str, tmp_path: Path
) -> None:
    run = _run(module, signal_name, ["slowest", "--source", str(tmp_path), "--route", "result"])
    assert "Traceback" not in run.stderr
    assert run.returncode == code, run.stderr
    assert run.stderr.strip() == word
