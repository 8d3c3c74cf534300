"""`tracelens routes` against fake Jaeger and Tempo servers, compared with the same traces read
from a file: Jaeger's listing holds whole traces, so its routes are the file's; Tempo names each
request by its root span, and counts every request once."""

from __future__ import annotations

import pytest

from tests.backend_corpus import Corpus, corpus_fixture, isolated_fixture  # noqa: F401 - fixtures
from tests.fakes import FakeJaeger, FakeTempo
from tracelens.cli import main
from tracelens.commands.routes import route_latencies
from tracelens.sources import Window, open_source


def _window(corpus: Corpus) -> Window:
    spans = [s for t in corpus.traces for s in t.spans]
    return Window(min(s.start_ns for s in spans) - 10**9, max(s.end_ns for s in spans) + 10**9)


def _counts(source: str, window: Window) -> dict[str, int]:
    return {r.name: r.count for r in route_latencies(open_source(source), window, 5000)}


@pytest.mark.usefixtures("isolated")
def test_jaeger_routes_are_the_routes_of_the_same_traces_in_a_file(
    corpus: Corpus, capsys: pytest.CaptureFixture[str]
) -> None:
    from_file = _counts(str(corpus.otlp_file), _window(corpus))
    with FakeJaeger(corpus.traces, version="2.20") as jaeger:
        from_jaeger = _counts(f"jaeger+{jaeger.url}", _window(corpus))
        code = main(["routes", "--source", f"jaeger+{jaeger.url}", "--start", "2000-01-01"])
    out, err = capsys.readouterr()
    assert from_jaeger == from_file
    assert code == 0, err
    busiest = max(from_file, key=lambda name: from_file[name])
    row = next(line for line in out.splitlines() if line.startswith(busiest))
    assert row.split()[len(busiest.split())] == str(from_file[busiest])


@pytest.mark.usefixtures("isolated")
def test_tempo_routes_count_every_request_once_by_its_root_span(corpus: Corpus) -> None:
    with FakeTempo(corpus.traces) as tempo:
        from_tempo = _counts(f"tempo+{tempo.url}", _window(corpus))
    roots = {f"{s.service}: {s.name}" for t in corpus.traces for s in t.spans if not s.parent_id}
    assert sum(from_tempo.values()) == len([t for t in corpus.traces if t.spans])
    assert set(from_tempo) <= roots
