"""Fuzzing: the whole HTTP API from its own OpenAPI description (schemathesis: every operation,
generated valid and invalid parameters and bodies), and the ``query`` parameter of ``/sparql``
with generated strings (hypothesis: random text, and token soup from SPARQL's own vocabulary),
by GET, form POST and direct POST. Never a 5xx -- the one 5xx allowed is the designed answer to
a query stopped at the timeout (503 ``QueryTimeout``), counted -- and never a crash: the server
answers a plain query after every case.

Through ASGI on the session's build (embedded store), with a 3 s query timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.reliability import FIGURES
from support.web_server import web_pool, web_settings, web_store  # noqa: F401  (fixtures)

from cpbkg.config import Settings
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import LoadedStore
from cpbkg.web.app import create_app

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402 (after importorskip: a missing package skips the module)
from hypothesis import strategies as st  # noqa: E402

#: examples per operation of the OpenAPI description (about 60 operations)
API_EXAMPLES = 12
#: generated queries per route
QUERY_EXAMPLES = 120
TIMEOUTS: list[str] = []


@pytest.fixture(scope="module")
def fuzz_app(web_settings: Settings, web_store: LoadedStore, web_pool: QueryPool) -> Any:  # noqa: F811
    return create_app(web_settings.with_(query_timeout=3.0), store=web_store, pool=web_pool)


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app: Any) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as c:
        yield c


def judge(status: int, text: str, what: str) -> None:
    """No 5xx but a query stopped at the timeout (designed, counted)."""
    FIGURES.request()
    FIGURES.bad_input("fuzz")
    if status == 503 and "QueryTimeout" in text:
        TIMEOUTS.append(what)
        return
    assert status < 500, (what, status, text[:500])
    assert "Traceback" not in text


api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
@settings(max_examples=API_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_from_its_openapi_description(case: Any, fuzz_client: TestClient) -> None:
    response = case.call()
    judge(response.status_code, response.text, f"{case.method} {case.formatted_path} {case.query!r}"[:300])


# --------------------------------------------------------------------------- the query parameter

KEYWORDS = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH",
            "SERVICE", "BIND", "VALUES", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET", "DISTINCT", "REDUCED",
            "FROM", "FROM NAMED", "PREFIX", "BASE", "AS", "COUNT", "SUM", "REGEX", "STR", "LANG", "CONCAT",
            "SUBSTR", "IRI", "BNODE", "EXISTS", "NOT", "IN", "a", "INSERT DATA", "DELETE", "LOAD", "CLEAR", "*",
            "LIMIT 3", "true", "false", "NOW()", "RAND()"]
PUNCT = ["{", "}", "(", ")", "[", "]", ".", ";", ",", "|", "/", "^", "+", "?", "!", "=", "!=", "<", ">", "&&",
         "||", "*", "-", "@en", "^^", "'", '"', "#", "\n", " "]
TERMS = ["?s", "?p", "?o", "?x", "$y", "_:b", "<https://w3id.org/cpbkg/id/goal/A.1>", "<http://127.0.0.1:9/x>",
         "skos:notation", "cpb:Goal", "rdf:type", '"A.1"', "'x'", '"""long\nstring"""', "1", "1.5", "-2e3",
         "<file:///etc/passwd>", "<>", "<relative>", '"\\u0000"', "ex:", ":"]
PREFIXES = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX cpb: <https://w3id.org/cpbkg/ontology#> "
            "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> ")
soup = st.lists(st.sampled_from(KEYWORDS + PUNCT + TERMS), min_size=1, max_size=40).map(" ".join)
shaped = st.builds(lambda form, body, tail: f"{PREFIXES}{form} {{ {body} }} {tail}",
                   st.sampled_from(["SELECT *", "SELECT ?s", "ASK", "CONSTRUCT", "DESCRIBE ?s", "SELECT (COUNT(*) AS ?n)"]),
                   soup, st.sampled_from(["", "LIMIT 5", "LIMIT 1000000", "OFFSET 7", "ORDER BY ?s LIMIT 2"]))
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
queries = st.one_of(text, soup, shaped)


def _alive(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/json"})
    FIGURES.request()
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("route", ["GET", "POST form", "POST query"])
def test_generated_queries_never_give_a_5xx(fuzz_client: TestClient, route: str) -> None:
    @settings(max_examples=QUERY_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(query=queries, fmt=st.sampled_from([None, "json", "xml", "csv", "tsv", "ttl", "jsonld", "html", "x"]))
    def one(query: str, fmt: str | None) -> None:
        params = {"format": fmt} if fmt else {}
        if route == "GET":
            r = fuzz_client.get("/sparql", params={"query": query, **params})
        elif route == "POST form":
            r = fuzz_client.post("/sparql", data={"query": query, **params})
        else:
            r = fuzz_client.post("/sparql", params=params, content=query.encode("utf-8"),
                                 headers={"Content-Type": "application/sparql-query"})
        judge(r.status_code, r.text, f"{route} {query!r}"[:300])

    one()
    _alive(fuzz_client)


def test_generated_bytes_in_a_post_never_give_a_5xx(fuzz_client: TestClient) -> None:
    @settings(max_examples=QUERY_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=st.binary(max_size=400), ctype=st.sampled_from(
        ["application/sparql-query", "application/x-www-form-urlencoded", "application/sparql-query; charset=utf-8",
         "text/plain", "application/sparql-update", ""]))
    def one(body: bytes, ctype: str) -> None:
        r = fuzz_client.post("/sparql", content=body, headers={"Content-Type": ctype} if ctype else {})
        judge(r.status_code, r.text, f"POST {ctype} {body!r}"[:300])

    one()
    _alive(fuzz_client)


def test_timeouts_seen_while_fuzzing_were_few() -> None:
    """A generated query may be expensive (a cross product); a handful of timeouts is the design
    working, not a failure. Many would mean the generator or the engine changed."""
    assert len(TIMEOUTS) <= 10, TIMEOUTS[:10]
