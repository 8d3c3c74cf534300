"""`tracelens demo`: a traced simulation of the slow result page: `run_demo(DemoConfig(...))`.

`world` simulates requests as trees of timed spans, `emit` turns them into real OpenTelemetry SDK
spans, `export` sends those to the local store, an OTLP JSON lines file or an OTLP receiver, and
`run` wires the three. Importing this package stays cheap: the SDK loads with `run`.
"""

from __future__ import annotations

from tracelens.demo.world import INJECTIONS

__all__ = ["INJECTIONS"]
