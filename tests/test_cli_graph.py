"""`tracelens graph` as users run it: on the demo's OTLP file, through the real CLI.

The demo's incident: result-bff calls the APIs once per item (N+1) and some of those calls wait
5 s for DNS before they connect, so in slow requests that branch holds most of the path.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import xml.etree.ElementTree as ET

import networkx as nx
import pydot
import pytest

from tests.builders import span, trace
from tests.hostile import CLEAR, OSC8, hostile_corpus
from tests.test_cli_pty import SGR, run_in_pty
from tracelens.cli import main
from tracelens.commands.graph import build_graph
from tracelens.commands.single import RouteSets, analyse, request_of
from tracelens.otlp_json import write_otlp_lines
from tracelens.report.safe import is_inert

MS = 1_000_000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "demo.jsonl"
    assert main(["demo", "--out", str(path), "--requests", "120"]) == 0
    return path


@pytest.fixture(scope="module")
def exported(demo_file, tmp_path_factory):
    """graph --route result with --dot, --graphml and --json: (document, dot path, graphml path)."""
    root = tmp_path_factory.mktemp("exports")
    dot, graphml = root / "g.dot", root / "g.graphml"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(
            [
                "graph",
                "-s",
                str(demo_file),
                "--route",
                "result",
                "--dot",
                str(dot),
                "--graphml",
                str(graphml),
                "--json",
            ]
        )
    assert code == 0
    return json.loads(buf.getvalue()), dot, graphml


def test_the_call_graph_has_the_bff_to_api_edges_with_their_weights(exported):
    _, _, graphml = exported
    g = nx.read_graphml(graphml)
    assert g.graph["route"] == "web: GET /result/[id]"
    callees = {
        g.nodes[b]["service"]
        for a, b in g.edges
        if g.nodes[a]["service"] == "result-bff" and g.nodes[b]["service"] != "result-bff"
    }
    for api in ("departments-api", "hospitals-api", "diseases-api"):
        assert any(s.startswith(api) for s in callees), callees
    edge = next(
        d
        for a, b, d in g.edges(data=True)
        if g.nodes[a]["service"] == "result-bff" and g.nodes[b]["service"].startswith("dep")
    )
    assert edge["slow_calls"] >= 5  # one call per item: the N+1
    assert edge["weight"] == edge["slow_path_ms"] > edge["baseline_path_ms"] > 0
    root = next(n for n in g if g.in_degree(n) == 0)
    # the root's branch is the whole request: slow requests take longer than baseline ones
    assert g.nodes[root]["slow_path_ms"] > 2 * g.nodes[root]["baseline_path_ms"]


def test_the_n_plus_one_calls_waiting_for_dns_are_the_hottest_branch_in_slow_requests(exported):
    doc, _, _ = exported
    assert doc["slow"]["requests"] > 0
    assert doc["baseline"]["requests"] > doc["slow"]["requests"]

    def find(branches, operation):
        for b in branches:
            if b["operation"] == operation:
                return b
            found = find(b["children"], operation)
            if found:
                return found
        return None

    page = find(doc["tree"], "query ResultPage")
    hottest = page["children"][0]
    assert hottest["service"] == "result-bff"
    assert hottest["operation"].startswith("GET ")
    assert hottest["slow_calls"] >= 5  # called once per item
    # most of its path time is in the call itself, before the API answers: the DNS waits
    assert hottest["slow_self_ms"] - hottest["baseline_self_ms"] > 1000
    assert hottest["change_ms"] == max(c["change_ms"] for c in page["children"])
    assert all(
        a["slow_path_ms"] >= b["slow_path_ms"] for a, b in itertools.pairwise(page["children"])
    )


def test_the_dot_file_parses_back_with_the_same_nodes_and_edges(exported):
    _, dot, graphml = exported
    (parsed,) = pydot.graph_from_dot_file(str(dot))
    g = nx.read_graphml(graphml)
    names = {n.get_name().strip('"') for n in parsed.get_nodes()} - {"node", "edge", "graph"}
    assert names == set(g.nodes)
    assert len(parsed.get_edges()) == g.number_of_edges()
    again = nx.nx_pydot.read_dot(str(dot))
    assert again.number_of_edges() == g.number_of_edges()


def test_the_tree_fits_80_columns_in_a_terminal_hottest_first(demo_file):
    code, screen = run_in_pty(["graph", "-s", str(demo_file), "--route", "result"], 80)
    assert code == 0
    lines = SGR.sub("", screen).splitlines()
    assert lines[0] == "Call graph of web: GET /result/[id]"
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert all(line == line.rstrip() for line in lines)
    rows = [line for line in lines if "/graphql" in line or "ResultPage" in line]
    assert rows
    branch = next(i for i, line in enumerate(lines) if "query ResultPage" in line)
    assert "result-bff: GET" in lines[branch + 1]  # the hottest call comes first
    assert "1/1" in lines[branch]  # calls per request: slow/baseline


def test_the_tree_uses_more_columns_when_there_are_more(demo_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["graph", "-s", str(demo_file), "--route", "result"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) > 100
    assert any("cdn-edge: GET /result/{id} › istio-ingressgateway: GET" in line for line in lines)


def test_hostile_names_stay_inert_in_every_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    source = tmp_path / "hostile.jsonl"
    with source.open("wb") as f:
        write_otlp_lines(hostile_corpus(), f)
    dot, graphml = tmp_path / "h.dot", tmp_path / "h.graphml"
    assert main(["graph", "-s", str(source), "--dot", str(dot), "--graphml", str(graphml)]) == 0
    out = capsys.readouterr().out
    assert is_inert(out)
    assert "\\x1b[2J" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    for path in (dot, graphml):
        text = path.read_text(encoding="utf-8")
        assert CLEAR not in text
        assert OSC8 not in text
        assert is_inert(text)
    ET.parse(graphml)  # well-formed XML
    g = nx.read_graphml(graphml)
    assert any(d["service"] == "api\\x1b[2J" for _, d in g.nodes(data=True))
    (parsed,) = pydot.graph_from_dot_file(str(dot))
    assert len(parsed.get_nodes()) - 2 == g.number_of_nodes()  # less the node/edge defaults
    assert main(["graph", "-s", str(source), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any(n["service"] == "api\\x1b[2J" for n in doc["nodes"])


def test_an_unknown_route_or_an_empty_source_is_one_line_exiting_as_slowest_does(
    demo_file, tmp_path, capsys
):
    # a route that matches nothing is a usage error (2), as for slowest
    assert main(["slowest", "-s", str(demo_file), "--route", "nope"]) == 2
    capsys.readouterr()
    assert main(["graph", "-s", str(demo_file), "--route", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no traces match route 'nope'" in err
    assert "routes seen" in err
    assert main(["graph", "-s", str(demo_file)]) == 2  # several routes: pick one
    assert "--route" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["graph", "-s", str(empty)]) == 1  # a source that can't be read
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "empty file" in err


def test_times_are_means_per_request_of_the_critical_path():
    #  X |------------------------------|  0..100   on the path 0..20 and 60..100
    #  A       |-------|                   10..40  off the path
    #  C            |----------|           20..60  finishes last: on the path
    one = request_of(
        analyse(
            trace(
                span(
                    "X",
                    0,
                    100 * MS,
                    service="web",
                    children=[span("A", 10 * MS, 40 * MS), span("C", 20 * MS, 60 * MS)],
                )
            )
        )
    )
    graph = build_graph(RouteSets("web: X", 2, [one, one], [one], 100.0, 50.0), 90, 50)
    (root,) = graph.roots
    x = graph.contexts[root]
    assert (x.slow_path_ns, x.slow_self_ns, x.slow_calls) == (100 * MS, 60 * MS, 1)
    c, a = (graph.contexts[k] for k in graph.children[root])  # hottest first
    assert (c.key, c.slow_path_ns, c.baseline_path_ns) == (("svc", "C"), 40 * MS, 40 * MS)
    assert (a.key, a.slow_path_ns, a.slow_calls) == (("svc", "A"), 0, 1)


def test_a_narrow_terminal_cuts_deep_branches_into_more_lines(demo_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "64")
    assert main(["graph", "-s", str(demo_file), "--route", "result"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 64 for line in lines)
    assert any("(+1 more)" in line for line in lines)
