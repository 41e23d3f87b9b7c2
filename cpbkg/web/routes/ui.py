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
* ``/search?q=&type=&lang=`` labels, codes and notes in any language (:meth:`cpbkg.describe.search.Search.search`:
  word- and CJK-aware, case-insensitive, the text bound as a query parameter, never pasted into
  SPARQL, at most :data:`SEARCH_LIMIT` results), as a page or as JSON (``Accept: application/json``
  or ``format=json``: :func:`search_json`); every page has a search box in its header.
* ``/static/...`` the CSS, JavaScript and vendored files of the package; ``/favicon.ico``.

Every page is in Chinese and English (:mod:`cpbkg.web.i18n`), rendered by the site's page
framework (:mod:`cpbkg.web.view`) with autoescaping on: text from the graph is always escaped, and
the query catalogue is passed to the page as JSON in a ``<script type="application/json">`` block
with ``<``, ``>`` and ``&`` written as ``\\u`` escapes so that it cannot close the block.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from cpbkg.config import Settings
from cpbkg.describe.codes import kind_keys
from cpbkg.describe.explorer import BASES, LinkMatrix
from cpbkg.describe.model import Ref, SearchResults, cpb
from cpbkg.describe.resource import Describer
from cpbkg.describe.search import TYPE_FILTERS, Hit
from cpbkg.errors import BadParameter, RequestError, SourceError
from cpbkg.formats import HTML, JSON, content_type, file_type
from cpbkg.sparql.catalogue import load_catalogue
from cpbkg.web.memo import memorable
from cpbkg.web.negotiation import choose, wants
from cpbkg.web.view import HTTP_IRI, PREFIXES, STATIC_DIR, View, json_for_script

log = logging.getLogger(__name__)

router = APIRouter()
#: every page answers HEAD too (link checkers, caches)
GET_HEAD = ["GET", "HEAD"]
#: search results shown at most
SEARCH_LIMIT = 100
#: search results a JSON answer gives unless ``limit=`` says otherwise
SEARCH_JSON_LIMIT = 20


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


def search_types(values: list[str]) -> frozenset[str] | None:
    """The kinds the ``type=`` values ask for (comma-separated or repeated; None: any).

    Raises:
        BadParameter: a name that is not one of :data:`cpbkg.describe.search.TYPE_FILTERS`.
    """
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in TYPE_FILTERS]
    if unknown:
        raise BadParameter(f"type={unknown[0]!r} is not a type of search; the types are {', '.join(TYPE_FILTERS)}")
    return frozenset(k for n in names for k in TYPE_FILTERS[n]) if names else None


@router.api_route("/search", methods=GET_HEAD, summary="Search labels, codes and notes",
                  tags=["pages"], response_class=Response,
                  responses={200: {"content": {"text/html": {}, "application/json": {}}},
                             400: {"description": "an unknown type"}})
def search(request: Request,
           q: str = Query("", description="text to find: a code as people write it (Target 17, B.3, Art. 26, SDG 2, "
                                          "CHN), or words of labels (skos:prefLabel, skos:altLabel, rdfs:label, "
                                          "dcterms:title) and notes (skos:definition, skos:scopeNote), any language"),
           type: Annotated[list[str], Query(description="only hits of these kinds, comma-separated or repeated: "
                                                         + ", ".join(TYPE_FILTERS))] = [],  # noqa: B006
           format: str | None = Query(None, description="json or html, overriding Accept"),
           limit: int = Query(SEARCH_JSON_LIMIT, ge=1, le=SEARCH_LIMIT, description="hits a JSON answer gives"),
           ) -> Response:
    """Resources whose labels, codes or notes hold the text, best first; JSON or a page.

    A code as people write it ("Target 17", "SDG 2", "A.1(a)") puts its resource first, flagged
    ``exact``. Every hit says what it belongs to (``context``: its goal, treaty or questionnaire,
    and the reporting cycle of a questionnaire's question)."""
    view = View(request)
    memorable(request)  # a function of the data, the text, the language and the format
    kind = choose(request.headers.get("accept"), [format] if format else [], (HTML, JSON),
                  what="search results are a page or JSON")
    types = search_types(type)
    text = q.strip()
    try:
        results = view.describer.search(text, limit=limit if kind == "json" else SEARCH_LIMIT,
                                        types=types) if text else None
    except RequestError:  # a text a remote store cannot be sent faithfully (cpbkg.store.backend): nothing found
        results = SearchResults(text, [], 0, False)
    headers = {"Vary": "Accept, Accept-Language"}
    if kind == "json":
        body = json.dumps(search_json(view, text, results, types), ensure_ascii=False, indent=1).encode("utf-8")
        return Response(body, headers={**headers, "Content-Type": JSON.content_type,
                                       "Content-Language": view.lang})
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
    chosen = [n.strip().lower() for v in type for n in v.split(",") if n.strip()]
    return view.render("search.html", headers=headers, results=results, hits=hits, search_text=text,
                       examples=_search_examples(view.lang), types=list(TYPE_FILTERS),
                       chosen_type=chosen[0] if len(chosen) == 1 else "")


