"""The human side of the site: home page, query editor, linkage explorer, static files.

* ``/`` what the dataset is, its counts (read from the store), licence, version, citation,
  where to go next, and the outline of the Plan.
* ``/query`` a SPARQL editor (YASGUI, vendored under ``static/vendor/yasgui``; see its
  ``README.md``) that queries ``/sparql`` on the same origin, with the named queries of
  ``queries/*.rq`` to pick from. Nothing is loaded from another host: YASGUI's only remote
  look-ups (class and property suggestions from the LOV service) are switched off in
  ``static/query.js``, and its prefix suggestions come from the list bundled inside it.
* ``/explore`` the goal x GBF-target matrix; ``/explore/goal/{goal}/target/{target}`` the links
  behind one cell with their basis and justification; ``/explore/node?uri=`` a node and its
  neighbours, in and out, each a link to continue from.
* ``/search?q=`` labels and codes in any language (:meth:`cpbkg.describe.resource.Describer.search`:
  case-insensitive, the text bound as a query parameter, never pasted into SPARQL, at most
  :data:`SEARCH_LIMIT` results); every page has a search box in its header.
* ``/static/...`` the CSS, JavaScript and vendored files of the package; ``/favicon.ico``.

Every page is in Chinese and English (:mod:`cpbkg.web.i18n`), rendered by Jinja2 with
autoescaping on: text from the graph is always escaped, and the query catalogue is passed to
the page as JSON in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&``
written as ``\\u`` escapes so that it cannot close the block.

This module also holds :class:`View`, the per-request rendering context that
:mod:`cpbkg.web.routes.resources` uses too.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup
from starlette.routing import Match

from cpbkg.config import Settings
from cpbkg.describe.model import Ref, SearchResults, cpb
from cpbkg.describe.resource import Describer
from cpbkg.errors import RequestError, SourceError
from cpbkg.sparql.catalogue import load_catalogue
from cpbkg.store.embedded import LoadedStore
from cpbkg.vocab import ONTOLOGY_IRI
from cpbkg.web import i18n
from cpbkg.web.memo import memorable

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

router = APIRouter()
#: every page answers HEAD too (link checkers, caches)
GET_HEAD = ["GET", "HEAD"]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: URIs under the base whose descriptions cpbkg.web.routes.resources serves at the same path
RESOURCE_PATHS = ("id/", "graph/", "dataset", "data/")
#: URIs under the base that other routers answer (the endpoint, the dumps, the query API)
SERVICE_PATHS = ("sparql", "dumps/", "queries/", ".well-known/")

_env.tests["ref"] = lambda value: isinstance(value, Ref)

#: an absolute http(s) IRI with none of the characters an IRI may not hold
HTTP_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
#: search results shown at most
SEARCH_LIMIT = 100


def _prefixes() -> dict[str, str]:
    from rdflib import Graph

    from cpbkg.vocab import bind_prefixes

    g = Graph()
    bind_prefixes(g)
    return {p: str(ns) for p, ns in g.namespaces() if p}


#: prefix -> namespace of the prefixes CPB-KG writes (its dumps, its RDF answers)
PREFIXES = _prefixes()


def curie(iri: str) -> str:
    """``cpb:Goal`` for ``https://w3id.org/cpbkg/ontology#Goal``; the IRI when no prefix fits.

    >>> curie("http://www.w3.org/2004/02/skos/core#prefLabel"), curie("https://example.org/x")
    ('skos:prefLabel', 'https://example.org/x')
    """
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")) and re.fullmatch(r"[\w.-]+", iri[len(ns):]):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else iri


def json_for_script(data: object) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` in it.

    >>> str(json_for_script({"q": "</script><script>alert(1)</script> & more"}))
    '{"q": "\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e \\\\u0026 more"}'
    """
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def short_url(url: str, limit: int = 60) -> str:
    """A URL to show as a link's text: no scheme, and the middle left out when it is long.

    >>> short_url("https://www.cbd.int/gbf/targets/17/")
    'www.cbd.int/gbf/targets/17'
    >>> short_url("https://github.com/scbd/absch.cbd.int/blob/ddbb08b/app/app-data/bch/mapping/cpbNationalReport5-4.json")
    'github.com/…/cpbNationalReport5-4.json'
    """
    text = re.sub(r"^https?://", "", url).rstrip("/")
    if len(text) <= limit:
        return text
    host, _, rest = text.partition("/")
    return f"{host}/…/{rest.rsplit('/', 1)[-1]}"


