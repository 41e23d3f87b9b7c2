"""Dereferenceable URIs: every resource of CPB-KG as a readable page and as RDF.

A URI under the configured base (``settings.base_uri``, default ``https://w3id.org/cpbkg/``) is
served at the same path on this server, whatever host the request came to:
``{base}id/goal/A.1`` at ``/id/goal/A.1``, ``{base}graph/plan`` at ``/graph/plan``,
``{base}dataset`` at ``/dataset``. The ontology's hash URIs (``…/ontology#Goal``) are served by
``/ontology``, whose HTML has one anchor per term (``/ontology#Goal``).

How a URI answers (W3C "Cool URIs for the Semantic Web"): **content negotiation, no redirect.**
The bare URI answers ``200`` with the representation its ``Accept`` header prefers (the rule of
:mod:`cpbkg.web.negotiation`; ties go to HTML, then Turtle), with ``Vary: Accept, Accept-Language``, a
``Content-Location`` naming the suffixed document it returned and a ``Link`` header listing
every variant (``rel="alternate"``). Each variant has a URL of its own that always returns the
same format:

==============  ========================  ===========================
suffix          media type                what
==============  ========================  ===========================
``.html``       ``text/html``             the page (language from ``?lang=`` or ``Accept-Language``)
``.ttl``        ``text/turtle``           the description in Turtle
``.jsonld``     ``application/ld+json``   in JSON-LD (compacted; expanded on request)
``.nt``         ``application/n-triples`` in N-Triples
``.rdf``        ``application/rdf+xml``   in RDF/XML
``.trig``       ``application/trig``      in TriG (the default graph)
``.nq``         ``application/n-quads``   in N-Quads (the default graph)
==============  ========================  ===========================

The RDF is written for people and for other people's parsers (:mod:`cpbkg.sparql.rdfdoc`): the
resource's own triples first, then those of each other subject together; Turtle, TriG and
RDF/XML declare only the prefixes they use (of :data:`cpbkg.vocab.PREFIXES`, and ``id:`` for
``{base}id/``), and an IRI a prefixed name could give only with a backslash escape
(``id:area\\/A``) is written in full. JSON-LD is compacted against the context published at
``/context.jsonld`` (referenced by its URL on this server: every prefix of the map is a term);
a client that names the profile ``http://www.w3.org/ns/json-ld#expanded`` in ``Accept``
(``application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"``) on the bare URI gets
it expanded (a suffixed URL, ``.jsonld``, always gives the same document: compacted).

We use the 200-with-``Content-Location`` form rather than a 303 to a suffixed document:
one round trip fewer for every client, the variant URLs are still there to bookmark and to
cite, and the W3C TAG's 2012 httpRange-14 resolution allows a 200 answer for a slash URI of a
thing when the answer describes the thing. A code with ``.`` in it (``A.1``) is no problem: a
suffix is only taken as one when the whole path is not itself a resource.

What the RDF holds is documented in :mod:`cpbkg.describe`: the concise bounded description,
the labels and codes of the resources it links to, and the records (``cpb:Link``) of its links
with their basis.

Unknown URIs answer ``404``: an HTML page, or a short ``text/plain`` message when the client
asked for RDF. An ``Accept`` header that allows none of the formats gets ``406``.

Resources outside our base that the graph describes (the UN's SDG URIs such as
``http://metadata.un.org/sdg/2``) are not ours to dereference; their in-graph description is
served, the same way, at ``/resource?uri=…`` (``&format=ttl`` etc. for a fixed format), and the
page says so. ``/resource?uri=`` for one of our own URIs redirects (301) to its path.

Every look-up goes through :class:`cpbkg.describe.resource.Describer` on ``NamedNode`` terms; no value
from a request is ever pasted into SPARQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from cpbkg.describe.model import Resource
from cpbkg.formats import FORMATS as SPARQL_FORMATS
from cpbkg.formats import HTML, Format
from cpbkg.sparql.rdfdoc import EXPANDED, jsonld_context, write_document
from cpbkg.vocab import ONTOLOGY_IRI, PREFIXES
from cpbkg.web import negotiation
from cpbkg.web.memo import memorable
from cpbkg.web.negotiation import offers_for
from cpbkg.web.view import HTTP_IRI, RESOURCE_PATHS, View

router = APIRouter()


#: the representations of a resource, in the server's order of preference (ties go to the page, then Turtle)
FORMATS: tuple[Format, ...] = (HTML, *(SPARQL_FORMATS[name] for name in ("ttl", "jsonld", "nt", "rdfxml", "trig", "nq")))
#: the suffix of a variant URL (the format's file extension) -> its format
BY_SUFFIX = {f.extension: f for f in FORMATS}
RDF_FORMATS = tuple(f for f in FORMATS if f.rdf is not None)
#: what Accept chooses from: the media types of FORMATS, then their aliases (application/json, ...)
OFFERS = offers_for(FORMATS)
_BY_NAME = {f.name: f for f in FORMATS}


def negotiate(accept: str | None) -> Format | None:
    """The format for an ``Accept`` header, by the rule of :mod:`cpbkg.web.negotiation`.

    >>> negotiate("text/turtle;q=0.9, application/ld+json").extension
    'jsonld'
    >>> negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8").extension
    'html'
    >>> negotiate("application/n-triples, */*;q=0.1").extension
    'nt'
    >>> negotiate(None).extension, negotiate("text/turtle;q=abc").extension  # nothing valid: as if absent
    ('html', 'html')
    >>> negotiate("image/png") is None
    True
    """
    name = negotiation.negotiate(accept, OFFERS)
    return _BY_NAME[name] if name is not None else None


def prefers_rdf(request: Request) -> bool:
    fmt = negotiate(request.headers.get("accept"))
    return fmt is not None and fmt.rdf is not None


def prefixes_for(base: str) -> dict[str, str]:
    """The one prefix map, and ``id:`` for the resources under ``base``: what a description may
    declare, and the terms of the JSON-LD context (``/context.jsonld``)."""
    out = dict(PREFIXES)
    out["id"] = base + "id/"
    return out


def expanded(request: Request) -> bool:
    """Whether the client asks for expanded JSON-LD: it names the profile (JSON-LD 1.1 §9) in ``Accept``."""
    return EXPANDED in request.headers.get("accept", "")


def context_url(request: Request) -> str:
    """The URL of the JSON-LD context on this server (what compacted documents reference)."""
    return str(request.base_url) + "context.jsonld"


def serialize(triples: list[ox.Triple], fmt: Format, view: View, subject: Resource | None = None, *,
              expand: bool = False) -> bytes:
    """A description in ``fmt``: its subject first, only the prefixes it uses, JSON-LD compacted
    unless ``expand`` (:func:`cpbkg.sparql.rdfdoc.write_document`)."""
    context = None if fmt.name != "jsonld" or expand else context_url(view.request)
    return write_document(triples, fmt, prefixes_for(view.base), subject=subject, context=context)


# ---------------------------------------------------------------------- answering one resource


def _etag(view: View, fmt: Format, key: str, expand: bool = False) -> str:
    """Changes with the data, the format (and JSON-LD's form), the page language and the resource."""
    lang = view.lang if fmt.rdf is None else "expanded" if expand else "-"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f'W/"{view.loaded.data_version}-{fmt.extension}-{lang}-{digest}"'


def not_found(view: View, uri: str | None) -> Response:
    if prefers_rdf(view.request):
        return Response(f"Not found: no resource <{uri}> in CPB-KG\n", status_code=404,
                        media_type="text/plain")
    return view.not_found(uri)


def not_acceptable() -> Response:
    offered = ", ".join(f.media_type for f in FORMATS)
    return Response(f"Not acceptable: this resource is available as {offered}\n", status_code=406,
                    media_type="text/plain", headers={"Vary": "Accept"})


def _with_lang(view: View, url: str) -> str:
    """A page URL keeping the ``?lang=`` the request chose (the page depends on it)."""
    if not view.explicit_lang:
        return url
    return url + ("&" if "?" in url else "?") + "lang=" + view.lang


def answer(view: View, node: Resource, fmt: Format | None, variant_url: Callable[[str], str], *,
           html: Callable[[], Response] | None = None,
           triples: Callable[[], list[ox.Triple]] | None = None) -> Response:
    """The response for ``node`` in ``fmt`` (None: negotiate from Accept).

    Args:
        variant_url: suffix -> the URL of that variant (for Content-Location and Link).
        html: () -> HTMLResponse, the page (default: the resource page).
        triples: () -> triples (default: the resource's description).
    """
    memorable(view.request)  # a function of the data, the URL and the headers the memo keys on
    negotiated = fmt is None
    if fmt is None:
        fmt = negotiate(view.request.headers.get("accept"))
        if fmt is None:
            return not_acceptable()
    headers = {
        "Link": ", ".join(f'<{variant_url(f.extension)}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS),
        "Content-Location": variant_url(fmt.extension) if fmt.rdf else _with_lang(view, variant_url(fmt.extension)),
        "Cache-Control": "public, max-age=300",
    }
    vary = ["Accept"] if negotiated else []
    if fmt.rdf is None:
        vary.append("Accept-Language")
    if vary:
        headers["Vary"] = ", ".join(vary)
    expand = negotiated and fmt.name == "jsonld" and expanded(view.request)
    etag = _etag(view, fmt, node.value + variant_url(fmt.extension), expand)
    headers["ETag"] = etag
    if etag in [v.strip() for v in view.request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if fmt.rdf is None:
        response = html() if html else resource_page(view, node)
        for key, value in headers.items():
            response.headers[key] = value
        return response
    data = serialize(triples() if triples else view.describer.description(node), fmt, view, node, expand=expand)
    return Response(data, media_type=fmt.content_type, headers=headers)


def resource_page(view: View, node: Resource, *, external: bool = False) -> Response:
    page = view.describer.page(node)
    formats = [(f, _variant_path(view, node, f.extension)) for f in RDF_FORMATS]
    return view.render("resource.html", page=page, formats=formats, external=external,
                       sparql=f"DESCRIBE <{node.value}>", progress=progress_page(view, page))


#: kinds of resource with a progress page (cpbkg.web.routes.progress), by the path under /progress/
PROGRESS_PAGES = {ONTOLOGY_IRI + "#Indicator": "indicator", ONTOLOGY_IRI + "#Party": "party"}


def progress_page(view: View, page: Any) -> tuple[str, str] | None:
    """(kind, URL) of the progress page of an indicator or a Party, when this app serves them."""
    kinds = [PROGRESS_PAGES[t.value] for t in page.types if t.value in PROGRESS_PAGES]
    code = page.notations[0] if page.notations else None
    if not kinds or not code or not view.has_progress:
        return None
    return kinds[0], view.url(f"/progress/{kinds[0]}/{quote(code, safe='()')}")


def _variant_path(view: View, node: Resource, suffix: str) -> str:
    value = node.value
    if value.startswith(view.base) and value[len(view.base):].startswith(RESOURCE_PATHS):
        return f"/{value[len(view.base):]}.{suffix}"
    return "/resource?" + f"uri={quote(node.value, safe='')}&format={suffix}"


def _normalise(path: str) -> str:
    """A request path in the form the URIs are minted in (``cpbkg.vocab.Ids``).

    >>> _normalise("id/indicator/A.1%28a%29")
    'id/indicator/A.1(a)'
    >>> _normalise("id/actor/Parties to%20the")
    'id/actor/Parties%20to%20the'
    """
    return "/".join(quote(unquote(segment), safe=".()-") for segment in path.split("/"))


def _request_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    path = raw.decode("utf-8", "replace").split("?", 1)[0] if isinstance(raw, bytes) else request.url.path
    return path.lstrip("/")


def _node(uri: str) -> ox.NamedNode | None:
    try:
        return ox.NamedNode(uri)
    except ValueError:
        return None


def resolve(view: View, path: str) -> tuple[ox.NamedNode, Format | None, str] | None:
    """(resource, fixed format or None, its path) for a request path, or None when unknown."""
    candidates = [_normalise(path)]
    if path not in candidates:
        candidates.append(path)
    for candidate in candidates:
        node = _node(view.base + candidate)
        if node is not None and view.describer.exists(node):
            return node, None, candidate
    for candidate in candidates:
        stem, dot, suffix = candidate.rpartition(".")
        if dot and suffix in BY_SUFFIX and stem:
            node = _node(view.base + stem)
            if node is not None and view.describer.exists(node):
                return node, BY_SUFFIX[suffix], stem
    return None


def serve_path(request: Request) -> Response:
    view = View(request)
    path = _request_path(request)
    found = resolve(view, path)
    if found is None:
        return not_found(view, view.base + _normalise(path))
    node, fmt, stem = found

    def variant(suffix: str) -> str:
        return f"/{stem}.{suffix}"

    return answer(view, node, fmt, variant)


_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"description": "The resource's page or description",
                    "content": {f.media_type: {} for f in FORMATS}},
              404: {"description": "No such resource"}, 406: {"description": "No acceptable format"}}


@router.api_route("/id/{rest:path}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="Dereference a CPB-KG URI", response_class=Response)
def dereference_id(request: Request, rest: str) -> Response:
    """``{base}id/…``: HTML or RDF by content negotiation, or by suffix (.html .ttl .jsonld .nt .rdf .trig .nq)."""
    return serve_path(request)


@router.api_route("/graph/{rest:path}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="Describe a named graph", response_class=Response)
def dereference_graph(request: Request, rest: str) -> Response:
    """``{base}graph/{name}``: the named graph's description (VoID) and size."""
    return serve_path(request)


@router.api_route("/dataset{rest:path}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="Describe the dataset", response_class=Response)
def dereference_dataset(request: Request, rest: str) -> Response:
    """``{base}dataset`` (and its class partitions): the VoID/DCAT description of the dataset."""
    return serve_path(request)


@router.api_route("/data/{rest:path}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="Describe a source file of the dataset", response_class=Response)
def dereference_data(request: Request, rest: str) -> Response:
    """``{base}data/…``: what the graph says about one of the project's source files (e.g. the curated links)."""
    return serve_path(request)


@router.api_route("/resource", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="What CPB-KG says about an external resource", response_class=Response)
def external_resource(request: Request,
                      uri: str = Query(..., description="an absolute http(s) URI, e.g. http://metadata.un.org/sdg/2"),
                      format: str | None = Query(None, description="html, ttl, jsonld, nt, rdf, trig or nq; "
                                                 "default: content negotiation")) -> Response:
    """The in-graph description of a resource outside our base (e.g. a UN SDG); ours redirect to their path."""
    view = View(request)
    if not HTTP_IRI.match(uri):
        return Response("Bad request: uri must be an absolute http(s) URI\n", status_code=400, media_type="text/plain")
    fmt = None
    if format:
        fmt = BY_SUFFIX.get(format)
        if fmt is None:
            return Response(f"Bad request: format must be one of {', '.join(BY_SUFFIX)}\n", status_code=400,
                            media_type="text/plain")
    path = view.path_of(uri)
    local = uri.startswith(view.base) and uri[len(view.base):].startswith(RESOURCE_PATHS)
    if path is not None and (local or path.startswith("/ontology")):
        if not path.startswith("/ontology") and fmt is not None:
            path += "." + fmt.extension
        return RedirectResponse(view.url(path), status_code=301)
    node = _node(uri)
    if node is None or not view.describer.exists(node):
        return not_found(view, uri)

    def variant(suffix: str) -> str:
        return f"/resource?uri={quote(uri, safe='')}&format={suffix}"

    return answer(view, node, fmt, variant, html=lambda: resource_page(view, node, external=True))


# ---------------------------------------------------------------------- the ontology


def _ontology(request: Request, fmt: Format | None) -> Response:
    view = View(request)
    node = ox.NamedNode(ONTOLOGY_IRI)

    def variant(suffix: str) -> str:
        return f"/ontology.{suffix}"

    def html() -> Response:
        doc = view.describer.ontology_doc()
        return view.render("ontology.html", doc=doc, formats=[(f, variant(f.extension)) for f in RDF_FORMATS])

    return answer(view, node, fmt, variant, html=html, triples=view.describer.ontology_triples)


@router.api_route("/ontology", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="The CPB-KG ontology", response_class=Response)
def ontology(request: Request) -> Response:
    """Documentation (HTML) or the ontology itself (Turtle, JSON-LD, N-Triples, RDF/XML) by content negotiation."""
    return _ontology(request, None)


@router.api_route("/ontology.{suffix}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="The CPB-KG ontology in one format", response_class=Response)
def ontology_variant(request: Request, suffix: str) -> Response:
    """``/ontology.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.trig``, ``.nq`` or ``.html``."""
    fmt = BY_SUFFIX.get(suffix)
    if fmt is None:
        return not_found(View(request), ONTOLOGY_IRI + "." + suffix)
    return _ontology(request, fmt)


# ---------------------------------------------------------------------- the JSON-LD context


@router.api_route("/context.jsonld", methods=["GET", "HEAD"], tags=["linked data"],
                  summary="The JSON-LD context of CPB-KG's documents", response_class=Response,
                  responses={200: {"content": {"application/ld+json": {}}}})
def context(request: Request) -> Response:
    """The context compacted JSON-LD documents reference: each prefix of the one map a term for its namespace."""
    view = View(request)
    memorable(request)
    etag = f'W/"{view.loaded.data_version}-context-{hashlib.sha256(view.base.encode()).hexdigest()[:12]}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    if etag in [v.strip() for v in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    body = json.dumps(jsonld_context(prefixes_for(view.base)), indent=1).encode("utf-8") + b"\n"
    return Response(body, media_type=SPARQL_FORMATS["jsonld"].content_type, headers=headers)
