"""The demo's world: a symptom-checker site, simulated request by request: `simulate(config)`.

CDN -> Istio ingress gateway -> Next.js `web` -> GraphQL BFF `result-bff` (graphql-java/DGS) ->
Python APIs (diseases, hospitals, departments; postgres) and a .NET `symptoms-api`, names resolved
through cluster DNS. Each route is one function that builds a tree of `SimSpan`s with simulated
nanosecond times, shaped as each stack's real instrumentation emits it:

- Node (`web`): a `dns.lookup` CLIENT span without the hostname before every outbound request
  (Node does not cache lookups); HTTP client spans named after the method.
- Java agent (`result-bff`): no DNS spans at all, so resolver time shows only as a gap inside the
  HTTP client span before the callee's first span; one `query <Name>` operation span; per-field
  data-fetcher spans only with `resolver_spans` (off by default, as in the agent).
- Envoy sidecars: an inbound SERVER span per hop, named `<host>:<port>/*`, legacy attributes.
- .NET 9 (`symptoms-api`): `DNS lookup <name>` spans carrying `dns.question.name`.

The incident: the DataLoader stopped batching (one sequential call per disease, hospital and
department) and every one of those calls resolved its host again through an `ndots:5` search path
where a conntrack race drops a query now and then, costing the 5 s resolver timeout (or 10 s).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tracelens.model import AttributeValue, SpanKind, StatusCode

MS = 1_000_000
S = 1_000_000_000
RESOLVER_TIMEOUT_NS = 5 * S
SEARCH_DOMAINS = (
    "prod.svc.cluster.local",
    "svc.cluster.local",
    "cluster.local",
    "c.medisearch-prod.internal",
    "google.internal",
)
NDOTS = 5
INJECTIONS = ("slow_query", "sequential", "queueing", "self_time", "connect", "retry", "error")
ROUTE_WEIGHTS = {  # share of traffic per route
    "/result/[id]": 0.40,
    "/": 0.20,
    "/search": 0.15,
    "/api/symptoms": 0.15,
    "/hospitals/[id]": 0.10,
}


@dataclass(frozen=True, slots=True)
class Service:
    """One deployment: the `service.name`, its stack (which instrumentation) and its pods."""

    name: str
    stack: str  # "cdn", "envoy", "node", "java", "python", "dotnet"
    pods: tuple[str, ...]
    host: str = ""  # "<name>.prod.svc.cluster.local" for in-cluster services
    port: int = 8080


HOT_NODE = "gke-prod-pool-1-7f3a"  # the busiest DNS client node: the conntrack race hits it most
NODES = (HOT_NODE, "gke-prod-pool-1-c21d", "gke-prod-pool-1-e90b")
POD_NODE: dict[str, str] = {}


def _svc(name: str, stack: str, replicas: int, port: int = 8080) -> Service:
    pods = tuple(f"{name}-7d9c{n}b6f4-x{n}q{n}z" for n in range(replicas))
    POD_NODE.update({pod: NODES[n % len(NODES)] for n, pod in enumerate(pods)})
    return Service(name, stack, pods, f"{name}.prod.svc.cluster.local", port)


CDN = Service("cdn-edge", "cdn", ("edge-fra-03", "edge-ams-11"))
GATEWAY = Service("istio-ingressgateway", "envoy", ("istio-ingressgateway-5b8f7c-k2x9p",))
WEB = _svc("web", "node", 3, 3000)
BFF = _svc("result-bff", "java", 2)
DISEASES = _svc("diseases-api", "python", 2)
HOSPITALS = _svc("hospitals-api", "python", 2)
DEPARTMENTS = _svc("departments-api", "python", 2)
SYMPTOMS = _svc("symptoms-api", "dotnet", 2)

SERVER_SCOPES = {  # the scope of each stack's inbound HTTP server spans
    "node": "@opentelemetry/instrumentation-http",
    "java": "io.opentelemetry.spring-webmvc-6.0",
    "python": "opentelemetry.instrumentation.fastapi",
    "dotnet": "Microsoft.AspNetCore",
}
SCOPES = {  # instrumentation scope of each stack's spans, as the real libraries name them
    "cdn": "edge-tracing",
    "envoy": "envoy",
    "node": "@opentelemetry/instrumentation-http",
    "java": "io.opentelemetry.java-http-client",
    "python": "opentelemetry.instrumentation.fastapi",
    "dotnet": "System.Net.Http",
}


@dataclass
class SimSpan:
    """A span of the simulation: absolute ns times, a pod of a service, children in order."""

    service: Service
    pod: str
    name: str
    kind: SpanKind
    start_ns: int
    end_ns: int = 0
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    scope: str = ""
    status: StatusCode = StatusCode.UNSET
    status_message: str = ""
    events: list[tuple[int, str, dict[str, AttributeValue]]] = field(default_factory=list)
    children: list[SimSpan] = field(default_factory=list)

    def child(
        self,
        service: Service,
        name: str,
        kind: SpanKind,
        start_ns: int,
        attrs: Mapping[str, AttributeValue] | None = None,
    ) -> SimSpan:
        pod = self.pod if service is self.service else service.pods[0]
        span = SimSpan(
            service, pod, name, kind, start_ns, start_ns, dict(attrs or {}), SCOPES[service.stack]
        )
        self.children.append(span)
        return span


@dataclass(frozen=True, slots=True)
class Scenario:
    """Which causes are active. `incident()` and `fixed()` are the two states of the story."""

    dataloader_broken: bool
    dns_broken: bool  # no resolver caching, ndots:5 expansion, the conntrack race
    inject: frozenset[str] = frozenset()
    resolver_spans: bool = False

    @classmethod
    def incident(
        cls, inject: frozenset[str] = frozenset(), resolver_spans: bool = False
    ) -> Scenario:
        return cls(True, True, inject, resolver_spans)

    @classmethod
    def fixed(cls, inject: frozenset[str] = frozenset(), resolver_spans: bool = False) -> Scenario:
        return cls(False, False, inject, resolver_spans)


@dataclass(frozen=True, slots=True)
class Request:
    """One simulated request: its route and the root span of its trace."""

    route: str
    root: SimSpan


Handler = Callable[[SimSpan, int], int]  # fills a server span from its start; returns its end


class World:
    """The simulation state for one run: the RNG, the scenario and the per-call helpers."""

    def __init__(self, scenario: Scenario, rng: random.Random) -> None:
        self.scenario = scenario
        self.rng = rng

    # --- randomness ------------------------------------------------------------------------
    def lat(self, median_ms: float, sigma: float = 0.3) -> int:
        """A log-normal latency in ns around `median_ms` (service times are skewed right)."""
        return max(1, int(self.rng.lognormvariate(0.0, sigma) * median_ms * MS))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def injected(self, cause: str, p: float) -> bool:
        return cause in self.scenario.inject and self.chance(p)

    def pod(self, service: Service) -> str:
        return self.rng.choice(service.pods)

    # --- DNS ---------------------------------------------------------------------------------
    def resolve_ns(self, host: str, pod: str) -> tuple[int, int]:
        """(duration_ns, timeouts) of one getaddrinfo for `host` from `pod`.

        Broken: `ndots:5` tries every search domain first (NXDOMAIN each) and each A+AAAA pair
        may lose a packet to the conntrack race, costing the 5 s resolver timeout before the
        retransmit; the race is likelier on the node with the most DNS traffic. Fixed: NodeLocal
        DNSCache answers the fully qualified name at once.
        """
        if not self.scenario.dns_broken:
            return self.lat(0.4, 0.4), 0
        names = [f"{host}.{d}" for d in SEARCH_DOMAINS] if host.count(".") < NDOTS else []
        race = 0.0075 if POD_NODE.get(pod) == HOT_NODE else 0.001
        duration_ns, timeouts = 0, 0
        for _ in [*names, host]:
            duration_ns += self.lat(1.6, 0.5)
            while self.chance(race):  # the race again on the retransmit: 10 s, rarely 15 s
                duration_ns += RESOLVER_TIMEOUT_NS
                timeouts += 1
        return duration_ns, timeouts

    # --- one hop through the mesh --------------------------------------------------------------
    def http_call(
        self,
        parent: SimSpan,
        t_ns: int,
        callee: Service,
        method: str,
        route: str,
        path: str,
        handler: Handler,
        *,
        status_code: int = 200,
    ) -> int:
        """A client call from `parent`'s service to `callee` starting at t_ns; returns its end.

        Emits what the caller's stack emits for DNS and connect, the callee's inbound sidecar span
        and the callee's server span (filled by `handler`).
        """
        caller = parent.service
        url = f"http://{callee.host}:{callee.port}{path}"
        dns_ns = 0
        if caller.stack == "node":  # Node resolves for every new socket and traces it, nameless
            dns_ns, _ = self.resolve_ns(callee.host, parent.pod)
            lookup = parent.child(caller, "dns.lookup", SpanKind.CLIENT, t_ns)
            lookup.scope = "@opentelemetry/instrumentation-dns"
            lookup.end_ns = t_ns + dns_ns
            lookup.attributes["peer.ipv4"] = f"10.96.{len(callee.name)}.{len(path) % 250 + 2}"
            t_ns = lookup.end_ns
            dns_ns = 0
        elif caller.stack == "java":
            # The JVM's cache is off in the incident (networkaddress.cache.ttl=0), and the agent
            # emits no resolver span: the lookup is silent time inside the client span.
            dns_ns = self.resolve_ns(callee.host, parent.pod)[0] if self.scenario.dns_broken else 0
        client = parent.child(
            caller,
            method,
            SpanKind.CLIENT,
            t_ns,
            {
                "http.request.method": method,
                "server.address": callee.host,
                "server.port": callee.port,
                "url.full": url,
            },
        )
        t = t_ns + dns_ns
        if caller.stack == "node" and self.injected("connect", 0.35 if callee is BFF else 0.0):
            # A full listen backlog drops the SYN: the kernel retransmits after 1 s.
            connect = client.child(caller, "tcp.connect", SpanKind.INTERNAL, t)
            connect.scope = "@opentelemetry/instrumentation-net"
            connect.attributes.update({"net.transport": "ip_tcp", "net.peer.name": callee.host})
            connect.end_ns = t + S + self.lat(0.8)
            t = connect.end_ns
        t += self.lat(0.35, 0.2)  # network to the callee's sidecar
        sidecar = client.child(
            callee,
            f"{callee.host}:{callee.port}/*",
            SpanKind.SERVER,
            t,
            {
                "http.method": method,
                "http.url": url,
                "upstream_cluster": f"inbound|{callee.port}||",
                "component": "proxy",
                "node_id": f"sidecar~10.4.{len(callee.name)}.17~{callee.name}.prod~{callee.host}",
            },
        )
        sidecar.service = Service(f"{callee.name}.prod", "envoy", callee.pods)
        sidecar.pod = self.pod(callee)
        sidecar.scope = SCOPES["envoy"]
        if status_code == 503:  # the sidecar gave up on an unreachable upstream (UF, 1 s)
            sidecar.end_ns = t + S + self.lat(2.0)
            sidecar.status = StatusCode.ERROR
            sidecar.attributes["response_flags"] = "UF"
        else:
            server = sidecar.child(callee, f"{method} {route}", SpanKind.SERVER, t + self.lat(0.25))
            server.pod = sidecar.pod
            server.scope = SERVER_SCOPES[callee.stack]
            server.attributes.update(
                {
                    "http.request.method": method,
                    "http.route": route,
                    "url.path": path.split("?")[0],
                    "url.scheme": "http",
                    "server.address": callee.host,
                    "http.response.status_code": status_code,
                }
            )
            if self.injected("queueing", 0.3 if callee is HOSPITALS else 0.0):
                server.start_ns += self.lat(1000, 0.3)  # all workers busy: the request waits
            server.end_ns = handler(server, server.start_ns)
            if status_code >= 500:
                server.status = StatusCode.ERROR
            sidecar.end_ns = server.end_ns + self.lat(0.25)
        sidecar.attributes["http.status_code"] = status_code
        client.end_ns = sidecar.end_ns + self.lat(0.35, 0.2)
        client.attributes["http.response.status_code"] = status_code
        if status_code >= 500:
            client.status = StatusCode.ERROR
            client.attributes["error.type"] = str(status_code)
        return client.end_ns

    def db(
        self, parent: SimSpan, t_ns: int, operation: str, table: str, query: str, median_ms: float
    ) -> int:
        """A postgres query span as psycopg's instrumentation records it; returns its end."""
        span = parent.child(
            parent.service,
            f"{operation} {table}",
            SpanKind.CLIENT,
            t_ns,
            {
                "db.system": "postgresql",
                "db.namespace": parent.service.name.split("-")[0],
                "db.operation.name": operation,
                "db.collection.name": table,
                "db.query.text": query,
                "server.address": f"{table}-db.prod.svc.cluster.local",
                "server.port": 5432,
            },
        )
        span.scope = "opentelemetry.instrumentation.psycopg"
        span.end_ns = t_ns + self.lat(median_ms, 0.4)
        return span.end_ns

    def api(self, table: str, query: str, db_ms: float, work_ms: float) -> Handler:
        """A Python API endpoint: a little framework time, one query, serialisation."""

        def handle(server: SimSpan, t_ns: int) -> int:
            end = self.db(server, t_ns + self.lat(1.5), "SELECT", table, query, db_ms)
            return end + self.lat(work_ms, 0.45)

        return handle


