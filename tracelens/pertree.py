"""Per-tree figures computed once per analysis run: `with sharing(): per_tree(tree, name, f)`.

    with sharing():                                     # pipeline.slowest opens one run
        ops = per_tree(tree, "operations", compute)     # compute(tree), once for this tree
        keys = per_tree(tree, "op keys", compute, keep=False)   # the last user takes it
        forget("gaps")                                  # a figure no later stage needs

Several stages need the same figures of one tree (its operations, self times and head gaps, its
route): the baseline, each detector and the attribution. Inside `sharing()` each is computed once
per tree object; outside it `per_tree` just calls the function, so nothing is kept beyond a run.
Results are shared: callers must not mutate them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from tracelens.graph import SpanTree

T = TypeVar("T")

# figure name -> id(tree) -> (tree, value); the tree is held so that its id can't be reused.
_Memo = dict[str, dict[int, tuple[SpanTree, Any]]]
_memo: ContextVar[_Memo | None] = ContextVar("tracelens_per_tree", default=None)


@contextmanager
def sharing() -> Iterator[None]:
    """Share per-tree figures until the block ends (a nested block joins the outer one)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def per_tree(
    tree: SpanTree, name: str, compute: Callable[[SpanTree], T], *, keep: bool = True
) -> T:
    """`compute(tree)`, computed once per tree object and figure name inside `sharing()`.

    `keep=False` is for the figure's last user: it takes a kept value (which is then dropped)
    or computes one without keeping it.
    """
    memo = _memo.get()
    if memo is None:
        return compute(tree)
    figures = memo.get(name)
    if figures is None:
        figures = memo[name] = {}
    held = figures.pop(id(tree), None) if not keep else figures.get(id(tree))
    if held is not None and held[0] is tree:
        value: T = held[1]
        return value
    value = compute(tree)
    if keep:
        figures[id(tree)] = (tree, value)
    return value


def forget(*names: str) -> None:
    """Drop the named figures of every tree (the memory goes; a later call computes again)."""
    memo = _memo.get()
    if memo is not None:
        for name in names:
            memo.pop(name, None)