def _search_examples(lang: str) -> list[str]:
    return ["Target 17", "A.1(a)", "生物安全", "Q7", "Article 17", "SDG 2", "风险评估"] if lang == "en" else \
        ["行动目标 17", "A.1(a)", "biosafety", "Q7", "第26条", "SDG 2", "风险评估"]


#: the type a JSON hit is said to be of: the most specific filter (:data:`TYPE_FILTERS`) that takes it
TYPE_ORDER = ("goal", "objective", "indicator", "outcome", "area", "article", "target", "treaty", "sdg", "gbf",
              "party", "region", "decision", "question", "plan")


def _ref_json(view: View, ref: Ref) -> dict[str, Any]:
    """A resource as the JSON answers name it: IRI, its page here, code, label, both labels."""
    path = view.path_of(ref.value) if not ref.is_blank else None
    if path is None and ref.described and not ref.is_blank:
        path = "/resource?uri=" + quote(ref.value, safe="")
    return {"uri": ref.value, "href": path, "code": ref.notation, "label": ref.label(view.lang),
            "labels": {k: v for k, v in ref.labels.items() if k in ("en", "zh")}}


def search_json(view: View, text: str, results: SearchResults | None,
                types: frozenset[str] | None) -> dict[str, Any]:
    """What ``/search?format=json`` answers: the text, the counts, and per hit its resource, kind,
    whether the text is its code (``exact``), the score, what matched and its context."""
    hits = []
    for hit in results.hits if results else []:
        entry = _ref_json(view, hit.ref)
        keys = sorted(kind_keys(hit.ref.value, [hit.kind.value] if hit.kind else []))
        entry.update({
            "kind": {"uri": hit.kind.value, "label": hit.kind.label(view.lang)} if hit.kind else None,
            "type": next((name for name in TYPE_ORDER if set(keys) & TYPE_FILTERS[name]), None),
            "exact": bool(getattr(hit, "exact", False)),
            "score": hit.score,
            "matched": [{"text": m.literal.value, "lang": m.literal.language} for m in hit.matches[:5]],
        })
        if isinstance(hit, Hit):
            entry["notes"] = [{"text": m.literal.value, "lang": m.literal.language} for m in hit.notes[:3]]
            entry["context"] = [{**_ref_json(view, c), "kind": (k.label(view.lang) if (k := view.describer.kind(c.term))
                                                                else None)} for c in hit.context]
            entry["cycle"] = hit.cycle
        hits.append(entry)
    return {"q": text, "lang": view.lang, "types": sorted(types) if types else None,
            "total": results.total if results else 0, "truncated": results.truncated if results else False,
            "hits": hits}


# ---------------------------------------------------------------------- query


def catalogue_for_page(settings: Settings, lang: str = "en") -> list[dict[str, str]]:
    """The named queries as the query page lists them, titled in ``lang`` (an empty list if the
    catalogue is broken)."""
    try:
        queries = load_catalogue(settings.queries_dir)
    except SourceError as exc:
        log.warning("query catalogue not shown: %s", exc)
        return []
    return [{"name": q.name, "title": q.title_in(lang), "description": q.description_in(lang), "query": q.text}
            for q in queries.values()]


#: the classes and properties the data uses, for the editor's completion: by the store's data version
TERMS_QUERY = """SELECT ?kind ?term (COUNT(*) AS ?n) WHERE {
  { ?s a ?term BIND("class" AS ?kind) } UNION { ?s ?term ?o BIND("property" AS ?kind) }
  FILTER(isIRI(?term))
} GROUP BY ?kind ?term ORDER BY DESC(?n) STR(?term)"""
_TERMS: dict[str, dict[str, list[str]]] = {}


