"""The "same answers" check of issue #8: contributor CSVs of a checkout, written and compared.

    python bench/same_answers.py --out /tmp/answers-after                     # this checkout
    python bench/same_answers.py --out /work/answers-before --repo /work/ref-before
    python bench/same_answers.py --compare /work/answers-before /tmp/answers-after

`--out` writes one contributors CSV (`tracelens.report.csv`, as `slowest --csv` writes it) per
question, all asked of the tracelens package and the bench scenarios of the checkout at `--repo`
(default: this one), in a fresh interpreter with that checkout first on PYTHONPATH:

- `accuracy-NAME.csv`: every scenario of bench/scenarios, asked as bench/accuracy.py asks it
  (seed 0, 400 requests, 200 bootstrap resamples);
- `demo.csv`: `tracelens demo` (its defaults) into a temporary store, then
  `tracelens slowest --route result --csv`; the demo's clock is pinned so that runs compare;
  `demo-all.csv` is the same with `--top 100000`, every contributor rather than the first ten;
- `nezha-CASE.csv`: every case of shared/datasets/nezha-tt, asked as bench/nezha.py asks it
  (route `/*`, the fault window against the 180 s before it, 500 resamples); a case that tracelens
  refuses gets `nezha-CASE.error.txt` with the message instead.

`_run.json` records where the answers came from and is not compared. `--compare` prints which
files are identical and, for the others, which rows and columns differ: numbers within a relative
1e-9 of each other are equal, any other cell must match exactly. It exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import inspect
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # the checkout this script belongs to
DEFAULT_DATA = HERE.parent / "shared" / "datasets" / "nezha-tt"  # as bench/nezha.py finds it

ACCURACY_SEED, ACCURACY_N, ACCURACY_RESAMPLES = 0, 400, 200  # bench/accuracy.py's defaults
NEZHA_RESAMPLES, NEZHA_BASELINE_S = 500, 180  # bench/nezha.py's run_case
DEMO_END_NS = 1_795_000_000 * 1_000_000_000  # the demo's window end, pinned (tests/test_demo.py)
S = 1_000_000_000
REL_TOL = 1e-9
MAX_CELLS_SHOWN = 12  # differing cells printed per file


# --- writing (in the worker process, with the checkout under test first on sys.path) ----------


def _slowest_with_jobs(jobs: int | None) -> Callable[..., Any]:
    """`tracelens.slowest`, passing `jobs` when asked for and the checkout's slowest takes it."""
    import tracelens

    takes_jobs = "jobs" in inspect.signature(tracelens.slowest).parameters
    if jobs is not None and not takes_jobs:
        raise SystemExit("--jobs: this checkout's tracelens.slowest has no `jobs` parameter")

    def slowest(*args: Any, **kwargs: Any) -> Any:
        if jobs is not None:
            kwargs["jobs"] = jobs
        return tracelens.slowest(*args, **kwargs)

    return slowest


def _write_csv(report: Any, path: Path) -> None:
    from tracelens.report import csv as csv_report

    with path.open("w", encoding="utf-8", newline="") as out:
        csv_report.render(report, out)


def write_accuracy(out: Path, slowest: Callable[..., Any]) -> int:
    from bench.scenarios import SCENARIOS, scenario

    for name in SCENARIOS:
        traces = scenario(name, ACCURACY_SEED, ACCURACY_N)
        report = slowest(traces, seed=ACCURACY_SEED, resamples=ACCURACY_RESAMPLES)
        _write_csv(report, out / f"accuracy-{name}.csv")
    return len(SCENARIOS)


def write_demo(out: Path, jobs: int | None) -> int:
    from tracelens.cli import main as cli
    from tracelens.demo.run import DemoConfig, run_demo
    from tracelens.sources.store import LocalStore

    with tempfile.TemporaryDirectory(prefix="tracelens-demo-") as home:
        run_demo(DemoConfig(store=LocalStore(home), end_ns=DEMO_END_NS))
        os.environ["TRACELENS_HOME"] = home
        # the ten rows a user gets, and every row (`--top` only cuts the ranking)
        for name, top in (("demo.csv", []), ("demo-all.csv", ["--top", "100000"])):
            argv = ["slowest", "--route", "result", "--csv", str(out / name), *top]
            if jobs is not None:
                argv += ["--jobs", str(jobs)]
            with contextlib.redirect_stdout(io.StringIO()):  # the terminal report: not compared
                code = cli(argv)
            if code != 0:
                raise SystemExit(f"tracelens {' '.join(argv)} exited {code}")
    return 2