# --- the BFF -----------------------------------------------------------------------------------
def graphql(world: World, server: SimSpan, t_ns: int, name: str, document: str) -> SimSpan:
    """The Java agent's operation span under the BFF's `POST /graphql` server span."""
    op = server.child(server.service, f"query {name}", SpanKind.INTERNAL, t_ns + world.lat(2.0))
    op.scope = "io.opentelemetry.graphql-java-20.0"
    op.attributes.update(
        {
            "graphql.operation.type": "query",
            "graphql.operation.name": name,
            "graphql.document": document,
        }
    )
    return op


def fetch(world: World, op: SimSpan, t_ns: int, field_name: str, path: str) -> SimSpan:
    """Where a resolver's calls hang: a data-fetcher span if enabled, else the operation span."""
    if not world.scenario.resolver_spans:
        return op
    span = op.child(op.service, field_name, SpanKind.INTERNAL, t_ns)
    span.scope = op.scope
    span.attributes.update({"graphql.field.name": field_name, "graphql.field.path": path})
    return span


def loaded(
    world: World,
    op: SimSpan,
    t_ns: int,
    field_name: str,
    path: str,
    calls: list[tuple[Service, str, str, Handler]],
) -> int:
    """Run `calls` one after another (the DataLoader's batch, or its N+1); returns the end."""
    for callee, route, url_path, handler in calls:
        parent = fetch(world, op, t_ns, field_name, path)
        start = t_ns
        if world.injected("retry", 0.3 if callee is HOSPITALS else 0.0):
            t_ns = world.http_call(
                parent, t_ns, callee, "GET", route, url_path, handler, status_code=503
            )
            t_ns += world.lat(100, 0.1)  # the client's retry backoff
        t_ns = world.http_call(parent, t_ns, callee, "GET", route, url_path, handler)
        if parent is not op:
            parent.start_ns, parent.end_ns = start, t_ns + world.lat(0.3)
            t_ns = parent.end_ns
        t_ns += world.lat(0.8)  # the resolver's own work between calls
    return t_ns


