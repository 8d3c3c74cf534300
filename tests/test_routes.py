from tests.builders import span, trace
from tracelens.graph import build_tree
from tracelens.model import SpanKind
from tracelens.routes import RouteMatcher, path_template, route_of

SERVER = SpanKind.SERVER
CLIENT = SpanKind.CLIENT


def gateway_trace(route: str):
    #  /*  (gateway root, generic name)
    #    HTTP POST (client)
    #      <route> (server in another service) <- the page users mean
    return trace(
        span(
            "/*",
            0,
            100,
            service="gateway",
            kind=SERVER,
            children=[
                span(
                    "HTTP POST",
                    1,
                    99,
                    service="gateway",
                    kind=CLIENT,
                    children=[
                        span(route, 5, 95, service="travel", kind=SERVER),
                    ],
                ),
            ],
        )
    )


def test_url_paths_become_templates():
    assert path_template("/result/12345/details?x=1") == "/result/{id}/details"
    assert path_template("/u/3f2a9c1e-1111-2222-3333-444455556666") == "/u/{id}"


def test_a_generic_gateway_root_names_the_route_below_it():
    tree = build_tree(gateway_trace("/api/v1/travel/trips/left"))
    name, entry = route_of(tree)
    assert name == "/api/v1/travel/trips/left"
    assert entry.service == "travel"


def test_http_route_attribute_wins_over_the_span_name():
    t = trace(
        span(
            "GET",
            0,
            10,
            kind=SERVER,
            attrs={
                "http.route": "/result/[id]",
                "http.request.method": "GET",
                "url.path": "/result/42",
            },
        )
    )
    assert route_of(build_tree(t))[0] == "GET /result/[id]"


def test_route_substring_matching_ignores_case():
    tree = build_tree(gateway_trace("/api/v1/travel/trips/left"))
    assert RouteMatcher("TRIPS").match(tree) is not None
    assert RouteMatcher("hospitals").match(tree) is None


def test_a_leading_slash_means_the_exact_route():
    tree = build_tree(gateway_trace("/api/v1/travel/trips/left"))
    assert RouteMatcher("/*").match(tree).name == "/*"
    assert RouteMatcher("/api/v1/travel").match(tree) is None
    assert RouteMatcher("/api/v1/travel/trips/left").match(tree).service == "travel"


def test_graphql_operation_names_are_routes():
    t = trace(
        span(
            "query ResultPage",
            0,
            10,
            kind=SERVER,
            attrs={"graphql.operation.name": "ResultPage", "graphql.operation.type": "query"},
        )
    )
    assert RouteMatcher("resultpage").match(build_tree(t)) is not None
