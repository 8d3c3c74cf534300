"""`tracelens slowest` in a real pseudo-terminal at 80 and 160 columns, and with hostile names.

The terminal report is what people see mid-incident: it must fit, hide nothing, answer on the
first screen, and never let a span name drive the terminal.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.hostile import hostile_corpus
from tests.test_pipeline import corpus
from tracelens.otlp_json import write_otlp_lines

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and bold: the only escapes we write


def run_in_pty(args: list[str], columns: int, rows: int = 200) -> tuple[int, str]:
    """Run `tracelens ARGS` with stdout on a pty of the given size; (code, screen).

    stderr (the spinner, which moves the cursor) goes to a pipe and must hold no escape either.
    """
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracelens", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=60)
    os.close(leader)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert "\x1b" not in err, err
    assert "Traceback" not in err, err
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pty")
    out = {"plain": root / "plain.jsonl", "hostile": root / "hostile.jsonl"}
    for name, traces in (("plain", corpus()), ("hostile", hostile_corpus())):
        with out[name].open("wb") as f:
            write_otlp_lines(traces, f)
    return out


@pytest.mark.parametrize("columns", [80, 160])
def test_the_report_fits_the_terminal_and_answers_on_the_first_screen(files, columns):
    code, screen = run_in_pty(
        ["slowest", "-s", str(files["plain"]), "-r", "result", "--slo", "500ms"], columns
    )
    assert code == 0, screen
    assert "\x1b[" in screen  # a terminal gets colour...
    text = SGR.sub("", screen)
    assert "\x1b" not in text  # ...and no other escape
    lines = text.splitlines()
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert not [line for line in lines if line != line.rstrip()]
    first = "\n".join(lines[:25])
    assert "What to fix first" in first
    assert "slow query" in first
    (fix,) = [line for line in lines[:25] if "slow query" in line and "−" in line]
    p90_if_fixed = re.search(r"(\d+(?:\.\d+)?) ms −(\d+)%", fix)
    assert p90_if_fixed, fix  # the what-if is whole, not cut to "4.68 s (−"
    assert re.search(r"p90 \d", first)
    assert "…" not in fix or columns == 80
    if columns == 160:  # room for every name whole
        assert "…" not in text


@pytest.mark.parametrize("columns", [80, 160])
def test_hostile_names_reach_the_terminal_inert(files, columns):
    code, screen = run_in_pty(
        ["slowest", "-s", str(files["hostile"]), "-r", "result", "--verbose"], columns
    )
    assert code == 0, screen
    text = SGR.sub("", screen)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b[2J" in text  # shown, escaped, where the name is printed
    assert all(len(line) <= columns for line in text.splitlines())


def test_a_closed_pipe_ends_quietly(files):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracelens",
            "slowest",
            "-s",
            str(files["plain"]),
            "-r",
            "result",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err
    assert "BrokenPipe" not in err