def write_nezha(out: Path, data: Path, slowest: Callable[..., Any]) -> int:
    from tracelens.errors import TracelensError
    from tracelens.sources import Window

    manifest = data / "manifest.json"
    if not manifest.exists():
        print(f"no dataset at {data}; no nezha answers", file=sys.stderr)
        return 0
    cases = json.loads(manifest.read_text())
    for case in cases:
        case_id = case["case_id"]
        case_dir = data / case_id
        truth = json.loads((case_dir / "truth.json").read_text())
        start, end = int(truth["fault_start"]), int(truth["fault_end"])
        try:
            report = slowest(
                str(case_dir / "traces.jsonl.gz"),
                route="/*",
                window=Window(start * S, end * S),
                baseline_window=Window((start - NEZHA_BASELINE_S) * S, start * S),
                resamples=NEZHA_RESAMPLES,
            )
        except TracelensError as e:
            (out / f"nezha-{case_id}.error.txt").write_text(f"{type(e).__name__}: {e}\n")
            continue
        _write_csv(report, out / f"nezha-{case_id}.csv")
    return len(cases)


def worker(out: Path, data: Path, jobs: int | None, parts: Sequence[str]) -> None:
    import tracelens

    out.mkdir(parents=True, exist_ok=True)
    slowest = _slowest_with_jobs(jobs)
    run_path = out / "_run.json"
    earlier = json.loads(run_path.read_text()) if run_path.exists() else {}
    seconds: dict[str, float] = earlier.get("seconds", {})
    counts: dict[str, int] = earlier.get("answers", {})
    for part in parts:
        for stale in out.glob(f"{part}*"):  # a case that no longer exists must not linger
            stale.unlink()
        began = time.perf_counter()
        if part == "accuracy":
            counts[part] = write_accuracy(out, slowest)
        elif part == "demo":
            counts[part] = write_demo(out, jobs)
        else:
            counts[part] = write_nezha(out, data, slowest)
        seconds[part] = round(time.perf_counter() - began, 1)
        print(f"{part}: {counts[part]} answers in {seconds[part]:.0f} s", file=sys.stderr)
    run = {
        "tracelens": str(Path(tracelens.__file__).parent),
        "commit": _describe(Path(tracelens.__file__).parent.parent),
        "jobs": jobs,
        "answers": counts,
        "seconds": seconds,
        "python": sys.version.split()[0],
    }
    run_path.write_text(json.dumps(run, indent=2) + "\n")


