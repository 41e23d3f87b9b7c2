"""Bad requests get a clear 4xx with a message, never a 500 or a hang: malformed SPARQL, wrong
content types, oversized and stalled bodies, overlong URLs, invalid parameters, unknown
formats, broken HTTP. No request makes the server fetch a URL or write; path traversal is
refused; data shown in HTML stays text; CORS never allows credentials.

The many small cases go to the app through ASGI (Starlette's TestClient); the ones only a
socket can send (overlong URLs, broken HTTP, a body that never comes) go to a real uvicorn on
127.0.0.1. All on the embedded store of the session's build.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from support.reliability import FIGURES, raw_http, status_of
from support.web_server import Canary, LiveServer, web_pool, web_settings, web_store  # noqa: F401  (fixtures)

from cpbkg.config import Settings
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import LoadedStore, open_store
from cpbkg.web.app import create_app

GOAL_A1 = "https://w3id.org/cpbkg/id/goal/A.1"
JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def app(web_settings: Settings, web_store: LoadedStore, web_pool: QueryPool) -> Any:  # noqa: F811
    return create_app(web_settings, store=web_store, pool=web_pool)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def call(client: TestClient, method: str, url: str, **kwargs: Any) -> Any:
    FIGURES.request()
    return client.request(method, url, **kwargs)


def assert_clear_4xx(r: Any, *fragments: str, status: int | tuple[int, ...] | None = None) -> None:
    """A 4xx with a short text naming the problem; no traceback, no HTML of an internal error."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code in ((status,) if isinstance(status, int) else status), (r.status_code, r.text[:300])
    assert "Traceback" not in r.text and "InternalError" not in r.text
    if r.status_code == 416:  # the message of a 416 is its Content-Range header (RFC 9110 15.5.17)
        assert r.headers["content-range"].startswith("bytes */")
    else:
        assert r.text.strip(), "an error needs a message"
    for fragment in fragments:
        assert fragment in r.text, (fragment, r.text[:300])


# --------------------------------------------------------------------------- malformed SPARQL

MALFORMED = [
    ("SELECT", "syntax error"), ("SELECT * WHERE {", "syntax error"), ("SELECT * WHERE { ?s ?p }", "syntax error"),
    ("ASK {} }", "syntax error"), ('SELECT * { ?s ?p "unterminated }', "syntax error"),
    ("SELECT * { ?s ?p <a b> }", "syntax error"), ("SELECT ?x WHERE { FILTER( }", "syntax error"),
    ("SELECT * { ?s nope:p ?o }", "undefined prefix 'nope:'"), ("# only a comment", "syntax error"),
    ("\x00\x01\x02", "syntax error"), ("ASK {}\x00", "syntax error"), ("\ufeffASK {}", ""),
    ("SELECT * { ?s ?p ?o } LIMIT -1", "syntax error"), ("SELECT * { ?s ?p ?o } OFFSET 99999999999999999999999", ""),
    ("SELECT (COUNT(*) AS ?n) (1 AS ?n) {}", ""), ("SELECT ?x { BIND(1 AS ?x) BIND(2 AS ?x) }", ""),
    ("CONSTRUCT { ?s ?p } WHERE {}", "syntax error"), ("DESCRIBE", "syntax error"), ("SELECT ** {}", "syntax error"),
    ("PREFIX : <relative> SELECT * { :a ?p ?o }", ""), ("BASE <not absolute> SELECT * {}", ""),
    ("SELECT * { ?s ?p ?o } GROUP BY", "syntax error"), ("ASK { FILTER(REGEX(\"a\", \"(\")) }", ""),
    ("SELECT * { VALUES (?a ?b) { (1) } }", ""), ("x" * 60000, "syntax error"),
    ("ASK {" + "{" * 5000 + "}" * 5000 + "}", "at most 200"),
    ("ASK { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }", "at most 200"),
    ("SELECT * {" + "{ ?s ?p ?o } UNION " * 40 + "{} }" + "}" * 3, "syntax error"),
]


