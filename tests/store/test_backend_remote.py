"""The remote backend (``cpbkg serve --backend URL``): what the shared API suite does not show.

The shared API suite (tests/test_web_*.py, tests/test_sparqlwrapper.py) runs on both backends
through the ``web_app`` fixture of ``web_server.py``; here: writing bound values safely, the
check that the store holds the build in ``dist/``, refusals before anything is forwarded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from support.oxigraph_server import OxigraphServer, running_oxigraph

from cpbkg.config import Settings
from cpbkg.errors import RequestError, StoreError
from cpbkg.store.backend import open_remote, parse_backend, sparql_term, with_values
from cpbkg.store.publish import publish
from cpbkg.store.remote import RemoteStore, endpoints


def test_terms_are_written_safely() -> None:
    hostile = ox.Literal('x" } } ; DROP ALL ; SELECT * { "', language="en")
    written = sparql_term(hostile)
    assert written == '"x\\" } } ; DROP ALL ; SELECT * { \\""@en'
    text = with_values("SELECT ?v WHERE { ?s ?p ?v FILTER(?v = ?needle) }", {"needle": written})
    parsed = ox.Store().query(text)  # one query, the value one literal
    assert [v.value for v in parsed.variables] == ["v"]
    with pytest.raises(RequestError):
        sparql_term(ox.Literal("a \\u0022 b"))
    with pytest.raises(RequestError):
        sparql_term(ox.BlankNode("b"))  # type: ignore[arg-type]
    with pytest.raises(RequestError):
        with_values("SELECT * {}", {"x } DROP": '"1"'})


def test_values_go_into_the_outermost_group_and_every_sub_select() -> None:
    q = 'PREFIX s: <http://x/> CONSTRUCT { ?a s:p "{" } WHERE { { SELECT ?a {} } } # {'
    assert with_values(q, {"a": "<http://x/a>"}) == (
        'PREFIX s: <http://x/> CONSTRUCT { ?a s:p "{" } WHERE { VALUES (?a) { (<http://x/a>) } '
        '{ SELECT ?a { VALUES (?a) { (<http://x/a>) }} } } # {')


def test_a_value_bound_on_a_remote_store_reaches_a_sub_select_as_pyoxigraph_binds_it() -> None:
    """A sub-select that picks a default with COALESCE sees the bound value (indicators-of-goal)."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://x/A"), ox.NamedNode("http://x/p"), ox.Literal("a")))
    store.add(ox.Quad(ox.NamedNode("http://x/B"), ox.NamedNode("http://x/p"), ox.Literal("b")))
    q = ("SELECT ?g ?v WHERE { { SELECT ?g ?v WHERE { BIND(COALESCE(?g, <http://x/A>) AS ?x) "
         "?x <http://x/p> ?v } } }")
    substituted = [r["v"].value for r in store.query(q, substitutions={ox.Variable("g"): ox.NamedNode("http://x/B")})]
    assert substituted == ["b"]
    assert [r["v"].value for r in store.query(with_values(q, {"g": "<http://x/B>"}))] == substituted


def test_parse_backend() -> None:
    assert parse_backend("http://h:7878") == ("oxigraph", "http://h:7878")
    assert parse_backend("fuseki+http://h:3030/ds") == ("fuseki", "http://h:3030/ds")
    assert parse_backend("embedded") == ("embedded", "")


@pytest.fixture()
def store_server(tmp_path: Path) -> Iterator[OxigraphServer]:
    yield from running_oxigraph(tmp_path / "oxigraph")


def test_a_store_without_the_build_is_refused(web_settings: Settings, store_server: OxigraphServer) -> None:
    with pytest.raises(StoreError, match="does not hold the build"):
        open_remote(web_settings, store_server.url)
    with RemoteStore.at(endpoints(store_server.url, "oxigraph")) as client:
        publish(web_settings.dist_dir, client)
        backend = open_remote(web_settings, store_server.url)
        backend.close()
        # an incomplete store (one graph lost) is refused, naming the graph
        plan = web_settings.base_uri + "graph/plan"
        client.delete_graph(plan)
        with pytest.raises(StoreError, match=f"<{plan}> holds 0 triples"):
            open_remote(web_settings, store_server.url)
    open_remote(web_settings, store_server.url, verify=False).close()


def test_refused_queries_never_reach_the_store(web_settings: Settings, store_server: OxigraphServer) -> None:
    from fastapi.testclient import TestClient

    from cpbkg.web.app import create_app

    with RemoteStore.at(endpoints(store_server.url, "oxigraph")) as client:
        publish(web_settings.dist_dir, client)
    backend = open_remote(web_settings, store_server.url)
    sent: list[str] = []
    original = backend.client.query_stream

    def spy(text: str, *args: object, **kwargs: object) -> object:
        sent.append(text)
        return original(text, *args, **kwargs)  # type: ignore[arg-type]

    backend.client.query_stream = spy  # type: ignore[method-assign]
    with TestClient(create_app(web_settings, store=backend)) as c:
        for text in ("SELECT * { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", "DROP ALL",
                     "LOAD <http://127.0.0.1:1/x>", "INSERT DATA { <http://x/a> <http://x/b> 1 }"):
            assert c.get("/sparql", params={"query": text}).status_code == 400
        assert sent == []
        r = c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "text/csv"})
        assert r.status_code == 200 and r.text.strip() == "true"
        assert len(sent) == 1
        c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "text/csv"})
        assert len(sent) == 1  # the cache answered
    backend.close()
    assert httpx.post(store_server.url + "/query", data={"query": "ASK { ?s ?p ?o }"}).status_code == 200
