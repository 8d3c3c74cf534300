"""What store tests share: `page(...)` traces, and `strays(store_dir)`, the files no reader uses.

A store's content is the parts its manifest names; anything else under `index/` and `spans/`, and
any temp file, is what an interrupted writer left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import span, trace
from tracelens.model import Event, SpanKind, StatusCode, Trace

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


def strays(store_dir: Path) -> list[str]:
    """Files in the store that its manifest does not name: temp files and uncommitted parts."""
    manifest = json.loads((store_dir / "tracelens-store.json").read_text())
    named = {f"{sub}/{part}" for part in manifest["parts"] for sub in ("index", "spans")}
    out = []
    for f in sorted(store_dir.rglob("*")):
        rel = f.relative_to(store_dir).as_posix()
        if f.is_file() and (
            f.name.endswith(".tmp") or (f.suffix == ".parquet" and rel not in named)
        ):
            out.append(rel)
    return out
