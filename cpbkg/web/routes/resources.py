"""Dereferenceable URIs: every resource of CPB-KG as a readable page and as RDF.

A URI under the configured base (``settings.base_uri``, default ``https://w3id.org/cpbkg/``) is
served at the same path on this server, whatever host the request came to:
``{base}id/goal/A.1`` at ``/id/goal/A.1``, ``{base}graph/plan`` at ``/graph/plan``,
``{base}dataset`` at ``/dataset``. The ontology's hash URIs (``…/ontology#Goal``) are served by
``/ontology``, whose HTML has one anchor per term (``/ontology#Goal``).

How a URI answers (W3C "Cool URIs for the Semantic Web"): **content negotiation, no redirect.**
The bare URI answers ``200`` with the representation its ``Accept`` header prefers (q-values
honoured; ties go to HTML, then Turtle), with ``Vary: Accept, Accept-Language``, a
``Content-Location`` naming the suffixed document it returned and a ``Link`` header listing
every variant (``rel="alternate"``). Each variant has a URL of its own that always returns the
same format:

==============  ========================  ===========================
suffix          media type                what
==============  ========================  ===========================
``.html``       ``text/html``             the page (language from ``?lang=`` or ``Accept-Language``)
``.ttl``        ``text/turtle``           the description in Turtle
``.jsonld``     ``application/ld+json``   in JSON-LD
``.nt``         ``application/n-triples`` in N-Triples
``.rdf``        ``application/rdf+xml``   in RDF/XML
==============  ========================  ===========================

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from cpbkg.describe.model import Resource
from cpbkg.vocab import ONTOLOGY_IRI
from cpbkg.web.memo import memorable
from cpbkg.web.routes.ui import HTTP_IRI, PREFIXES, RESOURCE_PATHS, View

router = APIRouter()


@dataclass(frozen=True)
class Format:
    suffix: str
    media_type: str
    rdf: ox.RdfFormat | None
    label: str

    @property
    def content_type(self) -> str:
        if self.rdf is None:
            return "text/html; charset=utf-8"
        if self.media_type.startswith("text/") or self.media_type == "application/n-triples":
            return self.media_type + "; charset=utf-8"
        return self.media_type


#: in the server's order of preference, which breaks ties between equal q-values
FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", None, "HTML"),
    Format("ttl", "text/turtle", ox.RdfFormat.TURTLE, "Turtle"),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, "JSON-LD"),
    Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES, "N-Triples"),
    Format("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML, "RDF/XML"),
)
BY_SUFFIX = {f.suffix: f for f in FORMATS}
#: other media types a client may ask for, and the format that answers them
ALIASES = {"application/xhtml+xml": "html", "application/x-turtle": "ttl", "application/json": "jsonld",
           "application/xml": "rdf", "text/xml": "rdf"}
RDF_FORMATS = tuple(f for f in FORMATS if f.rdf is not None)


def _parse_accept(header: str) -> list[tuple[str, float]]:
    ranges = []
    for item in header.split(","):
        media, *params = [p.strip() for p in item.split(";")]
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    """The q-value the most specific matching range gives ``media`` (-1 when none matches)."""
    kind = media.split("/")[0]
    best, specificity = -1.0, -1
    for pattern, q in ranges:
        if pattern == media:
            level = 2
        elif pattern == kind + "/*":
            level = 1
        elif pattern == "*/*":
            level = 0
        else:
            continue
        if level > specificity:
            best, specificity = q, level
    return best


def negotiate(accept: str | None) -> Format | None:
    """The format for an ``Accept`` header: highest q-value, ties in :data:`FORMATS` order.

    >>> negotiate("text/turtle;q=0.9, application/ld+json").suffix
    'jsonld'
    >>> negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8").suffix
    'html'
    >>> negotiate("application/n-triples, */*;q=0.1").suffix
    'nt'
    >>> negotiate(None).suffix
    'html'
    >>> negotiate("image/png") is None
    True
    """
    ranges = _parse_accept(accept or "*/*")
    if not ranges:
        ranges = [("*/*", 1.0)]
    best: tuple[float, int, Format] | None = None
    for rank, fmt in enumerate(FORMATS):
        qualities = [_quality(fmt.media_type, ranges)]
        qualities += [_quality(alias, ranges) for alias, suffix in ALIASES.items() if suffix == fmt.suffix]
        q = max(qualities)
        if q > 0 and (best is None or (q, -rank) > (best[0], -best[1])):
            best = (q, rank, fmt)
    return best[2] if best else None


def prefers_rdf(request: Request) -> bool:
    fmt = negotiate(request.headers.get("accept"))
    return fmt is not None and fmt.rdf is not None


def prefixes_for(base: str) -> dict[str, str]:
    """The prefixes of the dumps, and ``id:`` for the resources under ``base``."""
    out = dict(PREFIXES)
    out["id"] = base + "id/"
    return out


def serialize(triples: list[ox.Triple], fmt: Format, base: str) -> bytes:
    prefixes = None if fmt.rdf == ox.RdfFormat.N_TRIPLES else prefixes_for(base)
    data = ox.serialize(triples, format=fmt.rdf, prefixes=prefixes)
    return data or b""


# ---------------------------------------------------------------------- answering one resource


def _etag(view: View, fmt: Format, key: str) -> str:
    """Changes with the data, the format, the page language and the resource."""
    lang = view.lang if fmt.rdf is None else "-"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f'W/"{view.loaded.data_version}-{fmt.suffix}-{lang}-{digest}"'


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
        "Link": ", ".join(f'<{variant_url(f.suffix)}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS),
        "Content-Location": variant_url(fmt.suffix) if fmt.rdf else _with_lang(view, variant_url(fmt.suffix)),
        "Cache-Control": "public, max-age=300",
    }
    vary = ["Accept"] if negotiated else []
    if fmt.rdf is None:
        vary.append("Accept-Language")
    if vary:
        headers["Vary"] = ", ".join(vary)
    etag = _etag(view, fmt, node.value + variant_url(fmt.suffix))
    headers["ETag"] = etag
    if etag in [v.strip() for v in view.request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if fmt.rdf is None:
        response = html() if html else resource_page(view, node)
        for key, value in headers.items():
            response.headers[key] = value
        return response
    data = serialize(triples() if triples else view.describer.description(node), fmt, view.base)
    return Response(data, media_type=fmt.content_type, headers=headers)


def resource_page(view: View, node: Resource, *, external: bool = False) -> Response:
    page = view.describer.page(node)
    formats = [(f, _variant_path(view, node, f.suffix)) for f in RDF_FORMATS]
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
    if isinstance(raw, bytes):
        path = raw.decode("utf-8", "replace").split("?", 1)[0]
    else:
        path = request.url.path
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
    """``{base}id/…``: HTML or RDF by content negotiation, or by suffix (.html .ttl .jsonld .nt .rdf)."""
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
                      format: str | None = Query(None, description="html, ttl, jsonld, nt or rdf; "
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
            path += "." + fmt.suffix
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
        return view.render("ontology.html", doc=doc, formats=[(f, variant(f.suffix)) for f in RDF_FORMATS])

    return answer(view, node, fmt, variant, html=html, triples=view.describer.ontology_triples)


@router.api_route("/ontology", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="The CPB-KG ontology", response_class=Response)
def ontology(request: Request) -> Response:
    """Documentation (HTML) or the ontology itself (Turtle, JSON-LD, N-Triples, RDF/XML) by content negotiation."""
    return _ontology(request, None)


@router.api_route("/ontology.{suffix}", methods=["GET", "HEAD"], tags=["linked data"], responses=_RESPONSES,
                  summary="The CPB-KG ontology in one format", response_class=Response)
def ontology_variant(request: Request, suffix: str) -> Response:
    """``/ontology.ttl``, ``.jsonld``, ``.nt``, ``.rdf`` or ``.html``."""
    fmt = BY_SUFFIX.get(suffix)
    if fmt is None:
        return not_found(View(request), ONTOLOGY_IRI + "." + suffix)
    return _ontology(request, fmt)