def pool_timeout(world: World) -> Handler:
    """An endpoint whose database pool is exhausted: it waits out the 2 s pool timeout, fails."""

    def handle(server: SimSpan, t_ns: int) -> int:
        end = t_ns + world.lat(1.5) + 2 * S + world.lat(2)
        server.events.append(
            (
                end,
                "exception",
                {
                    "exception.type": "sqlalchemy.exc.TimeoutError",
                    "exception.message": "QueuePool limit of size 5 overflow 10 reached, "
                    "connection timed out, timeout 2.00",
                },
            )
        )
        return end

    return handle


RESULT_DOCUMENT = (
    "query ResultPage($id: ID!) { result(id: $id) { id "
    "conditions { probability disease { id name } } "
    "hospitals { id name departments { id name } } } }"
)


def result_page_bff(world: World, server: SimSpan, t_ns: int) -> int:
    """`query ResultPage`: the result, then its diseases and hospitals, then their departments."""
    rng = world.rng
    op = graphql(world, server, t_ns, "ResultPage", RESULT_DOCUMENT)
    result_id = rng.randrange(10**6, 10**7)
    disease_ids = rng.sample(range(100, 999), rng.randint(3, 6))
    hospital_ids = rng.sample(range(1000, 9999), rng.randint(8, 14))
    results = world.api(
        "assessments",
        "SELECT a.id, a.created_at, c.disease_id, c.probability FROM assessments a "
        "JOIN conditions c ON c.assessment_id = a.id WHERE a.id = $1",
        12,
        8,
    )
    if world.injected("slow_query", 0.35):  # a plan flip to a sequential scan
        results = world.api(
            "assessments",
            "SELECT a.id, a.created_at, c.disease_id, c.probability "
            "FROM assessments a JOIN conditions c ON c.assessment_id = a.id "
            "WHERE a.id = $1",
            1400,
            8,
        )
    t = loaded(
        world,
        op,
        op.start_ns + world.lat(3),
        "result",
        "/result",
        [(DISEASES, "/results/{result_id}", f"/results/{result_id}", results)],
    )

    disease_q = "SELECT id, name, icd10 FROM diseases WHERE id = ANY($1)"
    hospital_q = "SELECT id, name, lat, lon FROM hospitals WHERE id = ANY($1)"
    dept_q = "SELECT id, hospital_id, name FROM departments WHERE hospital_id = ANY($1)"
    if world.scenario.dataloader_broken:  # one call per key, each waiting for the previous
        diseases = [
            (
                DISEASES,
                "/diseases/{disease_id}",
                f"/diseases/{d}",
                world.api("diseases", disease_q, 6, 45),
            )
            for d in disease_ids
        ]
        hospitals = [
            (
                HOSPITALS,
                "/hospitals/{hospital_id}",
                f"/hospitals/{h}",
                world.api("hospitals", hospital_q, 8, 110),
            )
            for h in hospital_ids
        ]
        departments = [
            (
                DEPARTMENTS,
                "/departments",
                f"/departments?hospital_id={h}",
                world.api("departments", dept_q, 7, 75),
            )
            for h in hospital_ids
        ]
    else:  # one batched call per loader
        diseases = [
            (
                DISEASES,
                "/diseases",
                "/diseases?ids=" + ",".join(map(str, disease_ids)),
                world.api("diseases", disease_q, 60, 330),
            )
        ]
        hospitals = [
            (
                HOSPITALS,
                "/hospitals",
                "/hospitals?ids=" + ",".join(map(str, hospital_ids)),
                world.api("hospitals", hospital_q, 70, 380),
            )
        ]
        departments = [
            (
                DEPARTMENTS,
                "/departments",
                "/departments?hospital_ids=" + ",".join(map(str, hospital_ids)),
                world.api("departments", dept_q, 45, 220),
            )
        ]
    # The injected fault: a thread pool that ran dry, so now and then the loaders wait in turn.
    if world.scenario.dataloader_broken or world.injected("sequential", 0.35):
        t = loaded(world, op, t, "disease", "/result/conditions/disease", diseases)
        t = loaded(world, op, t, "hospitals", "/result/hospitals", hospitals)
    else:  # independent loaders dispatched together, as DataLoader does per level
        t = max(
            loaded(world, op, t, "disease", "/result/conditions/disease", diseases),
            loaded(world, op, t, "hospitals", "/result/hospitals", hospitals),
        )
    if world.injected("error", 0.15):  # departments-api fails: GraphQL errors[], page fails
        _, route, url_path, _ = departments[0]
        end = world.http_call(
            op, t, DEPARTMENTS, "GET", route, url_path, pool_timeout(world), status_code=500
        )
        op.status, op.status_message = StatusCode.ERROR, "departments-api returned 500"
        op.events.append(
            (
                end,
                "exception",
                {
                    "exception.type": "graphql.GraphQLException",
                    "exception.message": "Exception while fetching data "
                    "(/result/hospitals[0]/departments)",
                },
            )
        )
        t = end
    else:
        t = loaded(world, op, t, "departments", "/result/hospitals/departments", departments)
    op.end_ns = t + world.lat(6)
    return op.end_ns + world.lat(4)


