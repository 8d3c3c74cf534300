"""Bounded memory on any input: past `--max-spans`, a uniform sample of the traces, by trace id.

    budget = Budget(limit=2_000_000)
    if level_of(trace_id) >= budget.cut:       # in the sample so far: hold the trace
        if budget.hold(level_of(trace_id), len(spans)):
            ...                                # the cut rose: drop what is held below it

A trace's level is the number of leading zero bits of a 64-bit hash of its id, so the traces of
level `cut` and above are about one in 2**cut of them, and they are the same traces whoever reads
them. Each shard raises its own cut as what it holds fills the budget; the run's cut (`run_cut`)
is the smallest that keeps every shard's traces within the budget together, computed from the
shards' counts, so the sample does not depend on how the input was shared out (`--jobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import blake2b

LEVELS = 65  # a 64-bit key has 0..64 leading zero bits
MAX_SPANS_PER_TRACE = 1_000_000  # --max-spans-per-trace's default: a bigger trace is left out
MAX_SPANS = 2_000_000  # --max-spans's default: about 2 GB of analysed traces
TRACE_WEIGHT = 8  # a trace's own records (tree, path, facts) cost about as much as 8 spans


def level_of(trace_id: str) -> int:
    """The trace's sampling level: traces of level >= j are about 1 in 2**j of all."""
    digest = blake2b(trace_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return 64 - int.from_bytes(digest, "big").bit_length()


def weight_of(spans: int) -> int:
    """What holding a trace of `spans` spans costs, in spans."""
    return spans + TRACE_WEIGHT


@dataclass
class Budget:
    """What a shard has held, by level, and the cut below which it holds nothing."""

    limit: int
    units: list[int] = field(default_factory=lambda: [0] * LEVELS)
    cut: int = 0
    held: int = 0  # units of the levels at or above the cut

    def hold(self, level: int, spans: int) -> bool:
        """Count a trace of a level at or above the cut as held; whether the cut rose (what is
        held below the new cut must then go)."""
        weight = weight_of(spans)
        self.units[level] += weight
        self.held += weight
        risen = self.cut
        self.cut, self.held = _fitting(self.units, self.cut, self.held, self.limit)
        return self.cut > risen

    def raise_to(self, cut: int) -> None:
        """Hold nothing below `cut` (the run's cut) from now on."""
        if cut > self.cut:
            self.held -= sum(self.units[self.cut : cut])
            self.cut = cut


def run_cut(shards: Sequence[tuple[int, Sequence[int]]], limit: int) -> int:
    """The cut of the whole run from each shard's (cut, units): the smallest at or above every
    shard's own at which what they hold together fits the budget. The units below a shard's cut
    are incomplete (it skipped those traces), but every level this reads is at or above it."""
    cut = max((c for c, _ in shards), default=0)
    units = [sum(u[level] for _, u in shards) for level in range(LEVELS)]
    return _fitting(units, cut, sum(units[cut:]), limit)[0]


def _fitting(units: Sequence[int], cut: int, held: int, limit: int) -> tuple[int, int]:
    while held > limit and cut < LEVELS - 1:
        held -= units[cut]
        cut += 1
    return cut, held


def share(cut: int) -> str:
    """`1 in 8` for cut 3."""
    return f"1 in {2**cut:,}"
