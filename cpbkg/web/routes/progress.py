"""Progress pages: indicator observations at baseline (4th national reports) and in the 5th cycle.

* ``/progress/`` every indicator measured from national reports, baseline vs latest (world);
* ``/progress/indicator/{code}`` one indicator: world and UN-region charts, the regional table,
  how it is measured (questions, counted answers, basis);
* ``/progress/party/{iso}`` one Party (ISO 3166-1 alpha-3 or alpha-2, or EU): its names, regions,
  protocol memberships and, per indicator, whether it counted at baseline and in the 5th cycle.

The pages are pages of the site like any other (:mod:`cpbkg.web.view`): the same header, navigation,
language switch and footer (``base.html``), the one string table and language choice
(:mod:`cpbkg.web.i18n`). Charts are inline SVG, server-side: the layout is computed here
(:func:`bar_pairs`, :func:`party_marks`) and drawn by the macros of ``_macros.html``, so every text
in them is escaped by Jinja2; no JavaScript library, nothing from another host. Queries are the
catalogue's ``queries/progress-*.rq``, run on the served store (``serving(request).store.store``) with their
parameters bound as terms (``substitutions``), never pasted into the query text.

Which observations: ``?dataset=`` a data set key (``progress``, ``synthetic-progress``); by default
the real one if the store has it, else the synthetic one, which every page then labels
"SYNTHETIC — not real national-report data".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cpbkg.build.progress.observations import (
    REAL_DATASET,
    SYNTHETIC_DATASET,
    SYNTHETIC_LABEL,
    SYNTHETIC_LABEL_ZH,
)
from cpbkg.build.progress.parties import ProgressIds, load_parties
from cpbkg.store.protocol import GraphStore
from cpbkg.vocab import Ids
from cpbkg.web.state import serving
from cpbkg.web.view import View, short_url

router = APIRouter()

_CODE = re.compile(r"^[AB]\.\d{1,2}\([a-z]\)$")
_DATASET = re.compile(r"^[a-z0-9-]{1,60}$")
#: the label of a synthetic data set, as the data gives it, in each interface language
SYNTHETIC_LABELS = {"en": SYNTHETIC_LABEL, "zh": SYNTHETIC_LABEL_ZH}


def _num(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


class ProgressView(View):
    """A progress page's request: the site's :class:`View`, the queries of the catalogue, the data set shown."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.store: GraphStore = self.loaded.store
        self.ids = Ids(self.settings.base_uri)
        self.pids = ProgressIds(self.ids)
        #: the named queries, read once per app (:class:`cpbkg.web.state.ProcessState`)
        self.catalogue = serving(request).catalogue

    # -------------------------------------------------------------------------------- queries

    def rows(self, name: str, **values: str) -> list[dict[str, str | None]]:
        query = self.catalogue[name]
        results = cast(ox.QuerySolutions, self.store.query(
            query.text, use_default_graph_as_union=True, substitutions=dict(query.bind(values))))
        names = [v.value for v in results.variables]
        return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in results]

    def ask(self, text: str, **terms: ox.NamedNode) -> bool:
        subs: dict[ox.Variable, Any] = {ox.Variable(k): v for k, v in terms.items()}
        return bool(self.store.query(text, use_default_graph_as_union=True, substitutions=subs))

    def dataset(self) -> tuple[str | None, bool]:
        """The data set key to show and whether it is synthetic; (None, False) if there is none."""
        asked = self.request.query_params.get("dataset")
        candidates = [asked] if asked else [REAL_DATASET, SYNTHETIC_DATASET]
        for key in candidates:
            if not key or not _DATASET.match(key):
                continue
            uri = ox.NamedNode(str(self.pids.dataset(key)))
            if self.ask("ASK { ?o <http://purl.org/linked-data/cube#dataSet> ?ds }", ds=uri):
                synthetic = self.ask('ASK { ?ds <https://w3id.org/cpbkg/ontology#synthetic> true }', ds=uri)
                return key, synthetic
        return None, False

    # ---------------------------------------------------------------------------------- links

    def progress_url(self, path: str, **params: object) -> str:
        """A link to a progress page: :meth:`View.url`, keeping the ``?dataset=`` the user chose."""
        asked = self.request.query_params.get("dataset")
        if asked and _DATASET.match(asked) and "dataset" not in params:
            params["dataset"] = asked
        return self.url(path, **params)

    def short(self, url: str) -> str:
        """A URL to show as a link's text (:func:`cpbkg.web.view.short_url`)."""
        return short_url(url)

    def row_label(self, row: dict[str, str | None], stem: str) -> str:
        """The label ``{stem}_{lang}`` of a query row, else its English or Chinese one."""
        return row.get(f"{stem}_{self.lang}") or row.get(f"{stem}_en") or row.get(f"{stem}_zh") or ""

    # ------------------------------------------------------------------------------ rendering

    def page(self, template: str, *, dataset: str | None, synthetic: bool, **context: Any) -> HTMLResponse:
        """A progress page (``progress-layout.html``: the data set shown, the banner when it is synthetic)."""
        return self.render(template, dataset=dataset, synthetic=synthetic,
                           synthetic_label=SYNTHETIC_LABELS.get(self.lang, SYNTHETIC_LABEL), **context)

    def error(self, status: int, message_key: str) -> HTMLResponse:
        """The site's error page, with a link back to the progress index."""
        return self.render("error.html", status=status, title=self.t("not_found_title"), uri=None,
                           message=self.t(message_key), back=(self.progress_url("/progress/"), self.t("progress_back")))


