"""``/queries/``: the catalogue of named queries (``queries/*.rq``) as an HTTP API.

* ``GET /queries/`` lists them: name, title, description, parameters (name, description,
  kind ``iri``/``literal``, default) and tags; JSON by default, HTML for a browser.
* ``GET /queries/{name}`` runs one over the union of the graphs. Its parameters come from the
  query string by name (``/queries/plan-elements-for-gbf-target?target=https://…/target/20``)
  and are bound with pyoxigraph's ``substitutions`` through :meth:`NamedQuery.bind` -- never
  pasted into the text; a parameter left out keeps the default written in the file. A value
  that is not of the parameter's kind, or an unknown parameter, is a 400 naming it and saying
  why. The answer is negotiated like ``/sparql`` (``Accept`` or ``format=``, every format the
  endpoint offers) and runs under the same timeout, result cap and cache.
* ``GET /queries/{name}.rq`` is the SPARQL text as written in the file
  (``application/sparql-query``), to paste into any endpoint.

An unknown name is a 404. The catalogue is read once per application.
"""

from __future__ import annotations

import html
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from cpbkg.errors import BadParameter, NotAcceptable, NotFound
from cpbkg.sparql.catalogue import NamedQuery, load_catalogue
from cpbkg.web.negotiation import negotiate
from cpbkg.web.routes.sparql import (
    _RESPONSES,
    CACHE_CONTROL,
    FORMAT_DOC,
    answer_query,
    choose_formats,
    not_modified,
)

router = APIRouter(tags=["named queries"])

#: query-string names that are not parameters of a named query
RESERVED = frozenset({"format"})


def catalogue(request: Request) -> dict[str, NamedQuery]:
    """The named queries, read once (a broken file is a SourceError: 500 with file and line)."""
    state = request.app.state
    found = getattr(state, "catalogue", None)
    if found is None:
        found = load_catalogue(state.settings.queries_dir)
        state.catalogue = found
    return found  # type: ignore[no-any-return]


def describe(q: NamedQuery) -> dict[str, object]:
    """One catalogue entry as JSON."""
    return {
        "name": q.name,
        "title": q.title,
        "description": q.description,
        "tags": list(q.tags),
        "parameters": [{"name": p.name, "description": p.description, "kind": p.kind, "default": p.default.value}
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
    if format is not None:
        kind = {"json": "json", "application/json": "json", "html": "html", "text/html": "html"}.get(format.lower())
        if kind is None:
            raise NotAcceptable(f"the list is json or html, not {format!r}")
    else:
        kind = negotiate(request.headers.get("accept"), [("application/json", "json"), ("text/html", "html")])
        if kind is None:
            raise NotAcceptable("the list is given as application/json or text/html")
    entries = [describe(q) for q in catalogue(request).values()]
    etag = f'W/"{request.app.state.store.data_version}-queries-{len(entries)}-{kind}"'
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    if kind == "json":
        body = json.dumps({"queries": entries}, indent=2, ensure_ascii=False).encode("utf-8")
        return Response(body, headers={**headers, "Content-Type": "application/json"})
    items = []
    for e in entries:
        params = "".join(
            f"<li><code>{html.escape(str(p['name']))}</code> ({html.escape(str(p['kind']))}): "
            f"{html.escape(str(p['description']))}; default <code>{html.escape(str(p['default']))}</code></li>"
            for p in e["parameters"])  # type: ignore[attr-defined]
        items.append(
            f"<section id=\"{html.escape(str(e['name']))}\"><h2>{html.escape(str(e['title']))}</h2>"
            f"<p>{html.escape(str(e['description']))}</p>"
            + (f"<p>Parameters:</p><ul>{params}</ul>" if params else "")
            + f"<p><a href=\"{e['url']}?format=html\">run</a> · <a href=\"{e['url']}?format=json\">JSON</a> · "
              f"<a href=\"{e['url']}?format=csv\">CSV</a> · <a href=\"{e['sparql']}\">SPARQL</a>"
            + (f" · tags: {html.escape(', '.join(e['tags']))}" if e["tags"] else "") + "</p></section>")  # type: ignore[arg-type]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CPB-KG named queries</title>
<link rel="stylesheet" href="/static/cpbkg.css"></head>
<body><main><h1>Named queries</h1>
<p>Each query runs at <code>/queries/{{name}}</code> with its parameters in the query string, in any
format of the <a href="/sparql">SPARQL endpoint</a> (<code>format=json|xml|csv|tsv|ttl|…</code> or
<code>Accept</code>). This list as <a href="/queries/?format=json">JSON</a>.</p>
{''.join(items)}
</main></body></html>
"""
    return Response(page.encode("utf-8"), headers={**headers, "Content-Type": "text/html; charset=utf-8"})


@router.api_route("/queries/{name}.rq", methods=["GET", "HEAD"], summary="The SPARQL text of a named query",
                  responses={200: {"content": {"application/sparql-query": {}}}, 404: {"description": "no such query"}})
def query_text(request: Request, name: str) -> Response:
    """The query as written in ``queries/{name}.rq``: valid SPARQL 1.1 that runs as it is."""
    q = _lookup(request, name)
    return Response(q.text.encode("utf-8"), headers={
        "Content-Type": "application/sparql-query; charset=utf-8",
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
    try:
        substitutions = q.bind(values)
    except ValueError as exc:
        raise BadParameter(str(exc)) from None
    return await answer_query(request, q.text, formats=choose_formats(request, request.query_params.getlist("format")),
                              substitutions=substitutions, union=True)


def openapi_paths(queries: dict[str, NamedQuery]) -> dict[str, object]:
    """One documented OpenAPI operation per named query, with its parameters (merged into /openapi.json)."""
    paths: dict[str, object] = {}
    for q in queries.values():
        parameters: list[dict[str, object]] = []
        for p in q.params:
            schema: dict[str, str] = {"type": "string", "default": p.default.value}
            if p.kind == "iri":
                schema["format"] = "uri"
            parameters.append({
                "name": p.name, "in": "query", "required": False, "schema": schema,
                "description": f"{p.description} ({'an absolute http(s) IRI' if p.kind == 'iri' else 'text'}; "
                               f"default {p.default.value})",
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
