"""The local store: round trips, windows, atomic parts, the empty-store hint."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.builders import span, trace
from tests.store_checks import DAY_NS, MS, T0, page, strays, tid
from tracelens.errors import SourceError
from tracelens.model import SpanKind
from tracelens.sources import Window
from tracelens.sources import store as store_module
from tracelens.sources.store import LocalStore, route_of


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


class StopAtStep:
    """Counts the store's durable steps (fsync, rename) and raises at step `at` (0: never)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int = 0) -> None:
        self.at = at
        self.steps = 0
        for name in ("replace", "fsync"):
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name)))

    def _wrap(self, real: Callable[..., object]) -> Callable[..., object]:
        def step(*args: object) -> object:
            self.steps += 1
            if self.steps == self.at:
                raise KeyboardInterrupt(f"Ctrl-C at step {self.at}")
            return real(*args)

        return step


OLD = [page(tid(n), T0 + n * MS, 10 * MS) for n in range(1, 4)]
NEW = [page(tid(n), T0 + DAY_NS * (n % 2) + n * MS, 20 * MS) for n in range(10, 15)]


@pytest.mark.parametrize("replace", [False, True], ids=["append", "replace"])
def test_a_ctrl_c_at_any_step_of_a_write_keeps_the_old_traces_or_the_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: bool
) -> None:
    # GIVEN writes of several parts (two days, two traces a part) over a store holding OLD
    monkeypatch.setattr(store_module, "_TRACES_PER_PART", 2)
    with monkeypatch.context() as m:
        counter = StopAtStep(m)
        LocalStore(tmp_path / "count").write(NEW)
    old_ids = {t.trace_id for t in OLD}
    new_ids = {t.trace_id for t in NEW} | (set() if replace else old_ids)
    outcomes = set()
    for at in range(1, counter.steps + 1):
        store_dir = tmp_path / f"stop-{at}"
        LocalStore(store_dir).write(OLD)
        # WHEN the write is interrupted at each durable step in turn
        with monkeypatch.context() as m:
            StopAtStep(m, at)
            with pytest.raises(KeyboardInterrupt):
                LocalStore(store_dir).write(NEW, replace=replace)
        # THEN readers see OLD or the whole of the new content, with every part readable
        reader = LocalStore(store_dir)
        ids = {t.trace_id for t in reader.traces()}
        assert ids in (old_ids, new_ids), f"step {at}"
        assert reader.issues == []
        assert len(reader.entries()) == len(ids)
        outcomes.add(ids == new_ids)
        if ids == old_ids:  # before the commit, the writer took its own files away
            assert strays(store_dir) == [], f"step {at}"
        # ...and the next writer removes whatever is left
        LocalStore(store_dir).check_writable()
        assert strays(store_dir) == []
        assert {t.trace_id for t in LocalStore(store_dir).traces()} == ids
    assert outcomes == {False, True}  # both sides of the commit were hit


def test_a_write_that_fails_for_lack_of_space_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    store.write(OLD)

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SourceError, match=r"cannot write to the local store at .*: no space left"):
        store.write(NEW, replace=True)
    monkeypatch.undo()
    assert {t.trace_id for t in LocalStore(tmp_path).traces()} == {t.trace_id for t in OLD}
    assert strays(tmp_path) == []


def test_the_manifest_names_the_committed_parts(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write(OLD)
    store.write(NEW)
    manifest = json.loads((tmp_path / "tracelens-store.json").read_text())
    assert manifest["format"] == "tracelens-store"
    assert manifest["version"] == 2
    on_disk = sorted(
        f"{f.parent.name}/{f.name}" for f in (tmp_path / "index").rglob("part-*.parquet")
    )
    assert sorted(manifest["parts"]) == on_disk
    assert len(on_disk) == 3  # OLD: one day; NEW: two days


def test_a_version_1_store_is_read_and_its_unindexed_span_files_are_cleaned(
    tmp_path: Path,
) -> None:
    # GIVEN a store as version 1 wrote it: no list of parts, index files as commit markers,
    # and a span file whose index a crash never wrote
    LocalStore(tmp_path).write(OLD)
    (tmp_path / "tracelens-store.json").write_text('{"format": "tracelens-store", "version": 1}')
    span_dir = next((tmp_path / "spans").iterdir())
    orphan = span_dir / "part-0123456789abcdef0123456789abcdef.parquet"
    orphan.write_bytes(next(span_dir.iterdir()).read_bytes())
    # THEN it reads as before, and the next write removes the orphan and keeps the rest
    assert {t.trace_id for t in LocalStore(tmp_path).traces()} == {t.trace_id for t in OLD}
    LocalStore(tmp_path).write(NEW)
    assert not orphan.exists()
    assert strays(tmp_path) == []
    assert len(LocalStore(tmp_path).entries()) == len(OLD) + len(NEW)


def test_a_damaged_manifest_is_one_clear_error(tmp_path: Path) -> None:
    LocalStore(tmp_path).write(OLD)
    (tmp_path / "tracelens-store.json").write_text('{"parts": ["date=')
    with pytest.raises(SourceError, match=r"local store at .* has a damaged tracelens-store.json"):
        LocalStore(tmp_path).entries()
    with pytest.raises(SourceError, match="damaged"):
        LocalStore(tmp_path).write(NEW)


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
    assert strays(tmp_path) == []