# ------------------------------------------------------------------------------------- charts
# Geometry only, in SVG user units: the macros of _macros.html draw it (and name its parts).

#: the percent ticks of a chart's axis
TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Bar:
    """One bar of a pair: ``kind`` ``baseline`` or ``latest``; no width when not measured."""

    kind: str
    y: int
    width: float | None
    value: Decimal | None


@dataclass(frozen=True)
class BarRow:
    label: str
    y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    """Horizontal paired bars (baseline, latest), 0-100 %, one row per label: the ``bar_chart`` macro."""

    width: int
    height: int
    label_width: int
    top: int
    #: (x, percent) of each tick of the axis
    ticks: tuple[tuple[float, int], ...]
    rows: tuple[BarRow, ...]


def bar_pairs(rows: list[tuple[str, Decimal | None, Decimal | None]], *, label_width: int = 110,
              width: int = 480) -> BarChart:
    """The layout of paired bars for (label, baseline %, latest %) rows.

    >>> chart = bar_pairs([("A.1(a)", Decimal("40"), None)])
    >>> chart.height, [(b.kind, b.width, b.value) for b in chart.rows[0].bars]
    (88, [('baseline', 124.0, Decimal('40')), ('latest', None, None)])
    """
    row_h, bar_h, top = 30, 11, 34
    plot = width - label_width - 60
    height = top + row_h * len(rows) + 24
    ticks = tuple((round(label_width + plot * tick / 100, 1), tick) for tick in TICKS)
    out = []
    for i, (label, base, latest) in enumerate(rows):
        y = top + i * row_h
        bars = tuple(Bar(kind, y + j * (bar_h + 1), None if value is None else round(plot * float(value) / 100, 1), value)
                     for j, (kind, value) in enumerate((("baseline", base), ("latest", latest))))
        out.append(BarRow(label, y, bars))
    return BarChart(width, height, label_width, top, ticks, tuple(out))


@dataclass(frozen=True)
class PartyRow:
    """An indicator: the world's latest percentage (bar width) and this Party's two statuses."""

    code: str
    y: int
    world: Decimal | None
    width: float | None
    #: (x of the mark, ``counted`` / ``not_counted`` / ``not_in_denominator``) at baseline, then latest
    marks: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class PartyChart:
    """Per indicator, the world's bar and this Party's marks: the ``party_chart`` macro."""

    width: int
    height: int
    label_width: int
    #: (x, ``baseline`` / ``latest``) of the two columns of marks
    columns: tuple[tuple[int, str], ...]
    rows: tuple[PartyRow, ...]


#: a Party's answer to an indicator's questions, as the profile query gives it ("1", "0", none)
STATUS = {"1": "counted", "0": "not_counted"}