def data_terms(view: View) -> dict[str, list[str]]:
    """The classes and properties used in the data, most used first (one query per build, kept): what the
    editor completes after ``a`` and in a predicate's place (as the dataset's VoID lists its classes)."""
    version = view.loaded.data_version
    found = _TERMS.get(version)
    if found is None:
        found = {"class": [], "property": []}
        try:
            for row in view.loaded.store.query(TERMS_QUERY, use_default_graph_as_union=True):  # type: ignore[union-attr]
                kind, term = row["kind"], row["term"]
                if isinstance(kind, ox.Literal) and isinstance(term, ox.NamedNode) and kind.value in found:
                    found[kind.value].append(term.value)
        except RequestError as exc:  # a remote store that refuses it: no completion, the editor still works
            log.warning("no class and property completion: %s", exc)
        _TERMS.clear()  # one build at a time
        _TERMS[version] = found
    return found


@router.api_route("/query", methods=GET_HEAD, response_class=HTMLResponse, summary="SPARQL query editor",
                  tags=["pages"])
def query_page(request: Request) -> HTMLResponse:
    """A SPARQL editor on ``/sparql`` with the example queries of the catalogue (titled in the page's
    language), completion of the data's classes and properties, results with labels and links to the
    pages of this site, and share links (``/query?query=...``) that reopen the query."""
    view = View(request)
    queries = catalogue_for_page(view.settings, view.lang)
    initial = request.query_params.get("query")
    config = {"base": view.base, "lang": view.lang, "explicitLang": view.explicit_lang, "prefixes": PREFIXES,
              "terms": data_terms(view), "labels": "/query/labels",
              "strings": {k: view.t(k) for k in ("query_share", "query_label", "query_open_page")}}
    return view.render("query.html", queries=queries, queries_json=json_for_script(queries), initial=initial or "",
                       initial_json=json_for_script(initial or ""), config_json=json_for_script(config))


#: IRIs one label request may ask about
LABELS_MAX = 2000


@router.post("/query/labels", summary="Labels and pages of IRIs (for the query editor)", tags=["pages"])
async def query_labels(request: Request) -> Response:
    """``{"iris": [...]}`` -> ``{"labels": {iri: {"label", "lang", "code", "href"}}}``: how the editor's
    results name each IRI (in the page's language, ``?lang=``) and where it links (this site's page of
    it, or the IRI itself). IRIs the data does not name are left out; at most 2,000 per request."""
    body = await request.body()
    if len(body) > 512 * 1024:
        raise BadParameter("at most 512 kB of IRIs per request")
    try:
        iris = json.loads(body or b"{}").get("iris", [])
    except (ValueError, AttributeError):
        raise BadParameter('the body is JSON: {"iris": ["https://...", ...]}') from None
    if not isinstance(iris, list):
        raise BadParameter('"iris" is a list of IRIs')
    wanted = [i for i in iris[:LABELS_MAX] if isinstance(i, str) and HTTP_IRI.match(i)]
    return await anyio.to_thread.run_sync(_labels_answer, request, wanted)


def _labels_answer(request: Request, iris: list[str]) -> Response:
    view = View(request)
    out: dict[str, dict[str, Any]] = {}
    for iri in dict.fromkeys(iris):
        try:
            ref = view.describer.ref(ox.NamedNode(iri))
        except ValueError:
            continue
        if not ref.labels and not ref.notation and not ref.described:
            continue
        label = ref.label(view.lang) if (ref.labels or ref.notation) else None
        out[iri] = {"label": label, "lang": ref.label_lang(view.lang) if ref.labels else "", "code": ref.notation,
                    "href": view.href(ref) if ref.described else None}
    body = json.dumps({"labels": out}, ensure_ascii=False).encode("utf-8")
    return Response(body, headers={"Content-Type": JSON.content_type, "Cache-Control": "no-store"})


# ---------------------------------------------------------------------- explorer


@router.api_route("/explore", methods=GET_HEAD, response_class=Response, summary="Goal x GBF target matrix",
                  tags=["pages"], responses={200: {"content": {"text/html": {}, "text/csv": {}}}})
