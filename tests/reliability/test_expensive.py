"""Expensive queries on purpose: cartesian products, unbounded property paths, regular
expressions meant to be catastrophic, a huge OFFSET, sorting a cross product, aggregates over
one, long chains that crash the engine, answers over the cap. Each is stopped at the timeout
(503 ``QueryTimeout``), by the worker's memory limit (503 ``WorkerCrashed``) or refused (422)
with a clear message -- and while it runs, another client's ordinary (uncached) queries are
still answered quickly: each test sends a pathological query and ordinary ones at the same
time on a real server and checks the ordinary ones' latency.

The server: uvicorn on 127.0.0.1, two query workers with a 2 s timeout and a 768 MiB heap each.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.reliability import FIGURES
from support.web_server import LiveServer, web_settings, web_store  # noqa: F401  (fixtures)

from cpbkg.config import Settings
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import LoadedStore
from cpbkg.web.app import create_app

TIMEOUT = 2.0
JSON = "application/sparql-results+json"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: what an ordinary client asks meanwhile: selective, answered in milliseconds (each one new: no cache)
ORDINARY = ('PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?s ?label WHERE {{ ?s skos:notation "A.{n}" ; '
            'skos:prefLabel ?label FILTER(?label != "{tag}") }}')


@pytest.fixture(scope="module")
def server(web_settings: Settings, web_store: LoadedStore) -> Iterator[LiveServer]:  # noqa: F811
    settings = web_settings.with_(query_timeout=TIMEOUT, result_cap=5000, query_workers=2)
    pool = QueryPool(web_store.path, size=2, memory_mb=768).start()
    live = LiveServer(create_app(settings, store=web_store, pool=pool)).start()
    with httpx.Client(base_url=live.url, timeout=30) as c:
        assert c.get("/sparql", params={"query": "ASK {}"}).status_code == 200  # workers ready
    yield live
    live.stop()
    pool.close()


def ordinary_latencies(url: str, stop: threading.Event, tag: str, limit: int = 60) -> list[tuple[int, float]]:
    """Ordinary queries one after another until ``stop`` (at most ``limit``): (status, seconds) each."""
    out = []
    with httpx.Client(base_url=url, timeout=30) as c:
        n = 0
        while not stop.is_set() and n < limit:
            n += 1
            start = time.monotonic()
            r = c.get("/sparql", params={"query": ORDINARY.format(n=n % 10 + 1, tag=f"{tag}-{n}-{time.time()}")},
                      headers={"Accept": JSON})
            FIGURES.request()
            out.append((r.status_code, time.monotonic() - start))
            time.sleep(0.05)
    return out


def run_against(server: LiveServer, method: str, query: str, tag: str) -> tuple[httpx.Response, float,
                                                                                 list[tuple[int, float]]]:
    """The pathological query, with an ordinary client running from just before it until it is answered."""
    stop = threading.Event()
    found: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: found.update(lat=ordinary_latencies(server.url, stop, tag)))
    thread.start()
    time.sleep(0.1)
    start = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=60) as c:
        if method == "GET":
            r = c.get("/sparql", params={"query": query})
        else:
            r = c.post("/sparql", content=query.encode(), headers={"Content-Type": "application/sparql-query"})
    FIGURES.request()
    FIGURES.bad_input("expensive query")
    seconds = time.monotonic() - start
    stop.set()
    thread.join(timeout=30)
    return r, seconds, found["lat"]


PATHOLOGICAL = [
    ("cartesian product", "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", 503, "QueryTimeout"),
    ("unbounded property path", "SELECT (COUNT(*) AS ?n) { ?s (<urn:x>|!<urn:x>)* ?o }", 503, "QueryTimeout"),
    ("negated path, one or more", f"SELECT (COUNT(*) AS ?n) {{ ?s (!<{RDF_TYPE}>)+ ?o }}", 503, "QueryTimeout"),
    ("huge OFFSET", "SELECT * { ?a ?b ?c . ?d ?e ?f } OFFSET 1000000000 LIMIT 1", 503, "QueryTimeout"),
    ("aggregate over a cross product", "SELECT ?a (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f } GROUP BY ?a LIMIT 1",
     503, "QueryTimeout"),
    ("regex compiled per row", 'SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(REGEX(STR(?o), "((a{100}){100}){100}")) }',
     503, "QueryTimeout"),
    ("string work over a cross product",
     "SELECT (STRLEN(CONCAT(?o, ?o, ?o)) AS ?l) { ?s ?p ?o . ?x ?y ?z } LIMIT 1 OFFSET 100000000", 503, "QueryTimeout"),
    ("500 OPTIONALs", "SELECT * { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o } " * 500 + "} LIMIT 1", 503, "QueryTimeout"),
    ("sort of a cross product (memory)", "SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?f LIMIT 1", 503,
     "WorkerCrashed|QueryTimeout"),
    ("nested regex (linear engine: answered)", 'SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(REGEX(STR(?o), "^(a+)+$")) }',
     200, ""),
    ("(.*a){20} (answered)", 'SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(REGEX(STR(?o), "(.*a){20}")) }', 200, ""),
    ("every triple (over the cap)", "SELECT * { ?s ?p ?o }", 422, "more than 5000 rows"),
    ("CONSTRUCT everything (over the cap)", "CONSTRUCT WHERE { ?s ?p ?o }", 422, "more than 5000 triples"),
    ("a chain of 20,000 additions (crash)", "ASK { FILTER(1" + "+1" * 20000 + ") }", 422, "QueryTooComplex"),
    ("3,000 UNIONs", "SELECT (COUNT(*) AS ?n) {" + "{ ?s ?p ?o } UNION " * 3000 + "{ ?s ?p ?o } }", 503,
     "QueryTimeout|QueryTooComplex"),
    ("3,000 nested groups", "ASK {" + "{" * 3000 + "}" * 3000 + "}", 422, "at most 200"),
    ("invalid regex (an error in a FILTER is false)", 'ASK { FILTER(REGEX("a", "(")) }', 200, "false"),
]


@pytest.mark.parametrize("label, query, status, expected", PATHOLOGICAL, ids=[p[0] for p in PATHOLOGICAL])
def test_a_pathological_query_is_stopped_and_others_are_still_answered(server: LiveServer, label: str, query: str,
                                                                        status: int, expected: str) -> None:
    import re

    method = "POST" if len(query) > 4000 else "GET"
    r, seconds, latencies = run_against(server, method, query, label)
    if status == 503 and r.status_code == 422 and "refused without running" in r.text:
        pass  # crashed a worker in an earlier run of this module on the same data: refused at once
    else:
        assert r.status_code == status if "|" not in expected else r.status_code in (status, 503, 422), \
            (label, r.status_code, r.text[:300])
    if expected:
        assert re.search(expected, r.text), (label, r.text[:300])
    assert "Traceback" not in r.text
    assert seconds < TIMEOUT + 3.0, (label, seconds)  # stopped at the timeout, not after it
    assert latencies, "the ordinary client sent nothing"
    statuses = {s for s, _ in latencies}
    worst = max(t for _, t in latencies)
    assert statuses == {200}, (label, statuses)
    assert worst < 1.0, (label, f"an ordinary query took {worst:.2f} s", statistics.median(t for _, t in latencies))


def test_with_every_worker_busy_pages_and_cached_answers_still_come(server: LiveServer) -> None:
    """Two pathological queries hold both workers: pages (not run on workers) and repeated queries
    (answered from the cache) keep coming in well under a second; a new query waits for a worker
    (at most the timeout) and then gets one."""
    cached = ORDINARY.format(n=1, tag="cached")
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/sparql", params={"query": cached}).status_code == 200
        blockers = [threading.Thread(target=lambda i=i: httpx.get(
            server.url + "/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) {{ ?a ?b ?c . ?d ?e ?f FILTER(?a != <urn:{i}>) }}"},
            timeout=30)) for i in range(2)]
        for b in blockers:
            b.start()
        FIGURES.request(2)
        time.sleep(0.3)
        worst = 0.0
        for path, params in (("/sparql", {"query": cached}), ("/id/goal/A.1", {}), ("/", {}),
                             ("/dumps/", {"format": "json"}), ("/search", {"q": "biosafety"})):
            start = time.monotonic()
            r = c.get(path, params=params)
            FIGURES.request()
            worst = max(worst, time.monotonic() - start)
            assert r.status_code == 200, (path, r.text[:200])
        assert worst < 1.0, worst
        start = time.monotonic()
        r = c.get("/sparql", params={"query": ORDINARY.format(n=2, tag=f"new-{time.time()}")})
        FIGURES.request()
        assert r.status_code == 200 and time.monotonic() - start < TIMEOUT + 2.0
        for b in blockers:
            b.join(timeout=30)
