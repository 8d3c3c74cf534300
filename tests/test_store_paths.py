"""A store path that can't be used is one line naming the path and what is wrong, exit 1.

Permission cases run `tracelens` in a subprocess; as root, that subprocess runs without the
capabilities that let root ignore permission bits (`setpriv`), so the bits apply as they would
for any user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracelens.cli import main

DEMO = ["demo", "--requests", "20"]
SLOWEST = ["slowest", "--route", "result", "--jobs", "1", "--resamples", "100"]
DROP_ROOT_POWERS = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


def tracelens(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tracelens ARGS` with TRACELENS_HOME=home, bound by permission bits even as root."""
    prefix = DROP_ROOT_POWERS if os.geteuid() == 0 else []
    env = {**os.environ, "TRACELENS_HOME": str(home)}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "tracelens", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def permission_bits_apply(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        return
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permission bits can't be made to apply")
    probe = tmp_path / "probe"
    probe.mkdir(mode=0o500)
    result = subprocess.run(
        [*DROP_ROOT_POWERS, "touch", str(probe / "x")], capture_output=True, check=False
    )
    probe.chmod(0o700)
    if result.returncode == 0:
        pytest.skip("setpriv could not drop root's permission override here")


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Path]:
    """A store holding one demo run; its mode is restored afterwards so pytest can remove it."""
    home = tmp_path / "store"
    assert tracelens(home, *DEMO).returncode == 0
    yield home
    home.chmod(0o755)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", [DEMO, SLOWEST], ids=["demo", "slowest"])
def test_a_file_where_the_store_should_be_is_named_as_such(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    home = tmp_path / "store"
    home.write_text("not a directory")
    monkeypatch.setenv("TRACELENS_HOME", str(home))
    assert main(command) == 1
    err = capsys.readouterr().err
    assert f"local store at {home}: it is a file, not a directory" in err
    assert len(err.strip().splitlines()) == 1
    assert home.read_text() == "not a directory"


def test_a_file_above_the_store_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").write_text("a file")
    monkeypatch.setenv("TRACELENS_HOME", str(tmp_path / "data" / "tracelens"))
    assert main(DEMO) == 1
    assert f"{tmp_path / 'data'} is a file, not a directory" in capsys.readouterr().err


@pytest.mark.usefixtures("permission_bits_apply")
def test_a_read_only_store_refuses_demo_and_still_answers_slowest(filled: Path) -> None:
    before = sorted(p.name for p in filled.rglob("*"))
    filled.chmod(0o555)
    line = one_error_line(tracelens(filled, *DEMO))
    assert f"cannot write to the local store at {filled}: permission denied" in line
    answered = tracelens(filled, *SLOWEST)
    assert answered.returncode == 0, answered.stderr
    assert "Why is result slow?" in answered.stdout
    assert sorted(p.name for p in filled.rglob("*")) == before


@pytest.mark.usefixtures("permission_bits_apply")
@pytest.mark.parametrize("command", [DEMO, SLOWEST], ids=["demo", "slowest"])
def test_an_unreadable_store_is_named_with_the_reason(filled: Path, command: list[str]) -> None:
    filled.chmod(0o000)
    line = one_error_line(tracelens(filled, *command))
    assert f"local store at {filled}: permission denied" in line