def explore(request: Request,
            basis: str | None = Query(None, description="only links of this basis: " + ", ".join(BASES)),
            format: str | None = Query(None, description="csv for the matrix as a table of figures"),
            ) -> Response:
    """Rows: the Plan's long-term goals (and the Plan itself where it is linked); columns: GBF targets 1-23,
    the GBF goals and the SDGs they are linked to; cells: number of links, of one basis or all; totals."""
    view = View(request)
    memorable(request)  # a function of the data, the basis, the format and the language
    if basis is not None and basis not in BASES:
        raise BadParameter(f"basis={basis!r}: the bases are {', '.join(BASES)}")
    if format not in (None, "", "html", "csv"):
        raise BadParameter(f"format={format!r}: the matrix is a page (html) or a table (csv)")
    matrix = view.describer.link_matrix(basis)
    if format == "csv":
        name = "cpbkg-goal-target-matrix" + (f"-{basis}" if basis else "") + ".csv"
        return Response(matrix_csv(matrix).encode("utf-8"), headers={
            "Content-Type": content_type("text/csv"), "Content-Disposition": f'attachment; filename="{name}"',
            "Vary": "Accept-Language"})
    return view.render("explore.html", matrix=matrix, bases=list(BASES), basis=basis or "",
                       target_key=_last_segment)