def html_lang(tag: str | None) -> str:
    """The HTML ``lang`` value for a literal's language tag ('' for none: language unknown).

    >>> html_lang("zh"), html_lang("en"), html_lang(None)
    ('zh-Hans', 'en', '')
    """
    if not tag:
        return ""
    return i18n.HTML_LANG.get(tag.lower(), tag)


class View:
    """One request's rendering context: language, links, the store, the templates."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.settings: Settings = request.app.state.settings
        self.loaded: LoadedStore = request.app.state.store
        base = self.settings.base_uri
        self.base = base if base.endswith("/") else base + "/"
        param = request.query_params.get("lang")
        self.lang = i18n.negotiate_language(param, request.headers.get("accept-language"))
        #: the language was chosen in the URL: links keep it
        self.explicit_lang = param in i18n.LANGUAGES
        self.describer = Describer(self.loaded.store, self.base)

    # ------------------------------------------------------------------ strings and links

    @property
    def other_lang(self) -> str:
        return i18n.other(self.lang)

    def t(self, key: str, **values: object) -> str:
        return i18n.t(key, self.lang, **values)

    def url(self, path: str, **params: object) -> str:
        """A link to a page of this site, keeping ``?lang=`` when the user chose it."""
        path, hash_mark, fragment = path.partition("#")
        items = [(k, str(v)) for k, v in params.items() if v is not None]
        if self.explicit_lang:
            items.append(("lang", self.lang))
        query = urlencode(items, quote_via=quote, safe="")
        if query:
            path += ("&" if "?" in path else "?") + query
        return path + hash_mark + fragment

    def path_of(self, uri: str) -> str | None:
        """The local path that serves a URI of this dataset or the ontology, else None.

        Only paths this server answers: the linked-data paths of :mod:`cpbkg.web.routes.resources`
        (:data:`RESOURCE_PATHS`) and the service paths other routers serve (:data:`SERVICE_PATHS`).
        """
        if uri == ONTOLOGY_IRI or uri.startswith(ONTOLOGY_IRI + "#"):
            return "/ontology" + uri[len(ONTOLOGY_IRI):]
        if uri.startswith(self.base):
            rest = uri[len(self.base):]
            if rest.startswith(RESOURCE_PATHS + SERVICE_PATHS):
                return "/" + rest
        return None

    def href(self, item: Ref | ox.NamedNode | str | None) -> str | None:
        """Where a link to a resource goes: its page on this site, or the URI itself (external)."""
        if item is None:
            return None
        if isinstance(item, Ref):
            if item.is_blank:
                return None
            uri, described = item.term.value, item.described
        elif isinstance(item, ox.NamedNode):
            uri, described = item.value, None
        else:
            uri, described = item, None
        path = self.path_of(uri)
        if path is not None:
            return self.url(path)
        if described is None:
            try:
                described = self.describer.exists(ox.NamedNode(uri))
            except ValueError:
                described = False
        if described:
            return self.url("/resource", uri=uri)
        # only web links leave the site: an IRI of the data such as javascript:... is shown, not linked
        return uri if HTTP_IRI.match(uri) else None

    def node_url(self, item: Ref | str) -> str:
        """The network view of a resource."""
        uri = item.term.value if isinstance(item, Ref) else item
        return self.url("/explore/node", uri=uri)

    def switch_url(self) -> str:
        """This page in the other language."""
        items = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        items.append(("lang", self.other_lang))
        return self.request.url.path + "?" + urlencode(items, quote_via=quote, safe="")

    def label(self, ref: Ref) -> str:
        return ref.label(self.lang)

    @property
    def has_progress(self) -> bool:
        """The progress pages (another router, :mod:`cpbkg.web.routes.progress`) are served by this app."""
        return self.serves("/progress/")

    def serves(self, path: str) -> bool:
        """A route of this app answers ``GET path`` (checked once per app and path)."""
        state = self.request.app.state
        cache: dict[str, bool] = getattr(state, "ui_serves", None) or {}
        if path not in cache:
            scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": []}
            cache[path] = any(route.matches(scope)[0] == Match.FULL for route in self.request.app.router.routes)
            state.ui_serves = cache
        return cache[path]

    def source_text(self, ref: Ref) -> str:
        """How a source is named: its label, else its URL without the scheme (not just a file name)."""
        if ref.labels or ref.notation or ref.is_blank:
            return ref.label(self.lang)
        return short_url(ref.term.value)

    # ------------------------------------------------------------------ rendering

    def render(self, template: str, *, status: int = 200, headers: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
        context.setdefault("search_text", "")
        html = _env.get_template(template).render(
            v=self, t=self.t, lang=self.lang, other_lang=self.other_lang, curie=curie,
            page_lang=html_lang(self.lang), hl=html_lang, release=self.loaded.release, **context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers.setdefault("Content-Language", self.lang)
        response.headers.setdefault("Vary", "Accept-Language")
        return response

    def not_found(self, uri: str | None = None) -> HTMLResponse:
        return self.render("error.html", status=404, title=self.t("not_found_title"), uri=uri, message=None)


# ---------------------------------------------------------------------- home


def plan_outline(d: Describer) -> list[tuple[Ref, list[Ref]]]:
    """Areas with their goals, in the Plan's order."""
    order = {ref.term: i for i, ref in enumerate(d.instances(cpb("Goal")))}
    outline = []
    for area in d.instances(cpb("Area")):
        goals = [d.ref(g) for g in d.objects(area.term, cpb("hasGoal")) if isinstance(g, ox.NamedNode)]
        goals.sort(key=lambda g: (order.get(g.term, 1 << 30), g.sort_key))
        outline.append((area, goals))
    return outline


