"""The main job end to end: the demo's incident explained by `slowest`, and its repair confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracelens
from tracelens.answer import Report
from tracelens.cli import main
from tracelens.demo.run import DemoConfig, run_demo
from tracelens.sources.store import LocalStore

S = 1_000_000_000


def analyse(store_dir: Path, *, fixed: bool) -> Report:
    store = LocalStore(store_dir)
    run_demo(DemoConfig(requests=300, seed=3, fixed=fixed, store=store))
    return tracelens.slowest(store, route="result", slo_ns=3 * S, resamples=500)


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return analyse(tmp_path_factory.mktemp("incident"), fixed=False)


def test_the_incident_breaks_the_slo_with_a_p90_near_15_seconds(incident: Report) -> None:
    assert incident.stats.breaches_slo
    assert 11 * S < incident.stats.p90_ns < 19 * S
    assert incident.selection.matched == {"web: GET /result/[id]": incident.stats.count}


def test_dns_timeouts_and_the_dataloader_n_plus_one_are_the_causes(incident: Report) -> None:
    patterns = [c.pattern for c in incident.contributor_rows[:3]]
    assert patterns[0] == "dns"
    assert "n_plus_one" in patterns
    dns = incident.contributor_rows[0]
    assert dns.service == "result-bff"
    assert dns.share > 0.5
    assert dns.ci_low_ns > 0
    n1 = next(c for c in incident.contributor_rows if c.pattern == "n_plus_one")
    assert "DataLoader" in n1.summary


def test_each_fix_and_both_together_lower_p90(incident: Report) -> None:
    p90 = incident.stats.p90_ns
    fixes: dict[str, float] = {}
    for c in incident.contributor_rows:
        if c.whatif_p90_ns is not None:
            fixes[c.pattern] = min(fixes.get(c.pattern, p90), c.whatif_p90_ns)
    assert fixes["dns"] < 0.5 * p90
    assert fixes["n_plus_one"] < 0.8 * p90
    assert incident.whatif_together_p90_ns is not None
    assert incident.whatif_together_p90_ns < 3 * S  # as the real repair did


def test_the_repaired_system_meets_the_slo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = analyse(tmp_path / "fixed", fixed=True)
    assert 1.5 * S < fixed.stats.p90_ns < 2.5 * S
    assert not fixed.stats.breaches_slo
    assert all(c.pattern != "dns" or c.excess_ns < 0.1 * S for c in fixed.contributor_rows)
    monkeypatch.setenv("TRACELENS_HOME", str(tmp_path / "fixed"))
    assert main(["slowest", "--route", "result", "--slo", "3s", "--fail-on-slo"]) == 0
    assert "within SLO" in capsys.readouterr().out
