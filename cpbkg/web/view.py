"""The one page framework of the site: every HTML page of every area is rendered through here.

* :data:`TEMPLATES` the Jinja2 environment of ``cpbkg/web/templates`` (autoescaping on, undefined
  names an error); its globals are the helpers every template may call (:func:`curie`, ``hl`` =
  :func:`html_lang`) and its test ``ref`` (a :class:`cpbkg.describe.model.Ref`).
* :class:`View` one request's rendering context: the language (:func:`page_language`, the one
  choice of :mod:`cpbkg.web.i18n`), links that keep ``?lang=``, the store and a
  :class:`cpbkg.describe.resource.Describer` on it, and :meth:`View.render`, which renders a
  template extending ``base.html`` (the site header, navigation, language switch and footer).
  An area with needs of its own subclasses it (:class:`cpbkg.web.routes.progress.ProgressView`).
* Helpers for page data: :func:`curie`, :func:`json_for_script` (JSON that cannot close its
  ``<script>`` block), :func:`short_url`, :func:`html_lang`.
* :func:`render_document` the pages outside the site's frame (``_plain.html``: the endpoint's and
  the query API's pages for a browser); :func:`dumps_page` the listing of ``/dumps/``.

Text from the graph or the request reaches a page only through ``{{ }}`` in a template, where it
is escaped; no HTML is written in Python.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.routing import Match

from cpbkg.build.tables import TABLES, Table
from cpbkg.config import Settings
from cpbkg.describe.model import Ref
from cpbkg.describe.resource import Describer
from cpbkg.store.protocol import ServedStore
from cpbkg.vocab import ONTOLOGY_IRI
from cpbkg.web import i18n
from cpbkg.web.state import serving

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: URIs under the base whose descriptions cpbkg.web.routes.resources serves at the same path
RESOURCE_PATHS = ("id/", "graph/", "dataset", "data/")
#: URIs under the base that other routers answer (the endpoint, the dumps, the query API)
SERVICE_PATHS = ("sparql", "dumps/", "queries/", ".well-known/")
#: an absolute http(s) IRI with none of the characters an IRI may not hold
HTTP_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
#: the classes whose pages show the Plan's tree
PLAN_KINDS = frozenset(ONTOLOGY_IRI + "#" + k for k in ("ImplementationPlan", "Area", "Goal", "Objective",
                                                        "Indicator", "Outcome"))


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

    >>> html_lang("zh"), html_lang("en"), html_lang("fr"), html_lang(None)
    ('zh-Hans', 'en', 'fr', '')
    """
    if not tag:
        return ""
    return i18n.HTML_LANG.get(tag.lower(), tag)


def page_language(request: Request) -> str:
    """The interface language of a request: ``?lang=``, else ``Accept-Language`` (:mod:`cpbkg.web.i18n`)."""
    return i18n.negotiate_language(request.query_params.get("lang"), request.headers.get("accept-language"))


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.tests["ref"] = lambda value: isinstance(value, Ref)
TEMPLATES.globals.update(curie=curie, hl=html_lang)


def render_document(template: str, **context: Any) -> bytes:
    """A page outside the site's frame (``_plain.html``: the endpoint's and the query API's pages for a
    browser, in English, the same for every request language), as UTF-8."""
    return TEMPLATES.get_template(template).render(**context).encode("utf-8")