COUNTED = (("goals", "Goal"), ("objectives", "Objective"), ("indicators", "Indicator"),
           ("outcomes", "Outcome"), ("articles", "Article"), ("links", "Link"))


@router.api_route("/", methods=GET_HEAD, response_class=HTMLResponse, summary="Home page", tags=["pages"])
def home(request: Request) -> HTMLResponse:
    """What the dataset is, its counts, licence, version, citation and the outline of the Plan."""
    view = View(request)
    d = view.describer
    counts = [(key, d.count_instances(cpb(cls))) for key, cls in COUNTED]
    release = view.loaded.release
    year = release.built[:4]
    return view.render("home.html", counts=counts, outline=plan_outline(d), year=year,
                       dataset_uri=view.base + "dataset", starts=start_points(view))


#: where the home page suggests to start (those the store holds): the Plan, the decision, a GBF
#: target the Plan serves, a goal, an indicator, the treaty, a report questionnaire, a Party
START_POINTS = ("id/plan", "id/document/CP-10-3", "id/gbf/target/17", "id/goal/A.1", "id/indicator/A.1(a)",
                "id/treaty/cpb", "id/report/nr5", "id/party/CHN")


def start_points(view: View) -> list[tuple[Ref, Ref | None, bool]]:
    """(resource, its kind, show its code) for each of :data:`START_POINTS` the store holds."""
    d = view.describer
    found = []
    for path in START_POINTS:
        node = ox.NamedNode(view.base + path)
        if d.exists(node):
            ref, kind = d.ref(node), d.kind(node)
            # a code that says something next to the name (not the treaty's UN registration number)
            code = ref.notation or ""
            show_code = bool(code) and code not in ref.label(view.lang) and kind is not None and kind.term in CODED_KINDS
            found.append((ref, kind, show_code))
    return found


CODED_KINDS = frozenset(cpb(name) for name in ("Goal", "Objective", "Indicator", "Outcome", "GBFTarget",
                                               "ReportQuestion", "Party", "Article"))


# ---------------------------------------------------------------------- search


@router.api_route("/search", methods=GET_HEAD, response_class=HTMLResponse, summary="Search labels and codes",
                  tags=["pages"])
def search(request: Request,
           q: str = Query("", description="text to find in labels (skos:prefLabel, skos:altLabel, rdfs:label, "
                                          "dcterms:title) and codes (skos:notation), any language, any case"),
           ) -> HTMLResponse:
    """Resources whose labels or codes contain the text, best first, at most 100."""
    view = View(request)
    memorable(request)  # a function of the data, the text and the language
    text = q.strip()
    try:
        results = view.describer.search(text, limit=SEARCH_LIMIT) if text else None
    except RequestError:  # a text a remote store cannot be sent faithfully (cpbkg.store.backend): nothing found
        results = SearchResults(text, [], 0, False)
    hits = []
    for hit in results.hits if results else []:
        other = hit.ref.other_label(view.lang)
        by_text = {m.literal.value: m for m in reversed(hit.matches)}
        # the title, the other language's label and the code, with the matched part marked
        marked = {"title": by_text.get(hit.ref.label(view.lang)), "other": by_text.get(other[1]) if other else None,
                  "code": by_text.get(hit.ref.notation or "")}
        shown = {hit.ref.label(view.lang), hit.ref.notation, other[1] if other else None}
        # the labels that matched beyond those the result shows anyway (altLabels, other languages)
        extra = [m for m in hit.matches if m.literal.value not in shown][:3]
        hits.append((hit, marked, extra))
    return view.render("search.html", results=results, hits=hits, search_text=text,
                       examples=_search_examples(view.lang))


