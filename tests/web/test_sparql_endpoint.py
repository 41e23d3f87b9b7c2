"""The SPARQL 1.1 Protocol endpoint ``/sparql`` over real HTTP (uvicorn on a loopback port), on the
session's build: the three ways to send a query, the dataset parameters, every answer format
(parsed back, not just looked at), negotiation with q-values and ``format=``, the error statuses
(400 with line and column, 406, 413, 415, 422), refusals (updates by both routes, LOAD, SERVICE
-- also written the tricky ways pyoxigraph accepts), no outbound requests, the timeout while
others are still answered, the result cap, caching validators, CORS, gzip, the service
description, the OpenAPI description, and the W3C protocol conformance runner.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from support.conformance import RUNNER, run_conformance
from support.reliability import ENGINE_PANIC
from support.web_server import Canary, backend_of, make_live

from bench.soak import big_query
from cpbkg.config import Settings
from cpbkg.errors import (
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ResultTooLarge,
    ServerBusy,
    WorkerCrashed,
)
from cpbkg.sparql.cache import ResponseCache
from cpbkg.sparql.execute import Answer, Job
from cpbkg.sparql.lexer import check, describe_syntax_error, scan
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import LoadedStore

PREFIXES = """PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
GOALS = PREFIXES + "SELECT ?goal ?code WHERE { ?goal a cpb:Goal ; skos:notation ?code } ORDER BY ?code"
GOAL_A1 = "https://w3id.org/cpbkg/id/goal/A.1"
DESCRIBE_A1 = f"CONSTRUCT {{ <{GOAL_A1}> ?p ?o }} WHERE {{ <{GOAL_A1}> ?p ?o }}"
JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def web(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=30) as c:
        yield c


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    """SPARQL JSON results as [{var: value}]."""
    doc = response.json()
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


def goal_codes(store: LoadedStore) -> list[str]:
    return sorted(s["code"].value for s in store.store.query(GOALS, use_default_graph_as_union=True))


# --------------------------------------------------------------------------- the lexer (no server)


@pytest.mark.parametrize("text", [
    "SELECT * { SERVICE <http://example.org/> { ?s ?p ?o } }",
    "SELECT * { ?s ?p 1SERVICE <http://example.org/> {} }",
    "SELECT * { ?s ?p ?o .SERVICE <http://example.org/> {} }",
    "PREFIX : <http://example.org/> SELECT * { SERVICE:x {} }",
    'SELECT * { ?s ?p "x"SERVICE<http://example.org/>{} }',
    "SELECT * { ?s ?p trueSERVICE <http://example.org/> {} }",
    "SELECT * { ?s ?p 1e1SERVICE <http://example.org/> {} }",
    "SELECT * { FILTER(?a<?b)SERVICE<http://example.org/>{} }",
    "SELECT * { BIND(1 AS ?x)SERVICE SILENT <http://example.org/> {} }",
    "SELECT * { ?s ?p ?o # comment\n sErViCe <http://example.org/> {} }",
    "PREFIX ex: <http://example.org/> SELECT * { ?s ?p ex:o\\#x SERVICE <http://example.org/> {} }",
])
def test_service_is_found_however_it_is_written(text: str) -> None:
    """Every one of these makes pyoxigraph fetch the URL (checked when this list was made)."""
    assert scan(text).has_service
    with pytest.raises(QueryRefused, match="SERVICE"):
        check(text)


@pytest.mark.parametrize("text", [
    'SELECT * { ?s ?p "SERVICE <http://example.org/> {}" }',
    "SELECT * { ?s ?p '''multi\nSERVICE\nline''' }",
    "SELECT * { ?s ?p <http://example.org/SERVICE> }",
    "SELECT * { ?s ?p ?o } # SERVICE <http://example.org/>",
    "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT ?s { ?s a sd:Service ; sd:endpoint ?e }",
    "SELECT ?service { ?service ?p ?o }",
    "SELECT * { ?s ?p _:service }",
])
def test_no_false_service(text: str) -> None:
    assert not scan(text).has_service
    check(text)


@pytest.mark.parametrize("text, form", [
    ("INSERT DATA { <http://a> <http://b> <http://c> }", "insert"),
    ("PREFIX insert: <http://x/> DELETE WHERE { ?s ?p ?o }", "delete"),
    ("LOAD <http://example.org/data.ttl>", "load"),
    ("CLEAR ALL", "clear"),
    ("# a comment with SELECT\nDROP GRAPH <http://g>", "drop"),
    ("WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "with"),
])
def test_updates_are_recognised(text: str, form: str) -> None:
    assert scan(text).form == form
    with pytest.raises(QueryRefused, match="LOAD|updates are not allowed"):
        check(text)


def test_scan_sees_form_from_and_volatile() -> None:
    assert scan("PREFIX select: <http://x/> ASK { ?s select:p ?o }").form == "ask"
    assert scan("SELECT * FROM <http://g> { ?s ?p ?o }").has_from
    assert scan("SELECT*FROM NAMED<http://g>{GRAPH ?g{?s ?p ?o}}").has_from
    assert not scan("PREFIX from: <http://x/> SELECT * { ?s from:p ?o }").has_from
    assert scan("SELECT (RAND() AS ?r) {}").volatile and not scan("SELECT ?random {}").volatile
    assert scan("SELECT  ?s\n# c\n{ ?s ?p  'a  b' }").normalised == "SELECT ?s { ?s ?p 'a  b' }"


def test_answer_cache_is_an_lru_with_a_byte_budget() -> None:
    cache = ResponseCache(4000)
    for n in range(5):
        cache.put(("q", n), Answer("solutions", "json", bytes(700)))
    assert len(cache) == 4 and cache.size <= 4000 and cache.get(("q", 0)) is None  # the oldest went
    assert cache.get(("q", 1)) is not None  # now the most recent
    cache.put(("q", 5), Answer("solutions", "json", bytes(700)))
    assert cache.get(("q", 1)) is not None and cache.get(("q", 2)) is None
    cache.put(("big",), Answer("solutions", "json", bytes(2000)))  # over a quarter of the budget: not kept
    assert cache.get(("big",)) is None
    assert ResponseCache(0).get(("q", 1)) is None


def test_syntax_error_message_is_readable() -> None:
    message = describe_syntax_error("SELECT ?x WHERE {\n  ?x ?y ?z .\n  FILTER(?x = \n}",
                                    "error at 4:1: expected one of COALESCE, CONTAINS, [_], isTriple")
    assert message.startswith("syntax error at line 4, column 1: expected one of COALESCE, CONTAINS, isTriple")
    assert message.endswith("\n  }\n  ^")


def test_text_after_a_whole_query_is_named_so(web: httpx.Client) -> None:
    """pyoxigraph says only ``expected [_]``, at the end of the text: the client is told what that means."""
    r = web.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s ?p ?o\n} LIMIT 3 }"})
    assert r.status_code == 400
    assert "syntax error at line 3, column 12: text after a complete query" in r.text, r.text