def simple_bff(
    world: World,
    server: SimSpan,
    t_ns: int,
    name: str,
    calls: list[tuple[Service, str, str, Handler]],
) -> int:
    op = graphql(world, server, t_ns, name, f"query {name}($id: ID!) {{ ... }}")
    op.end_ns = loaded(
        world, op, op.start_ns + world.lat(2), name[0].lower() + name[1:], "/", calls
    ) + world.lat(3)
    return op.end_ns + world.lat(3)


# --- the edge and the frontend -----------------------------------------------------------------
def edge(
    world: World, t_ns: int, method: str, path: str, render: Handler | None, route: str
) -> SimSpan:
    """CDN span (a cache hit when `render` is None), then gateway, web sidecar and server spans."""
    root = SimSpan(CDN, world.pod(CDN), method, SpanKind.SERVER, t_ns, scope=SCOPES["cdn"])
    root.attributes.update(
        {
            "http.request.method": method,
            "url.path": path,
            "url.full": f"https://www.medisearch.example{path}",
            "cdn.cache.status": "HIT" if render is None else "MISS",
        }
    )
    if render is None:
        root.end_ns = t_ns + world.lat(9)
        root.attributes["http.response.status_code"] = 200
        return root
    t = t_ns + world.lat(18)  # edge to origin
    gateway = root.child(GATEWAY, "web.prod.svc.cluster.local:3000/*", SpanKind.SERVER, t)
    gateway.pod = world.pod(GATEWAY)
    gateway.attributes.update(
        {
            "http.method": method,
            "http.url": f"https://www.medisearch.example{path}",
            "upstream_cluster": "outbound|3000||web.prod.svc.cluster.local",
            "component": "proxy",
        }
    )
    sidecar = gateway.child(
        WEB, "web.prod.svc.cluster.local:3000/*", SpanKind.SERVER, t + world.lat(0.6)
    )
    sidecar.service = Service("web.prod", "envoy", WEB.pods)
    sidecar.pod = world.pod(WEB)
    sidecar.scope = SCOPES["envoy"]
    sidecar.attributes.update(
        {"http.method": method, "upstream_cluster": "inbound|3000||", "component": "proxy"}
    )
    server = sidecar.child(
        WEB, f"{method} {route}", SpanKind.SERVER, sidecar.start_ns + world.lat(0.3)
    )
    server.pod = sidecar.pod
    server.scope = SERVER_SCOPES["node"]
    server.attributes.update(
        {
            "http.request.method": method,
            "http.route": route,
            "url.path": path,
            "url.scheme": "http",
            "server.address": "www.medisearch.example",
        }
    )
    server.end_ns = render(server, server.start_ns)
    failed = server.status == StatusCode.ERROR
    code = 500 if failed else 200
    server.attributes["http.response.status_code"] = code
    sidecar.end_ns = server.end_ns + world.lat(0.3)
    gateway.end_ns = sidecar.end_ns + world.lat(0.6)
    root.end_ns = gateway.end_ns + world.lat(15)
    for span, key in (
        (sidecar, "http.status_code"),
        (gateway, "http.status_code"),
        (root, "http.response.status_code"),
    ):
        span.attributes[key] = code
        if failed:
            span.status = StatusCode.ERROR
    return root


