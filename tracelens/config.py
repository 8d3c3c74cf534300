"""Defaults a team keeps beside its code: `load_config()` reads `tracelens.toml` from the current
directory (or the file named by `TRACELENS_CONFIG`).

    source = "traces/"                   # where traces come from when --source is not given
    route = "result"                     # the page to explain when --route is not given
    slo = "3s"                           # the objective p90 is held to
    jaeger_ui = "http://jaeger:16686"    # trace links in the reports
    grafana_url = "http://grafana:3000"
    tenant = "acme"                      # for a Jaeger or Tempo source: X-Scope-OrgID / x-tenant
    token = "…"                          # bearer token (better: $TRACELENS_TOKEN)
    ca_bundle = "/etc/ssl/private-ca.pem"
    [headers]                            # extra request headers
    "X-Team" = "sre"

Command-line options win over the environment, which wins over the file; the file wins over
built-in defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tracelens.errors import UsageError

KEYS = frozenset(
    {
        "source",
        "route",
        "slo",
        "jaeger_ui",
        "grafana_url",
        "tenant",
        "token",
        "user",
        "password",
        "ca_bundle",
        "headers",
    }
)
TABLES = frozenset({"headers"})  # tables of strings; every other setting is a string


def load_config(path: str | os.PathLike[str] | None = None) -> Mapping[str, Any]:
    """The settings of `tracelens.toml` (empty when there is none)."""
    explicit = path or os.environ.get("TRACELENS_CONFIG")
    target = Path(explicit) if explicit else Path("tracelens.toml")
    if not target.is_file():
        if explicit:
            raise UsageError(f"{target}: no such config file")
        return {}
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{target}: not a valid TOML file ({e})") from e
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(
            f"{target}: unknown setting {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}"
        )
    bad = sorted(k for k, v in data.items() if k not in TABLES and not isinstance(v, str))
    if bad:
        raise UsageError(f"{target}: {', '.join(bad)} must be a string")
    for key in TABLES & set(data):
        table = data[key]
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise UsageError(f'{target}: [{key}] must be a table of strings, e.g. "X-Team" = "sre"')
    return data
