"""Spans to be: a `Node` tree in true (simulated) nanoseconds, built before any span is emitted.

    root = Node("GET /checkout", WEB, SpanKind.SERVER, t0_ns, scope=HTTP_NODE)
    db = root.child("SELECT", SpanKind.CLIENT, t_ns, t_ns + 3_000_000, attrs={...})

Timing is decided first (a parent ends after its children, which are only known once drawn), then
emit.py replays the tree through the OpenTelemetry SDK with explicit start and end times. `Req` is
one request's random streams: each draw site has its own seeded stream, so removing a cause (fewer
calls drawn at one site) leaves every other draw of the request unchanged.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from opentelemetry.trace import SpanKind

AttrValue = str | int | float | bool
MS = 1_000_000  # nanoseconds per millisecond


@dataclass(frozen=True)
class Svc:
    """A service: its name, the hosts it runs on and the SDK language it reports."""

    name: str
    hosts: tuple[str, ...]
    language: str
    namespace: str = "shop"


@dataclass(eq=False)
class Node:
    """One span to emit. `host` is its process; `links` point at earlier nodes of the request."""

    name: str
    svc: Svc
    kind: SpanKind
    start_ns: int
    end_ns: int = 0
    scope: str = ""
    host: str = ""
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    events: list[tuple[int, str, dict[str, AttrValue]]] = field(default_factory=list)
    error: str | None = None  # status description; not None means status ERROR
    links: list[Node] = field(default_factory=list)

    def child(
        self,
        name: str,
        kind: SpanKind,
        start_ns: int,
        end_ns: int = 0,
        *,
        scope: str | None = None,
        attrs: dict[str, AttrValue] | None = None,
        svc: Svc | None = None,
        host: str | None = None,
    ) -> Node:
        """Append a child; service, host and scope default to the parent's."""
        node = Node(
            name,
            svc or self.svc,
            kind,
            start_ns,
            end_ns,
            scope=self.scope if scope is None else scope,
            host=host or (self.host if svc is None else ""),
            attrs=dict(attrs or {}),
        )
        self.children.append(node)
        return node

    def fail(self, description: str, at_ns: int, exc_type: str, message: str) -> None:
        """Mark ERROR and record the `exception` event instrumentations add on failure."""
        self.error = description
        self.events.append(
            (at_ns, "exception", {"exception.type": exc_type, "exception.message": message})
        )


_MASK = (1 << 64) - 1


class Stream:
    """A small seeded random stream (splitmix64): one per draw site, far cheaper to start than
    `random.Random`, and deterministic across processes (seeded by blake2b, not `hash`)."""

    __slots__ = ("_state",)

    def __init__(self, key: str) -> None:
        self._state = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest())

    def getrandbits(self, bits: int) -> int:
        out = 0
        for _ in range((bits + 63) // 64):
            self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
            z = self._state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
            out = (out << 64) | (z ^ (z >> 31))
        return out >> (64 * ((bits + 63) // 64) - bits)

    def random(self) -> float:
        return self.getrandbits(53) / (1 << 53)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def randrange(self, start: int, stop: int) -> int:
        return start + int(self.random() * (stop - start))

    def randint(self, low: int, high: int) -> int:
        return self.randrange(low, high + 1)

    def choice(self, options: tuple[str, ...]) -> str:
        return options[self.randrange(0, len(options))]

    def gauss(self) -> float:
        """A standard normal draw (Box-Muller)."""
        u = 1.0 - self.random()  # (0, 1]: log is finite
        return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * self.random())


class Req:
    """One request: its index, start time, the causes injected into it and its random streams."""

    def __init__(
        self,
        seed: int,
        index: int,
        t0_ns: int,
        active: frozenset[str],
        decoy: bool,
        knobs: frozenset[str],
    ) -> None:
        self.seed = seed
        self.index = index
        self.t0_ns = t0_ns
        self.active = active
        self.decoy = decoy
        self.knobs = knobs
        self._streams: dict[str, Stream] = {}

    def r(self, site: str) -> Stream:
        """The random stream of one draw site of this request (independent of every other site)."""
        stream = self._streams.get(site)
        if stream is None:
            stream = self._streams[site] = Stream(f"{self.seed}:{self.index}:{site}")
        return stream

    def ms(self, site: str, median_ms: float, sigma: float = 0.3) -> int:
        """A lognormal duration in ns with the given median: real latencies are right-skewed."""
        return max(1_000, int(median_ms * MS * math.exp(sigma * self.r(site).gauss())))

    def host(self, svc: Svc) -> str:
        return self.r(f"host:{svc.name}").choice(svc.hosts)

    def hexid(self, site: str, digits: int = 12) -> str:
        return format(self.r(site).getrandbits(4 * digits), f"0{digits}x")
