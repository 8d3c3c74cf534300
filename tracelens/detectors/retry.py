"""Failed attempts that were tried again: `Retry().detect(analysis, baseline)`.

parent |-------------------------------------------|
call    |--500--|  |--timeout------|  |--200--|
        ^ failed, retried            ^ the attempt that counted
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tracelens.analysis import TraceAnalysis, facts_of
from tracelens.baseline import Baseline
from tracelens.facts import MS, failure_reason, is_call, is_failure
from tracelens.model import Edits, Finding
from tracelens.operations import OpKey


@dataclass(frozen=True)
class Retry:
    """Retry: under one parent, a call to a target (service and normalised operation) that
    failed — status ERROR, an error tag, HTTP 5xx or 429, an exception event — followed by a
    later call to the same target. The failed attempts and their subtrees are claimed; their
    critical-path time must add up to ≥ `min_path_ns`. The fix removes the failed attempts and
    the back-off waits after them: the attempt that follows starts where the failed one did.
    """

    name: ClassVar[str] = "retry"
    min_path_ns: int = 10 * MS

    def detect(self, analysis: TraceAnalysis, baseline: Baseline) -> Iterator[Finding]:
        facts = facts_of(analysis)
        if not facts.failing:  # only a failed attempt is a retry
            return
        spans = facts.spans
        for parent, kids in enumerate(facts.tree.children):
            if len(kids) < 2:
                continue
            by_key: dict[OpKey, list[int]] = defaultdict(list)
            for c in kids:
                if is_call(spans[c]) or facts.callee(c) >= 0:
                    by_key[facts.keys[c]].append(c)
            for key, calls in by_key.items():
                if len(calls) < 2:
                    continue
                # children are in start order: every call but the last has a later one after it
                failed = [c for c in calls[:-1] if is_failure(spans[c])]
                if not failed:
                    continue
                subtree = [j for c in failed for j in facts.subtree(c)]
                path_ns = sum(facts.on_path[j] for j in subtree)
                if path_ns < self.min_path_ns:
                    continue
                reasons = [failure_reason(spans[c]) for c in failed]
                durations = [spans[c].duration_ns for c in failed]
                last_ok = not is_failure(spans[calls[-1]])
                yield Finding(
                    pattern=self.name,
                    trace_id=facts.trace_id,
                    service=key[0],
                    operation=key[1],
                    span_ids=tuple(spans[j].span_id for j in subtree),
                    summary=(
                        f"retries: {len(failed)} failed attempts of {key[1]} ({key[0]}) "
                        f"under {spans[parent].name!r} ({', '.join(dict.fromkeys(reasons))}) "
                        f"cost {path_ns / MS:.0f} ms of the critical path"
                        + ("" if last_ok else "; the last attempt failed too")
                    ),
                    saving_ns=int(path_ns),
                    edits=Edits(
                        remove=frozenset(spans[c].span_id for c in failed),
                        no_wait=frozenset(spans[calls[calls.index(c) + 1]].span_id for c in failed),
                    ),
                    evidence={
                        "attempts": len(calls),
                        "failed": len(failed),
                        "reasons": reasons,
                        "durations_ns": durations,
                        "last_attempt_ok": last_ok,
                        "on_path_ns": path_ns,
                        "example_span_ids": [spans[c].span_id for c in failed[:5]],
                    },
                )
