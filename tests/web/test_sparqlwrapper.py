"""SPARQLWrapper, the usual Python client, against the endpoint on a real uvicorn: SELECT answers in
JSON, XML, CSV and TSV, ASK, a CONSTRUCT graph in Turtle, RDF/XML and JSON-LD, GET and POST, and
the exception it raises for a malformed query. SPARQLWrapper sends ``format``/``output``/
``results`` parameters besides ``Accept`` (some with two values): the endpoint must still answer
in the asked format.
"""

from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest
import rdflib
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    POST,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from cpbkg.store.embedded import LoadedStore

GOALS = ("PREFIX cpb: <https://w3id.org/cpbkg/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
         "SELECT ?goal ?code WHERE { ?goal a cpb:Goal ; skos:notation ?code } ORDER BY ?code")
GOAL_A1 = "https://w3id.org/cpbkg/id/goal/A.1"
DESCRIBE_A1 = f"CONSTRUCT {{ <{GOAL_A1}> ?p ?o }} WHERE {{ <{GOAL_A1}> ?p ?o }}"


def wrapper(live: str, query: str, fmt: str, method: str | None = None) -> SPARQLWrapper:
    sparql = SPARQLWrapper(live + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    if method:
        sparql.setMethod(method)
    return sparql


def codes(store: LoadedStore) -> list[str]:
    return sorted(s["code"].value for s in store.store.query(GOALS, use_default_graph_as_union=True))


@pytest.mark.parametrize("method", [None, POST])
def test_select_json(live: str, web_store: LoadedStore, method: str | None) -> None:
    result = wrapper(live, GOALS, JSON, method).queryAndConvert()
    assert [b["code"]["value"] for b in result["results"]["bindings"]] == codes(web_store)  # type: ignore[index]


def test_select_xml(live: str, web_store: LoadedStore) -> None:
    doc = wrapper(live, GOALS, XML).queryAndConvert()  # an xml.dom.minidom Document
    values = [n.firstChild.data for n in doc.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert sorted(values) == codes(web_store)


def test_select_csv_and_tsv(live: str, web_store: LoadedStore) -> None:
    raw = wrapper(live, GOALS, CSV).queryAndConvert()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))  # type: ignore[union-attr]
    assert [r["code"] for r in rows] == codes(web_store)
    raw = wrapper(live, GOALS, TSV).queryAndConvert()
    parsed = ox.parse_query_results(raw, format=ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
    assert [s["code"].value for s in parsed] == codes(web_store)


def test_ask(live: str) -> None:
    assert wrapper(live, f"ASK {{ <{GOAL_A1}> ?p ?o }}", JSON).queryAndConvert()["boolean"] is True  # type: ignore[index]


@pytest.mark.parametrize("fmt", [TURTLE, RDFXML, JSONLD, XML])
def test_construct_graph(live: str, web_store: LoadedStore, fmt: str) -> None:
    graph = wrapper(live, DESCRIBE_A1, fmt).queryAndConvert()
    if fmt == TURTLE:  # SPARQLWrapper hands Turtle over as bytes
        assert isinstance(graph, bytes)
        graph = rdflib.Graph().parse(data=graph.decode("utf-8"), format="turtle")
    assert isinstance(graph, rdflib.Graph)
    expected = list(web_store.store.query(DESCRIBE_A1, use_default_graph_as_union=True))
    assert len(graph) == len(expected) > 5
    assert (rdflib.URIRef(GOAL_A1), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/cpbkg/ontology#Goal")) in graph


def test_malformed_query_raises_query_bad_formed(live: str) -> None:
    with pytest.raises(QueryBadFormed, match="line 1, column"):
        wrapper(live, "SELECT * WHERE { ?s ?p ", JSON).queryAndConvert()