def party_marks(rows: list[tuple[str, Decimal | None, str | None, str | None]], *, width: int = 520) -> PartyChart:
    """The layout of (code, world latest %, baseline counted, latest counted) rows.

    >>> [r.marks for r in party_marks([("A.1(a)", Decimal("50"), "1", None)]).rows]
    [((350, 'counted'), (460, 'not_in_denominator'))]
    """
    label_width, row_h, top = 80, 22, 30
    plot = width - label_width - 220
    height = top + row_h * len(rows) + 24
    columns = ((label_width + plot + 50, "baseline"), (label_width + plot + 160, "latest"))
    out = []
    for i, (code, world, base, latest) in enumerate(rows):
        answers = zip(columns, (base, latest), strict=True)
        marks = tuple((x, STATUS.get(status or "", "not_in_denominator")) for (x, _), status in answers)
        out.append(PartyRow(code, top + i * row_h, world, None if world is None else round(plot * float(world) / 100, 1),
                            marks))
    return PartyChart(width, height, label_width, columns, tuple(out))


# ------------------------------------------------------------------------------------- routes


@router.get("/progress/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/progress", response_class=HTMLResponse, include_in_schema=False)
def progress_index(request: Request) -> HTMLResponse:
    view = ProgressView(request)
    key, synthetic = view.dataset()
    if request.query_params.get("dataset") and key is None:
        return view.error(404, "progress_bad_dataset")
    rows = view.rows("progress-baseline-vs-latest", dataset=str(view.pids.dataset(key)),
                     area=str(view.pids.region("001"))) if key else []
    chart = bar_pairs([(r["code"] or "", _num(r["baseline"]), _num(r["latest"])) for r in rows],
                      label_width=70) if rows else None
    overview = [] if rows else measurement_overview(view)
    sources = baseline_sources(view)
    return view.page("progress-index.html", rows=rows, chart=chart, dataset=key, synthetic=synthetic,
                     overview=overview, sources=sources)


def measurement_overview(view: ProgressView) -> list[dict[str, Any]]:
    """Every indicator with where it is measured from and, per reporting cycle, the questions that count
    (``queries/progress-measurement-overview.rq``): what the index says while no answers are loaded."""
    out: dict[str, dict[str, Any]] = {}
    if "progress-measurement-overview" not in view.catalogue:  # another catalogue (queries_dir) without it
        return []
    for r in view.rows("progress-measurement-overview"):
        entry = out.setdefault(r["indicator"] or "", {"code": r["code"], "label": view.row_label(r, "label"),
                                                      "measured_from": r["measuredFrom"], "cycles": []})
        if r["cycle"] and not any(c["cycle"] == r["cycle"] for c in entry["cycles"]):
            entry["cycles"].append({"cycle": r["cycle"], "questions": (r["questions"] or "").split(),
                                    "combination": r["combination"], "question_basis": r["questionBasis"],
                                    "value_basis": r["valueBasis"]})
    return list(out.values())


def baseline_sources(view: ProgressView) -> list[tuple[Any, list[str]]]:
    """The national-report questionnaires (the 4th is the baseline) and the web addresses the data gives as
    their source: where the questions the indicators read are published."""
    from cpbkg.describe.model import DCTERMS_SOURCE, cpb

    d = view.describer
    out = []
    for questionnaire in d.instances(cpb("Questionnaire")):
        urls = sorted(o.value for o in d.objects(questionnaire.term, DCTERMS_SOURCE)
                      if isinstance(o, ox.NamedNode) and o.value.startswith(("http://", "https://")))
        out.append((questionnaire, urls))
    return out