def _search_examples(lang: str) -> list[str]:
    return ["Target 17", "A.1(a)", "生物安全", "Q7", "Article 17"] if lang == "en" else \
        ["行动目标 17", "A.1(a)", "biosafety", "Q7", "Article 17"]


# ---------------------------------------------------------------------- query


def catalogue_for_page(settings: Settings) -> list[dict[str, str]]:
    """The named queries as the query page lists them (an empty list if the catalogue is broken)."""
    try:
        queries = load_catalogue(settings.queries_dir)
    except SourceError as exc:
        log.warning("query catalogue not shown: %s", exc)
        return []
    return [{"name": q.name, "title": q.title, "description": q.description, "query": q.text}
            for q in queries.values()]


@router.api_route("/query", methods=GET_HEAD, response_class=HTMLResponse, summary="SPARQL query editor",
                  tags=["pages"])
def query_page(request: Request) -> HTMLResponse:
    """A SPARQL editor on ``/sparql`` with the example queries of the catalogue."""
    view = View(request)
    queries = catalogue_for_page(view.settings)
    initial = request.query_params.get("query")
    return view.render("query.html", queries=queries, queries_json=json_for_script(queries),
                       initial_json=json_for_script(initial or ""))


# ---------------------------------------------------------------------- explorer


@router.api_route("/explore", methods=GET_HEAD, response_class=HTMLResponse, summary="Goal x GBF target matrix",
                  tags=["pages"])
def explore(request: Request) -> HTMLResponse:
    """Rows: the 14 long-term goals; columns: GBF targets 1-23; cells: number of links."""
    view = View(request)
    matrix = view.describer.matrix()
    return view.render("explore.html", matrix=matrix, target_key=_last_segment)


def _last_segment(ref: Ref) -> str:
    return ref.term.value.rstrip("/").rsplit("/", 1)[-1]


def _goal_node(view: View, code: str) -> ox.NamedNode | None:
    d = view.describer
    for goal in d.instances(cpb("Goal")):
        if goal.notation == code or _last_segment(goal) == code:
            return goal.term  # type: ignore[return-value]
    return None


def _target_node(view: View, key: str) -> ox.NamedNode | None:
    for target in view.describer.gbf_targets():
        if _last_segment(target) == key:
            return target.term  # type: ignore[return-value]
    return None


@router.api_route("/explore/goal/{goal}/target/{target}", methods=GET_HEAD, response_class=HTMLResponse,
            summary="Links between a goal and a GBF target", tags=["pages"])
def explore_cell(request: Request, goal: str, target: str) -> HTMLResponse:
    """The links joining a goal (or its objectives and indicators) to a GBF target, with their basis."""
    view = View(request)
    goal_node, target_node = _goal_node(view, goal), _target_node(view, target)
    if goal_node is None or target_node is None:
        return view.not_found()
    d = view.describer
    links = d.goal_target_links(goal_node, target_node)
    return view.render("explore_cell.html", goal=d.ref(goal_node), target=d.ref(target_node),
                       target_key=target, links=links)


@router.api_route("/explore/node", methods=GET_HEAD, response_class=HTMLResponse,
                  summary="A node and its neighbours", tags=["pages"])
def explore_node(request: Request, uri: str | None = Query(None, description="the URI of a resource")) -> HTMLResponse:
    """The resource, its neighbours out and in with the basis of each link; each a link to go on."""
    view = View(request)
    d = view.describer
    if not uri:
        starts = [d.ref(ox.NamedNode(view.base + "id/plan"))]
        starts += d.instances(cpb("Goal"))
        return view.render("explore_node.html", page=None, starts=[s for s in starts if s.described],
                           diagram=None)
    if not HTTP_IRI.match(uri):
        return _bad_uri(view, uri)
    try:
        node = ox.NamedNode(uri)
    except ValueError:
        return _bad_uri(view, uri)
    if not d.exists(node):
        return view.not_found(uri)
    page = d.page(node)
    return view.render("explore_node.html", page=page, starts=[], diagram=diagram(view, page))


def _bad_uri(view: View, uri: str) -> HTMLResponse:
    return view.render("error.html", status=400, title="400", uri=None, message=f"{view.t('bad_uri')} {uri}")


