"""Fuzz the readers and the CLI with mutated real samples for as long as it is given.

    python bench/fuzz.py --minutes 10 [--seed 1] [--timeout 30] [--keep DIR]

Each run mutates one file of fixtures/ (tests/fuzzing.py: bit flips, truncation, deleted and
swapped fields, huge and non-finite numbers, odd ids, unicode and control characters, deep
nesting), writes it (sometimes gzipped) and runs `tracelens critical-path FILE` or `tracelens
slowest --source FILE` in a subprocess with a per-run timeout. It prints runs, tracebacks (0
expected), hangs (runs over the timeout), error messages longer than one line, and exit codes; the
inputs behind any traceback, hang or bad message are kept in --keep for the regression suite.
Exit 1 when any were found.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzzing import SAMPLES, mutate  # noqa: E402

COMMANDS = (
    ("critical-path", "{file}", "--format", "jsonl"),
    ("critical-path", "{file}"),
    ("slowest", "--source", "{file}", "--resamples", "100", "--jobs", "1"),
    ("slowest", "--source", "{file}", "--json", "--resamples", "100", "--jobs", "1"),
)


def one_run(rng: random.Random, work: Path, timeout: float) -> tuple[str, int | None, str, bytes]:
    """(command, exit code or None for a hang, stderr, the input) of one mutated run."""
    sample = rng.choice(SAMPLES)
    data = mutate(sample.read_bytes(), rng)
    if rng.random() < 0.1:
        data = gzip.compress(data)
    path = work / f"input{sample.suffix}"
    path.write_bytes(data)
    argv = [a.format(file=path) for a in rng.choice(COMMANDS)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tracelens", *argv],
            capture_output=True,
            timeout=timeout,
            env=env,
            cwd=work,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return " ".join(argv[:1]), None, "", data
    return " ".join(argv[:1]), done.returncode, done.stderr.decode("utf-8", "replace"), data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one, printed")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per run (30)")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-finds")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    deadline = time.monotonic() + args.minutes * 60
    codes: collections.Counter[int] = collections.Counter()
    runs = tracebacks = hangs = long_errors = 0
    kept: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        while time.monotonic() < deadline:
            command, code, err, data = one_run(rng, work, args.timeout)
            runs += 1
            bad = ""
            if code is None:
                hangs += 1
                bad = "hang"
            else:
                codes[code] += 1
                if "Traceback" in err or code not in (0, 1, 2):
                    tracebacks += 1
                    bad = "traceback"
                elif code != 0 and len([ln for ln in err.splitlines() if ln.strip()]) > 1:
                    long_errors += 1
                    bad = "long-error"
            if bad:
                args.keep.mkdir(parents=True, exist_ok=True)
                found = args.keep / f"{bad}-{seed}-{runs}"
                found.write_bytes(data)
                found.with_suffix(".txt").write_text(f"{command}\n{err}")
                kept.append(found)
    print(f"seed {seed}, {args.minutes:g} minutes, {len(SAMPLES)} samples mutated")
    print(f"runs        {runs}")
    print(f"tracebacks  {tracebacks}")
    print(f"hangs       {hangs}  (over {args.timeout:g} s)")
    print(f"errors over one line  {long_errors}")
    print("exit codes  " + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())))
    for path in kept[:20]:
        print(f"kept {path}")
    return 1 if tracebacks or hangs or long_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