# --------------------------------------------------------------------------- sending a query


def test_get_post_form_and_post_direct_agree(web: httpx.Client, web_store: LoadedStore) -> None:
    expected = goal_codes(web_store)
    assert len(expected) == 14
    answers = [
        web.get("/sparql", params={"query": GOALS}, headers={"Accept": JSON}),
        web.post("/sparql", data={"query": GOALS}, headers={"Accept": JSON}),
        web.post("/sparql", content=GOALS.encode(), headers={"Content-Type": "application/sparql-query", "Accept": JSON}),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == JSON
        assert sorted(row["code"] for row in rows_of(r)) == expected


def test_default_graph_is_the_union_and_protocol_dataset_selects_graphs(web: httpx.Client) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    plan = "https://w3id.org/cpbkg/graph/plan"
    in_plan = int(rows_of(web.get("/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{plan}> {{ ?s ?p ?o }} }}"}))[0]["n"])
    union = int(rows_of(web.get("/sparql", params={"query": count}))[0]["n"])
    assert 0 < in_plan < union
    r = web.get("/sparql", params={"query": count, "default-graph-uri": plan})
    assert int(rows_of(r)[0]["n"]) == in_plan
    r = web.get("/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) FROM <{plan}> WHERE {{ ?s ?p ?o }}"})
    assert int(rows_of(r)[0]["n"]) == in_plan
    # the protocol's dataset overrides FROM; named-graph-uri limits GRAPH
    r = web.post("/sparql", params={"named-graph-uri": plan},
                  content=b"SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                  headers={"Content-Type": "application/sparql-query"})
    assert [row["g"] for row in rows_of(r)] == [plan]
    # a graph that is not in the store is empty, and is not fetched
    r = web.get("/sparql", params={"query": count, "default-graph-uri": "http://example.org/not-a-graph"})
    assert rows_of(r)[0]["n"] == "0"


@pytest.fixture()
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


def test_nothing_is_fetched(web: httpx.Client, canary: Canary) -> None:
    for query in (f"SELECT * FROM <{canary.url}> WHERE {{ ?s ?p ?o }}",
                  f"SELECT * FROM NAMED <{canary.url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
                  f"SELECT * WHERE {{ SERVICE <{canary.url}> {{ ?s ?p ?o }} }}",
                  f"SELECT * WHERE {{ ?s ?p ?o }} VALUES ?x {{ 1 }} # {canary.url}"):
        web.get("/sparql", params={"query": query})
    r = web.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "default-graph-uri": canary.url})
    assert r.json()["boolean"] is False
    time.sleep(0.2)
    assert canary.hits == []


# --------------------------------------------------------------------------- answer formats


def parse_results(r: httpx.Response) -> list[dict[str, str]]:
    """Any of the four results formats, parsed back into [{var: lexical value}]."""
    media = r.headers["content-type"].split(";")[0]
    if media == "text/csv":
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(io.StringIO(r.text))]
    fmt = {JSON: ox.QueryResultsFormat.JSON, XML: ox.QueryResultsFormat.XML,
           "text/tab-separated-values": ox.QueryResultsFormat.TSV}[media]
    solutions = ox.parse_query_results(r.content, format=fmt)
    names = [v.value for v in solutions.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]