def diagram(view: View, page: Any, limit: int = 24) -> dict[str, Any]:
    """A radial layout of the node and up to ``limit`` neighbours (links out first), for an SVG."""
    import math

    neighbours: list[tuple[Ref, str, bool]] = []
    seen = set()
    for groups, outgoing in ((page.out_groups, True), (page.in_groups, False)):
        for group in groups:
            for edge in group.edges:
                if isinstance(edge.other, Ref) and not edge.other.is_blank and edge.other.term not in seen:
                    seen.add(edge.other.term)
                    neighbours.append((edge.other, view.label(group.prop), outgoing))
    total = len(neighbours)
    neighbours = neighbours[:limit]
    n = max(len(neighbours), 1)
    # wide enough for a 28-character label on either side of the circle
    width, height = 1000, 600
    cx, cy, r = width // 2, height // 2, 230
    nodes = []
    for i, (ref, prop, outgoing) in enumerate(neighbours):
        angle = 2 * math.pi * i / n - math.pi / 2
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        label = view.label(ref)
        short = (ref.notation + " " if ref.notation and ref.notation not in label else "") + label
        anchor = "start" if x > cx + 5 else "end" if x < cx - 5 else "middle"
        # labels beside their node; above or below it at the top and bottom (off the line)
        lx = x + (12 if anchor == "start" else -12 if anchor == "end" else 0)
        ly = y + 4 if anchor != "middle" else (y - 14 if y < cy else y + 24)
        nodes.append({"x": round(x, 1), "y": round(y, 1), "lx": round(lx, 1), "ly": round(ly, 1),
                      "label": short[:28] + ("…" if len(short) > 28 else ""),
                      "title": f"{prop}: {label}", "href": view.node_url(ref), "outgoing": outgoing,
                      "anchor": anchor})
    return {"cx": cx, "cy": cy, "width": width, "height": height, "nodes": nodes, "total": total}


# ---------------------------------------------------------------------- downloads


def page_language(request: Request) -> str:
    """The interface language of a request (``?lang=``, else ``Accept-Language``): for ETags of pages."""
    return i18n.negotiate_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def dumps_page(request: Request, files: list[dict[str, Any]], *,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """The listing of ``/dumps/`` as a page of the site, for :mod:`cpbkg.web.routes.dumps`.

    ``files``: dicts with ``name``, ``url``, ``size``, ``sha256``, ``media_type``, ``format`` and
    ``description``, as ``/dumps/?format=json`` lists them. The page is in the request's language
    (``Content-Language``; ``Vary: Accept-Language`` is added to ``headers``).
    """
    view = View(request)
    headers = dict(headers or {})
    vary = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    headers["Vary"] = ", ".join(vary + ["Accept-Language"] if "Accept-Language" not in vary else vary)
    known = {key for key in i18n.STRINGS if key.startswith("dump_")}
    return view.render("dumps.html", headers=headers, files=files, known=known)


# ---------------------------------------------------------------------- API documentation


@router.api_route("/docs", methods=GET_HEAD, response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI description in Swagger UI, vendored in ``static/vendor/swagger-ui`` (its README).

    FastAPI's own ``/docs`` loads Swagger UI from a CDN; this page replaces it once the app is
    made with ``docs_url=None, redoc_url=None`` (:mod:`cpbkg.web.app`).
    """
    view = View(request)
    openapi_url = request.app.openapi_url or "/openapi.json"
    return view.render("api_docs.html", openapi_url=openapi_url, config=json_for_script({"url": openapi_url}))


# ---------------------------------------------------------------------- static files


@router.api_route("/favicon.ico", methods=GET_HEAD, include_in_schema=False)
def favicon() -> Response:
    """The site icon (browsers ask for it on every site; an SVG, which they all accept)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".json": "application/json", ".txt": "text/plain; charset=utf-8",
                ".md": "text/markdown; charset=utf-8", ".map": "application/json"}


@router.api_route("/static/{path:path}", methods=GET_HEAD, include_in_schema=False)
def static(path: str) -> Response:
    """A file of ``cpbkg/web/static`` (never outside it)."""
    root = STATIC_DIR.resolve()
    try:
        target = (root / path).resolve()
    except (OSError, ValueError):
        return Response("Not found\n", status_code=404, media_type="text/plain")
    if root not in target.parents or not target.is_file():
        return Response("Not found\n", status_code=404, media_type="text/plain")
    media = _MEDIA_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