class View:
    """One request's rendering context: language, links, the store, the templates."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.settings: Settings = serving(request).settings
        self.loaded: ServedStore = serving(request).store
        base = self.settings.base_uri
        self.base = base if base.endswith("/") else base + "/"
        self.lang = page_language(request)
        #: the language was chosen in the URL: links keep it
        self.explicit_lang = request.query_params.get("lang") in i18n.LANGUAGES
        self.describer = Describer(self.loaded.store, self.base)

    # ------------------------------------------------------------------ strings and links

    @property
    def other_lang(self) -> str:
        return i18n.other(self.lang)

    def t(self, key: str, **values: object) -> str:
        return i18n.t(key, self.lang, **values)

    def tables(self, page: str) -> list[Table]:
        """The CSV tables of ``dist/`` whose rows the page at path ``page`` shows (linked from it)."""
        return [table for table in TABLES if table.page == page]

    def t_or(self, key: str, default: str) -> str:
        """The interface string ``key`` when the table has it, else ``default`` (names of codes from the data)."""
        return self.t(key) if key in i18n.STRINGS else default

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
        cache = serving(self.request).process.routes_served
        if path not in cache:
            scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": []}
            cache[path] = any(route.matches(scope)[0] == Match.FULL for route in self.request.app.router.routes)
        return cache[path]

    def is_plan_page(self, types: list[Ref]) -> bool:
        """The page is the Plan's or one of its elements' (it shows the Plan's tree)."""
        return any(t.value in PLAN_KINDS for t in types)

    def citation(self, ref: Ref) -> dict[str, str]:
        """How to cite a resource of this dataset: a sentence, BibTeX and CSL-JSON (what reference
        managers import), naming the resource, the dataset, its version and build date, the URI."""
        release = self.loaded.release
        built = release.built[:10]
        code = ref.notation
        title = ref.label(self.lang)
        if code and code not in title:
            title = f"{code}: {title}"
        uri = ref.value
        key = "cpbkg-" + (re.sub(r"[^A-Za-z0-9]+", "-", uri[len(self.base):] if uri.startswith(self.base)
                                 else uri.split("//", 1)[-1]).strip("-") or "resource")
        dataset = ("CPB-KG: the Implementation Plan for the Cartagena Protocol on Biosafety 2023-2030 "
                   "(decision CP-10/3) as a knowledge graph")
        text = (f"{title}. In: CPB-KG project ({built[:4]}). {dataset}. Version {release.version}, built {built}. "
                f"{uri}. Data CC BY 4.0.")

        def bib(value: str) -> str:
            return re.sub(r"([&%$#_{}])", r"\\\1", value).replace("~", r"\textasciitilde{}")

        bibtex = "\n".join([
            f"@misc{{{key},", f"  title = {{{bib(title)}}},", "  author = {{CPB-KG project}},",
            f"  year = {{{built[:4]}}},", f"  version = {{{bib(release.version)}}},",
            f"  howpublished = {{\\url{{{uri}}}}},", f"  url = {{{uri}}},",
            f"  note = {{{bib(dataset)}, built {built}. Data CC BY 4.0}},", "}"])
        parts = [int(x) for x in built.split("-") if x.isdigit()]
        csl = [{"id": key, "type": "dataset", "title": title, "author": [{"literal": "CPB-KG project"}],
                "container-title": dataset, "publisher": "CPB-KG project", "version": release.version,
                "issued": {"date-parts": [parts]}, "URL": uri, "language": html_lang(ref.label_lang(self.lang)) or None,
                "license": "CC BY 4.0"}]
        return {"text": text, "bibtex": bibtex, "csl": json.dumps(csl, ensure_ascii=False, indent=2)}

    def source_text(self, ref: Ref) -> str:
        """How a source is named: its label, else its URL without the scheme (not just a file name)."""
        if ref.labels or ref.notation or ref.is_blank:
            return ref.label(self.lang)
        return short_url(ref.term.value)

    # ------------------------------------------------------------------ rendering

    def render(self, template: str, *, status: int = 200, headers: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
        """``template`` in this request's language, with ``Content-Language`` and ``Vary: Accept-Language``
        added to ``headers`` (a ``Vary`` already there is kept)."""
        context.setdefault("search_text", "")
        html = TEMPLATES.get_template(template).render(
            v=self, t=self.t, lang=self.lang, other_lang=self.other_lang, page_lang=html_lang(self.lang),
            release=self.loaded.release, **context)
        headers = dict(headers or {})
        vary = [v.strip() for v in headers.pop("Vary", "").split(",") if v.strip()]
        headers["Vary"] = ", ".join(vary if "Accept-Language" in vary else [*vary, "Accept-Language"])
        headers.setdefault("Content-Language", self.lang)
        return HTMLResponse(html, status_code=status, headers=headers)

    def not_found(self, uri: str | None = None) -> HTMLResponse:
        """The 404 page of the site (``uri``: the URI asked for, shown)."""
        return self.render("error.html", status=404, title=self.t("not_found_title"), uri=uri, message=None)


def service_page(request: Request, **context: Any) -> bytes:
    """The SPARQL endpoint's page for a browser without a query (``sparql_service.html``), a page of the
    site in the request's language, for :mod:`cpbkg.web.routes.sparql`."""
    view = View(request)
    response = view.render("sparql_service.html", **context)
    return bytes(response.body)


def dumps_page(request: Request, files: list[dict[str, Any]], *,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """The listing of ``/dumps/`` as a page of the site, for :mod:`cpbkg.web.routes.dumps`.

    ``files``: dicts with ``name``, ``url``, ``size``, ``sha256``, ``media_type``, ``format`` and
    ``description``, as ``/dumps/?format=json`` lists them. The page is in the request's language
    (``Content-Language``; ``Vary: Accept-Language`` is added to ``headers``).
    """
    return View(request).render("dumps.html", headers=headers, files=files)
