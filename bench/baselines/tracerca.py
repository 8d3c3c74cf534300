"""TraceRCA (Li et al., IWQoS 2021), latency only: `localize(window, reference) -> Localization`.

    result = localize(fault_window_traces, normal_period_traces)
    result.services          # ranked, most suspicious first
    rank_of(result.services, {"ts-basic-service"})

The paper ("Practical Root Cause Localization for Microservice Systems via Trace Analysis")
localizes in three steps; this module keeps them and their order, with latency the only feature:

1. Invocation anomaly detection. An invocation is one cross-service caller -> callee edge of a
   trace: a span of service B whose parent span belongs to service A != B. Its latency is the
   response time A saw, network included: the duration of A's span of the call (its CLIENT span,
   or a wrapper span holding only this call), else of B's span. A network fault lies between the
   two spans, so B's own span would not show it. Invocations are grouped by (caller, callee)
   pair. The paper first selects, per pair, the features whose distribution changed against
   normal-period history; here the one feature, latency, is selected for a pair when its mean in
   the fault window differs from the reference mean by more than `min_shift_se` (3) standard
   errors (Welch's, from both windows' variances). Pairs not selected have no abnormal
   invocations; a pair absent from the reference, or seen fewer than twice in either window,
   cannot be judged and is not selected. In a selected pair an invocation is abnormal when its
   latency lies more than `sigmas` (1) reference standard deviations from the reference mean.
2. Suspicious microservice set mining. A trace is abnormal when it holds an abnormal invocation;
   its items are the services it passes through. Frequent service sets among the abnormal traces
   are mined with minimum support `min_support` (0.1) by FP-growth (mlxtend), of any size unless
   `max_set_size` caps it (a trace through 18 services can give 2^18 sets). Each set S is scored
   by its support P(S | abnormal) and confidence P(abnormal | S), combined as their Jaccard index
   |A ∩ T_S| / |A ∪ T_S| (A: abnormal traces, T_S: fault-window traces holding S), which is
   high only when both are: 1/J = 1/support + 1/confidence - 1.
3. Microservice ranking. A service's best set is the highest-scoring mined set that holds it.
   Its score is that set's score times how much more often the service is the callee than the
   caller of abnormal invocations, (callee + 1) / (caller + 1): a root cause slows the calls into
   it, and its callers then look abnormal to their own callers, but the callers are callers of
   abnormal invocations as often as callees, while the cause is mostly their callee. Services in no
   mined set are not ranked. Ties break by name, so the ranking is deterministic.

`set_score="support"` scores a service by its best set's support instead of the Jaccard index
(the best set is still chosen by the Jaccard index; by support alone every service's best set
would be its singleton), for a reading of the paper that weighs only support.

The reference is normal-period history: bench/nezha.py passes the 180 s before the fault (the
baseline window tracelens is given), bench/side_by_side.py a healthy corpus of the same scenario
(see there). Both methods read the same traces through tracelens's readers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from mlxtend.frequent_patterns import fpgrowth

from tracelens.model import SpanKind, Trace

Pair = tuple[str, str]  # (caller service, callee service)
_CALLER_KINDS = frozenset({SpanKind.CLIENT, SpanKind.PRODUCER})


@dataclass(frozen=True, slots=True)
class Invocation:
    """One cross-service call: caller and callee service, and the latency the caller saw."""

    caller: str
    callee: str
    latency_ns: int


@dataclass(frozen=True, slots=True)
class Profile:
    """A pair's latency in the reference: mean, standard deviation (ddof=1) and count."""

    mean_ns: float
    std_ns: float
    count: int


@dataclass(frozen=True, slots=True)
class ServiceSet:
    """A frequent service set among the abnormal traces, with its support and confidence."""

    services: frozenset[str]
    support: float  # P(set | abnormal trace)
    confidence: float  # P(abnormal | trace holds the set)

    @property
    def score(self) -> float:
        """The Jaccard index of the abnormal traces and the traces holding the set."""
        if self.support <= 0 or self.confidence <= 0:
            return 0.0
        return 1.0 / (1.0 / self.support + 1.0 / self.confidence - 1.0)


@dataclass(frozen=True)
class Localization:
    """What each step found: selected pairs, abnormal traces, mined sets, and the ranking."""

    selected_pairs: frozenset[Pair]
    abnormal_traces: frozenset[str]  # trace ids
    traces: int  # fault-window traces
    sets: tuple[ServiceSet, ...]  # best score first
    callee_counts: Mapping[str, int]  # abnormal invocations into each service
    caller_counts: Mapping[str, int]  # abnormal invocations out of each service
    scores: Mapping[str, float] = field(default_factory=dict)

    @property
    def services(self) -> list[str]:
        """Ranked services, most suspicious first."""
        return sorted(self.scores, key=lambda s: (-self.scores[s], s))


def invocations(trace: Trace) -> Iterator[Invocation]:
    """The trace's cross-service caller -> callee edges (a span whose parent is in another service).

    The latency is the caller's span of the call when there is one: the parent when it is a
    CLIENT or PRODUCER span or has no other child (an uninstrumented-kind wrapper such as
    "HTTP POST"). Otherwise the parent is the caller's own work around several calls, and the
    callee span's duration is the best record of this call.
    """
    by_id = {s.span_id: s for s in trace.spans}
    children: dict[str, int] = defaultdict(int)
    for s in trace.spans:
        if s.parent_id is not None:
            children[s.parent_id] += 1
    for s in trace.spans:
        parent = by_id.get(s.parent_id) if s.parent_id is not None else None
        if parent is None or parent.service == s.service:
            continue
        own = parent.kind in _CALLER_KINDS or children[parent.span_id] == 1
        call = parent if own else s
        yield Invocation(parent.service, s.service, max(0, call.end_ns - call.start_ns))