def ssr(world: World, query: Callable[[SimSpan, int], int], render_ms: float) -> Handler:
    """A Next.js page: call the BFF's /graphql for data, then render."""

    def handle(server: SimSpan, t_ns: int) -> int:
        t = world.http_call(server, t_ns + world.lat(4), BFF, "POST", "/graphql", "/graphql", query)
        # GraphQL errors[] fail the page; a retried call that later succeeded does not.
        ops = [c for c in _descendants(server) if "graphql.operation.name" in c.attributes]
        if any(op.status == StatusCode.ERROR for op in ops):
            server.status = StatusCode.ERROR
        if world.injected("self_time", 0.35) and server.attributes["http.route"] == "/result/[id]":
            t += world.lat(1100, 0.3)  # a synchronous markdown render of the whole disease text
        return t + world.lat(render_ms, 0.3)

    return handle


def _descendants(span: SimSpan) -> list[SimSpan]:
    out, stack = [], list(span.children)
    while stack:
        s = stack.pop()
        out.append(s)
        stack.extend(s.children)
    return out


# --- one function per route --------------------------------------------------------------------
def result_page(world: World, t_ns: int) -> SimSpan:
    path = f"/result/{world.rng.randrange(10**6, 10**7)}"
    return edge(
        world,
        t_ns,
        "GET",
        path,
        ssr(world, lambda s, t: result_page_bff(world, s, t), 560),
        "/result/[id]",
    )


