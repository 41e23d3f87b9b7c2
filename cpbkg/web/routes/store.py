"""``/store``: the SPARQL 1.1 Graph Store HTTP Protocol, read side -- whole graphs by name.

* ``GET /store?graph=IRI`` -- the named graph ``IRI`` of the store (``{base}graph/plan`` and
  the others the service description lists; ``{base}graph/dataset`` is the VoID description);
  ``404`` when the store has no graph of that name.
* ``GET /store?default`` -- the default graph: the union of the named graphs (each triple once),
  as ``/sparql`` reads it (``sd:UnionDefaultGraph``); with ``Settings.union_default_graph`` off,
  the store's own default graph, which a build leaves empty.
* Both or neither: ``400`` (Graph Store Protocol §4.2: one graph per request). ``HEAD`` as ``GET``.

Every RDF format of the registry, by ``Accept`` (:mod:`cpbkg.web.negotiation`) or ``format=``:
Turtle (the default), N-Triples, JSON-LD, RDF/XML, TriG, N-Quads. A graph is read by the query
service like any answer (``CONSTRUCT`` of the graph on a query worker), so it has the endpoint's
guarantees -- timeout, worker heap cap, read-only -- and streams: a graph of any size comes back
whole, with ``ETag``/``Last-Modified`` (304 on a match) and gzip, and no row cap applies (it is
a whole graph, asked for as one). The files of the same graphs are ``/dumps/graphs/{name}.ttl``.
"""

from __future__ import annotations

from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cpbkg.errors import NotFound, RequestError
from cpbkg.formats import GRAPHS
from cpbkg.web.negotiation import choose
from cpbkg.web.routes.sparql import _RESPONSES, answer_query
from cpbkg.web.state import serving

router = APIRouter(tags=["graph store"])

#: the graph named by the request's dataset: its triples (a graph has no duplicates)
GRAPH = "CONSTRUCT WHERE { ?s ?p ?o }"
#: the union of the named graphs: each triple once, though several graphs hold it
UNION = "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"

GRAPH_DOC = "IRI of a named graph of the store, e.g. https://w3id.org/cpbkg/graph/plan"
DEFAULT_DOC = "present (no value): the default graph, the union of the named graphs"
FORMAT_DOC = "ttl, nt, jsonld, rdfxml, trig or nq (or a media type), overriding Accept"


@router.api_route("/store", methods=["GET", "HEAD"], summary="A whole graph (Graph Store Protocol, read)",
                  responses={**{k: v for k, v in _RESPONSES.items() if k in (200, 304, 406, 503)},
                             400: {"description": "neither or both of graph= and default"},
                             404: {"description": "no graph of that name in the store"}},
                  response_class=Response)
async def graph_store(
    request: Request,
    graph: Annotated[str | None, Query(description=GRAPH_DOC)] = None,
    default: Annotated[str | None, Query(description=DEFAULT_DOC)] = None,
    format: Annotated[list[str], Query(description=FORMAT_DOC)] = [],  # noqa: B006
) -> Response:
    """One graph of the store, whole, in the negotiated RDF format."""
    params = request.query_params
    named = params.getlist("graph")
    if len(named) + ("default" in params) != 1:
        raise RequestError("name one graph: ?graph=IRI (a named graph) or ?default (the default graph), "
                           f"not {'both' if named and 'default' in params else 'several' if named else 'neither'}")
    fmt = choose(request.headers.get("accept"), params.getlist("format"), GRAPHS, what="a graph is RDF")
    if not named:
        return await answer_query(request, UNION, formats=(None, fmt, False), row_cap=0)
    try:
        iri = ox.NamedNode(named[0].strip())
    except ValueError:
        raise RequestError(f"graph= must be an absolute IRI, not {named[0]!r}") from None
    if not serving(request).store.store.contains_named_graph(iri):
        raise NotFound(f"the store has no graph <{iri.value}>; the service description (/sparql) lists them")
    return await answer_query(request, GRAPH, formats=(None, fmt, False), default_graphs=[iri.value],
                              named_graphs=[], row_cap=0)
