"""``/queries/``: the catalogue of named queries (``queries/*.rq``) as an HTTP API.

* ``GET /queries/`` lists them: name, title, description, parameters (name, description,
  kind ``iri``/``literal``, default) and tags; JSON by default, HTML for a browser.
* ``GET /queries/{name}`` runs one over the union of the graphs. Its parameters come from the
  query string by name (``/queries/plan-elements-for-gbf-target?target=https://…/target/20``)
  and are bound with pyoxigraph's ``substitutions`` through :meth:`NamedQuery.bind` -- never
  pasted into the text. A typed parameter (the fourth field of its header line) also takes what
  people type: ``?target=17``, ``?target=Target 17``, ``?goal=B.3``, ``?party=CHN``,
  ``?provision=Art. 26``, ``?lang=Chinese``, resolved by :func:`resolver` (a look-up in the
  store, :class:`cpbkg.describe.codes.CodeResolver`, the text bound as a query parameter too).
  A parameter left out is bound to the default written in the file, so that the answer's
  parameter column says which value was used. A value that is not of the parameter's kind,
  names no resource (or several), or an unknown parameter, is a 400 naming it and saying why. The answer is negotiated like ``/sparql`` (``Accept`` or ``format=``, every format the
  endpoint offers) and runs under the same timeout, result cap and cache.
* ``GET /queries/{name}.rq`` is the SPARQL text as written in the file
  (``application/sparql-query``), to paste into any endpoint.

An unknown name is a 404. The catalogue is read once per application.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from cpbkg.describe.codes import CodeResolver, language_tag, plain_code
from cpbkg.errors import BadParameter, NotFound
from cpbkg.formats import HTML, JSON, SPARQL_QUERY
from cpbkg.sparql.catalogue import NamedQuery, Param, Resolver, Term
from cpbkg.web.negotiation import LISTINGS, choose
from cpbkg.web.routes.sparql import (
    _RESPONSES,
    CACHE_CONTROL,
    FORMAT_DOC,
    answer_query,
    choose_formats,
    not_modified,
)
from cpbkg.web.state import serving
from cpbkg.web.view import curie, render_document

if TYPE_CHECKING:
    from cpbkg.store.protocol import GraphStore

router = APIRouter(tags=["named queries"])

#: query-string names that are not parameters of a named query
RESERVED = frozenset({"format"})


def catalogue(request: Request) -> dict[str, NamedQuery]:
    """The named queries, read once (a broken file is a SourceError: 500 with file and line)."""
    return serving(request).catalogue


def accepts(p: Param) -> str:
    """What a parameter takes, in words (the listing, the OpenAPI description)."""
    if p.kind == "literal":
        return {"code": "a code, with or without the name of its kind (Goal B.3, Art. 26)",
                "language": "a language tag or name (zh, Chinese, 中文)"}.get(p.type[0] if p.type else "", "text")
    if p.classes:
        return f"a code, a name or an IRI of a {' or '.join(curie(c) for c in p.classes)}"
    return "an absolute http(s) IRI"


def describe(q: NamedQuery) -> dict[str, object]:
    """One catalogue entry as JSON."""
    return {
        "name": q.name,
        "title": q.title,
        "description": q.description,
        "title_zh": q.title_in("zh"),
        "description_zh": q.description_in("zh"),
        "tags": list(q.tags),
        "parameters": [{"name": p.name, "description": p.description, "kind": p.kind, "default": p.default.value,
                        **({"type": [curie(c) for c in p.type], "accepts": accepts(p)} if p.type else {})}
                       for p in q.params],
        "url": f"/queries/{q.name}",
        "sparql": f"/queries/{q.name}.rq",
    }


def _lookup(request: Request, name: str) -> NamedQuery:
    found = catalogue(request).get(name)
    if found is None:
        raise NotFound(f"no named query {name!r}; the list is at /queries/")
    return found


@router.get("/queries", include_in_schema=False)
def queries_redirect() -> RedirectResponse:
    return RedirectResponse("/queries/", status_code=301)


@router.api_route("/queries/", methods=["GET", "HEAD"], summary="List the named queries",
                  responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def list_queries(
    request: Request,
    format: Annotated[str | None, Query(description="json or html, overriding Accept")] = None,
) -> Response:
    """The catalogue: name, title, description, parameters with their defaults, tags."""
    kind = choose(request.headers.get("accept"), [format] if format is not None else [], LISTINGS,
                  what="the list of named queries is JSON or a page")
    entries = [describe(q) for q in catalogue(request).values()]
    etag = f'W/"{serving(request).store.data_version}-queries-{len(entries)}-{kind}"'
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    if kind == "json":
        body = json.dumps({"queries": entries}, indent=2, ensure_ascii=False).encode("utf-8")
        return Response(body, headers={**headers, "Content-Type": JSON.content_type})
    return Response(render_document("queries_list.html", entries=entries),
                    headers={**headers, "Content-Type": HTML.content_type})


@router.api_route("/queries/{name}.rq", methods=["GET", "HEAD"], summary="The SPARQL text of a named query",
                  responses={200: {"content": {"application/sparql-query": {}}}, 404: {"description": "no such query"}})
def query_text(request: Request, name: str) -> Response:
    """The query as written in ``queries/{name}.rq``: valid SPARQL 1.1 that runs as it is."""
    q = _lookup(request, name)
    return Response(q.text.encode("utf-8"), headers={
        "Content-Type": SPARQL_QUERY.content_type,
        "Content-Disposition": f'inline; filename="{q.name}.rq"',
        "Cache-Control": CACHE_CONTROL,
    })


@router.api_route("/queries/{name}", methods=["GET", "HEAD"], summary="Run a named query",
                  responses={**_RESPONSES, 404: {"description": "no such query"}})
async def run_query(
    request: Request,
    name: str,
    format: Annotated[list[str], Query(description=FORMAT_DOC)] = [],  # noqa: B006
) -> Response:
    """Run one query of the catalogue with the parameter values given in the query string
    (see ``/queries/`` for each query's parameters and defaults). Values are bound to the
    query's variables, never pasted into its text."""
    q = _lookup(request, name)
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in RESERVED:
            continue
        if key in values:
            raise BadParameter(f"parameter {key!r} is given more than once")
        values[key] = value
    resolve = resolver(serving(request).store.store)
    try:
        substitutions = await anyio.to_thread.run_sync(lambda: q.bind(values, resolve=resolve, defaults=True))
    except ValueError as exc:
        raise BadParameter(str(exc)) from None
    return await answer_query(request, q.text, formats=choose_formats(request, request.query_params.getlist("format")),
                              substitutions=substitutions, union=True)


def resolver(store: GraphStore) -> Resolver:
    """How what people type becomes a typed parameter's term, on ``store``: an IRI parameter's code or
    name is looked up among the resources of its classes; a ``code`` literal loses the name of its
    kind ("Goal B.3" is "B.3"); a ``language`` is a tag ("Chinese" is "zh")."""
    codes = CodeResolver(store)

    def resolve(param: Param, value: str) -> Term:
        if param.kind == "iri":
            return codes.resolve(param.classes, value, param.default.value)
        if "language" in param.type:
            return ox.Literal(language_tag(value) or value.strip().lower())
        return ox.Literal(plain_code(value))

    return resolve


def openapi_paths(queries: dict[str, NamedQuery]) -> dict[str, object]:
    """One documented OpenAPI operation per named query, with its parameters (merged into /openapi.json)."""
    paths: dict[str, object] = {}
    for q in queries.values():
        parameters: list[dict[str, object]] = []
        for p in q.params:
            schema: dict[str, str] = {"type": "string", "default": p.default.value}
            if p.kind == "iri":
                schema["format"] = "uri"
            if p.kind == "iri" and p.classes:
                schema.pop("format")  # a code or a name too
            parameters.append({
                "name": p.name, "in": "query", "required": False, "schema": schema,
                "description": f"{p.description} ({accepts(p)}; default {p.default.value})",
            })
        parameters.append({"name": "format", "in": "query", "required": False, "description": FORMAT_DOC,
                           "schema": {"type": "string"}})
        paths[f"/queries/{q.name}"] = {"get": {
            "tags": ["named queries: catalogue"],
            "summary": q.title,
            "description": q.description + (f"\n\nTags: {', '.join(q.tags)}." if q.tags else "")
            + f"\n\nSPARQL text: `/queries/{q.name}.rq`.",
            "operationId": f"named_query_{q.name.replace('-', '_')}",
            "parameters": parameters,
            "responses": {"200": {"description": "the answer, in the negotiated format"},
                          "400": {"description": "a parameter value that is not valid (the message names it)"},
                          "503": {"description": "the query ran past the timeout"}},
        }}
    return paths