@pytest.mark.parametrize("text, fragment", MALFORMED, ids=[f"malformed-{i}" for i in range(len(MALFORMED))])
def test_malformed_sparql_is_a_clear_4xx_by_every_route(client: TestClient, text: str, fragment: str) -> None:
    FIGURES.bad_input("malformed SPARQL")
    answers = [
        call(client, "GET", "/sparql", params={"query": text}),
        call(client, "POST", "/sparql", data={"query": text}),
        call(client, "POST", "/sparql", content=text.encode("utf-8"), headers={"Content-Type": "application/sparql-query"}),
    ]
    for r in answers:
        if r.status_code == 200:  # valid after all (pyoxigraph is lenient here): fine, as long as it is an answer
            assert not fragment or fragment == "", (text[:80], r.text[:200])
            continue
        assert_clear_4xx(r, fragment)


def test_a_query_that_crashes_the_engine_is_422_and_then_refused_without_running(
        web_settings: Settings, web_store: LoadedStore) -> None:  # noqa: F811
    """A chain of 20,000 '+' overflows pyoxigraph's stack: its worker dies (SIGSEGV), the client gets
    a 422 that says so, the next worker answers, and the same query is refused at once next time."""
    pool = QueryPool(web_store.path, size=1).start()
    app = create_app(web_settings, store=web_store, pool=pool)
    text = "ASK { FILTER(1" + "+1" * 20000 + ") }"
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = call(c, "POST", "/sparql", content=text, headers={"Content-Type": "application/sparql-query"})
            FIGURES.fault("query worker crashed by a query")
            assert_clear_4xx(r, "QueryTooComplex", "crashed the query engine", status=422)
            start = time.monotonic()
            again = call(c, "POST", "/sparql", content=text, headers={"Content-Type": "application/sparql-query"})
            assert_clear_4xx(again, "refused without running", status=422)
            assert time.monotonic() - start < 0.5
            ok = call(c, "GET", "/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": JSON})
            assert ok.status_code == 200 and ok.json()["boolean"] is True
    finally:
        pool.close()


# --------------------------------------------------------------------------- wrong content types, bodies


@pytest.mark.parametrize("headers, body, status, fragment", [
    ({"Content-Type": "text/plain"}, b"ASK {}", 415, "text/plain"),
    ({"Content-Type": "application/json"}, b'{"query": "ASK {}"}', 415, "application/json"),
    ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--", 415, "multipart/form-data"),
    ({"Content-Type": ";;;"}, b"ASK {}", 415, "no media type"),
    ({}, b"ASK {}", 415, "needs a Content-Type"),
    ({"Content-Type": "application/sparql-query; charset=latin-1"}, b"ASK {}", 415, "UTF-8"),
    ({"Content-Type": "application/sparql-query"}, b"ASK { ?s ?p '\xff' }", 400, "not UTF-8"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"query=%ff%fe", 400, "the form is not valid"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"nothing=here", 400, "no query field"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"query=ASK%7B%7D&query=ASK%7B%7D", 400, "one query"),
    ({"Content-Type": "application/sparql-update"}, b"INSERT DATA {}", 400, "read-only"),
    ({"Content-Type": "application/sparql-query"}, b"", 400, "empty"),
])
def test_wrong_content_types_and_bodies(client: TestClient, headers: dict[str, str], body: bytes, status: int,
                                        fragment: str) -> None:
    FIGURES.bad_input("content type or body")
    r = call(client, "POST", "/sparql", content=body, headers=headers)
    assert_clear_4xx(r, fragment, status=status)


