"""The README stays true: every command is documented, and CI runs the README's test command."""

from pathlib import Path

import pytest

from tracelens.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", commands())
def test_every_command_appears_in_the_readme(command):
    assert f"tracelens {command}" in README


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert len(capsys.readouterr().out) > 200


def test_ci_runs_the_readme_test_command():
    blocks = README.split("```")
    test_command = next(b.strip() for b in blocks if "pytest" in b and "pip install" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
