"""What a span *does*, with ids and literals stripped: `operation_of(span) -> str`.

CONTRACT (to be implemented). Spans doing the same thing get the same string in every trace:
- DB: `db.system` + statement with literals, `?`, `$n`, `%s`, IN-lists collapsed, whitespace folded
  (`db.query.text`, old `db.statement`), else the span name;
- HTTP client/server: method + `server.address` (client) + `http.route` or the URL path with
  numeric, hex, uuid and long opaque segments -> `{id}` and query values dropped;
- RPC: `rpc.service/rpc.method`; GraphQL: `<type> <name>` from `graphql.operation.*`;
- otherwise the span name with ids and numbers stripped.
"""

from __future__ import annotations

from tracelens.model import Span

OpKey = tuple[str, str]  # (service, normalised operation)


def operation_of(span: Span) -> str:
    raise NotImplementedError


def op_key(span: Span) -> OpKey:
    return (span.service, operation_of(span))
