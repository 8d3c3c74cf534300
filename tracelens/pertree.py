"""Per-tree figures computed once per analysis run: `with sharing(): ... per_tree(tree, f)`.

    with sharing():                                  # pipeline.slowest opens one run
        ops = per_tree(tree, compute_operations)     # computed once for this tree object

Several stages need the same figures of one tree (its operations, self times, head gaps, route):
the baseline, each detector and the attribution. Inside `sharing()` they are computed once per
tree object and function; outside it `per_tree` just calls the function, so nothing is kept
beyond a run. Results are shared: callers must not mutate them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from tracelens.graph import SpanTree

T = TypeVar("T")

# (id(function), id(tree)) -> (tree, value); the tree is held so its id can't be reused.
_Memo = dict[tuple[int, int], tuple[SpanTree, Any]]
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


def per_tree(tree: SpanTree, compute: Callable[[SpanTree], T]) -> T:
    """`compute(tree)`, computed once per tree object inside `sharing()`."""
    memo = _memo.get()
    if memo is None:
        return compute(tree)
    key = (id(compute), id(tree))
    held = memo.get(key)
    if held is not None and held[0] is tree:
        value: T = held[1]
        return value
    value = compute(tree)
    memo[key] = (tree, value)
    return value
