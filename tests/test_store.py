"""The local store: round trips, windows, atomic parts, the empty-store hint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.builders import span, trace
from tracelens.errors import SourceError
from tracelens.model import Event, SpanKind, StatusCode, Trace
from tracelens.sources import Window
from tracelens.sources.store import LocalStore, route_of

DAY_NS = 86_400 * 1_000_000_000
T0 = 1_795_000_000 * 1_000_000_000  # 2026-11-18, an arbitrary fixed instant
MS = 1_000_000


def page(trace_id: str, start_ns: int, duration_ns: int, route: str = "/result/[id]") -> Trace:
    """gateway -> web server (with http.route) -> a db call."""
    return trace(
        span(
            "web.prod.svc.cluster.local:3000/*",
            start_ns,
            start_ns + duration_ns,
            service="istio-ingressgateway",
            kind=SpanKind.SERVER,
            children=[
                span(
                    f"GET {route}",
                    start_ns + MS,
                    start_ns + duration_ns - MS,
                    service="web",
                    kind=SpanKind.SERVER,
                    attrs={"http.route": route, "http.response.status_code": 200},
                    children=[
                        span(
                            "SELECT diseases",
                            start_ns + 2 * MS,
                            start_ns + 3 * MS,
                            service="web",
                            kind=SpanKind.CLIENT,
                            attrs={
                                "db.system": "postgresql",
                                "db.query.text": "SELECT 1",
                                "x": 1.5,
                            },
                            status=StatusCode.ERROR,
                            events=(Event(start_ns + 2 * MS, "exception", {"retry": True}),),
                        )
                    ],
                )
            ],
        ),
        trace_id=trace_id,
    )


def tid(n: int) -> str:
    return f"{n:032x}"


def test_written_traces_read_back_unchanged(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    originals = [page(tid(n), T0 + n * 1000 * MS, (n + 1) * 100 * MS) for n in range(5)]
    assert store.write(originals) == 5
    back = {t.trace_id: t for t in store.traces()}
    assert set(back) == {t.trace_id for t in originals}
    for t in originals:
        assert back[t.trace_id].spans == t.spans  # ids, kinds, times, typed attributes, events


def test_the_index_names_the_entry_route_below_a_gateway_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 900 * MS), page(tid(2), T0 + MS, 50 * MS, route="/search")])
    entries = store.entries()
    assert [(e.route, e.entry_service, e.root_service) for e in entries] == [
        ("/result/[id]", "web", "istio-ingressgateway"),
        ("/search", "web", "istio-ingressgateway"),
    ]
    assert entries[0].duration_ns == 900 * MS
    assert entries[0].spans == 3


def test_a_trace_without_http_route_is_named_by_its_root_url_path() -> None:
    t = trace(span("GET", 0, 10, attrs={"url.path": "/"}, kind=SpanKind.SERVER))
    assert route_of(t) == ("svc", "/")


def test_window_keeps_traces_whose_earliest_span_starts_inside_it(tmp_path: Path) -> None:
    #  time:   T0        T0+1d      T0+2d
    #  trace:  a          b  c       d
    #  window:         [----------)            -> b, c
    store = LocalStore(tmp_path)
    store.write(
        [
            page(tid(0xA), T0, 10 * MS),
            page(tid(0xB), T0 + DAY_NS, 10 * MS),
            page(tid(0xC), T0 + DAY_NS + 60_000 * MS, 10 * MS),
            page(tid(0xD), T0 + 2 * DAY_NS, 10 * MS),
        ]
    )
    window = Window(T0 + DAY_NS, T0 + 2 * DAY_NS)
    assert sorted(t.trace_id for t in store.traces(window)) == [tid(0xB), tid(0xC)]
    assert [e.trace_id for e in store.entries(window)] == [tid(0xB), tid(0xC)]
    assert len(list((tmp_path / "index").iterdir())) == 3  # one day partition per day


def test_traces_can_be_fetched_by_id(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(n), T0 + n * MS, 10 * MS) for n in range(1, 30)])
    got = list(store.traces(trace_ids=[tid(7), tid(21)]))
    assert sorted(t.trace_id for t in got) == [tid(7), tid(21)]
    assert all(s.trace_id == t.trace_id for t in got for s in t.spans)


def test_a_crash_before_the_index_is_renamed_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 10 * MS)])
    real_replace = os.replace

    def crash_on_index(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if "index" in Path(dst).parts:
            raise KeyboardInterrupt("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_index)
    with pytest.raises(KeyboardInterrupt):
        store.write([page(tid(2), T0 + MS, 10 * MS)])
    monkeypatch.undo()
    # The span file of the second part made it; without its index no reader sees it.
    assert len(list((tmp_path / "spans").rglob("part-*.parquet"))) == 2
    assert [t.trace_id for t in LocalStore(tmp_path).traces()] == [tid(1)]


def test_a_leftover_temp_file_is_ignored_by_readers(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 10 * MS)])
    index_dir = next((tmp_path / "index").iterdir())
    (index_dir / ".part-deadbeef.parquet.0123.tmp").write_bytes(b"PAR1 half a file")
    assert [t.trace_id for t in LocalStore(tmp_path).traces()] == [tid(1)]
    assert store.issues == []


def test_a_corrupt_part_is_an_issue_not_a_crash(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 10 * MS)])
    store.write([page(tid(2), T0 + MS, 10 * MS)])
    first_index = sorted((tmp_path / "index").rglob("part-*.parquet"))[0]
    first_index.write_bytes(b"not parquet")
    reader = LocalStore(tmp_path)
    assert len(list(reader.traces())) == 1
    assert len(reader.issues) == 1
    assert "unreadable index part" in reader.issues[0].message


def test_an_empty_store_says_how_to_fill_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "nowhere")
    with pytest.raises(
        SourceError, match=r"local store at .*nowhere is empty: run `tracelens demo`"
    ):
        list(store.traces())


def test_clear_empties_the_store_but_leaves_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 10 * MS)])
    store.clear()
    with pytest.raises(SourceError, match="is empty"):
        store.entries()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_default_store_lives_in_tracelens_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACELENS_HOME", str(tmp_path / "home"))
    store = LocalStore.default()
    assert store.path == tmp_path / "home"
    assert str(store.path) in store.description


def test_default_store_without_tracelens_home_is_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import platformdirs

    monkeypatch.delenv("TRACELENS_HOME", raising=False)
    assert LocalStore.default().path == Path(platformdirs.user_data_dir("tracelens"))


def test_replace_swaps_the_old_traces_for_the_new_ones(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write([page(tid(1), T0, 10 * MS), page(tid(2), T0 + DAY_NS, 10 * MS)])
    store.write([page(tid(3), T0, 10 * MS)], replace=True)
    assert [t.trace_id for t in store.traces()] == [tid(3)]
    assert len(list((tmp_path / "spans").rglob("part-*.parquet"))) == 1
