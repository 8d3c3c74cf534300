"""Option values that make no sense are usage errors (exit 2) naming the option and the range."""

from __future__ import annotations

import csv
import io

import pytest

from tests.test_pipeline import corpus
from tracelens.cli import main
from tracelens.otlp_json import write_otlp_lines


@pytest.fixture(scope="module")
def traces_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("options") / "traces.jsonl"
    with path.open("wb") as out:
        write_otlp_lines(corpus(), out)
    return str(path)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--slo", "inf"], "--slo"),
        (["--slo", "nan"], "--slo"),
        (["--slo", "0"], "--slo: '0' is not more than 0"),
        (["--slo", "-3s"], "--slo"),
        (["--since", "99999999999999999999d"], "--since: duration"),
        (["--start", "yesterday-ish"], "--start: can't read time"),
        (["--resamples", "0"], "argument --resamples: 0 is too few: use 100 or more"),
        (["--resamples", "-5"], "argument --resamples"),
        (["--seed", "-1"], "argument --seed: -1 is not 0 or more"),
        (["--top", "0"], "argument --top: 0 is not 1 or more"),
        (["--top", "-1"], "argument --top: -1 is not 1 or more"),
        (["--percentile", "100"], "argument --percentile: 100 is not between 0 and 100"),
        (["--percentile", "nan"], "argument --percentile: 'nan' is not a finite number"),
        (["--baseline", "0"], "argument --baseline"),
        (["--percentile", "10", "--baseline", "90"], "--baseline 90 must be below --percentile 10"),
        (["--jaeger-ui", "notaurl"], "argument --jaeger-ui: 'notaurl' is not an http(s) URL"),
        (["--grafana-url", "ftp://x"], "argument --grafana-url"),
        (["--timeout", "0"], "argument --timeout"),
        (["--jobs", "0"], "argument --jobs/-j: 0 is not 1 or more"),
        (["--csv", "-", "--json"], "only one output can go to stdout"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    traces_file: str, options: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["slowest", "--source", traces_file, "--route", "result", *options]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own exit for a bad value
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in " ".join(err.split()), err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_csv_dash_writes_the_csv_to_stdout_instead_of_the_report(
    traces_file: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slowest", "--source", traces_file, "--route", "result", "--csv", "-"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["rank", "pattern", "service"]
    assert len(rows) > 2
    assert "What to fix first" not in out


def test_the_same_percentile_for_both_sets_is_allowed_in_before_after_mode(
    traces_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before/after compares the route's windows: the bands may be the same.
    code = main(
        [
            *("slowest", "--source", traces_file, "--route", "result"),
            *("--start", "2020-01-01T00:00Z", "--baseline-start", "2019-01-01T00:00Z"),
            *("--baseline-end", "2019-06-01T00:00Z", "--baseline", "100"),
        ]
    )
    err = capsys.readouterr().err
    assert "must be below" not in err
    assert code in (0, 2)  # the corpus has no baseline window: that is a different message
