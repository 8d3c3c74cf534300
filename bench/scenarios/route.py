"""One route, `GET /checkout`, as the services behind a small shop would trace it: `checkout(req)`.

    root = checkout(Req(seed, index, t0_ns, active=frozenset({"dns"}), decoy=False, knobs=...))

checkout-web (Node, express; old HTTP semantic conventions) reads the session from redis, loads
the cart (Java, Spring + JDBC/PostgreSQL), fetches a saved product, fans out with Promise.all to
pricing (Go, otelhttp + otelhttptrace, pgx, go-redis), inventory (Python, Flask + PyMySQL),
shipping (.NET, ASP.NET Core + HttpClient) and catalog-graphql (Java DGS), creates a payment
intent (Java, JDBC + OkHttp to a PSP) and publishes a kafka event consumed by analytics-worker.
Each cause in `req.active` changes one thing; `req.decoy` switches on the scenario's decoy.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from bench.scenarios.plan import MS, AttrValue, Node, Req, Svc

SERVER, CLIENT, INTERNAL = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL
PRODUCER, CONSUMER = SpanKind.PRODUCER, SpanKind.CONSUMER
S = 1_000 * MS

WEB = Svc("checkout-web", ("checkout-web-7c9f8d-2x4kq", "checkout-web-7c9f8d-9mzpl"), "nodejs")
CART = Svc("cart-service", ("cart-5b8d6c-hq7tw", "cart-5b8d6c-ld2rn"), "java")
CATALOG = Svc("catalog-service", ("catalog-64f9b-8kd2s",), "go")
RISK = Svc("risk-service", ("risk-scorer-0", "risk-scorer-1"), "python")
PRICING = Svc("pricing-service", ("ip-10-4-1-17", "ip-10-4-2-41", "ip-10-4-3-8"), "go")
INVENTORY = Svc("inventory-service", ("inventory-7d4c9-xw2ft", "inventory-7d4c9-p8zqm"), "python")
SHIPPING = Svc("shipping-service", ("shipping-api-5f6b7-tj4kr",), "dotnet")
GQL = Svc("catalog-graphql", ("catalog-graphql-6c8d9-m2vbn", "catalog-graphql-6c8d9-r7kx4"), "java")
REVIEWS = Svc("reviews-service", ("reviews-7b5c4-9hdtq",), "go")
PAYMENT = Svc("payment-service", ("payments-84c6f-zk3wd", "payments-84c6f-v5n2h"), "java")
ANALYTICS = Svc("analytics-worker", ("analytics-worker-0",), "java", namespace="data")
SKEWED_HOST = PRICING.hosts[1]  # the host whose clock runs ahead in the clock-skew decoy

HTTP_NODE = "@opentelemetry/instrumentation-http"
EXPRESS = "@opentelemetry/instrumentation-express"
IOREDIS = "@opentelemetry/instrumentation-ioredis"
DNS_NODE = "@opentelemetry/instrumentation-dns"
KAFKAJS = "@opentelemetry/instrumentation-kafkajs"
SPRING = "io.opentelemetry.spring-webmvc-6.0"
SPRING_DATA = "io.opentelemetry.spring-data-1.8"
JDBC = "io.opentelemetry.jdbc"
OKHTTP = "io.opentelemetry.okhttp-3.0"
REACTOR = "io.opentelemetry.reactor-netty-1.0"
GRAPHQL = "io.opentelemetry.graphql-java-20.0"
KAFKA = "io.opentelemetry.kafka-clients-2.6"
OTELHTTP = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
HTTPTRACE = "go.opentelemetry.io/contrib/instrumentation/net/http/httptrace/otelhttptrace"
GOREDIS = "github.com/redis/go-redis/extra/redisotel"
PGX = "github.com/exaring/otelpgx"
FLASK = "opentelemetry.instrumentation.flask"
PYMYSQL = "opentelemetry.instrumentation.pymysql"
ASPNET = "Microsoft.AspNetCore"
NET_HTTP = "System.Net.Http"


# --- HTTP on each stack ---------------------------------------------------------------------
def node_client(parent: Node, t_ns: int, method: str, host: str, port: int, path: str) -> Node:
    """@opentelemetry/instrumentation-http with the old semantic conventions (still the default)."""
    return parent.child(
        method,
        CLIENT,
        t_ns,
        scope=HTTP_NODE,
        attrs={
            "http.method": method,
            "http.url": f"http://{host}:{port}{path}",
            "http.target": path,
            "http.host": f"{host}:{port}",
            "net.peer.name": host,
            "net.peer.port": port,
            "http.flavor": "1.1",
            "http.status_code": 200,
        },
    )


def java_client(parent: Node, t_ns: int, method: str, url: str, host: str, scope: str) -> Node:
    """Java agent HTTP clients with the stable HTTP conventions; span named by the method."""
    return parent.child(
        method,
        CLIENT,
        t_ns,
        scope=scope,
        attrs={
            "http.request.method": method,
            "url.full": url,
            "server.address": host,
            "server.port": 443 if url.startswith("https") else 8080,
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
        },
    )


def serve(
    req: Req,
    client: Node,
    svc: Svc,
    method: str,
    route: str,
    path: str,
    start_ns: int,
    *,
    host: str | None = None,
) -> Node:
    """The callee's SERVER span, named and attributed as that service's stack does it."""
    host = host or req.host(svc)
    attrs: dict[str, str | int | float | bool]
    if svc.language == "python":  # Flask, old conventions: the span is named by the URL rule
        name = route
        attrs = {
            "http.method": method,
            "http.target": path,
            "http.route": route,
            "http.scheme": "http",
            "http.server_name": svc.name,
            "net.host.port": 8000,
            "http.flavor": "1.1",
            "http.status_code": 200,
        }
    elif svc.language == "go":  # otelhttp handler named by the route, old conventions
        name = f"{method} {route}"
        attrs = {
            "http.method": method,
            "http.target": path,
            "http.route": route,
            "http.scheme": "http",
            "net.host.name": svc.name,
            "net.host.port": 8080,
            "http.flavor": "1.1",
            "http.status_code": 200,
        }
    elif svc.language == "dotnet":  # ASP.NET Core: route template without the leading slash
        name = f"{method} {route.lstrip('/')}"
        attrs = {
            "http.request.method": method,
            "http.route": route.lstrip("/"),
            "url.path": path.split("?")[0],
            "url.scheme": "http",
            "server.address": svc.name,
            "server.port": 80,
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
        }
    else:  # Java agent (Tomcat / Spring MVC), stable conventions
        name = f"{method} {route}"
        attrs = {
            "http.request.method": method,
            "http.route": route,
            "url.path": path.split("?")[0],
            "url.scheme": "http",
            "server.address": svc.name,
            "server.port": 8080,
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
            "client.address": "10.42.0.1",
        }
        if "?" in path:
            attrs["url.query"] = path.split("?", 1)[1]
    scope = {"python": FLASK, "go": OTELHTTP, "dotnet": ASPNET}.get(svc.language, SPRING)
    return client.child(name, SERVER, start_ns, scope=scope, attrs=attrs, svc=svc, host=host)


def close(req: Req, client: Node, server: Node, end_ns: int, site: str) -> None:
    """The server answers at `end_ns`; the client sees the response one network hop later."""
    server.end_ns = end_ns
    client.end_ns = end_ns + req.ms(f"{site}.net.back", 0.35, 0.4)


def hop(req: Req, site: str) -> int:
    return req.ms(f"{site}.net.out", 0.35, 0.4)


# --- the route ------------------------------------------------------------------------------
def checkout(req: Req) -> Node:
    """The whole request tree of one `GET /checkout`, in true (unskewed) nanoseconds."""
    t0 = req.t0_ns
    root = Node(
        "GET /checkout",
        WEB,
        SERVER,
        t0,
        scope=HTTP_NODE,
        host=req.host(WEB),
        attrs={
            "http.method": "GET",
            "http.target": "/checkout",
            "http.route": "/checkout",
            "http.url": "https://shop.example.com/checkout",
            "http.scheme": "https",
            "http.host": "shop.example.com",
            "net.host.name": "shop.example.com",
            "net.host.port": 8080,
            "http.flavor": "1.1",
            "http.status_code": 200,
            "http.user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        },
    )
    t = _session(req, root, t0 + req.ms("web.accept", 0.15))
    t = _cart(req, root, t)
    if "risk_check" in req.knobs:
        t = _risk(req, root, t)
    t = _saved_products(req, root, t)
    if "item_prices" in req.knobs or "batched_prices" in req.knobs:
        t = _item_prices(req, root, t)
    t = _fanout(req, root, t)
    t = _payment(req, root, t)
    t = _publish(req, root, t)
    root.end_ns = t + req.ms("web.render", 4.0)
    return root


def _session(req: Req, root: Node, t: int) -> int:
    mw = root.child(
        "middleware - session",
        INTERNAL,
        t,
        scope=EXPRESS,
        attrs={"express.type": "middleware", "express.name": "session", "http.route": "/"},
    )
    rt = t + req.ms("web.session.pre", 0.05)
    redis = mw.child(
        "get",
        CLIENT,
        rt,
        rt + req.ms("web.session.redis", 0.6),
        scope=IOREDIS,
        attrs={
            "db.system": "redis",
            "db.statement": f"get sess:{req.hexid('sid', 24)}",
            "net.peer.name": "redis-sessions.shop.svc.cluster.local",
            "net.peer.port": 6379,
        },
    )
    mw.end_ns = redis.end_ns + req.ms("web.session.post", 0.2)
    handler = root.child(
        "request handler - /checkout",
        INTERNAL,
        mw.end_ns,
        scope=EXPRESS,
        attrs={
            "express.type": "request_handler",
            "express.name": "/checkout",
            "http.route": "/checkout",
        },
    )
    handler.end_ns = mw.end_ns + req.ms("web.handler", 0.08)
    return handler.end_ns


def _cart(req: Req, root: Node, t: int) -> int:
    cart_id = f"c-{req.r('cart.id').randrange(10**6, 10**7)}"
    client = node_client(root, t, "GET", "cart-service", 8080, f"/api/carts/{cart_id}")
    server = serve(
        req,
        client,
        CART,
        "GET",
        "/api/carts/{cartId}",
        f"/api/carts/{cart_id}",
        t + hop(req, "cart"),
    )
    s = server.start_ns + req.ms("cart.filters", 0.8)
    repo = server.child(
        "CartRepository.findByCartId",
        INTERNAL,
        s,
        scope=SPRING_DATA,
        attrs={"code.namespace": "com.shop.cart.CartRepository", "code.function": "findByCartId"},
    )
    query_ns = req.ms("cart.query", 25.0)
    if "slow_query_cart" in req.active:  # a missing index after a migration
        query_ns = int(query_ns * req.r("cart.slow").uniform(6.0, 10.0))
    qs = s + req.ms("cart.pool", 0.15)
    repo.child(
        "SELECT shop.cart_items",
        CLIENT,
        qs,
        qs + query_ns,
        scope=JDBC,
        attrs={
            "db.system": "postgresql",
            "db.namespace": "shop",
            "db.query.text": "SELECT ci.sku, ci.qty, ci.unit_price_cents, p.title "
            "FROM cart_items ci JOIN products p ON p.sku = ci.sku WHERE ci.cart_id = ?",
            "db.operation.name": "SELECT",
            "db.collection.name": "cart_items",
            "server.address": "cart-db.shop.svc.cluster.local",
            "server.port": 5432,
        },
    )
    repo.end_ns = qs + query_ns + req.ms("cart.map", 0.3)
    close(req, client, server, repo.end_ns + req.ms("cart.json", 1.5), "cart")
    return client.end_ns


def _risk(req: Req, root: Node, t: int) -> int:
    """A fraud score that costs the same in every request (the baseline decoy)."""
    client = node_client(root, t, "POST", "risk-service", 8000, "/v2/score")
    server = serve(req, client, RISK, "POST", "/v2/score", "/v2/score", t + hop(req, "risk"))
    s = server.start_ns + req.ms("risk.parse", 1.0)
    model = server.child(
        "model.predict",
        INTERNAL,
        s,
        scope="risk.scoring",
        attrs={"model.name": "gbm-fraud", "model.version": "14"},
    )
    model.end_ns = s + req.ms("risk.model", 170.0, 0.12)
    close(req, client, server, model.end_ns + req.ms("risk.post", 0.8), "risk")
    return client.end_ns


def _saved_products(req: Req, root: Node, t: int) -> int:
    """Saved-for-later products, fetched one by one (`for (const id of ids) await ...`)."""
    calls = 1
    if "n_plus_one_http" in req.active:
        calls = req.r("saved.n").randint(200, 400)
    for _ in range(calls):
        pid = req.r("saved.id").randrange(10_000, 99_999)
        client = node_client(root, t, "GET", "catalog-service", 8080, f"/api/products/{pid}")
        server = serve(
            req,
            client,
            CATALOG,
            "GET",
            "/api/products/{id}",
            f"/api/products/{pid}",
            t + hop(req, "saved"),
        )
        close(req, client, server, server.start_ns + req.ms("saved.work", 14.0), "saved")
        t = client.end_ns + req.ms("saved.gap", 0.15, 0.5)
    return t


def _item_prices(req: Req, root: Node, t: int) -> int:
    """Live prices of the cart's items from pricing-service.

    `item_prices`: one GET per item, 6-10 of them, at most 4 at a time (`p-limit(4)`: a GET
    starts when one of the 4 slots is free). Its causes: `lost_async`, the loop lost its
    `Promise.all` and awaits each GET in turn; `n_plus_one_count`, every variant of every item
    is priced, 40-60 GETs one after another. `batched_prices`: one GET for all the skus; its
    cause `n_plus_one_fanout` fans out 25-40 GETs at once instead, through the agent's 6 sockets
    (`maxSockets`): each GET starts at once and waits inside its span for a free socket, as a
    browser's six connections per host make a page's fan-out wait.
    """
    if "batched_prices" in req.knobs and "n_plus_one_fanout" not in req.active:
        skus = [req.r("prices.sku").randrange(100_000, 999_999) for _ in range(30)]
        path = "/v1/prices?skus=" + ",".join(map(str, skus))
        client = node_client(root, t, "GET", "pricing-service", 8080, path)
        server = serve(req, client, PRICING, "GET", "/v1/prices", path, t + hop(req, "prices"))
        close(req, client, server, server.start_ns + req.ms("prices.batch", 30.0), "prices")
        return client.end_ns + req.ms("prices.join", 0.2)
    if "batched_prices" in req.knobs:
        calls, slots, sockets = req.r("prices.fanout.n").randint(25, 40), 0, 6
    elif "n_plus_one_count" in req.active:
        calls, slots, sockets = req.r("prices.variants.n").randint(40, 60), 1, 0
    else:
        calls, slots, sockets = req.r("prices.n").randint(6, 10), 4, 0
        slots = 1 if "lost_async" in req.active else slots
    slot_free = [t] * (slots or calls)  # when each of the limiter's slots is free again
    socket_free = [t] * (sockets or calls)  # ... and each of the agent's sockets
    end = t
    for k in range(calls):
        sku = req.r("prices.sku").randrange(100_000, 999_999)
        path = f"/v1/prices/{sku}"
        slot = min(range(len(slot_free)), key=slot_free.__getitem__)
        issue = slot_free[slot] + req.ms(f"prices.issue{k}", 0.05, 0.5)
        client = node_client(root, issue, "GET", "pricing-service", 8080, path)
        socket = min(range(len(socket_free)), key=socket_free.__getitem__)
        sent = max(issue, socket_free[socket])
        server = serve(req, client, PRICING, "GET", "/v1/prices/{sku}", path, sent + hop(req, "p"))
        close(req, client, server, server.start_ns + req.ms("prices.work", 25.0), f"prices{k}")
        slot_free[slot] = socket_free[socket] = client.end_ns
        end = max(end, client.end_ns)
    return end + req.ms("prices.join", 0.2)


def _fanout(req: Req, root: Node, t: int) -> int:
    """Promise.all over four services; the `sequential` cause awaits them one after another."""
    ends: list[int] = []
    cursor = t
    for k, branch in enumerate((_pricing, _inventory, _shipping, _graphql)):
        start = cursor + req.ms(f"fan.issue{k}", 0.12)
        ends.append(branch(req, root, start))
        cursor = ends[-1] if "sequential" in req.active else start
    return max(ends) + req.ms("fan.join", 0.2)


def _pricing(req: Req, root: Node, t: int) -> int:
    host = SKEWED_HOST if ("clock_skew" in req.knobs and req.decoy) else None
    client = node_client(root, t, "POST", "pricing-service", 8080, "/v1/quote")
    server = serve(
        req, client, PRICING, "POST", "/v1/quote", "/v1/quote", t + hop(req, "pricing"), host=host
    )
    s = server.start_ns + req.ms("pricing.decode", 0.1)
    sku = req.r("pricing.sku").randrange(100_000, 999_999)
    redis = server.child(
        "get",
        CLIENT,
        s,
        s + req.ms("pricing.redis", 0.5),
        scope=GOREDIS,
        attrs={
            "db.system": "redis",
            "db.statement": f"get quote:sku:{sku}",
            "server.address": "redis-pricing",
            "server.port": 6379,
        },
    )
    rules_ns = req.ms("pricing.rules", 3.0, 0.35)
    if "self_time" in req.active:  # promotion rules recompiled per request: CPU, no span
        rules_ns = req.ms("pricing.rules.compile", 380.0, 0.3)
    s = redis.end_ns + rules_ns
    pg = server.child(
        "SELECT price_rules",
        CLIENT,
        s,
        s + req.ms("pricing.pg", 3.0),
        scope=PGX,
        attrs={
            "db.system": "postgresql",
            "db.operation": "SELECT",
            "db.sql.table": "price_rules",
            "db.statement": "SELECT id, kind, amount_cents FROM price_rules "
            "WHERE sku = ANY($1) AND active = true",
            "net.peer.name": "pricing-db",
            "net.peer.port": 5432,
        },
    )
    tax_end = _tax(req, server, pg.end_ns + req.ms("pricing.mid", 0.3))
    close(req, client, server, tax_end + req.ms("pricing.encode", 0.8), "pricing")
    return client.end_ns


def _tax(req: Req, server: Node, t: int) -> int:
    """Go otelhttp client with otelhttptrace sub-spans (getconn ⊃ dns, connect, tls; ...)."""
    zip_code = req.r("tax.zip").randrange(10_000, 99_999)
    client = server.child(
        "HTTP GET",
        CLIENT,
        t,
        scope=OTELHTTP,
        attrs={
            "http.method": "GET",
            "http.url": f"https://api.taxrates.example.com/v2/rates?zip={zip_code}",
            "net.peer.name": "api.taxrates.example.com",
            "http.flavor": "1.1",
            "http.status_code": 200,
        },
    )
    s = t + req.ms("tax.pre", 0.02)
    getconn = client.child(
        "http.getconn",
        CLIENT,
        s,
        scope=HTTPTRACE,
        attrs={"http.host": "api.taxrates.example.com:443"},
    )
    if "keepalive_off" in req.knobs or "connect" in req.active:
        dns_ns = req.ms("tax.dns", 2.0, 0.4)
        if "dns_go" in req.active:  # a lost UDP answer: the resolver waits out its 5 s timeout
            dns_ns += 5 * S * (1 if req.r("tax.dns.timeouts").random() < 0.8 else 2)
        dns = getconn.child(
            "http.dns",
            CLIENT,
            s + 10_000,
            s + 10_000 + dns_ns,
            attrs={"net.host.name": "api.taxrates.example.com", "http.dns.addrs": "203.0.113.24"},
        )
        if "connect" in req.active:  # new connection per request to a far, lossy endpoint
            connect_ns, tls_ns = req.ms("tax.connect.far", 170.0), req.ms("tax.tls.far", 230.0)
        else:
            connect_ns, tls_ns = req.ms("tax.connect", 9.0), req.ms("tax.tls", 14.0)
        cs = dns.end_ns + 20_000
        getconn.child(
            "http.connect",
            CLIENT,
            cs,
            cs + connect_ns,
            attrs={
                "http.conn.start.network": "tcp",
                "http.remote": "203.0.113.24:443",
                "http.conn.done.addr": "203.0.113.24:443",
            },
        )
        ts = cs + connect_ns + 15_000
        getconn.child("http.tls", CLIENT, ts, ts + tls_ns)
        getconn.end_ns = ts + tls_ns + 10_000
        getconn.attrs.update(
            {
                "http.conn.reused": False,
                "http.conn.wasidle": False,
                "http.local": "10.4.2.41:53122",
                "http.remote": "203.0.113.24:443",
            }
        )
    else:
        getconn.end_ns = s + req.ms("tax.getconn", 0.04)
        getconn.attrs.update(
            {
                "http.conn.reused": True,
                "http.conn.wasidle": True,
                "http.conn.idletime": "1.204s",
                "http.remote": "203.0.113.24:443",
            }
        )
    headers = client.child(
        "http.headers", CLIENT, getconn.end_ns, getconn.end_ns + 8_000, scope=HTTPTRACE
    )
    send = client.child(
        "http.send", CLIENT, headers.end_ns, headers.end_ns + 15_000, scope=HTTPTRACE
    )
    receive = client.child("http.receive", CLIENT, send.end_ns, scope=HTTPTRACE)
    receive.end_ns = send.end_ns + req.ms("tax.remote", 40.0, 0.35)
    client.end_ns = receive.end_ns + req.ms("tax.body", 0.3)
    return client.end_ns


def _inventory(req: Req, root: Node, t: int) -> int:
    skus = [
        req.r("inv.skus").randrange(100_000, 999_999)
        for _ in range(req.r("cart.size").randint(1, 5))
    ]
    path = "/inventory/availability?skus=" + ",".join(map(str, skus))
    client = node_client(root, t, "GET", "inventory-service", 8000, path)
    server = serve(
        req, client, INVENTORY, "GET", "/inventory/availability", path, t + hop(req, "inv")
    )
    db: dict[str, AttrValue] = {
        "db.system": "mysql",
        "db.name": "inventory",
        "db.user": "inventory_ro",
        "net.peer.name": "inventory-db.shop.svc.cluster.local",
        "net.peer.port": 3306,
    }
    s = server.start_ns + req.ms("inv.pre", 0.6)
    stock_ns = req.ms("inv.stock", 8.0)
    if "slow_query_stock" in req.active:  # waits on row locks held by a bulk restock job
        stock_ns = req.ms("inv.stock.locked", 520.0, 0.2)
    in_list = ", ".join(["%s"] * len(skus))
    stock = server.child(
        "SELECT",
        CLIENT,
        s,
        s + stock_ns,
        scope=PYMYSQL,
        attrs={
            **db,
            "db.statement": f"SELECT sku, on_hand, reserved FROM stock WHERE sku IN ({in_list})",
        },
    )
    s = stock.end_ns + req.ms("inv.gap", 0.2)
    calls = req.r("inv.items.n").randint(25, 45) if "n_plus_one_db" in req.active else 1
    for _ in range(calls):  # the ORM loads each item by id
        item = server.child(
            "SELECT",
            CLIENT,
            s,
            s + req.ms("inv.items", 7.0, 0.35),
            scope=PYMYSQL,
            attrs={**db, "db.statement": "SELECT * FROM items WHERE id = %s"},
        )
        s = item.end_ns + req.ms("inv.items.gap", 0.25, 0.4)
    close(req, client, server, s + req.ms("inv.render", 25.0), "inv")
    return client.end_ns


def _shipping(req: Req, root: Node, t: int) -> int:
    zip_code = req.r("ship.zip").randrange(10_000, 99_999)
    path = f"/api/shipping/estimate?zip={zip_code}"
    client = node_client(root, t, "GET", "shipping-service", 80, path)
    wait_ns = hop(req, "ship")
    if "queueing" in req.active:  # every Kestrel worker busy: the request waits to be accepted
        wait_ns += req.ms("ship.backlog", 520.0, 0.35)
    server = serve(req, client, SHIPPING, "GET", "/api/shipping/estimate", path, t + wait_ns)
    s = server.start_ns + req.ms("ship.pre", 0.5)
    url = f"https://api.carrier.example.net/v3/rates?dest={zip_code}"
    carrier = server.child(
        "GET",
        CLIENT,
        s,
        scope=NET_HTTP,
        attrs={
            "http.request.method": "GET",
            "url.full": url,
            "server.address": "api.carrier.example.net",
            "server.port": 443,
            "network.protocol.version": "1.1",
            "http.response.status_code": 200,
        },
    )
    if "error" in req.active:  # the carrier's gateway times out upstream and answers 504
        carrier.end_ns = s + int(req.r("ship.carrier.fail").uniform(1.2, 2.8) * S)
        carrier.attrs.update({"http.response.status_code": 504, "error.type": "504"})
        carrier.error = ""
        server.attrs.update({"http.response.status_code": 502, "error.type": "502"})
        server.error = ""
        client.attrs["http.status_code"] = 502
        client.error = ""
    else:
        carrier.end_ns = s + req.ms("ship.carrier", 60.0, 0.35)
    close(req, client, server, carrier.end_ns + req.ms("ship.post", 0.9), "ship")
    return client.end_ns


def _graphql(req: Req, root: Node, t: int) -> int:
    client = node_client(root, t, "POST", "catalog-graphql", 8080, "/graphql")
    server = serve(req, client, GQL, "POST", "/graphql", "/graphql", t + hop(req, "gql"))
    s = server.start_ns + req.ms("gql.parse", 0.7)
    op = server.child(
        "query CheckoutRecommendations",
        INTERNAL,
        s,
        scope=GRAPHQL,
        attrs={
            "graphql.operation.type": "query",
            "graphql.operation.name": "CheckoutRecommendations",
            "graphql.document": "query CheckoutRecommendations($cartId: ID!) "
            "{ recommendations(cartId: $cartId) { id title reviews { rating } } }",
        },
    )
    rs = s + req.ms("gql.validate", 0.3)
    recs = op.child(
        "recommendations",
        INTERNAL,
        rs,
        scope=GRAPHQL,
        attrs={"graphql.field.name": "recommendations", "graphql.field.path": "/recommendations"},
    )
    recs_ns = req.ms("gql.recs", 40.0)
    if "overlap" in req.knobs and req.decoy:  # a cold model cache: long, but not the longest
        recs_ns = req.ms("gql.recs.cold", 330.0, 0.15)
    recs.end_ns = rs + recs_ns
    s = recs.end_ns + req.ms("gql.dispatch", 0.2)
    products = [
        req.r("gql.pids").randrange(1_000, 9_999) for _ in range(req.r("gql.n").randint(20, 40))
    ]
    if "n_plus_one_graphql" in req.active and "no_fetcher_spans" in req.knobs:
        # the agent's default: no data-fetcher spans, so the loads are siblings under the op
        for pid in products:
            s = reviews_call(req, op, s, [pid]) + req.ms("gql.gap", 0.3, 0.4)
    elif "n_plus_one_graphql" in req.active:  # the DataLoader dispatches each load on its own
        for k, pid in enumerate(products):
            field = op.child(
                "reviews",
                INTERNAL,
                s,
                scope=GRAPHQL,
                attrs={
                    "graphql.field.name": "reviews",
                    "graphql.field.path": f"/recommendations/{k}/reviews",
                },
            )
            field.end_ns = reviews_call(req, field, s + 40_000, [pid]) + 30_000
            s = field.end_ns + req.ms("gql.gap", 0.3, 0.4)
    else:  # one batched load for every product
        s = reviews_call(req, op, s, products) + req.ms("gql.gap", 0.3, 0.4)
    op.end_ns = s + req.ms("gql.serialize", 0.8)
    close(req, client, server, op.end_ns + 300_000, "gql")
    return client.end_ns


def reviews_call(req: Req, parent: Node, t: int, product_ids: list[int], db_ms: float = 6.0) -> int:
    """catalog-graphql's call to reviews-service for some products (its DB query takes about
    `db_ms`); returns when the client has the answer."""
    path = "/reviews?productIds=" + ",".join(map(str, product_ids))
    client = java_client(
        parent, t, "GET", f"http://reviews-service:8080{path}", "reviews-service", REACTOR
    )
    server = serve(req, client, REVIEWS, "GET", "/reviews", path, t + hop(req, "rev"))
    s = server.start_ns + req.ms("rev.pre", 0.3)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(product_ids)))
    q = server.child(
        "SELECT reviews",
        CLIENT,
        s,
        s + req.ms("rev.db", db_ms),
        scope=PGX,
        attrs={
            "db.system": "postgresql",
            "db.operation": "SELECT",
            "db.sql.table": "reviews",
            "db.statement": "SELECT product_id, avg(rating) FROM reviews "
            f"WHERE product_id IN ({placeholders}) GROUP BY product_id",
            "net.peer.name": "reviews-db",
            "net.peer.port": 5432,
        },
    )
    close(req, client, server, q.end_ns + req.ms("rev.post", 0.5), "rev")
    return client.end_ns


def _payment(req: Req, root: Node, t: int) -> int:
    client = node_client(root, t, "POST", "payment-service", 8080, "/v1/payment-intents")
    # the payments agent has keepAlive off, so every request resolves the name again; the
    # lookup runs inside http.request(), under the client span (the hostname is not recorded)
    ls = t + req.ms("pay.lookup.pre", 0.08)
    lookup_ns = req.ms("pay.dns", 1.1, 0.4)
    if "dns" in req.active:  # conntrack race drops the A answer: a 5 s resolver timeout (or two)
        lookup_ns += 5 * S * (1 if req.r("pay.dns.timeouts").random() < 0.8 else 2)
    lookup = client.child(
        "dns.lookup",
        CLIENT,
        ls,
        ls + lookup_ns,
        scope=DNS_NODE,
        attrs={"peer.ipv4": "10.43.18.201"},
    )
    start = lookup.end_ns + req.ms("pay.tcp", 0.5) + hop(req, "pay")
    server = serve(
        req, client, PAYMENT, "POST", "/v1/payment-intents", "/v1/payment-intents", start
    )
    s = server.start_ns + req.ms("pay.filters", 1.0)
    pm_ns = req.ms("pay.methods", 30.0)
    if "slow_query_payment" in req.active:  # the planner switched to a sequential scan
        pm_ns = int(pm_ns * req.r("pay.methods.slow").uniform(6.0, 10.0))
    jdbc: dict[str, AttrValue] = {
        "db.system": "postgresql",
        "db.namespace": "payments",
        "server.address": "payments-db.shop.svc.cluster.local",
        "server.port": 5432,
    }
    pm = server.child(
        "SELECT payments.payment_methods",
        CLIENT,
        s,
        s + pm_ns,
        scope=JDBC,
        attrs={
            **jdbc,
            "db.operation.name": "SELECT",
            "db.collection.name": "payment_methods",
            "db.query.text": "SELECT pm.id, pm.brand, pm.last4 FROM payment_methods "
            "pm WHERE pm.customer_id = ? ORDER BY pm.created_at DESC LIMIT ?",
        },
    )
    s = pm.end_ns + req.ms("pay.build", 0.6)
    failures = 0
    if "retry" in req.active:  # the PSP drops requests: read timeout, backoff, try again
        failures = 1 if req.r("pay.retry").random() < 0.75 else 2
    url = "https://api.psp.example.com/v1/payment_intents"
    for attempt in range(failures + 1):
        call = java_client(server, s, "POST", url, "api.psp.example.com", OKHTTP)
        if attempt:
            call.attrs["http.request.resend_count"] = attempt
        if attempt < failures:
            call.end_ns = s + 1_500 * MS + req.ms("pay.psp.timeout", 0.4)
            del call.attrs["http.response.status_code"]
            call.attrs["error.type"] = "java.net.SocketTimeoutException"
            call.fail("", call.end_ns, "java.net.SocketTimeoutException", "Read timed out")
            s = call.end_ns + req.ms(f"pay.backoff{attempt}", 200.0 * 2**attempt, 0.2)
        else:
            call.end_ns = s + req.ms("pay.psp", 70.0, 0.25)
            s = call.end_ns
    ins = s + req.ms("pay.persist", 0.4)
    ins_end = ins + req.ms("pay.insert", 4.0)
    server.child(
        "INSERT payments.payment_intents",
        CLIENT,
        ins,
        ins_end,
        scope=JDBC,
        attrs={
            **jdbc,
            "db.operation.name": "INSERT",
            "db.collection.name": "payment_intents",
            "db.query.text": "INSERT INTO payment_intents (id, cart_id, "
            "amount_cents, currency, psp_ref) VALUES (?, ?, ?, ?, ?)",
        },
    )
    close(req, client, server, ins_end + req.ms("pay.post", 1.2), "pay")
    return client.end_ns


def _publish(req: Req, root: Node, t: int) -> int:
    """kafkajs producer; the analytics consumer is a CONSUMER child of it, off the request path."""
    key = f"c-{req.r('cart.id').randrange(10**6, 10**7)}"
    send = root.child(
        "checkout-events publish",
        PRODUCER,
        t,
        scope=KAFKAJS,
        attrs={
            "messaging.system": "kafka",
            "messaging.destination.name": "checkout-events",
            "messaging.operation": "publish",
            "messaging.kafka.message.key": key,
        },
    )
    send.end_ns = t + req.ms("pub.send", 1.8, 0.35)
    cs = send.end_ns + req.ms("pub.lag", 12.0, 0.5)
    consume = send.child(
        "checkout-events process",
        CONSUMER,
        cs,
        scope=KAFKA,
        svc=ANALYTICS,
        host=req.host(ANALYTICS),
        attrs={
            "messaging.system": "kafka",
            "messaging.destination.name": "checkout-events",
            "messaging.operation": "process",
            "messaging.kafka.consumer.group": "analytics",
            "messaging.kafka.destination.partition": req.r("pub.p").randrange(0, 12),
            "messaging.kafka.message.offset": 1_000_000 + req.index,
        },
    )
    consume.links.append(send)
    insert_ns = req.ms("pub.insert", 9.0, 0.4)
    if "async_backlog" in req.knobs and req.decoy:  # ClickHouse throttles inserts: huge, but async
        insert_ns = req.ms("pub.insert.throttled", 4_500.0, 0.3)
    ins = cs + 200_000
    consume.child(
        "INSERT analytics.checkout_views",
        CLIENT,
        ins,
        ins + insert_ns,
        scope=JDBC,
        attrs={
            "db.system": "clickhouse",
            "db.namespace": "analytics",
            "db.query.text": "INSERT INTO checkout_views (cart_id, ts, items) VALUES",
            "server.address": "clickhouse.data.svc.cluster.local",
            "server.port": 8123,
        },
    )
    consume.end_ns = ins + insert_ns + 300_000
    return send.end_ns
