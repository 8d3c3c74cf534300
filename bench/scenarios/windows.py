"""Corpora where the right comparison is not the obvious one, made with the OpenTelemetry SDK.

    before, now, fixed = before_after(seed=1, n=300)   # two windows a day apart
    traces, fixed = page_mix(seed=1, n=400)            # one generic entry, two GraphQL pages

`before_after`: `GET /search` on search-web (Node) reads the user's profile (profile-service, Go),
then queries its listings table. In both windows 20% of requests find the profile cache cold
(~900 ms): the route's ordinary tail. In the current window the listings query lost its index and
takes ~260 ms instead of ~40 ms in every request: what changed. Compared with every request of the
earlier window, the slowest tenth now is mostly cold profiles, so the ordinary tail is blamed;
compared with the same band of the earlier window, the query is. `fixed` is the current window
with the index back.

`page_mix`: every request is `POST /graphql` on bff (Java DGS behind the agent's defaults). 75%
run `query Home` (~80 ms of recommendations), 25% run `query Search`, whose search-backend call
takes ~1.8 s by nature. Half the Search requests lost their DataLoader batching: 15-25 reviews
calls one after another instead of one. The slow tenth is all Search pages: against the
route's typical (Home) requests, search-backend looks guilty; against Search's own typical
requests, the N+1 is the cause. `fixed` batches the reviews again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bench.scenarios.catalog import Cause, Decoy
from bench.scenarios.emit import Emitter, to_trace
from bench.scenarios.plan import MS, Node, Req, Svc
from bench.scenarios.route import (
    CLIENT,
    GRAPHQL,
    HTTP_NODE,
    INTERNAL,
    REACTOR,
    SERVER,
    SPRING,
    close,
    hop,
    java_client,
    node_client,
    reviews_call,
    serve,
)
from tracelens.model import Trace
from tracelens.sources import Window

DAY_NS = 86_400 * 1_000 * MS
EPOCH_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
SEARCH_WEB = Svc("search-web", ("search-web-6d5f7-2kq8d", "search-web-6d5f7-x7m4p"), "nodejs")
PROFILE = Svc("profile-service", ("profile-7c8d9-fh3kq",), "go")
BFF = Svc("bff", ("bff-5d7c8-9xkq2", "bff-5d7c8-m4zt7"), "java")
RECS = Svc("recommendations", ("recs-6b9f4-t8wq3",), "go")
SEARCH_BACKEND = Svc("search-backend", ("search-0", "search-1"), "java")
COLD_SHARE = 0.2  # requests of either window whose profile cache is cold
SEARCH_SHARE = 0.25  # requests that run the Search page
UNBATCHED_SHARE = 0.5  # of the Search requests


def _emit(roots: list[Node], key: str) -> list[Trace]:
    emitter = Emitter()
    try:
        return [
            to_trace(emitter.emit(root, f"{key}:{i}"), origin=f"{key}:{i}")
            for i, root in enumerate(roots)
        ]
    finally:
        emitter.shutdown()


# --- before/after ---------------------------------------------------------------------------
def _search(req: Req, slow_query: bool) -> Node:
    t0 = req.t0_ns
    root = Node(
        "GET /search",
        SEARCH_WEB,
        SERVER,
        t0,
        scope=HTTP_NODE,
        host=req.host(SEARCH_WEB),
        attrs={"http.method": "GET", "http.route": "/search", "http.target": "/search?q=x"},
    )
    t = t0 + req.ms("web.accept", 0.2)
    uid = req.r("uid").randrange(1_000, 99_999)
    client = node_client(root, t, "GET", "profile-service", 8080, f"/profiles/{uid}")
    server = serve(
        req, client, PROFILE, "GET", "/profiles/{id}", f"/profiles/{uid}", t + hop(req, "p")
    )
    cold = req.r("cold").random() < COLD_SHARE
    work = req.ms("profile.cold", 900.0, 0.15) if cold else req.ms("profile.warm", 30.0)
    close(req, client, server, server.start_ns + work, "p")
    t = client.end_ns + req.ms("web.gap", 0.3)
    query = root.child(
        "pg.query:SELECT search",
        CLIENT,
        t,
        t + (req.ms("db.noindex", 260.0, 0.2) if slow_query else req.ms("db.index", 40.0, 0.2)),
        scope="@opentelemetry/instrumentation-pg",
        attrs={
            "db.system": "postgresql",
            "db.name": "search",
            "db.statement": "SELECT id, title FROM listings WHERE title ILIKE $1 LIMIT 50",
            "net.peer.name": "search-db",
            "net.peer.port": 5432,
        },
    )
    root.end_ns = query.end_ns + req.ms("web.render", 3.0)
    return root


def before_after(seed: int = 0, n: int = 300) -> tuple[list[Trace], list[Trace], list[Trace]]:
    """(the baseline window's requests, the current window's, the current window's fixed)."""

    def window(start_ns: int, slow_query: bool, tag: str) -> list[Trace]:
        roots = []
        for i in range(n):
            arrival = random.Random(f"{seed}:{tag}:{i}").uniform(0.0, 900.0)
            index = i if tag == "now" else n + i  # the earlier window draws other requests
            t0_ns = start_ns + i * 1_000 * MS + int(arrival * MS)
            roots.append(
                _search(Req(seed, index, t0_ns, frozenset(), False, frozenset()), slow_query)
            )
        return _emit(roots, f"{seed}:{tag}")

    return (
        window(EPOCH_NS, False, "before"),
        window(EPOCH_NS + DAY_NS, True, "now"),
        window(EPOCH_NS + DAY_NS, False, "now"),
    )


# --- page mix -------------------------------------------------------------------------------
def _graphql_request(req: Req, unbatched: bool) -> Node:
    t0 = req.t0_ns
    root = Node(
        "POST /graphql",
        BFF,
        SERVER,
        t0,
        scope=SPRING,
        host=req.host(BFF),
        attrs={"http.request.method": "POST", "http.route": "/graphql", "url.path": "/graphql"},
    )
    search = req.r("page").random() < SEARCH_SHARE
    name = "Search" if search else "Home"
    s = t0 + req.ms("gql.parse", 0.7)
    op = root.child(
        f"query {name}",
        INTERNAL,
        s,
        scope=GRAPHQL,
        attrs={"graphql.operation.type": "query", "graphql.operation.name": name},
    )
    if not search:
        client = java_client(
            op, s, "GET", "http://recommendations/recs", "recommendations", REACTOR
        )
        server = serve(req, client, RECS, "GET", "/recs", "/recs", s + hop(req, "r"))
        close(req, client, server, server.start_ns + req.ms("recs", 80.0), "r")
        op.end_ns = client.end_ns + req.ms("gql.serialize", 0.8)
    else:
        client = java_client(
            op, s, "POST", "http://search-backend/query", "search-backend", REACTOR
        )
        server = serve(req, client, SEARCH_BACKEND, "POST", "/query", "/query", s + hop(req, "s"))
        close(req, client, server, server.start_ns + req.ms("search", 1_800.0, 0.2), "s")
        s = client.end_ns + req.ms("gql.dispatch", 0.2)
        ids = [req.r("ids").randrange(1_000, 9_999) for _ in range(req.r("n").randint(15, 25))]
        for batch in [[i] for i in ids] if unbatched else [ids]:
            s = reviews_call(req, op, s, batch, db_ms=40.0) + req.ms("gql.gap", 0.3, 0.4)
        op.end_ns = s + req.ms("gql.serialize", 0.8)
    root.end_ns = op.end_ns + req.ms("bff.write", 0.5)
    return root


def page_mix(seed: int = 0, n: int = 400) -> tuple[list[Trace], list[Trace]]:
    """(the route's requests, the same requests with the reviews batched again)."""

    def corpus(fixed: bool, tag: str) -> list[Trace]:
        roots = []
        for i in range(n):
            req = Req(seed, i, EPOCH_NS + i * 1_000 * MS, frozenset(), False, frozenset())
            unbatched = not fixed and req.r("unbatched").random() < UNBATCHED_SHARE
            roots.append(_graphql_request(req, unbatched))
        return _emit(roots, f"{seed}:{tag}")

    return corpus(False, "mix"), corpus(True, "mix")


@dataclass(frozen=True)
class Comparison:
    """A corpus whose cause only a like-with-like comparison names: how to make it, how to ask
    tracelens about it, the cause a correct ranking names first and the decoy it must not."""

    name: str
    summary: str
    cause: Cause
    decoy: Decoy
    route: str
    # (seed, n) -> (traces to analyse, the current window's requests, the same requests fixed)
    make: Callable[[int, int], tuple[list[Trace], list[Trace], list[Trace]]]
    window: Window | None = None  # slowest's windows (before/after mode with both)
    baseline_window: Window | None = None


def _before_after(seed: int, n: int) -> tuple[list[Trace], list[Trace], list[Trace]]:
    before, now, fixed = before_after(seed, n)
    return before + now, now, fixed


def _page_mix(seed: int, n: int) -> tuple[list[Trace], list[Trace], list[Trace]]:
    traces, fixed = page_mix(seed, n)
    return traces, traces, fixed


def comparisons() -> dict[str, Comparison]:
    """The like-with-like scenarios, by name."""
    return {
        c.name: c
        for c in (
            Comparison(
                "before_after",
                "listings query lost its index (now) behind a cold profile cache (both windows)",
                Cause("slow_query_listings", ("slow_query", ""), (SEARCH_WEB.name,), "listings"),
                Decoy("the route's ordinary tail", (PROFILE.name,)),
                "search",
                _before_after,
                window=Window(EPOCH_NS + DAY_NS, None),
                baseline_window=Window(EPOCH_NS, EPOCH_NS + DAY_NS),
            ),
            Comparison(
                "page_mix",
                "POST /graphql serves Home and Search; Search's DataLoader stops batching",
                Cause("n_plus_one_reviews", ("n_plus_one",), (BFF.name,)),
                Decoy("the heavy page's nature", (SEARCH_BACKEND.name,)),
                "graphql",
                _page_mix,
            ),
        )
    }
