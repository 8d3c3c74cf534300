"""A fixed corpus whose names are hostile: every renderer must print them inert.

`hostile_corpus()` is the pipeline test corpus (tests/test_pipeline.py) with the API's service, its
route and its query text carrying a spreadsheet formula, a screen clear, an unterminated OSC 8
link, a newline, pipes and backticks.
"""

from __future__ import annotations

import random

from tests.builders import span, trace
from tracelens.model import SpanKind, Trace

MS = 1_000_000
FORMULA = '=HYPERLINK("http://x","y")'
CLEAR = "\x1b[2J"
OSC8 = "\x1b]8;;http://x\x07"
HOSTILE = f"{FORMULA}{CLEAR}{OSC8}two\nlines | `tick` <b>bold</b>"
T0 = 1_700_000_000_000 * MS


def hostile_page(i: int, db_ms: int, calls: int = 1) -> Trace:
    """web GET /result/[id] -> api (hostile names) -> `calls` sequential queries of db_ms each."""
    start = T0 + i * 1000 * MS
    queries = [
        span(
            f"SELECT {HOSTILE}",
            start + (8 + k * db_ms) * MS,
            start + (8 + (k + 1) * db_ms) * MS,
            service=f"api{CLEAR}",
            kind=SpanKind.CLIENT,
            attrs={
                "db.system": "postgresql",
                "db.query.text": f"SELECT * FROM t WHERE x = '{HOSTILE}'",
            },
        )
        for k in range(calls)
    ]
    end_ms = 8 + calls * db_ms + 16
    server = span(
        f"GET /items{OSC8}",
        start + 6 * MS,
        start + end_ms * MS,
        service=f"api{CLEAR}",
        kind=SpanKind.SERVER,
        attrs={"http.route": f"/items{OSC8}|x"},
        children=queries,
    )
    client = span(
        "GET",
        start + 5 * MS,
        start + (end_ms + 1) * MS,
        service="web",
        kind=SpanKind.CLIENT,
        attrs={"http.request.method": "GET", "server.address": "api", "url.full": "http://api/i"},
        children=[server],
    )
    root = span(
        "GET",
        start,
        start + (end_ms + 6) * MS,
        service="web",
        kind=SpanKind.SERVER,
        attrs={"http.route": "/result/[id]", "http.request.method": "GET"},
        children=[client],
    )
    return trace(root, trace_id=f"{i + 1:032x}")


def hostile_corpus(n: int = 120, seed: int = 3) -> list[Trace]:
    """Most requests run one quick query; one in eight runs it 12 times, one after another."""
    rng = random.Random(seed)
    slow = set(rng.sample(range(n), n // 8))
    return [hostile_page(i, rng.randint(20, 40), calls=12 if i in slow else 1) for i in range(n)]