def matrix_csv(matrix: LinkMatrix) -> str:
    """The matrix as CSV: a row per goal (code, English and Chinese titles), a column per target, GBF goal
    and SDG (``T17``, ``GBF goal D``, ``SDG 2``), the row's total, and a last row of column totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = {"target": "T{}", "gbf-goal": "GBF goal {}", "sdg": "SDG {}"}
    writer.writerow(["code", "title_en", "title_zh",
                     *(names[c.group].format(c.key.split("-", 1)[-1]) for c in matrix.columns), "total"])
    for row in matrix.rows:
        writer.writerow([row.ref.notation or row.key, row.ref.labels.get("en", ""), row.ref.labels.get("zh", ""),
                         *row.counts, row.total])
    writer.writerow(["total", "", "", *(c.total for c in matrix.columns), matrix.total])
    return out.getvalue()


def _last_segment(ref: Ref) -> str:
    return ref.term.value.rstrip("/").rsplit("/", 1)[-1]


def _goal_node(view: View, code: str) -> ox.NamedNode | None:
    d = view.describer
    if code == "plan":
        plan = ox.NamedNode(view.base + "id/plan")
        return plan if d.is_subject(plan) else None
    for goal in d.instances(cpb("Goal")):
        if goal.notation == code or _last_segment(goal) == code:
            return goal.term  # type: ignore[return-value]
    return None


@router.api_route("/explore/goal/{goal}/target/{target}", methods=GET_HEAD, response_class=HTMLResponse,
                  summary="Links between a goal and a GBF target, GBF goal or SDG", tags=["pages"])
def explore_cell(request: Request, goal: str, target: str,
                 basis: str | None = Query(None, description="only links of this basis: " + ", ".join(BASES)),
                 ) -> HTMLResponse:
    """The links joining a goal (or its objectives and indicators; ``plan``: the Plan itself) to a GBF
    target (``17``), a GBF goal (``goal-D``) or an SDG (``sdg-2``), with their basis."""
    view = View(request)
    d = view.describer
    goal_node, target_node = _goal_node(view, goal), d.column_node(target)
    if goal_node is None or target_node is None:
        return view.not_found()
    links = d.goal_target_links(goal_node, target_node, basis if basis in BASES else None)
    return view.render("explore_cell.html", goal=d.ref(goal_node), target=d.ref(target_node),
                       target_key=target, links=links, basis=basis if basis in BASES else "")


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


#: the colour class of a node in the network view, by the kinds (cpbkg.describe.codes.kind_keys) it has
NODE_CLASSES = (
    ("plan", {"implementationplan", "area", "goal", "objective", "indicator", "outcome"}),
    ("treaty", {"treaty", "article", "treatyannex", "provision"}),
    ("gbf", {"gbfvision", "gbfmission", "gbfgoal", "gbftarget", "gbfindicator", "gbfquestion"}),
    ("sdg", {"sdg", "sdgtarget", "sdgindicator"}),
    ("decision", {"decision", "document", "operativeparagraph", "preambularparagraph", "annexsection",
                  "annexparagraph", "footnote", "decisionpart", "action", "actor"}),
    ("report", {"questionnaire", "questionnairesection", "reportquestion", "answeroption", "measurementrule"}),
    ("party", {"party", "region", "membership"}),
)


def node_class(view: View, ref: Ref) -> str:
    """``plan``, ``treaty``, ``gbf``, ``sdg``, ``decision``, ``report``, ``party`` or ``other``: the colour of a node."""
    kind = view.describer.kind(ref.term)
    keys = kind_keys(ref.value, [kind.value] if kind else [])
    return next((name for name, kinds in NODE_CLASSES if keys & kinds), "other")


def _short(text: str, n: int) -> str:
    """At most ``n`` columns of text, a Chinese character counting two (as wide as two Latin letters)."""
    width = 0
    for i, ch in enumerate(text):
        width += 2 if "\u2e80" <= ch <= "\uffef" else 1
        if width > n:
            return text[:i].rstrip() + "…"
    return text


def diagram(view: View, page: Any, limit: int = 24) -> dict[str, Any]:
    """Two layouts of the node and up to ``limit`` neighbours (links out first), for an SVG each: a circle
    (``wide``: a desktop) and a column (``narrow``: a phone, drawn at its own size, labels legible), each
    node coloured by its kind (:func:`node_class`), each line labelled with its property, the full label
    of each node in its ``title`` and ``full`` (shown on hover and focus)."""
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
    width, height = 1000, 640
    cx, cy, r = width // 2, height // 2, 240
    nodes = []
    kinds_shown: list[str] = []
    for i, (ref, prop, outgoing) in enumerate(neighbours):
        angle = 2 * math.pi * i / n - math.pi / 2
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        label = view.label(ref)
        full = (ref.notation + " " if ref.notation and ref.notation not in label else "") + label
        anchor = "start" if x > cx + 5 else "end" if x < cx - 5 else "middle"
        # labels beside their node; above or below it at the top and bottom (off the line)
        lx = x + (12 if anchor == "start" else -12 if anchor == "end" else 0)
        ly = y + 1 if anchor != "middle" else (y - 26 if y < cy else y + 24)
        kind = node_class(view, ref)
        if kind not in kinds_shown:
            kinds_shown.append(kind)
        # the property's name on the line, two thirds of the way out (a short one; the full one in the title)
        ex, ey = cx + (x - cx) * 0.62, cy + (y - cy) * 0.62
        nodes.append({"x": round(x, 1), "y": round(y, 1), "lx": round(lx, 1), "ly": round(ly, 1),
                      "label": _short(full, 28), "narrow": _short(full, 40), "full": full, "prop": prop,
                      "prop_short": _short(prop, 22),
                      "ex": round(ex, 1), "ey": round(ey - 3, 1),
                      "title": f"{prop}: {full}", "href": view.node_url(ref), "outgoing": outgoing,
                      "anchor": anchor, "kind": kind, "row_y": 70 + 52 * i})
    centre_kind = node_class(view, page.node)
    if centre_kind not in kinds_shown:
        kinds_shown.insert(0, centre_kind)
    return {"cx": cx, "cy": cy, "width": width, "height": height, "nodes": nodes, "total": total,
            "centre_kind": centre_kind, "kinds": kinds_shown, "narrow_width": 360,
            "narrow_height": 80 + 52 * len(nodes)}


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


# ---------------------------------------------------------------------- the one 404 page


def not_found_page(request: Request, message: str | None = None) -> Response:
    """The site's 404 for any path: its page in the request's language (the path it was asked for, the
    ``message`` when a route gave one), or JSON ``{"error", "status", "detail"}`` when the client prefers
    JSON -- :mod:`cpbkg.web.app` answers every unknown path with it, and a browser's 404 of any route."""
    headers = {"Vary": "Accept, Accept-Language", "Cache-Control": "no-store"}
    if wants(request.headers.get("accept"), "application/json", over=["text/html"]):
        body = json.dumps({"error": "NotFound", "status": 404, "detail": message or f"no page at {request.url.path}"},
                          ensure_ascii=False).encode("utf-8")
        return Response(body, status_code=404, headers={**headers, "Content-Type": JSON.content_type})
    view = View(request)
    return view.render("error.html", status=404, headers=headers, title=view.t("not_found_title"), uri=None,
                       message=message, path=request.url.path)


def browser_wants_page(request: Request) -> bool:
    """The client asks for HTML before JSON and plain text (a browser): its errors are the site's pages."""
    return wants(request.headers.get("accept"), "text/html", over=["application/json", "text/plain"])


# ---------------------------------------------------------------------- static files


@router.api_route("/favicon.ico", methods=GET_HEAD, include_in_schema=False)
def favicon() -> Response:
    """The site icon (browsers ask for it on every site; an SVG, which they all accept)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.api_route("/static/{path:path}", methods=GET_HEAD, include_in_schema=False)
def static(request: Request, path: str) -> Response:
    """A file of ``cpbkg/web/static`` (never outside it)."""
    root = STATIC_DIR.resolve()
    try:
        target = (root / path).resolve()
    except (OSError, ValueError):
        return not_found_page(request)
    if root not in target.parents or not target.is_file():
        return not_found_page(request)
    media = content_type(file_type(target.name)[0])
    return FileResponse(target, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
