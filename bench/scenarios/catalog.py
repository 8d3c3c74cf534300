"""The accuracy scenarios: what each injects, where, and what a correct ranking names first.

    sc = SCENARIOS["dns"]
    sc.causes[0].matches(contributor)   # does this ranking row name the injected cause?
    sc.decoy.matches(contributor)       # ... or the decoy it must not name first?

Each cause is injected into its own ~15% of the requests; a scenario's decoy (if any) rides on
the first cause's requests, so it is as correlated with slowness as the real cause, and it stays
when the cause is removed (`fixed=`): the decoy is not a cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.scenarios.plan import MS
from bench.scenarios.route import (
    ANALYTICS,
    CART,
    CATALOG,
    GQL,
    INVENTORY,
    PAYMENT,
    PRICING,
    RISK,
    SHIPPING,
    SKEWED_HOST,
    WEB,
)
from tracelens.model import Contributor


@dataclass(frozen=True)
class Cause:
    """An injected cause and the ranking rows that name it.

    A row names it when its pattern is one of `patterns` and its service one of `services`; a
    plain-operation row (pattern "") counts only when "" is in `patterns` and the operation
    contains `operation_hint`.
    """

    key: str
    patterns: tuple[str, ...]
    services: tuple[str, ...]
    operation_hint: str = ""

    @property
    def label(self) -> str:
        pattern = "/".join(p or "op" for p in self.patterns)
        hint = f" ~{self.operation_hint}" if self.operation_hint else ""
        return f"{pattern} @{'|'.join(self.services)}{hint}"

    def matches(self, row: Contributor) -> bool:
        if row.service not in self.services or row.pattern not in self.patterns:
            return False
        return bool(row.pattern) or self.operation_hint.lower() in row.operation.lower()


@dataclass(frozen=True)
class Decoy:
    """Something that looks guilty in slow traces but is not the cause: any row of `services`
    (whose operation contains `operation_hint`) ranked first is a miss."""

    key: str
    services: tuple[str, ...]
    operation_hint: str = ""

    def matches(self, row: Contributor) -> bool:
        return row.service in self.services and self.operation_hint.lower() in row.operation.lower()


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    causes: tuple[Cause, ...]
    decoy: Decoy | None = None
    knobs: frozenset[str] = frozenset()  # route variations present in every request
    clock_offset_ns: Mapping[str, int] = field(default_factory=dict)  # host -> clock ahead by
    top_k: int = 1  # every cause must rank within the first top_k rows


def _c(key: str, patterns: tuple[str, ...], *services: str, hint: str = "") -> Cause:
    return Cause(key, patterns, services, hint)


_N1_DB = _c("n_plus_one_db", ("n_plus_one",), INVENTORY.name)
_DNS = _c("dns", ("dns",), WEB.name)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("n_plus_one", "inventory (Flask/PyMySQL) loads 20-40 items one by one", (_N1_DB,)),
        Scenario(
            "n_plus_one_graphql",
            "DGS DataLoader stops batching: 15-30 resolver spans, one reviews call each",
            (_c("n_plus_one_graphql", ("n_plus_one",), GQL.name),),
        ),
        Scenario(
            "n_plus_one_graphql_default",
            "the same DataLoader fault with the Java agent's defaults: no resolver spans",
            (_c("n_plus_one_graphql", ("n_plus_one",), GQL.name),),
            knobs=frozenset({"no_fetcher_spans"}),
        ),
        Scenario("dns", "Node dns.lookup before payment-service hits 5 s / 10 s timeouts", (_DNS,)),
        Scenario(
            "dns_go",
            "Go http.dns (otelhttptrace) to the tax API hits 5 s / 10 s timeouts",
            (_c("dns_go", ("dns",), PRICING.name),),
            knobs=frozenset({"keepalive_off"}),
        ),
        Scenario(
            "slow_query",
            "payment_methods lookup (JDBC/PostgreSQL) 5-10x slower",
            (_c("slow_query_payment", ("slow_query",), PAYMENT.name),),
        ),
        Scenario(
            "sequential",
            "checkout-web awaits pricing, inventory, shipping, graphql one after another",
            (_c("sequential", ("sequential",), WEB.name),),
        ),
        Scenario(
            "queueing",
            "shipping-service (.NET) saturated: requests wait ~0.5 s before the server span",
            (_c("queueing", ("queueing",), SHIPPING.name, WEB.name),),
        ),
        Scenario(
            "self_time",
            "pricing-service (Go) recompiles rules: ~380 ms with no child span",
            (_c("self_time", ("self_time",), PRICING.name),),
        ),
        Scenario(
            "connect",
            "Go otelhttptrace: new connection per request, slow http.connect + http.tls",
            (_c("connect", ("connect",), PRICING.name),),
        ),
        Scenario(
            "retry",
            "payment-service (OkHttp) PSP read timeout at 1.5 s, then retried",
            (_c("retry", ("retry",), PAYMENT.name),),
        ),
        Scenario(
            "error",
            "shipping carrier answers 504 after 1.2-2.8 s; shipping-service returns 502",
            (_c("error", ("error",), SHIPPING.name, WEB.name),),
        ),
        Scenario(
            "decoy_async",
            "slow payment_methods query; the kafka consumer's insert is huge but asynchronous",
            (_c("slow_query_payment", ("slow_query", ""), PAYMENT.name, hint="payment_methods"),),
            decoy=Decoy("async consumer", (ANALYTICS.name,)),
            knobs=frozenset({"async_backlog"}),
        ),
        Scenario(
            "decoy_overlap",
            "stock query waits on locks; the graphql call in parallel is long but shorter",
            (_c("slow_query_stock", ("slow_query", ""), INVENTORY.name, hint="stock"),),
            decoy=Decoy("overlapped sibling", (GQL.name,)),
            knobs=frozenset({"overlap"}),
        ),
        Scenario(
            "decoy_skew",
            "slow cart query; pricing host runs 210 ms ahead (looks like queueing)",
            (_c("slow_query_cart", ("slow_query", ""), CART.name, hint="cart_items"),),
            decoy=Decoy("clock skew", (PRICING.name,)),
            knobs=frozenset({"clock_skew"}),
            clock_offset_ns={SKEWED_HOST: 210 * MS},
        ),
        Scenario(
            "decoy_baseline",
            "inventory N+1; the fraud score costs ~170 ms in every request",
            (_N1_DB,),
            decoy=Decoy("slow in baseline too", (RISK.name,)),
            knobs=frozenset({"risk_check"}),
        ),
        Scenario(
            "lost_concurrency",
            "checkout-web's price GETs, 4 at a time, lost their Promise.all: 6-10 wait in turn",
            (_c("lost_async", ("sequential",), WEB.name),),
            knobs=frozenset({"item_prices"}),
        ),
        Scenario(
            "n_plus_one_count",
            "the same price GETs, awaited in turn, but for every variant: 40-60 instead of 6-10",
            (_c("n_plus_one_count", ("n_plus_one",), WEB.name),),
            knobs=frozenset({"item_prices"}),
        ),
        Scenario(
            "n_plus_one_concurrent",
            "one batched price GET becomes 25-40 concurrent GETs through 6 sockets",
            (_c("n_plus_one_fanout", ("n_plus_one",), WEB.name),),
            knobs=frozenset({"batched_prices"}),
        ),
        Scenario(
            "mix",
            "two causes in different requests: saved-product N+1 (200-400 calls) and DNS timeouts",
            (_c("n_plus_one_http", ("n_plus_one",), WEB.name, CATALOG.name), _DNS),
            top_k=3,
        ),
    )
}
