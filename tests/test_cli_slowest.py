"""`tracelens slowest` as users run it: files in, report out, exit codes."""

import csv
import json
import subprocess
import sys

import pytest

from tests.test_pipeline import corpus, page
from tracelens.cli import main
from tracelens.otlp_json import write_otlp_lines


@pytest.fixture
def traces_file(tmp_path):
    path = tmp_path / "traces.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(corpus(), out)
    return path


def test_the_report_names_the_route_and_the_top_cause(traces_file, capsys):
    assert main(["slowest", "--source", str(traces_file), "--route", "result"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "web: GET /result/[id] (200)" in lines[1]
    # the first row of "what to fix first" and of the contributors is the slow query, and it is
    # not marked "?" (its interval is clear of zero)
    fix = lines.index(next(line for line in lines if line.startswith("What to fix first")))
    assert lines[fix + 2].split()[:5] == ["1", "slow", "query", "·", "api:"]
    assert "SELECT * FROM items" in lines[fix + 2]
    table = lines.index(next(line for line in lines if line.split()[:2] == ["#", "contributor"]))
    assert lines[table + 1].split()[:4] == ["1", "slow", "query", "·"]


def test_csv_has_the_documented_columns_in_order(traces_file, tmp_path, capsys):
    target = tmp_path / "top.csv"
    assert main(["slowest", "-s", str(traces_file), "-r", "result", "--csv", str(target)]) == 0
    rows = list(csv.reader(target.open()))
    assert rows[0][:13] == [
        "rank",
        "pattern",
        "service",
        "operation",
        "slow_ms",
        "baseline_ms",
        "excess_ms",
        "share",
        "ci_low_ms",
        "ci_high_ms",
        "traces",
        "example_trace_id",
        "whatif_p90_ms",
    ]
    assert rows[1][0] == "1"


def test_json_output_is_json_only(traces_file, capsys):
    assert main(["slowest", "-s", str(traces_file), "-r", "result", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["contributors"][0]["rank"] == 1


def test_fail_on_slo_exits_3_when_p90_breaks_it(traces_file, capsys):
    args = ["slowest", "-s", str(traces_file), "-r", "result", "--slo", "100ms", "--fail-on-slo"]
    assert main(args) == 3
    assert main([*args[:-3], "--slo", "10s", "--fail-on-slo"]) == 0


def test_several_routes_exit_2_with_the_list(tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(
            [page(i, "/a", 10) for i in range(3)] + [page(i + 3, "/b", 10) for i in range(2)], out
        )
    assert main(["slowest", "-s", str(path)]) == 2
    err = capsys.readouterr().err
    assert "GET /a (3)" in err
    assert "GET /b (2)" in err


def test_a_missing_file_is_one_line_exit_1(tmp_path, capsys):
    assert main(["slowest", "-s", str(tmp_path / "nope.json"), "-r", "x"]) == 1
    err = capsys.readouterr().err
    assert "nope.json" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_usage_exits_2(traces_file, capsys):
    assert main(["slowest", "-s", str(traces_file), "--fail-on-slo"]) == 2
    assert "--slo" in capsys.readouterr().err


def test_the_console_script_runs(traces_file):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracelens",
            "slowest",
            "-s",
            str(traces_file),
            "-r",
            "result",
            "--top",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "result" in done.stdout


def test_error_messages_keep_brackets_and_colons(tmp_path, capsys):
    # "[id]" is rich markup and ":x:" an emoji code unless the message is escaped.
    path = tmp_path / "mixed.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(
            [page(i, "/result/[id]", 10) for i in range(3)]
            + [page(i + 3, "/a:x:b", 10) for i in range(2)],
            out,
        )
    assert main(["slowest", "-s", str(path)]) == 2
    err = capsys.readouterr().err
    assert "GET /result/[id] (3)" in err
    assert "/a:x:b (2)" in err


def test_tracelens_toml_gives_defaults_that_options_override(
    traces_file, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tracelens.toml").write_text(
        f'source = "{traces_file}"\nroute = "result"\nslo = "100ms"\n'
    )
    assert main(["slowest", "--fail-on-slo"]) == 3
    assert main(["slowest", "--fail-on-slo", "--slo", "10s"]) == 0


def test_a_bad_tracelens_toml_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tracelens.toml").write_text('route = "result"\ncolour = "blue"\n')
    assert main(["slowest"]) == 2
    err = capsys.readouterr().err
    assert "tracelens.toml" in err
    assert "colour" in err
