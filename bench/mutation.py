"""Mutation testing of the modules whose mistakes change an answer, one module at a time.

    python bench/mutation.py                    # every module below, then the table
    python bench/mutation.py critical_path graph
    python bench/mutation.py --table            # only print the table of the last runs
    python bench/mutation.py --survivors graph  # each unexplained survivor's diff
    python bench/mutation.py --fresh whatif     # forget earlier results of a module first

mutmut (a dev dependency) plants one small bug at a time in a module — an operator, a number, a
condition, a return value — and runs the module's own tests against it: a mutant that no test
notices is a bug the tests would let through. Each module runs in its own scratch directory under
bench/out/mutation/NAME (mutmut copies the project into `mutants/` there), with a pyproject.toml
made from this project's `[tool.mutmut]` plus the module to mutate and the tests to run, so a
mutant of the critical path is checked by the critical-path tests alone, not the whole suite.
mutmut runs one mutant at a time (`--max-children 1`) under `nice -n 10`, and each module's run
stops after `--budget` seconds (what was checked by then is kept and counted; run again to go on).

A mutant that survives and cannot change an answer (it only changes how fast an answer comes, or
an unreachable branch) is listed in EQUIVALENT with the reason, and is counted as "equivalent",
not as a survivor. The table: killed, survived (unexplained), equivalent, timed out, no tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "out" / "mutation"


@dataclass(frozen=True)
class Module:
    name: str
    sources: tuple[str, ...]  # files to mutate
    tests: tuple[str, ...]  # the tests that answer for them


MODULES = (
    Module("critical_path", ("tracelens/critical_path.py",), ("tests/test_critical_path.py",)),
    Module("graph", ("tracelens/graph.py",), ("tests/test_graph.py",)),
    Module("attribution", ("tracelens/attribution.py",), ("tests/test_attribution.py",)),
    Module("whatif", ("tracelens/whatif.py",), ("tests/test_whatif.py",)),
    Module(
        "report.safe+csv",
        ("tracelens/report/safe.py", "tracelens/report/csv.py"),
        ("tests/test_report_safe.py", "tests/test_report_csv.py"),
    ),
    *(
        Module(
            f"detectors.{d}", (f"tracelens/detectors/{d}.py",), (f"tests/test_detectors_{d}.py",)
        )
        for d in (
            "n_plus_one",
            "sequential",
            "slow_query",
            "dns",
            "connect",
            "queueing",
            "retry",
            "self_time",
            "error",
        )
    ),
)

# Surviving mutants that cannot change an answer, with the reason. Names are mutmut's
# (module.x_function__mutmut_N); a change to the function renumbers its mutants, so an entry that
# no longer matches shows up as an unexplained survivor again and is looked at afresh.
_ZERO_LENGTH = (
    "only a child of zero length at the parent's {} changes side (kept as a zero-length "
    "candidate, or dropped): it holds no path time and its subtree is clipped to nothing, so the "
    "path is the same"
)
EQUIVALENT: dict[str, str] = {
    "tracelens.critical_path.x__candidates__mutmut_16": _ZERO_LENGTH.format("start"),  # s <= lo
    "tracelens.critical_path.x__candidates__mutmut_17": _ZERO_LENGTH.format("end"),  # e >= hi
    "tracelens.critical_path.x__candidates__mutmut_19": _ZERO_LENGTH.format("end"),  # s > hi
    "tracelens.critical_path.x__candidates__mutmut_20": _ZERO_LENGTH.format("start"),  # e < lo
    "tracelens.critical_path.x_critical_path__mutmut_13": (
        "`if kids or True`: _candidates of no children is the empty list, the same as _NONE"
    ),
    "tracelens.critical_path.x_critical_path__mutmut_30": "None for False: both falsy",
    "tracelens.critical_path.x_critical_path__mutmut_124": (
        "always merging at the end: as mutmut_31, the merge changes nothing without a "
        "zero-length child"
    ),
    "tracelens.critical_path.x_critical_path__mutmut_98": (
        "the sort key of a one-candidate list: a list of one is never sorted"
    ),
    # the same four edges in the walk's one-child shortcut
    "tracelens.critical_path.x_critical_path__mutmut_76": _ZERO_LENGTH.format("end"),
    "tracelens.critical_path.x_critical_path__mutmut_77": _ZERO_LENGTH.format("start"),
    "tracelens.critical_path.x_critical_path__mutmut_80": _ZERO_LENGTH.format("start"),
    "tracelens.critical_path.x_critical_path__mutmut_81": _ZERO_LENGTH.format("end"),
    "tracelens.critical_path.x_critical_path__mutmut_31": (
        "always merging: without a zero-length child no two pieces of one span meet (a child "
        "of non-zero length always puts a segment between them), so the merge changes nothing; "
        "the flag only saves the pass"
    ),
}


def _same(reason: str, prefix: str, numbers: list[int]) -> dict[str, str]:
    """One reason for several mutants of one function: `prefix` + `__mutmut_N`."""
    return {f"{prefix}__mutmut_{n}": reason for n in numbers}


_STRICT = (
    "zip(strict=True) loosened or dropped: the sequences zipped are built with equal lengths, "
    "strict only guards against a bug elsewhere"
)
_SPEED = "an early exit or shortcut taken less often: the full path gives the same answer"
EQUIVALENT |= {
    **_same(
        "a visited flag set to 2 instead of 1: only its truth is read",
        "tracelens.graph.x__break_cycles",
        [4, 38],
    ),
    **_same(
        "the walk also visits the root: it has no parent, is never a skew candidate and comes "
        "first, when every offset is still 0, so nothing moves",
        "tracelens.graph.x__undo_skew",
        [6, 8],
    ),
    **_same(_STRICT, "tracelens.graph.x_build_tree", [15, 18, 20, 251, 254, 256, 270, 274, 275]),
    **_same(
        "the synthetic root's start and end in the working lists are never read: it is never a "
        "child to sort, a loop member, or a client span of a skew candidate",
        "tracelens.graph.x_build_tree",
        [137, 138],
    ),
    **_same(
        "`renamed` only decides whether the index is rebuilt; rebuilt from the same ids it is "
        "the same mapping (None is falsy like False)",
        "tracelens.graph.x_build_tree",
        [26, 27, 247],
    ),
    **_same(_SPEED, "tracelens.graph.x_build_tree", [42, 195]),
    "tracelens.graph.x_build_tree__mutmut_262": "sorting one-element child lists: a no-op",
    **_same(
        "`misfit` only skips the skew pass when nothing can move; running it anyway re-checks "
        "every candidate and moves nothing that fits (" + _SPEED + ")",
        "tracelens.graph.x__skew_candidates",
        [2, 3, 18, 19, 21],
    ),
    **_same(
        "`<=` for `<`: two claims rank equal only when they are the same key, which wins either "
        "way",
        "tracelens.attribution.x__stronger",
        [7, 12],
    ),
    "tracelens.attribution.x_baseline_weights__mutmut_21": (
        "`=` for `+=`: each stratum's traces are set once, from zeros"
    ),
    **_same(
        "the summary's default: every pattern key has a summary (claims_from counts one for "
        "each finding) and no plain key has one, so the default is never used",
        "tracelens.attribution.x_rank",
        [148, 150, 152, 153],
    ),
    **_same(
        "durations as int64 instead of float64: whole nanoseconds, the same sums and means",
        "tracelens.attribution.x_rank",
        [19, 21],
    ),
    **_same(
        "a tree always holds a span (an empty trace gets a zero-length synthetic root), so the "
        "`else 0` branch never runs",
        "tracelens.attribution.x_duration_ns",
        [2, 3],
    ),
    **_same(
        "no claims in the trace: None for {} (both falsy, never indexed), or looked up anyway "
        "in {} (None)",
        "tracelens.attribution.x_trace_contributions",
        [14, 16, 68],
    ),
    "tracelens.attribution.x_trace_contributions__mutmut_34": (
        "no claims in the trace: looked up anyway in {} (None)"
    ),
    "tracelens.attribution.x_bootstrap_means__mutmut_30": (
        "rng.integers(n) is rng.integers(0, n): the same draws"
    ),
    "tracelens.attribution.x_bootstrap_means__mutmut_39": "astype(None) is astype(float64)",
    **_same(
        "a critical path has no zero-length segments (test_critical_path checks it on drawn "
        "trees), so whether one would count changes nothing",
        "tracelens.attribution.x_trace_contributions",
        [3, 144],
    ),
    "tracelens.attribution.x_trace_contributions__mutmut_192": (
        "the off-path key is set only there, once per trace: its earlier value is always 0"
    ),
    "tracelens.attribution.x_claims_from__mutmut_10": (
        "each summary counted twice: the same order of most common"
    ),
    "tracelens.attribution.x_claims_from__mutmut_42": (
        "a dict used as an ordered set: only its keys are read"
    ),
    **_same(
        "most_common(n)[0] is the most common summary for any n from 1, and for None",
        "tracelens.attribution.x_claims_from",
        [63, 64],
    ),
    "tracelens.attribution.x_split_excess__mutmut_5": (
        "d_s is read only when the baseline has no calls either, and then it prices 0 - 0 calls"
    ),
    "tracelens.attribution.x_bootstrap_means__mutmut_11": (
        "chunks of 2 resamples instead of 1 only with more traces than _BOOTSTRAP_CELLS: the "
        "generator's draws are the same stream in chunks of either size (memory only)"
    ),
    "tracelens.whatif.x__placed__mutmut_13": (
        "`>=` for `>`: an equal end sets the same latest original end"
    ),
    "tracelens.whatif.x__scaled__mutmut_6": "`>= 0`: a gap of 0 scales to 0 either way",
    "tracelens.whatif.x_replay__mutmut_3": (
        "`and` for `or`: a tree has no spans exactly when it has no root (-1), so both tests agree"
    ),
    "tracelens.whatif.x_replay__mutmut_129": (
        "`>=` for `>`: the latest original end among predecessors; an equal one is the same value"
    ),
    **_same(
        "two fields always set together (pred_orig with pred_end, block_orig with block_end): "
        "`or` and `and` of their None checks agree",
        "tracelens.whatif.x_replay",
        [84, 152],
    ),
    **_same(
        "the placeholder start and end of spans not yet placed: every span that is output is "
        "placed first, so the initial value is never read",
        "tracelens.whatif.x_replay",
        [34, 37],
    ),
    "tracelens.whatif.x_replay__mutmut_222": (
        "`break` for `continue` at the synthetic root: build_tree appends it last, so no span "
        "follows it in index order"
    ),
    **_same(
        "np.fromiter's dtype or count left to numpy: the same float64 values",
        "tracelens.whatif.x_whatif_p90",
        [5, 9, 17],
    ),
    **_same(
        "np.fromiter's dtype or count left to numpy: the same float64 values",
        "tracelens.whatif.x_whatif_interval",
        [8, 12, 32, 36],
    ),
    **_same(
        "np.fromiter's dtype or count left to numpy: the same float64 values",
        "tracelens.whatif.x_replay_floor_ns",
        [30, 34],
    ),
    "tracelens.whatif.x__drawn_ranks__mutmut_8": (
        "the interpolation share of one value: its low and high rank are the same, so any "
        "share gives that value"
    ),
    "tracelens.report.csv.x_render__mutmut_18": "ndigits=1 is contributor_record's default",
    "tracelens.report.csv.x_render__mutmut_5": (
        "lineterminator='\\r\\n' is the csv module's default (the excel dialect)"
    ),
    **_same(
        "`<= 0x100` / `< 257`: no character the pattern escapes is U+0100",
        "tracelens.report.safe.x__escape",
        [7, 8],
    ),
    "tracelens.report.safe.x_is_inert__mutmut_7": (
        "newlines replaced by 'XXXX' instead of removed: neither is a control character"
    ),
    "tracelens.detectors.n_plus_one.xǁNPlusOneǁdetect__mutmut_14": (
        "`or` for `and`: without compressed spans every count is 1, so the sum is the group's "
        "length, already below min_repeats on this branch"
    ),
    "tracelens.detectors.dns.xǁDnsǁtimeouts_in__mutmut_3": (
        "k from 0: k = 0 matches only a zero duration and returns 0, the same as no match"
    ),
}

# detectors: dns, queueing, error, self_time
EQUIVALENT |= {
    **_same(
        _STRICT, "tracelens.detectors.dns.xǁDnsǁ_lookups", [56, 59, 60, 79, 83, 84, 96, 100, 101]
    ),
    **_same(_STRICT, "tracelens.detectors.dns.xǁDnsǁ_events", [27, 30, 31]),
    "tracelens.detectors.dns.xǁDnsǁ_lookups__mutmut_102": (
        "`>=` for `>` in the saving: a lookup already at its target adds min(on_path, 0) = 0"
    ),
    "tracelens.detectors.dns.xǁDnsǁ_host__mutmut_29": (
        "None for '' when no ancestor names a host: hosts are only read through `if h` "
        "(repeats, search expansions, named hosts), and both are falsy"
    ),
    "tracelens.detectors.queueing.xǁQueueingǁdetect__mutmut_105": (
        "part=ClaimPart.ALL dropped: ALL is Finding's default"
    ),
    "tracelens.detectors.queueing.xǁQueueingǁdetect__mutmut_114": (
        "the separator of the callers in the summary: a group's calls share one operation key, "
        "which holds the caller service, so there is only ever one caller to join"
    ),
}

# detectors: n_plus_one, sequential, slow_query, connect, retry
EQUIVALENT |= {
    **_same(
        "`known or True` for the baseline's median: a Baseline of no traces is Baseline() "
        "(merge_profile), whose maps are empty, so .get gives the same default 0.0",
        "tracelens.detectors.connect.xǁConnectǁdetect",
        [25, 34],
    ),
    "tracelens.detectors.sequential.x__overlaps__mutmut_8": (
        "one list also swept as side 1: with `same` each side reads only its own latest end, so "
        "the copy is a second, identical sweep"
    ),
    "tracelens.detectors.sequential.x__overlaps__mutmut_24": (
        "`>=` for `>`: an equal end leaves the latest end as it was"
    ),
    "tracelens.detectors.sequential.xǁSequentialǁdetect__mutmut_70": (
        "None for 0 lanes: `lanes` is only read for its truth (`lanes or len(group)`, `if lanes`)"
    ),
    "tracelens.detectors.n_plus_one.x__union_ns__mutmut_12": (
        "`>=` for `>`: an interval ending where the union already reaches adds 0, and the cursor "
        "it then sets is never above the next start (intervals come in start order)"
    ),
    "tracelens.detectors.n_plus_one.xǁNPlusOneǁ_finding__mutmut_35": (
        "composite counts read anyway: without compressed spans in the trace composite_count is "
        "1 for every member, as [1] * len is (" + _SPEED + ")"
    ),
    **_same(_STRICT, "tracelens.detectors.n_plus_one.xǁNPlusOneǁ_finding", [54, 57, 58]),
    "tracelens.detectors.n_plus_one.xǁNPlusOneǁ_lost_concurrency__mutmut_23": (
        "`and` for the first `or`: the baseline has an op's self-overlap share exactly when it "
        "has its repeat count (sibling_pairs records both for an op repeated under a parent)"
    ),
    **_same(
        "`spread` only filters the calls looked at above level 1; counting more groups (claimed "
        "ones, or the root's) lets through only claimed calls (dropped at the first step up) or "
        "calls of an operation with fewer than min_repeats unclaimed parents, which can never "
        "fill min_repeats branches (" + _SPEED + ")",
        "tracelens.detectors.n_plus_one.xǁNPlusOneǁdetect",
        [33, 40],
    ),
    "tracelens.detectors.slow_query.xǁSlowQueryǁdetect__mutmut_36": (
        "`>=` for `>` in the saving: a run exactly at the target adds min(on_path, 0) = 0"
    ),
}

STATUS = {  # mutmut's exit codes (mutmut/stats.py), folded into the table's columns
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
}
COLUMNS = ("killed", "survived", "equivalent", "timeout", "no tests", "other", "not run")


def workdir(module: Module) -> Path:
    return WORK / module.name


def prepare(module: Module, fresh: bool) -> Path:
    """The module's scratch directory: links to the project and a pyproject.toml for it."""
    where = workdir(module)
    if fresh and where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True, exist_ok=True)
    for name in ("tracelens", "tests", "fixtures"):
        link = where / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shared = project["tool"]["mutmut"]
    lines = ["[tool.mutmut]"]
    settings = {
        **shared,
        "only_mutate": list(module.sources),
        "pytest_add_cli_args_test_selection": list(module.tests),
    }
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    # pytest's own settings, so the tests run as they do in CI
    pytest_ini = project["tool"]["pytest"]["ini_options"]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_ini.items()]
    (where / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def run(module: Module, budget_s: float, fresh: bool) -> None:
    """Check the module's survivors of earlier runs again, then every mutant not yet checked."""
    where = prepare(module, fresh)
    began = time.monotonic()
    again = sorted(n for n, c in (results(module) or {}).items() if c in ("survived", "no tests"))
    if again:
        # mutmut keeps a verdict once given and maps tests to functions once: after new tests,
        # map again and re-check exactly the survivors
        (where / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        _mutmut(module, where, again, budget_s)
    left = budget_s - (time.monotonic() - began)
    if left > 0 and any(c == "not run" for c in (results(module) or {"": "not run"}).values()):
        _mutmut(module, where, [], left)
    print(f"{module.name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


def _mutmut(module: Module, where: Path, names: list[str], budget_s: float) -> None:
    command = ["nice", "-n", "10", sys.executable, "-m", "mutmut", "run", "--max-children", "1"]
    env = {**os.environ, "TRACELENS_MUTATION": "1"}  # tests/conftest.py: no shrinking
    what = f"{len(names)} earlier survivors" if names else "unchecked mutants"
    print(f"{module.name}: mutmut on {what} in {where.relative_to(ROOT)}", file=sys.stderr)
    with (where / "run.log").open("ab") as log:
        proc = subprocess.Popen(
            [*command, *names], cwd=where, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            proc.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            print(f"{module.name}: over its {budget_s:.0f} s budget; stopped", file=sys.stderr)
            # mutmut saves each verdict as it comes: stopping loses only the mutant in hand.
            # SIGTERM, not Ctrl-C: an interrupted worker would be recorded as a survivor.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def results(module: Module) -> dict[str, str] | None:
    """Mutant name -> column, from the .meta files mutmut leaves; None before any run."""
    out: dict[str, str] = {}
    found = False
    for source in module.sources:
        meta = workdir(module) / "mutants" / f"{source}.meta"
        if not meta.exists():
            continue
        found = True
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in codes.items():
            if code is None:
                out[name] = "not run"
            elif STATUS.get(code) == "survived" and name in EQUIVALENT:
                out[name] = "equivalent"
            else:
                out[name] = STATUS.get(code, "other")
    return out if found else None


def table(modules: list[Module]) -> str:
    rows: list[tuple[str, ...]] = [("module", *COLUMNS)]
    totals = dict.fromkeys(COLUMNS, 0)
    for module in modules:
        got = results(module)
        if got is None:
            rows.append((module.name, *(["-"] * len(COLUMNS))))
            continue
        counts = dict.fromkeys(COLUMNS, 0)
        for column in got.values():
            counts[column] += 1
        for column in COLUMNS:
            totals[column] += counts[column]
        rows.append((module.name, *(str(counts[c]) for c in COLUMNS)))
    rows.append(("total", *(str(totals[c]) for c in COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def survivors(module: Module) -> None:
    got = results(module) or {}
    for name, column in sorted(got.items()):
        if column != "survived":
            continue
        shown = subprocess.run(
            [sys.executable, "-m", "mutmut", "show", name],
            cwd=workdir(module),
            capture_output=True,
            text=True,
            check=False,
        )
        diff = [
            line
            for line in shown.stdout.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        print(name)
        print("\n".join(f"    {line}" for line in diff))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("modules", nargs="*", help="names from MODULES (default: all)")
    parser.add_argument("--budget", type=float, default=900, help="seconds per module run")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results first")
    parser.add_argument("--table", action="store_true", help="only print the table")
    parser.add_argument("--survivors", action="store_true", help="show unexplained survivors")
    args = parser.parse_args(argv)
    by_name = {m.name: m for m in MODULES}
    unknown = [n for n in args.modules if n not in by_name]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    chosen = [by_name[n] for n in args.modules] if args.modules else list(MODULES)
    if args.survivors:
        for module in chosen:
            survivors(module)
        return 0
    if not args.table:
        for module in chosen:
            run(module, args.budget, args.fresh)
    print(table(chosen))
    left = sum(1 for m in chosen for c in (results(m) or {}).values() if c == "survived")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