def home_page(world: World, t_ns: int) -> SimSpan:
    render = None if world.chance(0.7) else (lambda s, t: t + world.lat(70))
    return edge(world, t_ns, "GET", "/", render, "/")


def search_page(world: World, t_ns: int) -> SimSpan:
    term = world.rng.choice(["headache", "fever", "rash", "cough", "nausea"])
    calls = [
        (
            DISEASES,
            "/diseases/search",
            f"/diseases/search?q={term}",
            world.api(
                "diseases", "SELECT id, name FROM diseases WHERE name ILIKE $1 LIMIT 20", 45, 25
            ),
        )
    ]
    return edge(
        world,
        t_ns,
        "GET",
        f"/search?q={term}",
        ssr(world, lambda s, t: simple_bff(world, s, t, "SearchDiseases", calls), 90),
        "/search",
    )


def hospital_page(world: World, t_ns: int) -> SimSpan:
    h = world.rng.randrange(1000, 9999)
    calls = [
        (
            HOSPITALS,
            "/hospitals/{hospital_id}",
            f"/hospitals/{h}",
            world.api("hospitals", "SELECT id, name, lat, lon FROM hospitals WHERE id = $1", 6, 30),
        ),
        (
            DEPARTMENTS,
            "/departments",
            f"/departments?hospital_id={h}",
            world.api(
                "departments",
                "SELECT id, hospital_id, name FROM departments WHERE hospital_id = ANY($1)",
                7,
                25,
            ),
        ),
    ]
    return edge(
        world,
        t_ns,
        "GET",
        f"/hospitals/{h}",
        ssr(world, lambda s, t: simple_bff(world, s, t, "HospitalPage", calls), 140),
        "/hospitals/[id]",
    )


