"""Measuring instruments for the benchmarks: a child process's time and peak memory, and its
callgrind instruction count net of an empty run.

    m = run_measured([sys.executable, script, "--child", ...])  # its last stdout line is JSON
    m.result["seconds"], m.result["cpu_s"], m.peak_mb, m.wall_s
    net = net_instructions(run_argv, empty_argv, workdir)          # callgrind Ir, run - empty

Peak memory is what the whole process tree held: the child reports its own high-water mark
(VmHWM, free while running), and a sampler adds up the proportional set size (Pss, so pages that
forked workers share with their parent count once) of the child and all its descendants every
250 ms; the larger of the two is the peak. Linux's ru_maxrss is not used for the child: it keeps
the forking parent's peak across exec.

The instruction count is the noise-free figure to compare commits by: callgrind's total Ir of a
run minus that of an "empty" run of the same interpreter and script that imports every module the
real run ended up importing (`write_modules` / `import_modules`) and stops, so what remains is the
work done on the spans. Both runs use PYTHONHASHSEED=0, so that set and dict orders repeat.

A child reports "seconds" (wall time of the measured work) and "cpu_s" (`cpu_s()` over the same
work, its workers included): on a busy shared machine the CPU time of a one-core run is the steadier
figure, while a speed-up from worker processes can only be read from wall time.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_S = 0.25  # Pss walks page tables: sample the plateau, not every page fault


@dataclass(frozen=True)
class Measurement:
    result: dict[str, Any]  # the child's JSON line
    wall_s: float  # the child process from start to exit, interpreter start-up included
    peak_mb: float  # the process tree's peak (see the module docstring)
    samples: int = 0
    stderr: str = field(default="", repr=False)


def peak_rss_kb() -> int:
    """This process's own peak RSS (VmHWM), for a child to report."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_s() -> float:
    """CPU seconds of this process and of the children it has waited for (worker pools)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def load_average() -> str:
    """The 1-minute load average: on a shared machine, how far to trust the times."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "-"


def _descendants(pid: int) -> list[int]:
    out = [pid]
    i = 0
    while i < len(out):
        try:
            for task in os.listdir(f"/proc/{out[i]}/task"):
                with open(f"/proc/{out[i]}/task/{task}/children") as f:
                    out.extend(int(c) for c in f.read().split())
        except OSError:
            pass  # the process ended between two reads
        i += 1
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = sum(_pss_kb(p) for p in _descendants(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.samples += 1
            self.done.wait(SAMPLE_S)


def run_measured(
    argv: list[str], *, env: dict[str, str] | None = None, what: str = ""
) -> Measurement:
    """Run a child whose last stdout line is a JSON object; its time and its tree's peak memory."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    sampler = _Sampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - began
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{what or ' '.join(argv)} failed (exit {proc.returncode}):\n{err}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    own_mb = float(result.get("maxrss_mb", 0.0))
    return Measurement(result, wall, max(own_mb, sampler.peak_kb / 1024), sampler.samples, err)


# --- callgrind ---------------------------------------------------------------------------------


def write_modules(path: str | os.PathLike[str]) -> None:
    """Record the modules this process has imported, for the empty run to import."""
    names = [n for n in sys.modules if n != "__main__" and not n.startswith("bench.")]
    Path(path).write_text(json.dumps(names))


def import_modules(path: str | os.PathLike[str]) -> None:
    """Import what a real run imported (in its order), and nothing else."""
    for name in json.loads(Path(path).read_text()):
        try:
            importlib.import_module(name)
        except Exception:  # a module that imports only as a side effect of another one
            continue


def callgrind_instructions(argv: list[str], out_file: Path) -> int:
    """Total instructions (Ir) of `argv` under callgrind, from the out file's totals line."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *argv]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"callgrind of {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    for line in out_file.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise SystemExit(f"no totals line in {out_file}")


@dataclass(frozen=True)
class Instructions:
    run: int
    empty: int
    seconds: float

    @property
    def net(self) -> int:
        return self.run - self.empty


def net_instructions(run_argv: list[str], empty_argv: list[str], workdir: Path) -> Instructions:
    """Instructions of the run minus those of the empty run (which reads the module list the run
    writes, so the run goes first)."""
    began = time.perf_counter()
    run = callgrind_instructions(run_argv, workdir / "callgrind.out.run")
    empty = callgrind_instructions(empty_argv, workdir / "callgrind.out.empty")
    return Instructions(run, empty, time.perf_counter() - began)