def profiles(traces: Iterable[Trace]) -> dict[Pair, Profile]:
    """Each pair's latency mean, standard deviation and count over the reference traces."""
    return pair_profiles(invocations(t) for t in traces)


def pair_profiles(per_trace: Iterable[Iterable[Invocation]]) -> dict[Pair, Profile]:
    """Each pair's latency mean, standard deviation and count over some traces' invocations."""
    latencies: dict[Pair, list[int]] = defaultdict(list)
    for invs in per_trace:
        for inv in invs:
            latencies[inv.caller, inv.callee].append(inv.latency_ns)
    return {pair: _profile(values) for pair, values in latencies.items()}


def _profile(values: Sequence[int]) -> Profile:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return Profile(mean, math.sqrt(var), n)


def shifted(now: Profile, before: Profile, min_shift_se: float) -> bool:
    """Did the pair's mean latency move by more than `min_shift_se` standard errors?"""
    if now.count < 2 or before.count < 2:
        return False
    se = math.sqrt(now.std_ns**2 / now.count + before.std_ns**2 / before.count)
    gap = abs(now.mean_ns - before.mean_ns)
    return gap > min_shift_se * se if se > 0 else gap > 0


def is_abnormal(latency_ns: int, before: Profile, sigmas: float) -> bool:
    """The sigma rule: latency more than `sigmas` reference deviations from the reference mean."""
    return abs(latency_ns - before.mean_ns) > sigmas * before.std_ns


def mine_sets(
    items: Sequence[frozenset[str]], min_support: float, max_size: int | None
) -> list[tuple[frozenset[str], float]]:
    """Frequent service sets (FP-growth) among the abnormal traces' service sets, with support."""
    if not items:
        return []
    columns = sorted(set().union(*items))
    onehot = pd.DataFrame([[c in row for c in columns] for row in items], columns=columns)
    found = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_size)
    return [
        (frozenset(s), float(sup))
        for s, sup in zip(found["itemsets"], found["support"], strict=True)
    ]


@dataclass(frozen=True)
class TraceRCA:
    """The method's settings; `localize(window, reference)` runs its three steps."""

    min_shift_se: float = 3.0  # step 1: a pair's mean must move this many standard errors
    sigmas: float = 1.0  # step 1: an invocation this many reference deviations off is abnormal
    min_support: float = 0.1  # step 2: FP-growth's minimum support among abnormal traces
    max_set_size: int | None = None  # step 2: longest set mined (None: no limit)
    set_score: Literal["jaccard", "support"] = "jaccard"  # step 3: what the best set weighs

    def localize(self, window: Sequence[Trace], reference: Iterable[Trace]) -> Localization:
        """Rank the services of the fault-window traces against the reference traces."""
        before = profiles(reference)
        per_trace = [list(invocations(t)) for t in window]
        now = pair_profiles(per_trace)
        selected = frozenset(
            pair
            for pair, prof in now.items()
            if pair in before and shifted(prof, before[pair], self.min_shift_se)
        )
        callee: dict[str, int] = defaultdict(int)
        caller: dict[str, int] = defaultdict(int)
        abnormal: list[bool] = []
        for invs in per_trace:
            hit = False
            for inv in invs:
                pair = (inv.caller, inv.callee)
                if pair in selected and is_abnormal(inv.latency_ns, before[pair], self.sigmas):
                    callee[inv.callee] += 1
                    caller[inv.caller] += 1
                    hit = True
            abnormal.append(hit)
        services = [frozenset(s.service for s in t.spans) for t in window]
        sets = self._scored_sets(services, abnormal)
        return Localization(
            selected_pairs=selected,
            abnormal_traces=frozenset(
                t.trace_id for t, a in zip(window, abnormal, strict=True) if a
            ),
            traces=len(window),
            sets=tuple(sets),
            callee_counts=dict(callee),
            caller_counts=dict(caller),
            scores=self._rank(sets, callee, caller),
        )

    def _scored_sets(
        self, services: Sequence[frozenset[str]], abnormal: Sequence[bool]
    ) -> list[ServiceSet]:
        bad = [s for s, a in zip(services, abnormal, strict=True) if a]
        # traces holding each service, as bit masks over the window, so a set's count is an AND
        masks: dict[str, int] = defaultdict(int)
        for i, held in enumerate(services):
            for service in held:
                masks[service] |= 1 << i
        abnormal_mask = sum(1 << i for i, a in enumerate(abnormal) if a)
        out = []
        for items, support in mine_sets(bad, self.min_support, self.max_set_size):
            holding = -1
            for service in items:
                holding &= masks[service]
            confidence = (holding & abnormal_mask).bit_count() / holding.bit_count()
            out.append(ServiceSet(items, support, confidence))
        out.sort(key=lambda s: (-s.score, -s.support, sorted(s.services)))
        return out

    def _rank(
        self, sets: Sequence[ServiceSet], callee: Mapping[str, int], caller: Mapping[str, int]
    ) -> dict[str, float]:
        scores: dict[str, float] = {}
        for best in sets:  # best score first: a service's first set is its best
            weight = best.score if self.set_score == "jaccard" else best.support
            for service in best.services - scores.keys():
                ratio = (callee.get(service, 0) + 1) / (caller.get(service, 0) + 1)
                scores[service] = weight * ratio
        return scores


def localize(window: Sequence[Trace], reference: Iterable[Trace]) -> Localization:
    """TraceRCA with the paper's settings (3 standard errors, 1 sigma, support 0.1)."""
    return TraceRCA().localize(window, reference)