def symptoms_api(world: World, t_ns: int) -> SimSpan:
    """`POST /api/symptoms`: a Next.js API route in front of the .NET symptoms service."""

    def assess(server: SimSpan, t: int) -> int:
        if world.chance(0.25):  # a new pooled connection: .NET traces the lookup, with the name
            dns_ns, _ = world.resolve_ns("symptoms-db.prod.svc.cluster.local", server.pod)
            lookup = server.child(
                SYMPTOMS, "DNS lookup symptoms-db.prod.svc.cluster.local", SpanKind.CLIENT, t
            )
            lookup.scope = "System.Net.NameResolution"
            lookup.attributes["dns.question.name"] = "symptoms-db.prod.svc.cluster.local"
            lookup.end_ns = t = t + dns_ns
        t = world.db(
            server,
            t + world.lat(1),
            "INSERT",
            "assessments",
            "INSERT INTO assessments (id, symptoms, created_at) VALUES ($1, $2, now())",
            9,
        )
        t = world.http_call(
            server,
            t + world.lat(1),
            DISEASES,
            "POST",
            "/diseases/match",
            "/diseases/match",
            world.api("diseases", "SELECT d.id, score FROM match_diseases($1) d", 80, 30),
        )
        return t + world.lat(5)

    def api_route(server: SimSpan, t: int) -> int:
        return world.http_call(
            server, t + world.lat(2), SYMPTOMS, "POST", "/assessments", "/assessments", assess
        ) + world.lat(6)

    return edge(world, t_ns, "POST", "/api/symptoms", api_route, "/api/symptoms")


ROUTES: dict[str, Callable[[World, int], SimSpan]] = {
    "/result/[id]": result_page,
    "/": home_page,
    "/search": search_page,
    "/api/symptoms": symptoms_api,
    "/hospitals/[id]": hospital_page,
}


def simulate(
    scenario: Scenario, rng: random.Random, requests: int, end_ns: int, window_ns: int
) -> list[Request]:
    """`requests` requests arriving over [end_ns - window_ns, end_ns), routes drawn by weight."""
    world = World(scenario, rng)
    starts = sorted(end_ns - window_ns + rng.randrange(window_ns) for _ in range(requests))
    routes = rng.choices(list(ROUTE_WEIGHTS), weights=list(ROUTE_WEIGHTS.values()), k=requests)
    return [
        Request(route, ROUTES[route](world, t)) for route, t in zip(routes, starts, strict=True)
    ]