@router.get("/progress/indicator/{code}", response_class=HTMLResponse, include_in_schema=False)
def progress_indicator(request: Request, code: str) -> HTMLResponse:
    view = ProgressView(request)
    if not _CODE.match(code):
        return view.error(404, "progress_unknown_indicator")
    indicator = str(view.ids.indicator(code))
    if not view.ask("ASK { { ?i ?p ?o } UNION { ?r <https://w3id.org/cpbkg/ontology#ruleFor> ?i } }",
                    i=ox.NamedNode(indicator)):
        return view.error(404, "progress_unknown_indicator")
    key, synthetic = view.dataset()
    label = _indicator_label(view, indicator)
    world: dict[str, str | None] = {}
    regions: list[dict[str, str | None]] = []
    if key:
        ds = str(view.pids.dataset(key))
        world = next((r for r in view.rows("progress-baseline-vs-latest", dataset=ds, area=str(view.pids.region("001")))
                      if r["indicator"] == indicator), {})
        regions = hierarchical(view.rows("progress-regional-breakdown", dataset=ds, indicator=indicator))
    method = view.rows("progress-indicator-methodology", indicator=indicator)
    measured_from = next((r["measuredFrom"] for r in method if r["measuredFrom"]), None)
    rules: dict[str, dict[str, Any]] = {}
    for r in method:
        if not r["rule"]:
            continue
        rule = rules.setdefault(r["rule"], {"cycle": r["cycle"], "combination": r["combination"],
                                            "questionBasis": r["questionBasis"], "valueBasis": r["valueBasis"],
                                            "note": r["note"], "questions": {}, "population": r["populationTreaty"]})
        rule["questions"].setdefault((r["questionCode"] or "", r["question"]), []).append(view.row_label(r, "option"))
    top = [r for r in regions if r["level"] in ("world", "region")]
    world_chart = bar_pairs([(view.t("progress_world"), _num(world.get("baseline")), _num(world.get("latest")))]) \
        if world else None
    region_chart = bar_pairs([(view.row_label(r, "region"), _num(r["baseline"]), _num(r["latest"])) for r in top]) \
        if top else None
    return view.page("progress-indicator.html", code=code, label=label, world=world, regions=regions,
                     rules=sorted(rules.values(), key=lambda r: r["cycle"] or ""), measured_from=measured_from,
                     world_chart=world_chart, region_chart=region_chart, dataset=key, synthetic=synthetic,
                     indicator=indicator)


def hierarchical(rows: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """Region rows in tree order: the world, then each region followed by the regions under it.

    >>> [r["m49"] for r in hierarchical([{"m49": "014", "region": "c", "parent": "b"},
    ...     {"m49": "001", "region": "a", "parent": None}, {"m49": "002", "region": "b", "parent": "a"}])]
    ['001', '002', '014']
    """
    children: dict[str | None, list[dict[str, str | None]]] = {}
    known = {r["region"] for r in rows}
    for r in rows:
        children.setdefault(r["parent"] if r["parent"] in known else None, []).append(r)
    out: list[dict[str, str | None]] = []

    def walk(parent: str | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: r["m49"] or ""):
            out.append(r)
            walk(r["region"])

    walk(None)
    return out


def _indicator_label(view: ProgressView, indicator: str) -> str:
    results = cast(ox.QuerySolutions, view.store.query(
        "SELECT ?i ?lang ?l WHERE { ?i <http://www.w3.org/2004/02/skos/core#prefLabel> ?l FILTER(LANG(?l) = ?lang) }",
        use_default_graph_as_union=True,
        substitutions={ox.Variable("i"): ox.NamedNode(indicator), ox.Variable("lang"): ox.Literal(view.lang)}))
    for row in results:
        return str(row["l"].value)
    return ""


@router.get("/progress/party/{iso}", response_class=HTMLResponse, include_in_schema=False)
def progress_party(request: Request, iso: str) -> HTMLResponse:
    view = ProgressView(request)
    parties = load_parties(view.settings.data_dir)
    iso3 = parties.resolve(iso) if re.fullmatch(r"[A-Za-z]{2,3}", iso or "") else None
    if iso3 is None:
        return view.error(404, "progress_unknown_party")
    party = parties.parties[iso3]
    key, synthetic = view.dataset()
    profile: list[dict[str, str | None]] = []
    world: dict[str, dict[str, str | None]] = {}
    if key:
        ds = str(view.pids.dataset(key))
        profile = view.rows("progress-party-profile", dataset=ds, party=str(view.pids.party(iso3)))
        world = {r["indicator"] or "": r for r in view.rows("progress-baseline-vs-latest", dataset=ds,
                                                             area=str(view.pids.region("001")))}
    chart = party_marks([(r["code"] or "", _num(world.get(r["indicator"] or "", {}).get("latest")),
                          r["baselineCounted"], r["latestCounted"]) for r in profile]) if profile else None
    regions = [(code, parties.regions[code].names.get(view.lang) or parties.regions[code].names.get("en", code))
               for code in party.regions]
    return view.page("progress-party.html", party=party, regions=regions, profile=profile, world=world,
                     chart=chart, dataset=key, synthetic=synthetic,
                     name=party.names.get(view.lang) or party.names.get("en", iso3),
                     languages=("en", "zh", "fr", "es", "ru", "ar"), answer_status=STATUS)