def test_oversized_bodies_are_413_declared_or_streamed(client: TestClient, web_settings: Settings) -> None:  # noqa: F811
    big = b"ASK {}" + b" " * (web_settings.max_body + 10)
    for headers in ({"Content-Type": "application/sparql-query"}, {"Content-Type": "application/x-www-form-urlencoded"}):
        FIGURES.bad_input("oversized body")
        assert_clear_4xx(call(client, "POST", "/sparql", content=big, headers=headers), "at most", status=413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(web_settings.max_body // 4096 + 2):
            yield b" " * 4096

    FIGURES.bad_input("oversized body")
    r = call(client, "POST", "/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert_clear_4xx(r, "over", status=413)


# --------------------------------------------------------------------------- parameters, formats


@pytest.mark.parametrize("method, url, kwargs, status, fragment", [
    ("GET", "/sparql", {"params": {"query": "ASK {}", "format": "png"}}, 400, "unknown format"),
    ("GET", "/sparql", {"params": {"query": "ASK {}", "format": ""}}, 400, "unknown format"),
    ("GET", "/sparql", {"params": {"query": "ASK {}", "default-graph-uri": "not an iri"}}, 400, "absolute IRI"),
    ("GET", "/sparql", {"params": {"query": "ASK {}", "named-graph-uri": "<>"}}, 400, "absolute IRI"),
    ("GET", "/sparql", {"params": [("query", "ASK {}"), ("query", "ASK {}")]}, 400, "one query"),
    ("POST", "/sparql?query=ASK%7B%7D", {"content": b"ASK {}", "headers": {"Content-Type": "application/sparql-query"}},
     400, "do not give it in the URL too"),
    ("GET", "/sparql", {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}}, 406, "json, xml"),
    ("GET", "/sparql", {"params": {"query": f"DESCRIBE <{GOAL_A1}>"}, "headers": {"Accept": JSON}}, 406, "ttl"),
    ("GET", "/sparql", {"params": {"query": "ASK {}", "format": "ttl"}}, 406, "json"),
    ("GET", "/sparql", {"headers": {"Accept": "image/png"}}, 406, "service description"),
    ("GET", "/sparql", {"params": {"format": "csv"}}, 406, "RDF"),
    ("GET", "/queries/nope", {}, 404, "no named query"),
    ("GET", "/queries/plan-elements-for-gbf-target", {"params": {"target": "not an iri"}}, 400, "target"),
    ("GET", "/queries/plan-elements-for-gbf-target", {"params": {"target": "javascript:alert(1)"}}, 400, "target"),
    ("GET", "/queries/plan-elements-for-gbf-target", {"params": {"nope": "1"}}, 400, "nope"),
    ("GET", "/queries/plan-elements-for-gbf-target", {"params": [("target", GOAL_A1), ("target", GOAL_A1)]}, 400,
     "more than once"),
    ("GET", "/queries/plan-elements-for-gbf-target", {"params": {"format": "png"}}, 400, "unknown format"),
    ("GET", "/queries/", {"params": {"format": "xml"}}, 406, "json or html"),
    ("GET", "/dumps/", {"params": {"format": "xml"}}, 406, "json or html"),
    ("GET", "/dumps/", {"headers": {"Accept": "image/png"}}, 406, "application/json"),
    ("GET", "/dumps/nope.ttl", {}, 404, "no file"),
    ("GET", "/.well-known/void", {"params": {"format": "png"}}, 406, "VoID is RDF"),
    ("GET", "/.well-known/void", {"headers": {"Accept": "image/png"}}, 406, "VoID"),
    ("GET", "/resource", {"params": {"uri": "ftp://example.org/x"}}, 400, "http(s)"),
    ("GET", "/resource", {"params": {"uri": "http://metadata.un.org/sdg/2", "format": "png"}}, 400, "format"),
    ("GET", "/resource", {}, 422, ""),
    ("GET", "/explore/node", {"params": {"uri": "javascript:alert(1)"}}, 400, ""),
    ("GET", "/id/goal/Z.99", {}, 404, ""),
    ("GET", "/id/goal/A.1", {"headers": {"Accept": "image/png"}}, 406, ""),
    ("GET", "/ontology.png", {}, 404, ""),
    ("PUT", "/sparql", {"params": {"query": "ASK {}"}}, 405, ""),
    ("DELETE", "/dumps/cpbkg.ttl", {}, 405, ""),
    ("GET", "/dumps/cpbkg.ttl", {"headers": {"Range": "bytes=999999999-"}}, 416, ""),
])
def test_invalid_parameters_and_unknown_formats(client: TestClient, method: str, url: str, kwargs: dict[str, Any],
                                                status: int, fragment: str) -> None:
    FIGURES.bad_input("parameter or format")
    assert_clear_4xx(call(client, method, url, **kwargs), fragment, status=status)


def test_odd_headers_are_not_errors_of_ours(client: TestClient) -> None:
    """Nonsense in Accept, Accept-Language, Accept-Encoding, If-None-Match, Range: an answer, never a 5xx."""
    odd = [{"Accept": ";;;q=abc,,"}, {"Accept": "application/json;q=x"}, {"Accept": "*/*;q=2"},
           {"Accept-Language": "*;q=abc,,,;"}, {"Accept-Language": "x" * 5000}, {"Accept-Encoding": "gzip;q=nan"},
           {"If-None-Match": '"' * 100}, {"If-Modified-Since": "yesterday"}, {"Range": "bytes=abc"},
           {"Range": "bytes=5-1"}, {"Range": "bytes=" + ",".join(f"{i}-{i}" for i in range(500))}]
    for headers in odd:
        for url in ("/sparql?query=ASK%7B%7D", "/", "/id/goal/A.1", "/dumps/", "/dumps/cpbkg.ttl", "/search?q=goal"):
            FIGURES.bad_input("odd header")
            r = call(client, "GET", url, headers=headers)
            assert r.status_code < 500, (headers, url, r.status_code, r.text[:200])


# --------------------------------------------------------------------------- what only a socket sends


@pytest.fixture(scope="module")
def live(web_settings: Settings, web_store: LoadedStore, web_pool: QueryPool) -> Iterator[LiveServer]:  # noqa: F811
    server = LiveServer(create_app(web_settings.with_(body_timeout=1.0), store=web_store, pool=web_pool)).start()
    yield server
    server.stop()


def _still_answers(server: LiveServer) -> None:
    r = raw_http(server.port, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")
    assert status_of(r) == 200, r[:300]


@pytest.mark.parametrize("label, data, statuses", [
    ("URL of 70 kB", b"GET /sparql?query=ASK%7B%7D" + b"+" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("URL of 2 MB", b"GET /sparql?query=ASK%7B%7D" + b"+" * 2_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("TLS hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 100, {400}),
    ("unknown method", b"FOO /sparql HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("HTTP/9.9", b"GET /sparql HTTP/9.9\r\nHost: x\r\n\r\n", {400}),
    ("bytes in the path", b"GET /id/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("bytes in the query", b"GET /sparql?query=ASK\xff{} HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("header of 1 MB", (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 1_000_000
                        + b"\r\n\r\n"),
     {200, 400, 431}),
    ("5000 headers", b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n" + b"X-A: a\r\n" * 5000 + b"\r\n",
     {200, 400, 431}),
    ("bad chunked body", (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\nzz\r\nASK {}\r\n0\r\n\r\n"), {400}),
    ("chunked body over the limit", (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n")
     + (b"10000\r\n" + b" " * 65536 + b"\r\n") * 3 + b"0\r\n\r\n", {413}),
    ("Content-Length not a number", (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                                     b"Content-Length: abc\r\n\r\nASK {}"), {400}),
    ("two Content-Lengths", (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                             b"Content-Length: 6\r\nContent-Length: 7\r\n\r\nASK {}"), {400}),
])
def test_broken_http_is_a_4xx_and_the_server_goes_on(live: LiveServer, label: str, data: bytes,
                                                     statuses: set[int]) -> None:
    FIGURES.bad_input("broken HTTP")
    start = time.monotonic()
    r = raw_http(live.port, data, timeout=15)
    assert status_of(r) in statuses, (label, r[:300])
    if status_of(r) != 200:
        assert r.partition(b"\r\n\r\n")[2].strip(), f"{label}: a 4xx needs a message"
    assert time.monotonic() - start < 10
    _still_answers(live)


def test_a_body_that_never_comes_is_408_not_a_hang(live: LiveServer) -> None:
    """A client that declares 100 bytes and sends 6: answered 408 after Settings.body_timeout (1 s here)."""
    FIGURES.bad_input("stalled body")
    start = time.monotonic()
    r = raw_http(live.port, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                            b"Content-Length: 100\r\n\r\nASK {}", timeout=15)
    assert status_of(r) == 408 and b"did not arrive within 1 s" in r, r[:300]
    assert time.monotonic() - start < 5
    _still_answers(live)


# --------------------------------------------------------------------------- no outbound traffic, no writes


def test_no_request_makes_the_server_fetch_a_url(client: TestClient) -> None:
    canary = Canary()
    url = canary.url
    try:
        queries = [
            f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}", f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
            f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}", f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ }} }}",
            f"SELECT * {{ ?s ?p 1SERVICE <{url}> {{}} }}", f"LOAD <{url}>", f"LOAD SILENT <{url}> INTO GRAPH <urn:g>",
            f"DESCRIBE <{url}>", f"CONSTRUCT {{ <{url}> ?p ?o }} WHERE {{ <{url}> ?p ?o }}",
            f"SELECT * {{ GRAPH <{url}> {{ ?s ?p ?o }} }}", f"BASE <{url}> SELECT * {{ <x> ?p ?o }}",
            f"SELECT (IRI(\"{url}\") AS ?x) {{}}", f"ASK {{ FILTER(REGEX(\"{url}\", \"canary\")) }}",
        ]
        for text in queries:
            for fmt in ("json", "html", "jsonld", "rdfxml"):
                r = call(client, "GET", "/sparql", params={"query": text, "format": fmt})
                assert r.status_code < 500, (text, r.text[:200])
        for param in ("default-graph-uri", "named-graph-uri"):
            r = call(client, "GET", "/sparql", params={"query": "ASK { ?s ?p ?o }", param: url})
            assert r.status_code == 200
        for path, params in (("/resource", {"uri": url}), ("/explore/node", {"uri": url}),
                             ("/queries/plan-elements-for-gbf-target", {"target": url}), ("/search", {"q": url}),
                             ("/query", {"query": f"LOAD <{url}>"})):
            assert call(client, "GET", path, params=params).status_code < 500
        time.sleep(0.3)
        FIGURES.bad_input("outbound attempt", len(queries) * 4 + 7)
        assert canary.hits == [], canary.hits
    finally:
        canary.close()


def test_no_request_writes_to_the_store(client: TestClient, web_store: LoadedStore) -> None:  # noqa: F811
    before = len(web_store.store)
    probe = "<http://example.org/probe> <http://example.org/p> 1"
    updates = [f"INSERT DATA {{ {probe} }}", "DELETE WHERE { ?s ?p ?o }", "DELETE DATA { <a:a> <a:b> <a:c> }",
               "CLEAR ALL", "CLEAR DEFAULT", "DROP ALL", "DROP GRAPH <https://w3id.org/cpbkg/graph/plan>",
               "CREATE GRAPH <urn:g>", "COPY DEFAULT TO <urn:g>", "MOVE <urn:a> TO <urn:b>", "ADD <urn:a> TO <urn:b>",
               "WITH <urn:g> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
               "LOAD <http://127.0.0.1:9/x.ttl>", f"insert data {{ {probe} }}", f"# c\nINSERT DATA {{ {probe} }}",
               f"PREFIX select: <http://x/> INSERT DATA {{ {probe} }}",
               f"INSERT DATA {{ {probe} }} ; SELECT * {{}}"]
    for text in updates:
        FIGURES.bad_input("update")
        answers = [
            call(client, "GET", "/sparql", params={"query": text}),
            call(client, "GET", "/sparql", params={"update": text}),
            call(client, "POST", "/sparql", data={"query": text}),
            call(client, "POST", "/sparql", data={"update": text}),
            call(client, "POST", "/sparql", content=text, headers={"Content-Type": "application/sparql-query"}),
            call(client, "POST", "/sparql", content=text, headers={"Content-Type": "application/sparql-update"}),
        ]
        for r in answers:
            assert_clear_4xx(r, status=400)
            assert "read-only" in r.text or "LOAD is refused" in r.text or "updates are not allowed" in r.text, r.text
    assert len(web_store.store) == before
    assert not bool(web_store.store.query(f"ASK {{ {probe} }}"))


# --------------------------------------------------------------------------- path traversal


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory, web_settings: Settings, web_store: LoadedStore,  # noqa: F811
         web_pool: QueryPool) -> Iterator[TestClient]:  # noqa: F811
    """An app whose dist/ holds symbolic links that lead outside it (a secret file, the root)."""
    root = tmp_path_factory.mktemp("trap")
    dist = root / "dist"
    shutil.copytree(web_settings.dist_dir, dist)
    (root / "secret.txt").write_text("TOP-SECRET\n")
    (dist / "link.txt").symlink_to(root / "secret.txt")
    (dist / "etc").symlink_to("/etc")
    (dist / ".hidden").write_text("TOP-SECRET\n")
    app = create_app(web_settings.with_(dist_dir=dist), store=web_store, pool=web_pool)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


TRAVERSALS = [
    "/dumps/..%2f..%2f..%2fetc%2fpasswd", "/dumps/%2e%2e/%2e%2e/etc/passwd", "/dumps/%2e%2e%2fsecret.txt",
    "/dumps/..%5csecret.txt", "/dumps/link.txt", "/dumps/etc", "/dumps/etc%2fpasswd", "/dumps/.hidden",
    "/dumps/%2fetc%2fpasswd", "/dumps/release.json%00.txt", "/dumps/....//....//etc/passwd", "/dumps/%2e",
    "/id/..%2f..%2f..%2fetc%2fpasswd", "/id/../../etc/passwd", "/id/%2e%2e/%2e%2e/etc/passwd",
    "/id/goal/..%2f..%2fdumps%2fsecret.txt", "/static/..%2f..%2fquery.py", "/static/%2e%2e/%2e%2e/config.py",
    "/static/....//....//etc/passwd", "/static//etc/passwd", "/queries/..%2f..%2fetc%2fpasswd",
    "/queries/..%2fcpbkg%2fconfig.py.rq", "/graph/..%2f..%2fetc%2fpasswd", "/data/..%2f..%2fetc%2fpasswd",
    "/resource?uri=file:///etc/passwd", "/explore/node?uri=file:///etc/passwd", "/ontology.%2e%2e",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused(trap: TestClient, path: str) -> None:
    FIGURES.bad_input("path traversal")
    r = call(trap, "GET", path)
    assert r.status_code in (400, 404, 405), (path, r.status_code)
    for secret in (b"TOP-SECRET", b"root:x:0:0", b"class Settings", b"import "):
        assert secret not in r.content, (path, secret)


@pytest.mark.parametrize("path", [b"/dumps/..", b"/dumps/.", b"/dumps/../release.json", b"/dumps/../../etc/passwd",
                                  b"/id/../../../etc/passwd", b"/static/../../config.py", b"/dumps/%2e%2e",
                                  b"/queries/../../cpbkg/config.py"])
def test_path_traversal_sent_raw_is_refused(live: LiveServer, path: bytes) -> None:
    """The same, unnormalised (an HTTP client would resolve the dots itself)."""
    FIGURES.bad_input("path traversal")
    r = raw_http(live.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(r) in (400, 404), (path, r[:200])
    assert b"root:x:0:0" not in r and b"class Settings" not in r


def test_the_dumps_listing_shows_only_plain_files_of_dist(trap: TestClient) -> None:
    names = {f["name"] for f in call(trap, "GET", "/dumps/", headers={"Accept": "application/json"}).json()["files"]}
    assert "link.txt" not in names and "etc" not in names and ".hidden" not in names and "release.json" in names


# --------------------------------------------------------------------------- data shown in HTML is escaped

EVIL = "<script>alert('cpbkg')</script>"
EVIL_ATTR = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory, web_settings: Settings) -> Iterator[TestClient]:  # noqa: F811
    """The session's build plus a graph of hostile labels (on a goal of the Plan and a new resource)."""
    import hashlib

    root = tmp_path_factory.mktemp("evil")
    dist = root / "dist"
    shutil.copytree(web_settings.dist_dir, dist)
    base = "https://w3id.org/cpbkg/"

    def lit(text: str, lang: str = "en") -> ox.Literal:
        return ox.Literal(text, language=lang)

    node = ox.NamedNode(base + "id/goal/A.1")
    new = ox.NamedNode(base + "id/goal/EVIL")
    skos = "http://www.w3.org/2004/02/skos/core#"
    g = ox.NamedNode(base + "graph/evil")
    quads = [ox.Quad(node, ox.NamedNode(skos + "altLabel"), lit(EVIL), g),
             ox.Quad(node, ox.NamedNode(skos + "altLabel"), lit(EVIL_ATTR), g),
             ox.Quad(node, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"),
                     ox.NamedNode("javascript:alert(1)"), g),
             ox.Quad(new, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                     ox.NamedNode(base + "ontology#Goal"), g),
             ox.Quad(new, ox.NamedNode(skos + "prefLabel"), lit(EVIL), g),
             ox.Quad(new, ox.NamedNode(skos + "prefLabel"), lit(EVIL, "zh"), g),
             ox.Quad(new, ox.NamedNode(skos + "notation"), ox.Literal(EVIL_ATTR), g),
             ox.Quad(new, ox.NamedNode(skos + "definition"), lit(EVIL + EVIL_ATTR), g),
             ox.Quad(new, ox.NamedNode(base + "ontology#inArea"), ox.NamedNode("javascript:alert(2)"), g)]
    with (dist / "cpbkg.trig").open("ab") as f:
        f.write(b"\n" + (ox.serialize(quads, format=ox.RdfFormat.TRIG) or b""))
    release = json.loads((dist / "release.json").read_text())
    release["data_hash"] = hashlib.sha256((dist / "cpbkg.trig").read_bytes()).hexdigest()
    (dist / "release.json").write_text(json.dumps(release))
    settings = web_settings.with_(dist_dir=dist, store_path=root / "store")
    open_store(settings).close()
    store = open_store(settings, read_only=True)
    pool = QueryPool(store.path, size=1)
    with TestClient(create_app(settings, store=store, pool=pool), raise_server_exceptions=False) as c:
        yield c
    pool.close()
    store.close()


EVIL_PAGES = [
    ("/id/goal/EVIL", {}), ("/id/goal/EVIL.html", {}), ("/id/goal/A.1", {}), ("/id/goal/EVIL", {"lang": "zh"}),
    ("/search", {"q": "script"}), ("/search", {"q": EVIL}), ("/search", {"q": EVIL_ATTR}), ("/", {}),
    ("/explore", {}), ("/explore/node", {"uri": "https://w3id.org/cpbkg/id/goal/EVIL"}),
    ("/explore/node", {"uri": "https://w3id.org/cpbkg/id/goal/A.1"}), ("/query", {"query": "</script>" + EVIL}),
    ("/sparql", {"query": "SELECT ?l ?x { ?x <http://www.w3.org/2004/02/skos/core#altLabel>|"
                          "<http://www.w3.org/2000/01/rdf-schema#seeAlso> ?l }", "format": "html"}),
    ("/sparql", {"query": "CONSTRUCT WHERE { <https://w3id.org/cpbkg/id/goal/EVIL> ?p ?o }", "format": "html"}),
    ("/sparql", {"query": f"SELECT * {{ ?s ?p ?o }} # {EVIL}", "format": "html"}),
    ("/id/goal/" + EVIL, {}), ("/explore/node", {"uri": "http://x/" + EVIL}),
    ("/resource", {"uri": "http://x/" + EVIL_ATTR}), ("/progress/", {}), ("/dumps/", {"format": "html"}),
    ("/queries/", {"format": "html"}), ("/ontology", {}),
]


@pytest.mark.parametrize("path, params", EVIL_PAGES)
def test_data_shown_in_html_is_escaped(evil: TestClient, path: str, params: dict[str, str]) -> None:
    FIGURES.bad_input("hostile label or URL")
    r = call(evil, "GET", path, params=params, headers={"Accept": "text/html"})
    assert r.status_code < 500, (path, r.status_code, r.text[:300])
    text = r.text
    assert "<script>alert(" not in text, (path, text[text.find("<script>alert(") - 200:][:400])
    assert "<img src=x" not in text, path
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", text, re.IGNORECASE), path
    if path == "/id/goal/EVIL":
        assert "&lt;script&gt;alert(" in text  # shown, as text


# --------------------------------------------------------------------------- CORS


def test_cors_never_allows_credentials(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    for url in ("/sparql?query=ASK%7B%7D", "/id/goal/A.1", "/dumps/", "/queries/", "/.well-known/void", "/"):
        r = call(client, "GET", url, headers={**origin, "Cookie": "session=1"})
        assert r.status_code == 200
        assert r.headers.get("access-control-allow-origin") == "*"
        assert "access-control-allow-credentials" not in r.headers
    for method, headers in (("POST", ""), ("PUT", ""), ("GET", "authorization"), ("GET", "cookie")):
        pre = call(client, "OPTIONS", "/sparql", headers={**origin, "Access-Control-Request-Method": method,
                                                          **({"Access-Control-Request-Headers": headers} if headers else {})})
        assert pre.status_code == 400, (method, headers)
        assert "access-control-allow-credentials" not in pre.headers
    ok = call(client, "OPTIONS", "/sparql", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert ok.status_code == 200 and "access-control-allow-credentials" not in ok.headers


def test_cors_off_sends_no_cors_headers(web_settings: Settings, web_store: LoadedStore,  # noqa: F811
                                        web_pool: QueryPool) -> None:  # noqa: F811
    app = create_app(web_settings.with_(cors_origins=""), store=web_store, pool=web_pool)
    with TestClient(app) as c:
        r = call(c, "GET", "/sparql", params={"query": "ASK {}"}, headers={"Origin": "https://elsewhere.example"})
        assert r.status_code == 200 and not any(h.startswith("access-control-") for h in r.headers)