@pytest.mark.parametrize("accept, media", [
    (JSON, JSON), (XML, XML), ("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/json", JSON), ("application/xml", XML), (None, JSON), ("*/*", JSON),
    ("text/*", "text/csv"),
])
def test_select_in_every_results_format(web: httpx.Client, web_store: LoadedStore, accept: str | None,
                                        media: str) -> None:
    r = web.get("/sparql", params={"query": GOALS}, headers={"Accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert "accept" in r.headers["vary"].lower()
    assert sorted(row["code"] for row in parse_results(r)) == goal_codes(web_store)


@pytest.mark.parametrize("accept, media", [
    ("application/sparql-results+xml;q=0.5, application/sparql-results+json;q=0.9", JSON),
    ("application/sparql-results+json;q=0.2, application/sparql-results+xml", XML),
    ("text/csv, application/sparql-results+json;q=0.5", "text/csv"),
    ("*/*;q=0.1, text/tab-separated-values", "text/tab-separated-values"),
    ("*/*, application/sparql-results+json;q=0", XML),
    ("Application/SPARQL-Results+JSON", JSON),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
])
def test_q_values(web: httpx.Client, accept: str, media: str) -> None:
    r = web.get("/sparql", params={"query": GOALS}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    if media == "text/html":
        assert "<table>" in r.text and "goal/A.1" in r.text


def test_format_parameter_overrides_accept(web: httpx.Client, web_store: LoadedStore) -> None:
    for value, media in (("csv", "text/csv"), ("tsv", "text/tab-separated-values"), ("xml", XML),
                         ("json", JSON), ("text/csv", "text/csv")):
        r = web.get("/sparql", params={"query": GOALS, "format": value}, headers={"Accept": JSON})
        assert r.headers["content-type"].split(";")[0] == media, value
        assert sorted(row["code"] for row in parse_results(r)) == goal_codes(web_store)
    r = web.post("/sparql", data={"query": GOALS, "format": "tsv"})
    assert r.headers["content-type"].startswith("text/tab-separated-values")


@pytest.mark.parametrize("accept, fmt", [
    ("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/ld+json", ox.RdfFormat.JSON_LD), ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/trig", ox.RdfFormat.TRIG), ("application/n-quads", ox.RdfFormat.N_QUADS),
    (None, ox.RdfFormat.TURTLE), ("text/plain", ox.RdfFormat.N_TRIPLES),
])
def test_construct_in_every_graph_format(web: httpx.Client, web_store: LoadedStore, accept: str | None,
                                         fmt: ox.RdfFormat) -> None:
    expected = {str(t) for t in web_store.store.query(DESCRIBE_A1, use_default_graph_as_union=True)}
    r = web.get("/sparql", params={"query": DESCRIBE_A1}, headers={"Accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == (fmt.media_type if accept != "text/plain" else "application/n-triples")
    got = {str(ox.Triple(q.subject, q.predicate, q.object)) for q in ox.parse(r.content, format=fmt)}
    assert got == expected and len(got) > 5


def test_construct_formats_by_name_and_rdflib_reads_turtle(web: httpx.Client) -> None:
    for name, media in (("ttl", "text/turtle"), ("nt", "application/n-triples"), ("jsonld", "application/ld+json"),
                        ("rdfxml", "application/rdf+xml"), ("trig", "application/trig"), ("nq", "application/n-quads"),
                        ("json", "application/ld+json"), ("xml", "application/rdf+xml")):
        r = web.get("/sparql", params={"query": DESCRIBE_A1, "format": name})
        assert r.headers["content-type"].split(";")[0] == media, name
    g = rdflib.Graph().parse(data=web.get("/sparql", params={"query": DESCRIBE_A1, "format": "ttl"}).text,
                             format="turtle")
    assert (rdflib.URIRef(GOAL_A1), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/cpbkg/ontology#Goal")) in g


def test_describe_and_ask(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": f"DESCRIBE <{GOAL_A1}>"}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and len(list(ox.parse(r.content, format=ox.RdfFormat.TURTLE))) > 5
    for query, expected in ((f"ASK {{ <{GOAL_A1}> ?p ?o }}", True), ("ASK { <http://example.org/none> ?p ?o }", False)):
        for accept in (JSON, XML):
            r = web.get("/sparql", params={"query": query}, headers={"Accept": accept})
            assert r.headers["content-type"] == accept
            assert bool(ox.parse_query_results(r.content, format=ox.QueryResultsFormat.from_media_type(accept))) is expected


# --------------------------------------------------------------------------- errors


def test_malformed_query_is_400_with_line_and_column(web: httpx.Client) -> None:
    bad = "SELECT ?x WHERE {\n  ?x ?y ?z .\n  FILTER(?x = \n}"
    for r in (web.get("/sparql", params={"query": bad}),
              web.post("/sparql", data={"query": bad}),
              web.post("/sparql", content=bad, headers={"Content-Type": "application/sparql-query"})):
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("text/plain")
        assert re.search(r"syntax error at line 4, column \d+: expected one of", r.text)
        assert "Traceback" not in r.text
    r = web.get("/sparql", params={"query": "SELECT * WHERE { ?s nope:p ?o }"})
    assert r.status_code == 400 and "undefined prefix 'nope:'" in r.text
    r = web.get("/sparql", params={"query": "SELECT * WHERE {"}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "QuerySyntaxError"
    assert web.get("/sparql", params={"query": "   "}).status_code == 400
    r = web.get("/sparql", params=[("query", "ASK {}"), ("query", "SELECT * {}")])
    assert r.status_code == 400 and "one query" in r.text


def test_a_long_query(web: httpx.Client) -> None:
    """Over 4 kB the query is lexed in a thread; the answer is the same."""
    long = GOALS + "\n" + "# padding\n" * 3000
    r = web.post("/sparql", content=long, headers={"Content-Type": "application/sparql-query", "Accept": JSON})
    assert r.status_code == 200 and len(rows_of(r)) == 14
    r = web.get("/sparql", params={"query": long})
    assert r.status_code == 200 and len(rows_of(r)) == 14


def test_unknown_function_is_422_not_400(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": "SELECT (<http://example.org/fn>(1) AS ?x) {}"})
    assert r.status_code == 422 and "QueryFailed" in r.text


def test_updates_are_refused_by_every_route(web: httpx.Client, web_store: LoadedStore) -> None:
    insert = "INSERT DATA { <http://example.org/probe> <http://example.org/p> 1 }"
    answers = [
        web.get("/sparql", params={"update": insert}),
        web.post("/sparql", data={"update": insert}),
        web.post("/sparql", content=insert, headers={"Content-Type": "application/sparql-update"}),
        web.post("/sparql", content=insert, headers={"Content-Type": "application/sparql-query"}),
        web.get("/sparql", params={"query": insert}),
        web.post("/sparql", data={"query": "CLEAR ALL"}),
        web.post("/sparql", params={"update": insert}, data={"query": "ASK {}"}),
    ]
    for r in answers:
        assert r.status_code == 400, r.text
        assert "updates are not allowed on this endpoint" in r.text
    r = web.get("/sparql", params={"query": "LOAD <http://example.org/x.ttl>"})
    assert r.status_code == 400 and "LOAD is refused" in r.text
    ask = "ASK { <http://example.org/probe> ?p ?o }"
    assert web.get("/sparql", params={"query": ask}).json()["boolean"] is False
    assert not bool(web_store.store.query(ask, use_default_graph_as_union=True))


def test_service_is_refused_with_a_clear_message(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert r.status_code == 400 and "SERVICE (federated query) is refused" in r.text
    ok = 'SELECT ?s WHERE { ?s ?p "SERVICE <http://example.org/> {}" } # SERVICE'
    assert web.get("/sparql", params={"query": ok}).status_code == 200


def test_406_415_413(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": GOALS}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and "json, xml, csv or tsv" in r.text
    assert web.get("/sparql", params={"query": GOALS}, headers={"Accept": "text/turtle"}).status_code == 406
    assert web.get("/sparql", params={"query": DESCRIBE_A1}, headers={"Accept": JSON}).status_code == 406
    assert web.get("/sparql", params={"query": GOALS, "format": "ttl"}).status_code == 406
    assert web.get("/sparql", params={"query": GOALS, "format": "png"}).status_code == 400
    for headers, body in (({"Content-Type": "text/plain"}, b"ASK {}"), ({}, b"ASK {}"), ({}, b"query=ASK%20%7B%7D"),
                          ({"Content-Type": "application/sparql-query; charset=UTF-16"}, "ASK {}".encode("utf-16")),
                          ({"Content-Type": "application/json"}, b'{"query": "ASK {}"}')):
        r = web.post("/sparql", content=body, headers=headers)
        assert r.status_code == 415, (headers, r.text)
    assert web.put("/sparql", params={"query": "ASK {}"}).status_code == 405
    big = "ASK {}" + " " * (64 * 1024)
    r = web.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    r = web.post("/sparql", data={"query": big})
    assert r.status_code == 413
    r = web.post("/sparql", content=b"ASK {} \xff", headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400 and "UTF-8" in r.text


def test_result_cap(web: httpx.Client, web_settings: Settings, web_store: LoadedStore) -> None:
    cap = web_settings.result_cap
    # queries without a LIMIT whose answers pass the cap but stay small: through Virtuoso, the whole
    # graph's SELECT * takes its JSON writer 4.1-4.2 s on a quiet machine (55,939 rows, 16.8 MB;
    # 2026-12-07), against this app's 5 s query limit, and a loaded machine turned the 422 into the
    # timeout's 503; the typed nodes take it under 0.4 s (1.3 MB), their CONSTRUCT under 0.1 s
    typed = "SELECT ?s ?c WHERE { ?s a ?c }"
    assert len(list(web_store.store.query(typed, use_default_graph_as_union=True))) > cap
    r = web.get("/sparql", params={"query": typed})
    assert r.status_code == 422 and f"more than {cap} rows" in r.text
    r = web.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s a ?c }"})
    assert r.status_code == 422 and f"more than {cap} triples" in r.text
    r = web.get("/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {cap}", "format": "tsv"})
    assert r.status_code == 200 and len(r.text.rstrip("\n").split("\n")) == cap + 1
    assert web.get("/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {cap + 1}"}).status_code == 422


# --------------------------------------------------------------------------- streamed answers


@pytest.fixture(scope="module")
def whole(web_settings: Settings, web_store: LoadedStore) -> Iterator[tuple[str, QueryPool]]:
    """A server with the default bounds (no row cap): answers of any size stream back whole."""
    server, pool = make_live(web_settings.with_(result_cap=0, result_bytes=Settings().result_bytes), web_store,
                             size=2)
    yield server.url, pool
    server.stop()
    pool.close()


def count(url: str, query: str) -> int:
    r = httpx.get(url + "/sparql", params={"query": query}, timeout=60)
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def raw_get(url: str, params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, dict[str, str],
                                                                                               bytes, str | None]:
    """(status, headers, body, error) of a GET read with the standard library's HTTP client, which
    raises IncompleteRead when a chunked body ends without its last chunk."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.request("GET", "/sparql?" + urlencode(params), headers=headers or {})
        r = conn.getresponse()
        try:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(), None
        except http.client.IncompleteRead as exc:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, exc.partial, "IncompleteRead"
    finally:
        conn.close()


RESULT_PARSERS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                  "tsv": ox.QueryResultsFormat.TSV}
GRAPH_PARSERS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
                 "rdfxml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS}


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_star_comes_back_whole(whole: tuple[str, QueryPool], fmt: str) -> None:
    """``SELECT *`` over the whole graph, once 422 over the cap: every row, streamed (no Content-Length)."""
    url, _ = whole
    rows = count(url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    status, headers, body, error = raw_get(url, {"query": "SELECT * WHERE { ?s ?p ?o }", "format": fmt})
    assert status == 200 and error is None
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers
    if fmt == "csv":
        got = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))[1:]
    else:
        got = list(ox.parse_query_results(body, format=RESULT_PARSERS[fmt]))  # type: ignore[arg-type]
    assert len(got) == rows > 40_000



def test_a_query_the_engine_fails_on_is_named_so_not_blamed_on_memory(web: httpx.Client,
                                                                      request: pytest.FixtureRequest) -> None:
    if backend_of(request) == "remote":
        # there the engine is `oxigraph serve` 0.5.13, which the panic ends: the store of every later
        # remote test would be gone (docs/remote-stores.md)
        pytest.skip("on a remote store the engine is the store's own (Oxigraph's server exits on this panic)")
    r = web.get("/sparql", params={"query": ENGINE_PANIC})
    if backend_of(request) == "virtuoso":
        # Virtuoso sorts it; what must hold is that the grammar check's pyoxigraph, which panics on it
        # too, did not take the server with it (cpbkg.sparql.grammar)
        assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 80, r.text
        assert web.get("/sparql", params={"query": GOALS}).status_code == 200
        return
    if r.status_code == 200:
        pytest.skip("this Oxigraph sorts mixed values: the engine fault is fixed upstream")
    assert r.status_code == 422, r.text
    assert "EngineFailed" in r.text and "total order" in r.text and "memory" not in r.text
    again = web.get("/sparql", params={"query": ENGINE_PANIC})  # deterministic: refused without running
    assert again.status_code == 422 and "refused without running" in again.text
    assert web.get("/sparql", params={"query": GOALS}).status_code == 200  # the pool replaced its worker


@pytest.mark.parametrize("fmt", list(GRAPH_PARSERS))
def test_construct_everything_comes_back_whole(whole: tuple[str, QueryPool], fmt: str) -> None:
    url, _ = whole
    triples = count(url, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")
    status, headers, body, error = raw_get(url, {"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": fmt})
    assert status == 200 and error is None and headers.get("transfer-encoding") == "chunked"
    got = {(q.subject, q.predicate, q.object) for q in ox.parse(body, format=GRAPH_PARSERS[fmt])}
    assert len(got) == triples > 40_000
    if fmt == "ttl":
        text = body.decode("utf-8")
        assert "@prefix wgs:" not in text and "@prefix brick:" not in text
        assert not re.search(r"^\S*:\S*\\", text, re.M), "a prefixed name with an escape"


def test_a_streamed_answer_is_gzipped_validated_and_not_cached(whole: tuple[str, QueryPool]) -> None:
    url, _ = whole
    query = {"query": "SELECT * WHERE { ?s ?p ?o } # gzip", "format": "tsv"}
    plain = httpx.get(url + "/sparql", params=query, headers={"Accept-Encoding": "identity"}, timeout=60)
    zipped = httpx.get(url + "/sparql", params=query, headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.content == plain.content and len(plain.content) > 4 << 20
    etag = plain.headers["etag"]
    assert zipped.headers["etag"] == etag
    again = httpx.get(url + "/sparql", params=query, headers={"If-None-Match": etag}, timeout=60)
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(url + "/sparql", params=query, timeout=60)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    health = httpx.get(url + "/health", timeout=60).json()
    assert health["status"] == "ok"
    # the answer is larger than the cache takes one answer to be: run again, the same bytes
    assert httpx.get(url + "/sparql", params=query, timeout=60).content == plain.content


def test_csv_answers_with_a_byte_order_mark_on_request(whole: tuple[str, QueryPool]) -> None:
    url, _ = whole
    query = PREFIXES + 'SELECT ?code ?label WHERE { ?g a cpb:Goal ; skos:notation ?code ; skos:prefLabel ?label } # bom'
    plain = httpx.get(url + "/sparql", params={"query": query, "format": "csv"})
    bom = httpx.get(url + "/sparql", params={"query": query, "format": "csv", "bom": "1"})
    assert bom.content == b"\xef\xbb\xbf" + plain.content and "缔约方" in bom.content.decode("utf-8-sig")
    assert bom.headers["etag"] != plain.headers["etag"]
    assert httpx.get(url + "/sparql", params={"query": query, "format": "csv", "bom": "1"},
                     headers={"If-None-Match": bom.headers["etag"]}).status_code == 304
    posted = httpx.post(url + "/sparql", data={"query": query, "format": "csv", "bom": "1"})
    assert posted.content == bom.content
    # the mark is for CSV only; JSON and a cached CSV answer keep their bytes
    assert httpx.get(url + "/sparql", params={"query": query, "bom": "1"}).content.startswith(b"{")
    assert httpx.get(url + "/sparql", params={"query": query, "format": "csv"}).content == plain.content
    big = httpx.get(url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } # bom", "format": "csv", "bom": "1"},
                    timeout=60)
    assert big.content.startswith(b"\xef\xbb\xbfo,p,s\r\n") or big.content.startswith(b"\xef\xbb\xbfs,p,o\r\n")


def test_an_answer_too_large_for_a_page_says_so(whole: tuple[str, QueryPool]) -> None:
    url, _ = whole
    r = httpx.get(url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } # page"},
                  headers={"Accept": "text/html"}, timeout=60)
    assert r.status_code == 422 and "too large to show as a page" in r.text
    assert httpx.get(url + "/sparql", params={"query": "ASK {}"}).status_code == 200


def test_an_answer_over_the_byte_bound_before_its_first_byte_is_refused(
        web_settings: Settings, web_store: LoadedStore) -> None:
    server, pool = make_live(web_settings.with_(result_cap=0, result_bytes=100_000), web_store, size=1)
    try:
        r = httpx.get(server.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, timeout=60)
        assert r.status_code == 422 and "ResultTooLarge" in r.text and "100000 bytes" in r.text
        ok = httpx.get(server.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 10"})
        assert ok.status_code == 200 and len(ok.json()["results"]["bindings"]) == 10
    finally:
        server.stop()
        pool.close()


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "nt", "rdfxml"])
def test_an_answer_cut_after_its_first_byte_is_invalid_to_every_client_and_parser(
        web_settings: Settings, web_store: LoadedStore, fmt: str) -> None:
    """Past the byte bound once bytes were sent: no silent partial 200. The chunked body ends
    without its last chunk (HTTP clients raise) and with a line no parser of the format accepts."""
    from cpbkg.sparql.pool import SPOOL_BYTES

    server, pool = make_live(web_settings.with_(result_cap=0, result_bytes=SPOOL_BYTES + (512 << 10)), web_store,
                             size=1)
    query = "CONSTRUCT WHERE { ?s ?p ?o }" if fmt in GRAPH_PARSERS else "SELECT * WHERE { ?s ?p ?o }"
    try:
        status, _, body, error = raw_get(server.url, {"query": query, "format": fmt})
        assert status == 200 and error == "IncompleteRead"
        assert b'"CPBKG-ERROR ResultTooLarge' in body[-1000:] and len(body) > SPOOL_BYTES
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(server.url + "/sparql", params={"query": query, "format": fmt}, timeout=60)
        if fmt == "csv":
            with pytest.raises(csv.Error):
                list(csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline=""), strict=True))
        elif fmt in GRAPH_PARSERS:
            with pytest.raises(SyntaxError):
                list(ox.parse(body, format=GRAPH_PARSERS[fmt]))
            with pytest.raises(Exception):  # noqa: B017 -- rdflib's errors differ by format
                rdflib.Graph().parse(data=body, format="nt" if fmt == "nt" else "xml")
        else:
            with pytest.raises(SyntaxError):
                list(ox.parse_query_results(body, format=RESULT_PARSERS[fmt]))  # type: ignore[arg-type]
        # the worker stopped its answer and answers the next query
        assert httpx.get(server.url + "/sparql", params={"query": "ASK {}"}).status_code == 200
        assert pool.killed == 0
    finally:
        server.stop()
        pool.close()


def test_a_client_that_goes_away_stops_its_answer_and_the_worker_is_kept(whole: tuple[str, QueryPool]) -> None:
    url, pool = whole
    pool.warm()
    before, killed = pool.pids, pool.killed
    for _ in range(3):
        with httpx.stream("GET", url + "/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o } # away",
                                                         "format": "nt"}, timeout=60) as r:
            assert r.status_code == 200
            first = next(r.iter_raw())
            assert first
        # closed after the first chunk: the worker stops, drains and takes the next job
        assert httpx.get(url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True
    assert pool.pids == before and pool.killed == killed


@pytest.mark.parametrize("spool_mb", [0, 64], ids=["back-pressure", "spooled"])
def test_a_client_that_stops_reading_holds_a_socket_not_the_answer(
        web_settings: Settings, web_store: LoadedStore, caplog: pytest.LogCaptureFixture, spool_mb: int) -> None:
    """A client that takes no chunk for the timeout is cut. Without a spool its worker waited on its
    pipe meanwhile (back-pressure: the answer was not written ahead of the client), and is stopped
    and kept; with one, the answer went to disk and the worker -- the only one -- answered others."""
    import socket

    settings = web_settings.with_(result_cap=0, query_timeout=3.0, spool_mb=spool_mb)
    server, pool = make_live(settings, web_store, size=1 if spool_mb else 2, spool_bytes=spool_mb << 20)
    try:
        pool.warm()
        before = pool.pids
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /sparql?query=CONSTRUCT%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D&format=nt HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        # not reading: meanwhile the other worker answers
        assert httpx.get(server.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30).status_code == 200
        deadline = time.monotonic() + 120  # a hang guard, not a bound: the cut comes 3 s after the last chunk
        while not any("its client took no chunk" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the answer of a client that stopped reading was not cut"
            time.sleep(0.1)
        sock.settimeout(60)
        received, tail = 100, b""
        while chunk := sock.recv(1 << 20):  # now read: what was on its way, then the connection closes
            received += len(chunk)
            tail = (tail + chunk)[-200:]
        sock.close()
        assert not tail.endswith(b"0\r\n\r\n"), "the cut answer must not end like a whole one"
        whole = httpx.get(server.url + "/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"},
                          headers={"Accept-Encoding": "identity"}, timeout=60)
        if not spool_mb:
            assert received < len(whole.content) / 2, "the slow reader's answer was written ahead of it"
        freed_by = time.monotonic() + 30  # the drain thread frees the file as it ends: a hang guard
        while pool.spool_budget.used:
            assert time.monotonic() < freed_by, "the spooled answers' files were not freed"
            time.sleep(0.05)
        assert pool.pids == before and pool.killed == 0  # stopped, not killed
        assert httpx.get(server.url + "/sparql", params={"query": "ASK {}"}, timeout=30).status_code == 200
    finally:
        server.stop()
        pool.close()


def test_the_timeout_stops_a_query_mid_stream(web_settings: Settings, web_store: LoadedStore) -> None:
    """A query still computing at the timeout is stopped even while its answer streams: its worker is
    killed and the answer cut (or, if nothing was sent yet, a 503)."""
    server, pool = make_live(web_settings.with_(result_cap=0, query_timeout=2.0), web_store, size=1)
    try:
        pool.warm()
        status, _, body, error = raw_get(server.url, {"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
                                                      "format": "tsv"})
        if status == 200:
            assert error == "IncompleteRead" and b'"CPBKG-ERROR QueryTimeout' in body[-1000:]
        else:
            assert status == 503 and b"QueryTimeout" in body
        assert pool.killed == 1
        assert httpx.get(server.url + "/sparql", params={"query": "ASK {}"}, timeout=30).status_code == 200
    finally:
        server.stop()
        pool.close()


# --------------------------------------------------------------------------- timeout


def test_timeout_stops_the_query_and_others_are_still_answered(web_settings: Settings, web_store: LoadedStore) -> None:
    server, pool = make_live(web_settings.with_(query_timeout=1.5), web_store, size=2)
    try:
        # the other client comes from another address: one client may not hold every worker
        # (cpbkg.web.admission), and this test is about the timeout, not about one client's share
        other_address = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.url, timeout=30) as slow_client, \
                httpx.Client(base_url=server.url, timeout=30, transport=other_address) as other:
            other.get("/sparql", params={"query": "ASK {}"})  # workers ready
            result: dict[str, object] = {}

            def slow() -> None:
                start = time.monotonic()
                r = slow_client.get("/sparql", params={"query": SLOW})
                result.update(status=r.status_code, text=r.text, seconds=time.monotonic() - start)

            thread = threading.Thread(target=slow)
            thread.start()
            time.sleep(0.3)
            fast = other.get("/sparql", params={"query": f'ASK {{ ?s ?p "{time.time()}" }}'})
            pages = other.get("/queries/", headers={"Accept": "application/json"})
            # answered while the slow query still holds its worker: not blocked by it
            assert thread.is_alive(), "the slow query should still be running"
            thread.join(timeout=60)
            assert fast.status_code == 200
            assert pages.status_code == 200
            assert result["status"] == 503
            assert "ran longer than 1.5 s" in str(result["text"])
            # stopped by the timeout, not before it (the upper end is only a hang guard)
            assert 1.4 < float(result["seconds"]) < 60  # type: ignore[arg-type]
            assert pool.killed == 1
            # the killed worker was replaced: the pool answers again, twice at once
            again = [other.get("/sparql", params={"query": f"ASK {{ ?s ?p {n} }}"}) for n in range(4)]
            assert all(r.status_code == 200 for r in again)
    finally:
        server.stop()
        pool.close()


def test_cached_answers_while_every_worker_is_busy(web_settings: Settings, web_store: LoadedStore) -> None:
    server, pool = make_live(web_settings.with_(query_timeout=2.0), web_store, size=1)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/sparql", params={"query": GOALS}).status_code == 200  # now cached
            blocker = threading.Thread(target=lambda: httpx.get(server.url + "/sparql", params={"query": SLOW},
                                                                timeout=30))
            blocker.start()
            time.sleep(0.3)
            start = time.monotonic()
            r = c.get("/sparql", params={"query": GOALS})
            assert r.status_code == 200 and time.monotonic() - start < 0.5
            blocker.join()
    finally:
        server.stop()
        pool.close()


def test_a_worker_that_died_is_replaced(web_store: LoadedStore) -> None:
    pool = QueryPool(web_store.path, size=1).start()
    try:
        assert pool.run(Job("ASK {}", timeout=10)).kind == "boolean"
        (idle,) = pool.pids
        os.kill(idle, signal.SIGKILL)  # dies while idle: the next query takes a fresh worker
        time.sleep(0.2)
        assert pool.run(Job("ASK {}", timeout=10)).kind == "boolean"
        (busy,) = pool.pids
        assert busy != idle
        errors: list[BaseException] = []

        def run_slow() -> None:
            try:
                pool.run(Job(SLOW, timeout=30))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run_slow)
        thread.start()
        time.sleep(0.5)
        os.kill(busy, signal.SIGKILL)  # dies mid-query (as the OOM killer would do)
        thread.join(timeout=10)
        assert len(errors) == 1 and isinstance(errors[0], WorkerCrashed)
        assert pool.run(Job("ASK {}", timeout=10)).kind == "boolean"
        assert len(pool.pids) == 1
    finally:
        pool.close()


EVERYTHING = [
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 5000",
    "SELECT ?b ?p ?o WHERE { ?b ?p ?o FILTER(isBlank(?b)) } ORDER BY ?b ?p ?o",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> ; ?p ?o }",
    f"DESCRIBE <{GOAL_A1}>",
    "ASK { ?s ?p ?o FILTER(lang(?o) = 'zh') }",
]
TOTAL_ORDER = EVERYTHING[:3]


def unordered(answer: Answer) -> list[str]:
    """The rows (or triples) of an answer as strings, to compare without order."""
    if answer.format == "json":
        doc = json.loads(answer.body)
        return [json.dumps(b, sort_keys=True) for b in doc["results"]["bindings"]] if "results" in doc \
            else [str(doc["boolean"])]
    return answer.body.decode().splitlines()


@pytest.mark.slow  # two pools of their own, one copying the store into memory: about 30 s here
def test_in_memory_workers_answer_like_the_store_on_disk(web_store: LoadedStore) -> None:
    from cpbkg.sparql.catalogue import load_catalogue

    texts = EVERYTHING + [q.text for q in load_catalogue(Settings().queries_dir).values()]
    disk = QueryPool(web_store.path, size=1).start()
    memory = QueryPool(web_store.path, size=1, in_memory=True).start()
    try:
        memory.warm()
        disk.warm()
        # the copy is made while the worker already answers (from disk): wait until it says it is whole
        deadline = time.monotonic() + 60
        while memory.memory_quads != [len(web_store.store)] and time.monotonic() < deadline:
            memory.run(Job("ASK {}", timeout=10))
            time.sleep(0.05)
        assert memory.memory_quads == [len(web_store.store)]
        disk.run(Job("ASK {}", timeout=10))
        assert disk.memory_quads == [None]
        for text in texts:
            for fmt in ("json", "tsv"):
                job = Job(text, results_format=fmt, graph_format="nt", cap=100_000, timeout=30)
                a, b = memory.run(job), disk.run(job)
                assert a.kind == b.kind
                # the same rows; their order only where the query fixes it (ties may come either way)
                assert sorted(unordered(a)) == sorted(unordered(b)), text
                if text in TOTAL_ORDER:  # blank nodes keep their ids in the copy: even they sort the same
                    assert a.body == b.body, text
    finally:
        disk.close()
        memory.close()


def test_a_store_is_copied_into_memory_only_within_both_bounds() -> None:
    from cpbkg.sparql.service import in_memory

    settings = Settings().with_(memory_store_triples=500_000, worker_memory_mb=2048)
    assert in_memory(settings, 42_000) and in_memory(settings, 500_000)
    assert not in_memory(settings, 500_001) and not in_memory(settings, 0)
    assert not in_memory(settings.with_(memory_store_triples=0), 42_000)
    # 500k triples take ~200 MB: more than half of a 300 MiB heap cap
    assert not in_memory(settings.with_(worker_memory_mb=300), 500_000)
    assert in_memory(settings.with_(worker_memory_mb=0), 500_000)  # no cap


def test_a_query_over_the_memory_limit_kills_only_its_worker(web_store: LoadedStore) -> None:
    pool = QueryPool(web_store.path, size=1, memory_mb=400).start()
    try:
        with pytest.raises(WorkerCrashed, match=r"more memory.*\(at most 400 MiB\)"):  # not QueryTimeout
            pool.run(Job("SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?f", timeout=30))
        assert pool.run(Job("ASK { ?s ?p ?o }", timeout=10)).body == b'{"head":{},"boolean":true}'
    finally:
        pool.close()


def _one_value(megabytes: float) -> Job:
    """A one-row TSV answer of ~``megabytes`` MB made by the engine (the slow-reader attack's query)."""
    return Job(big_query(megabytes), results_format="tsv", timeout=60)


@pytest.mark.parametrize("in_memory", [False, True], ids=["on-disk", "in-memory"])
def test_a_query_may_take_its_share_above_its_workers_own_size(web_store: LoadedStore, in_memory: bool) -> None:
    """Issue 20: the share of ``query_memory_mb`` bounds what a query adds to its worker, whatever
    the worker holds itself (a 150 MB value needs ~760 MB to evaluate and serialise; 15 MB ~80 MB)."""
    pool = QueryPool(web_store.path, size=1, memory_mb=4096, query_mb=300, copy_mb=64, in_memory=in_memory).start()
    try:
        for _ in range(3):  # the first jobs may run while the copy is made; the share holds after it too
            assert len(pool.run(_one_value(15)).read_all()) > 14_000_000
        with pytest.raises(WorkerCrashed, match=r"at most 300 MiB above the worker's own size"):
            pool.run(_one_value(150)).read_all()
        assert len(pool.run(_one_value(15)).read_all()) > 14_000_000  # a new worker, the same share
    finally:
        pool.close()


@pytest.mark.parametrize("spool_mb", [64, 8], ids=["spooled", "over-the-budget"])
def test_a_spooled_answer_frees_its_worker_before_its_reader_reads_it(web_store: LoadedStore, spool_mb: int) -> None:
    """Issue 20: an answer past what the pool reads ahead is drained to disk: its only worker answers
    another job while nobody reads it, and it is then read whole, byte for byte. Past the budget
    the rest goes on with back-pressure, and the answer is as whole."""
    pool = QueryPool(web_store.path, size=1, spool_bytes=spool_mb << 20).start()
    try:
        expected = pool.run(_one_value(15)).read_all()
        answer = pool.run(_one_value(15))
        assert answer.rest is not None
        freed = threading.Event()
        answer.rest.when_free(freed.set)
        if spool_mb == 64:
            assert freed.wait(60), "the spooled answer kept its worker"
            assert pool.run(Job("ASK {}", timeout=10)).body  # the worker is free for another job
        assert answer.read_all() == expected
        assert freed.is_set()
        assert pool.spool_budget.used <= spool_mb << 20
    finally:
        pool.close()


def test_a_spooled_answer_ends_with_its_error_after_the_bytes_before_it(web_store: LoadedStore) -> None:
    """An answer cut by the byte cap while it spools: the reader gets the bytes, then the error."""
    pool = QueryPool(web_store.path, size=1, spool_bytes=64 << 20).start()
    try:
        answer = pool.run(Job("CONSTRUCT WHERE { ?s ?p ?o }", graph_format="nt", timeout=60, max_bytes=5 << 20))
        assert answer.rest is not None
        read = len(answer.body)
        with pytest.raises(ResultTooLarge):
            while (chunk := answer.rest.read()) is not None:
                read += len(chunk)
        answer.rest.close()
        assert read >= 4 << 20
        assert pool.run(Job("ASK {}", timeout=10)).body
    finally:
        pool.close()


def test_server_busy_when_no_worker_frees_up(web_store: LoadedStore) -> None:
    pool = QueryPool(web_store.path, size=1).start()
    try:
        pool.run(Job("ASK {}", timeout=10))
        thread = threading.Thread(target=lambda: pytest.raises(QueryTimeout, pool.run, Job(SLOW, timeout=2)))
        thread.start()
        time.sleep(0.3)
        with pytest.raises(ServerBusy, match="busy"):
            pool.run(Job("ASK { ?s ?p 1 }", timeout=0.5))
        thread.join()
        assert pool.killed == 1
    finally:
        pool.close()


def test_workers_have_no_network(web_store: LoadedStore, canary: Canary) -> None:
    """The second wall: even a SERVICE the lexer did not refuse cannot reach a host."""
    pool = QueryPool(web_store.path, size=1, isolate_network=True)
    try:
        with pytest.raises(QueryFailed):
            pool.run(Job(f"SELECT * {{ SERVICE <{canary.url}> {{ ?s ?p ?o }} }}", timeout=10))
        if not pool.isolated:
            pytest.skip("this kernel does not allow network namespaces (the lexer's refusal still holds)")
        assert canary.hits == []
    finally:
        pool.close()


def test_allow_service_switches_federation_on(web_settings: Settings, web_store: LoadedStore, canary: Canary) -> None:
    server, pool = make_live(web_settings.with_(allow_service=True), web_store, size=1, isolate_network=False)
    try:
        r = httpx.get(server.url + "/sparql", params={"query": f"SELECT * {{ SERVICE SILENT <{canary.url}> {{ ?s ?p ?o }} }}"})
        assert r.status_code == 200
        assert canary.hits, "with allow_service the endpoint federates"
    finally:
        server.stop()
        pool.close()


# --------------------------------------------------------------------------- HTTP: caching, CORS, gzip, HEAD


def test_etag_last_modified_and_304(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": GOALS})
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert etag.startswith('W/"') and r.headers["cache-control"] == "public, no-cache"
    again = web.get("/sparql", params={"query": GOALS}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # whitespace and comments do not change the answer, so not the validator either
    same = web.get("/sparql", params={"query": "# the goals\n" + GOALS.replace(" ", "  ")}, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert web.get("/sparql", params={"query": GOALS}, headers={"If-Modified-Since": modified}).status_code == 304
    assert web.get("/sparql", params={"query": GOALS, "format": "csv"}, headers={"If-None-Match": etag}).status_code == 200
    assert "etag" not in web.get("/sparql", params={"query": "SELECT (RAND() AS ?r) {}"}).headers


def test_cors_on_get_without_credentials(web: httpx.Client) -> None:
    r = web.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    pre = web.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and "GET" in pre.headers["access-control-allow-methods"]
    post = web.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert post.status_code == 400


def test_gzip(web: httpx.Client) -> None:
    query = PREFIXES + "SELECT ?s ?label WHERE { ?s skos:prefLabel ?label } LIMIT 500"
    r = web.get("/sparql", params={"query": query}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert len(r.json()["results"]["bindings"]) == 500  # httpx decompressed it
    raw = httpx.get(str(web.base_url) + "/sparql", params={"query": query}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert raw.content == r.content
    # the compressed bytes are what was sent
    with httpx.stream("GET", str(web.base_url) + "/sparql", params={"query": query},
                      headers={"Accept-Encoding": "gzip"}) as streamed:
        assert gzip.decompress(b"".join(streamed.iter_raw())) == r.content


@pytest.mark.parametrize("headers", [
    {"Accept": JSON},
    {"Accept": "text/csv"},
    {"Accept": JSON, "Accept-Encoding": "gzip"},
    {"Accept": JSON, "If-None-Match": "*"},
], ids=["json", "csv", "gzip", "304"])
def test_a_repeated_request_is_answered_with_the_same_bytes(web: httpx.Client, headers: dict[str, str]) -> None:
    # 1st: run by a worker; 2nd: from the answer cache; 3rd and on: replayed by the response memo
    query = PREFIXES + f"SELECT ?s ?label WHERE {{ ?s skos:prefLabel ?label }} LIMIT 400 # {sorted(headers.items())}"
    url = str(web.base_url) + "/sparql"
    sent = []
    for _ in range(4):
        with httpx.stream("GET", url, params={"query": query}, headers=headers) as r:
            sent.append((r.status_code, sorted((k, v) for k, v in r.headers.items() if k not in ("date", "server")),
                         b"".join(r.iter_raw())))
    for later in sent[1:]:
        assert later[:2] == sent[0][:2]
        assert later[2] == sent[0][2]
    if "If-None-Match" not in headers:
        assert sent[0][0] == 200 and len(sent[0][2]) > 1000
    # the memo keys on the headers that shape the answer: another format is another answer
    other = web.get("/sparql", params={"query": query}, headers={"Accept": XML})
    assert other.headers["content-type"].startswith(XML)
    # a CORS request is not replayed: it gets its CORS headers
    cors = web.get("/sparql", params={"query": query}, headers={**headers, "Origin": "https://example.org"})
    assert cors.headers["access-control-allow-origin"] == "*"


_SAME_ANSWERS = [
    ({"Accept": JSON}, {}, PREFIXES + "SELECT ?s ?label WHERE { ?s skos:prefLabel ?label } LIMIT {n}"),
    ({"Accept": "text/csv"}, {"bom": "1"}, PREFIXES + "SELECT ?code WHERE { ?g a cpb:Goal ; skos:notation ?code } LIMIT {n}"),
    ({"Accept": JSON, "Accept-Encoding": "gzip"}, {}, PREFIXES + "SELECT ?s ?label WHERE { ?s skos:prefLabel ?label } LIMIT {n}"),
    ({"Accept": "text/turtle"}, {}, DESCRIBE_A1 + " LIMIT {n}"),
    ({"Accept": XML}, {"format": "csv"}, "ASK { ?s ?p ?o } LIMIT {n}"),
    ({"Accept": "text/turtle"}, {}, "SELECT * { ?s ?p ?o } LIMIT {n}"),          # 406
    ({"Accept": JSON}, {}, "SELECT * { ?s ?p ?o } LIMIT {n} }"),                 # 400 syntax
    ({"Accept": JSON}, {}, "SELECT * { SERVICE <http://example.org/> { ?s ?p ?o } } LIMIT {n}"),  # 400 refused
]


def _names(header: str) -> set[str]:
    return {name.strip().lower() for name in header.split(",") if name.strip()}


@pytest.mark.parametrize(("headers", "params", "template"), _SAME_ANSWERS,
                         ids=["json", "csv-bom", "gzip", "construct", "format", "406", "syntax", "service"])
def test_the_direct_path_answers_new_queries_as_the_route(web: httpx.Client, headers: dict[str, str],
                                                          params: dict[str, str], template: str) -> None:
    """A GET without ``Origin`` takes the app's direct path (cpbkg.web.app), one with it the route
    (and CORS): two new queries with the same answer get the same status, headers and bytes."""
    url = str(web.base_url) + "/sparql"
    base = 10**9 + len(template) * 1000 + len(headers) * 100 + len(params) * 10  # new texts, each case its own
    sent = []
    for n, origin in ((base, {}), (base + 1, {"Origin": "https://example.org"})):
        query = template.replace("{n}", str(n))
        with httpx.stream("GET", url, params={"query": query, **params}, headers={**headers, **origin}) as r:
            kept = {k: v for k, v in r.headers.items()
                    if k not in ("date", "server", "etag", "vary", "content-length") and not k.startswith("access-control")}
            sent.append((r.status_code, kept, "etag" in r.headers, r.headers.get("vary", ""), b"".join(r.iter_raw())))
    direct, routed = sent
    assert direct[:3] == routed[:3]
    # with CORS on (as here), both say that the answer varies on Origin
    assert _names(routed[3]) == _names(direct[3]) and "origin" in _names(direct[3]), (direct[3], routed[3])
    body_direct, body_routed = direct[4], routed[4]
    if direct[1].get("content-encoding") == "gzip":  # a long error is gzipped too (through Virtuoso: it quotes the store)
        body_direct, body_routed = gzip.decompress(body_direct), gzip.decompress(body_routed)
    if direct[0] != 200:  # a message may quote the query: the texts differ in their LIMIT
        assert body_direct.replace(str(base).encode(), b"N") == body_routed.replace(str(base + 1).encode(), b"N")
    else:
        assert body_direct == body_routed


def test_head(web: httpx.Client) -> None:
    r = web.head("/sparql", params={"query": GOALS})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == JSON and int(r.headers["content-length"]) > 100


# --------------------------------------------------------------------------- service description, OpenAPI


def test_service_description(web: httpx.Client, live: str) -> None:
    r = web.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = g.value(None, rdflib.RDF.type, sd.Service)
    assert g.value(service, sd.endpoint) == rdflib.URIRef(live + "/sparql")
    assert (service, sd.feature, sd.UnionDefaultGraph) in g
    assert (service, sd.resultFormat, rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON")) in g
    assert rdflib.URIRef("https://w3id.org/cpbkg/graph/plan") in set(g.objects(None, sd.name))
    nt = web.get("/sparql", headers={"Accept": "application/n-triples"})
    assert len(list(ox.parse(nt.content, format=ox.RdfFormat.N_TRIPLES))) == len(g)
    assert web.get("/sparql", params={"format": "jsonld"}).headers["content-type"] == "application/ld+json"
    page = web.get("/sparql", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "/query" in page.text
    assert web.get("/sparql", headers={"Accept": "image/png"}).status_code == 406


def test_openapi_documents_the_parameters(web: httpx.Client) -> None:
    doc = web.get("/openapi.json").json()
    get = doc["paths"]["/sparql"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"query", "default-graph-uri", "named-graph-uri", "format"} <= names
    post = doc["paths"]["/sparql"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "application/sparql-query"}
    named = doc["paths"]["/queries/plan-elements-for-gbf-target"]["get"]
    assert [p["name"] for p in named["parameters"]] == ["target", "format"]
    assert "head" not in doc["paths"]["/sparql"]
    assert web.get("/docs").status_code == 200


# --------------------------------------------------------------------------- W3C conformance runner


@pytest.mark.skipif(not RUNNER.is_file(), reason=f"conformance runner not found at {RUNNER}")
def test_w3c_protocol_conformance(live: str, request: pytest.FixtureRequest) -> None:
    """The external runner against the live endpoint: no MUST failure but the known ones.

    Known: syn-bad-26 (``<?a&&?b>`` is one IRI token by SPARQL's longest-token rule; pyoxigraph
    reads it as two comparisons -- Oxigraph's own server fails it the same way).
    """
    if backend_of(request) == "virtuoso":
        pytest.skip("through Virtuoso the runner has a known list of its own: tests/store/test_virtuoso.py")
    if backend_of(request) == "remote":
        pytest.xfail("a query of the conformance set makes `oxigraph serve` 0.5.13 panic in a sort and exit "
                     "(the remote store dies, not the endpoint); see docs/remote-stores.md")
    known = {"syntax/sparql10/syntax-sparql3/syn-bad-26"}
    run = run_conformance(live + "/sparql")
    assert run.must_failed <= known, f"{run.summary}; MUST failures: {sorted(run.must_failed - known)}\n{run.must_lines}"
    assert " passed" in run.summary and int(run.summary.split()[0]) > 300