def _describe(repo: Path) -> str:
    """The checkout's commit, with `+dirty` when its tracelens/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "tracelens"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write(out: Path, repo: Path, data: Path, jobs: int | None, parts: Sequence[str]) -> int:
    """Run the worker in a fresh interpreter whose `tracelens` and `bench` come from `repo`."""
    repo = repo.resolve()
    if not (repo / "tracelens" / "__init__.py").exists():
        print(f"no tracelens package in {repo}", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACELENS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
    argv = [sys.executable, str(Path(__file__).resolve()), "--_worker", str(out.resolve())]
    argv += ["--data", str(data.resolve()), "--parts", *parts]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    with tempfile.TemporaryDirectory() as cwd:  # no tracelens.toml, no stray modules
        done = subprocess.run(argv, env=env, cwd=cwd, check=False)
    if done.returncode == 0:
        print(f"answers of {repo} in {out}", file=sys.stderr)
    return done.returncode


# --- comparing ---------------------------------------------------------------------------------


def _same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=0.0) or (math.isnan(x) and math.isnan(y))


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def diff_csv(a: Path, b: Path) -> list[str]:
    """What differs between two contributor CSVs, one line per difference (empty: the same)."""
    rows_a, rows_b = _read_rows(a), _read_rows(b)
    if not rows_a or not rows_b:
        return [] if rows_a == rows_b else ["one file is empty"]
    header_a, header_b = rows_a[0], rows_b[0]
    if header_a != header_b:
        return [f"header: {header_a} != {header_b}"]
    lines: list[str] = []
    if len(rows_a) != len(rows_b):
        lines.append(f"rows: {len(rows_a) - 1} vs {len(rows_b) - 1}")
    cells = 0
    columns: dict[str, int] = {}
    differing_rows: list[int] = []
    for i, (ra, rb) in enumerate(zip(rows_a[1:], rows_b[1:], strict=False), 1):
        bad = [
            j
            for j in range(max(len(ra), len(rb)))
            if not _same_cell(ra[j] if j < len(ra) else "", rb[j] if j < len(rb) else "")
        ]
        if bad:
            differing_rows.append(i)
        for j in bad:
            name = header_a[j] if j < len(header_a) else f"column {j + 1}"
            columns[name] = columns.get(name, 0) + 1
            cells += 1
            if cells <= MAX_CELLS_SHOWN:
                va = ra[j] if j < len(ra) else "<none>"
                vb = rb[j] if j < len(rb) else "<none>"
                lines.append(f"row {i} {name}: {va!r} -> {vb!r}")
    if cells > MAX_CELLS_SHOWN:
        lines.append(f"... {cells - MAX_CELLS_SHOWN} more differing cells")
    if cells:
        shown = ", ".join(str(r) for r in differing_rows[:20])
        more = f" (+{len(differing_rows) - 20})" if len(differing_rows) > 20 else ""
        lines.append(f"rows differing: {len(differing_rows)}: {shown}{more}")
        lines.append("columns differing: " + ", ".join(f"{k} ({v})" for k, v in columns.items()))
    extra = rows_a[len(rows_b) :] or rows_b[len(rows_a) :]
    if extra:
        side = "first" if len(rows_a) > len(rows_b) else "second"
        lines.extend(f"only in the {side}: {','.join(r[:6])}" for r in extra[:5])
    return lines


def compare(dir_a: Path, dir_b: Path) -> int:
    names_a = {p.name for p in dir_a.iterdir() if not p.name.startswith("_")}
    names_b = {p.name for p in dir_b.iterdir() if not p.name.startswith("_")}
    same: list[str] = []
    differing = 0
    for name in sorted(names_a | names_b):
        if name not in names_b or name not in names_a:
            print(f"{name}: only in {dir_a if name in names_a else dir_b}")
            differing += 1
            continue
        a, b = dir_a / name, dir_b / name
        if a.read_bytes() == b.read_bytes():
            same.append(name)
            continue
        if name.endswith(".csv"):
            lines = diff_csv(a, b)
        else:
            lines = [f"{a.read_text().strip()!r} -> {b.read_text().strip()!r}"]
        if not lines:  # equal within the tolerance
            same.append(name)
            continue
        differing += 1
        print(f"{name}: differs")
        for line in lines:
            print(f"    {line}")
    for d in (dir_a, dir_b):
        run = d / "_run.json"
        if run.exists():
            info = json.loads(run.read_text())
            print(f"{d}: tracelens {info['tracelens']} at {info['commit']}, jobs {info['jobs']}")
    print(f"{len(same)} identical, {differing} differing")
    return 1 if differing else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    todo = parser.add_mutually_exclusive_group(required=True)
    todo.add_argument("--out", type=Path, metavar="DIR", help="write the answers here")
    todo.add_argument("--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"))
    todo.add_argument("--_worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout to ask (this one)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the nezha-tt dataset")
    parser.add_argument("--jobs", type=int, help="pass --jobs/jobs= to slowest (default: unset)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("accuracy", "demo", "nezha"),
        default=["accuracy", "demo", "nezha"],
    )
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args._worker:
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE / "bench"]
        worker(args._worker, args.data, args.jobs, args.parts)
        return 0
    return write(args.out, args.repo, args.data, args.jobs, args.parts)


if __name__ == "__main__":
    raise SystemExit(main())
