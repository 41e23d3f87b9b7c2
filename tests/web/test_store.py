"""``/store``: the Graph Store Protocol's read side over real HTTP, on the session's build -- each named
graph and the default graph whole, in every RDF format of the registry, with HEAD, validators, gzip,
and the errors (404 for a graph the store has not, 400 for both or neither of graph= and default).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from support.web_server import make_live

from cpbkg.config import Settings
from cpbkg.formats import GRAPHS
from cpbkg.store.embedded import LoadedStore

BASE = Settings().base_uri
PARSERS = {f.name: f.rdf for f in GRAPHS}


@pytest.fixture(scope="module")
def web(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=60) as c:
        yield c


def graph_of(data: bytes, fmt: str) -> ox.Dataset:
    """The triples of a document, blank nodes renamed canonically (two parses compare equal)."""
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in ox.parse(data, format=PARSERS[fmt]))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def stored(store: LoadedStore, name: str) -> ox.Dataset:
    quads = store.store.quads_for_pattern(None, None, None, ox.NamedNode(BASE + "graph/" + name))
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@pytest.mark.parametrize("name", ["plan", "ontology", "dataset", "reports"])
def test_a_named_graph_whole_in_every_format(web: httpx.Client, web_store: LoadedStore, name: str, fmt: str) -> None:
    """Whole even where the endpoint has a row cap (the test servers' 5,000): a graph is asked for as one."""
    r = web.get("/store", params={"graph": BASE + "graph/" + name, "format": fmt})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].split(";")[0] == PARSERS[fmt].media_type  # type: ignore[union-attr]
    assert graph_of(r.content, fmt) == stored(web_store, name)
    by_accept = web.get("/store", params={"graph": BASE + "graph/" + name},
                        headers={"Accept": PARSERS[fmt].media_type})  # type: ignore[union-attr]
    assert by_accept.content == r.content


def test_the_default_graph_is_the_union(web: httpx.Client, web_store: LoadedStore, web_settings: Settings) -> None:
    release = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))
    r = web.get("/store?default", headers={"Accept": "application/n-triples"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/n-triples"
    lines = r.content.decode("utf-8").splitlines()
    assert len(lines) == len(set(lines)) == release["triples"]  # each triple once, though graphs share some
    turtle = rdflib.Graph().parse(data=web.get("/store?default").content, format="turtle")
    assert len(turtle) == release["triples"]


def test_head_validators_and_gzip(web: httpx.Client) -> None:
    params = {"graph": BASE + "graph/plan"}
    r = web.get("/store", params=params, headers={"Accept-Encoding": "identity"})
    etag = r.headers["etag"]
    assert r.headers["content-type"] == "text/turtle; charset=utf-8" and "last-modified" in r.headers
    head = web.head("/store", params=params)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert web.get("/store", params=params, headers={"If-None-Match": etag}).status_code == 304
    zipped = web.get("/store", params=params, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == r.content
    other = web.get("/store", params={**params, "format": "nt"}, headers={"If-None-Match": etag})
    assert other.status_code == 200  # another format, another validator


@pytest.mark.parametrize("query, status, text", [
    ("", 400, "neither"),
    ("?graph=https://w3id.org/cpbkg/graph/plan&default", 400, "both"),
    ("?graph=https://w3id.org/cpbkg/graph/plan&graph=https://w3id.org/cpbkg/graph/gbf", 400, "several"),
    ("?graph=https://example.org/no-such-graph", 404, "no graph <https://example.org/no-such-graph>"),
    ("?graph=not%20an%20iri", 400, "absolute IRI"),
    ("?graph=https://w3id.org/cpbkg/graph/plan&format=csv", 406, "RDF"),
])
def test_errors(web: httpx.Client, query: str, status: int, text: str) -> None:
    r = web.get("/store" + query)
    assert r.status_code == status and text in r.text, r.text
    assert web.get("/store" + query, headers={"Accept": "image/png"}).status_code in (status, 406)


def test_a_graph_over_the_byte_bound_is_refused_before_any_byte(web_settings: Settings, web_store: LoadedStore) -> None:
    server, pool = make_live(web_settings.with_(result_bytes=10_000), web_store, size=1)
    try:
        r = httpx.get(server.url + "/store", params={"graph": BASE + "graph/reports"}, timeout=60)
        assert r.status_code == 422 and "ResultTooLarge" in r.text
        small = httpx.get(server.url + "/store", params={"graph": BASE + "graph/nothing-here"}, timeout=60)
        assert small.status_code == 404
    finally:
        server.stop()
        pool.close()
