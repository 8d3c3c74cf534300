"""Interrupted writers never leave a partial store: real `tracelens demo` processes, real signals.

Each case starts from the same complete store (OLD), runs `tracelens demo` in a subprocess and
interrupts it at a seeded random moment: SIGINT and SIGTERM, replacing and appending, and a
`kill -9`. Afterwards `tracelens slowest --route result` must analyse OLD or the complete new
data, never a part of it, and the next writer must leave no stray files. A second test kills a
writer (`kill -9`) at random durable steps inside `LocalStore.write`, where the window is too
short for a timed signal to hit reliably.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store_checks import DAY_NS, MS, T0, page, strays, tid
from tracelens.cli import main
from tracelens.sources.store import LocalStore

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="watches /proc to see the CLI start"
)

OLD = ["--requests", "40", "--seed", "1"]
NEW = ["--requests", "60", "--seed", "2"]  # other seed, other trace ids: no overlap with OLD
EXIT_ON = {signal.SIGINT: 130, signal.SIGTERM: 143}


def start_demo(home: Path, *args: str) -> subprocess.Popen[str]:
    """`tracelens demo ARGS`, returned once its main() is running (its SIGTERM handler is set).

    Before that, the interpreter is still importing; a signal there is the interpreter's to
    handle, not tracelens's, and nothing has been written yet.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracelens", "demo", *args],
        env={**os.environ, "TRACELENS_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and not _catches_sigterm(proc.pid):
        assert time.monotonic() < deadline, "tracelens demo did not start"
        time.sleep(0.005)
    return proc


def _catches_sigterm(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def analysed(home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, int]:
    """(traces in the store, requests `slowest --route result` analyses)."""
    monkeypatch.setenv("TRACELENS_HOME", str(home))
    capsys.readouterr()
    code = main(["slowest", "--route", "result", "--json", "--jobs", "1", "--resamples", "100"])
    out = capsys.readouterr().out
    assert code == 0
    return len(LocalStore(home).entries()), json.loads(out)["selection"]["traces_total"]


def test_sigint_sigterm_and_kill_at_random_moments_leave_old_or_new_data_never_a_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    rng = random.Random(10)
    pristine, scratch, home = tmp_path / "old", tmp_path / "scratch", tmp_path / "store"
    # GIVEN a complete OLD store, and the counts and run time of an uninterrupted NEW run
    assert start_demo(pristine, *OLD).wait() == 0
    old = analysed(pristine, monkeypatch, capsys)
    measured = start_demo(scratch, *NEW)
    started = time.monotonic()
    assert measured.wait() == 0
    run_s = time.monotonic() - started  # from main() running to exit
    new = analysed(scratch, monkeypatch, capsys)
    both = (old[0] + new[0], old[1] + new[1])
    cases = [
        (signal.SIGINT, []),
        (signal.SIGTERM, []),
        (signal.SIGINT, ["--append"]),
        (signal.SIGTERM, ["--append"]),
        (signal.SIGKILL, []),
    ]
    for sig, mode in cases:
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(pristine, home)
        # WHEN a NEW run is stopped at a random moment of its run
        delay_s = rng.uniform(0, run_s)
        proc = start_demo(home, *NEW, *mode)
        time.sleep(delay_s)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        case = f"{sig.name} {mode} after {delay_s:.2f} s: exit {proc.returncode}, {err!r}"
        # THEN it exits as interrupted (or had finished), and slowest sees OLD or all of NEW
        # A signal that lands after the run said it was done (while the interpreter exits) ends
        # the process with the signal's default action: the data is complete all the same.
        finished = proc.returncode == 0 or "next: tracelens slowest" in err
        assert finished or proc.returncode == EXIT_ON.get(sig, -signal.SIGKILL), case
        assert "Traceback" not in err, case
        got = analysed(home, monkeypatch, capsys)
        complete = both if mode else new
        assert got in (old, complete), case
        if finished:
            assert got == complete, case
        if sig != signal.SIGKILL and got == old:
            assert strays(home) == [], case  # an interrupted writer takes its files away
    # AND after the kill, a normal run leaves exactly the new data and no stray files
    assert start_demo(home, *NEW).wait() == 0
    assert strays(home) == []
    assert analysed(home, monkeypatch, capsys) == new


CHILD = """
import os, signal, sys
from tests.store_checks import DAY_NS, MS, T0, page, tid
from tracelens.sources import store
store._TRACES_PER_PART = 2  # several parts, so several steps between them
kill_at, replace, steps = int(sys.argv[1]), sys.argv[2] == "replace", [0]
def step(real):
    def durable_step(*args):
        steps[0] += 1
        if steps[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return durable_step
os.replace, os.fsync = step(os.replace), step(os.fsync)
new = [page(tid(n), T0 + DAY_NS * (n % 2) + n * MS, 20 * MS) for n in range(10, 15)]
store.LocalStore(sys.argv[3]).write(new, replace=replace)
print(steps[0])
"""


def write_in_child(kill_at: int, mode: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(kill_at), mode, str(home)],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_writer_killed_at_random_steps_leaves_old_data_and_the_next_write_cleans_up(
    tmp_path: Path,
) -> None:
    old = [page(tid(n), T0 + n * MS, 10 * MS) for n in range(1, 4)]
    old_ids = {t.trace_id for t in old}
    steps = int(write_in_child(0, "append", tmp_path / "count").stdout)
    rng = random.Random(11)
    left_something = False
    for kill_at in sorted(rng.sample(range(1, steps + 1), 4)):
        mode = rng.choice(["append", "replace"])
        new_ids = {tid(n) for n in range(10, 15)} | (old_ids if mode == "append" else set())
        home = tmp_path / f"kill-{kill_at}"
        LocalStore(home).write(old)
        # WHEN the writer is killed at a random durable step
        killed = write_in_child(kill_at, mode, home)
        case = f"{mode} killed at step {kill_at} of {steps}"
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        # THEN the store reads as OLD or as all the new content
        ids = {t.trace_id for t in LocalStore(home).traces()}
        assert ids in (old_ids, new_ids), case
        left_something |= bool(strays(home))
        # ...and the next write removes what the killed one left, keeping the data whole
        LocalStore(home).write([page(tid(99), T0 + 2 * DAY_NS, 10 * MS)])
        assert strays(home) == [], case
        assert {t.trace_id for t in LocalStore(home).traces()} == ids | {tid(99)}, case
    assert left_something  # the kills did leave files behind for the cleanup to remove
