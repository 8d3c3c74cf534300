"""The readers and the CLI on mutated real samples: never a traceback, one clear line on errors.

Hypothesis drives tests/fuzzing.py's mutations of every file in fixtures/; bench/fuzz.py runs
the same for as long as it is given, in subprocesses. Inputs it found crashing live in
fixtures/regressions/ and are replayed here.
"""

from __future__ import annotations

import contextlib
import io
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import SAMPLES, mutate
from tracelens.cli import main
from tracelens.errors import SourceError
from tracelens.model import ReadIssue
from tracelens.readers import read_traces

REGRESSIONS = sorted(
    (Path(__file__).resolve().parent.parent / "fixtures" / "regressions").glob("*")
)
FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: usage
            code = int(e.code or 0)
    return code, err.getvalue()


def check_cli(path: Path) -> None:
    for argv in (
        ["critical-path", str(path), "--format", "jsonl"],
        ["slowest", "--source", str(path), "--resamples", "100", "--jobs", "1"],
    ):
        code, err = run_cli(argv)  # an exception here is the traceback a user would see
        assert code in (0, 1, 2), (argv, err)
        assert "Traceback" not in err
        if code:
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1, err
            assert lines[0].startswith("error: "), err


def check_readers(path: Path) -> None:
    issues: list[ReadIssue] = []
    with contextlib.suppress(SourceError):
        for trace in read_traces(path, issues):
            assert trace.spans
    assert all(i.count >= 0 for i in issues)


@given(sample=st.sampled_from(SAMPLES), rng=st.randoms(use_true_random=False))
@FUZZ
def test_mutated_samples_never_crash_the_readers_or_the_cli(sample: Path, rng: random.Random):
    data = mutate(sample.read_bytes(), rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{sample.suffix}"
        path.write_bytes(data)
        check_readers(path)
        check_cli(path)


@pytest.mark.parametrize("found", REGRESSIONS, ids=lambda p: p.name)
def test_inputs_the_fuzzer_found_stay_fixed(found: Path):
    check_readers(found)
    check_cli(found)
