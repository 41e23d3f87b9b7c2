"""Progress pages: indicator observations at baseline (4th national reports) and in the 5th cycle.

* ``/progress/`` every indicator measured from national reports, baseline vs latest (world);
* ``/progress/indicator/{code}`` one indicator: world and UN-region charts, the regional table,
  how it is measured (questions, counted answers, basis);
* ``/progress/party/{iso}`` one Party (ISO 3166-1 alpha-3 or alpha-2, or EU): its names, regions,
  protocol memberships and, per indicator, whether it counted at baseline and in the 5th cycle.

Charts are inline SVG drawn here, server-side: no JavaScript library, nothing from another host.
Every text put into SVG or HTML is escaped (Jinja2 autoescaping; :func:`_e` in the SVG code).
Pages are in English and Chinese (``?lang=en|zh``, else ``Accept-Language``). Queries are the
catalogue's ``queries/progress-*.rq``, run on ``request.app.state.store.store`` with their
parameters bound as terms (``substitutions``), never pasted into the query text.

Which observations: ``?dataset=`` a data set key (``progress``, ``synthetic-progress``); by default
the real one if the store has it, else the synthetic one, which every page then labels
"SYNTHETIC — not real national-report data".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlencode

import jinja2
import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from cpbkg.build.progress.observations import (
    REAL_DATASET,
    SYNTHETIC_DATASET,
    SYNTHETIC_LABEL,
    SYNTHETIC_LABEL_ZH,
)
from cpbkg.build.progress.parties import ProgressIds, load_parties
from cpbkg.config import Settings
from cpbkg.sparql.catalogue import NamedQuery, load_catalogue
from cpbkg.vocab import Ids

router = APIRouter()

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
LANGS = ("en", "zh")
_CODE = re.compile(r"^[AB]\.\d{1,2}\([a-z]\)$")
_DATASET = re.compile(r"^[a-z0-9-]{1,60}$")

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Progress on the Implementation Plan", "zh": "执行计划进展"},
    "intro": {"en": "Indicators measured from the Parties' national reports: the baseline is the 4th national "
                    "reports, the latest the 5th reporting cycle. Which answers count towards each indicator is "
                    "written as data; where no official source says so it is the project's reading (curated).",
              "zh": "根据缔约方国家报告衡量的指标：基线为第四次国家报告，最新值为第五个报告周期。每个指标计入哪些答案"
                    "以数据形式记录；没有官方来源说明之处，为本项目的解读（整理）。"},
    "synthetic_banner": {"en": SYNTHETIC_LABEL + ". These figures come from answers made up at random for "
                               "tests and demonstrations; they say nothing about any country.",
                         "zh": SYNTHETIC_LABEL_ZH + "。这些数字来自为测试和演示随机生成的答案，不反映任何国家的情况。"},
    "no_data": {"en": "No indicator observations in this store. Ingest national-report answers with "
                      "`cpbkg ingest FILE --cycle N` and rebuild, or build with `--demo` for synthetic data.",
                "zh": "本存储中没有指标观测值。请用 `cpbkg ingest 文件 --cycle N` 导入国家报告答案并重新构建，"
                      "或用 `--demo` 构建以使用合成数据。"},
    "indicator": {"en": "Indicator", "zh": "指标"},
    "baseline": {"en": "Baseline (4th reports)", "zh": "基线（第四次报告）"},
    "latest": {"en": "5th cycle", "zh": "第五个周期"},
    "change": {"en": "Change (points)", "zh": "变化（百分点）"},
    "world": {"en": "World", "zh": "全球"},
    "by_region": {"en": "By UN region (M49)", "zh": "按联合国区域（M49）"},
    "region": {"en": "Region", "zh": "区域"},
    "parties_counted": {"en": "Parties counted / Parties", "zh": "计入的缔约方 / 缔约方"},
    "not_measured": {"en": "not measured", "zh": "未衡量"},
    "how_measured": {"en": "How it is measured", "zh": "衡量方法"},
    "cycle": {"en": "Cycle", "zh": "周期"},
    "question": {"en": "Question", "zh": "问题"},
    "counted_answers": {"en": "Answers that count", "zh": "计入的答案"},
    "combination": {"en": "Combination", "zh": "组合方式"},
    "all": {"en": "all questions", "zh": "所有问题"},
    "any": {"en": "any question", "zh": "任一问题"},
    "question_basis": {"en": "Questions", "zh": "问题依据"},
    "value_basis": {"en": "Counted answers", "zh": "答案依据"},
    "OfficialMapping": {"en": "official table", "zh": "官方表格"},
    "CuratedLink": {"en": "project's reading (curated)", "zh": "本项目解读（整理）"},
    "measured_from": {"en": "Data source", "zh": "数据来源"},
    "national-reports": {"en": "national reports", "zh": "国家报告"},
    "bch-records": {"en": "Biosafety Clearing-House records", "zh": "生物安全信息交换所记录"},
    "bch-analytics": {"en": "Biosafety Clearing-House web statistics", "zh": "生物安全信息交换所网站统计"},
    "other-records": {"en": "other records (GEF, Compliance Committee)", "zh": "其他记录（全环基金、履约委员会）"},
    "party": {"en": "Party", "zh": "缔约方"},
    "parties": {"en": "Parties", "zh": "缔约方"},
    "names": {"en": "Names in the UN languages", "zh": "联合国语文名称"},
    "codes": {"en": "Codes", "zh": "代码"},
    "regions": {"en": "UN M49 regions", "zh": "联合国M49区域"},
    "memberships": {"en": "Party to", "zh": "缔约方身份"},
    "treaty_cpb": {"en": "Cartagena Protocol on Biosafety", "zh": "《卡塔赫纳生物安全议定书》"},
    "treaty_nkl": {"en": "Nagoya-Kuala Lumpur Supplementary Protocol", "zh": "《关于赔偿责任和补救的名古屋-吉隆坡补充议定书》"},
    "counted": {"en": "counted", "zh": "计入"},
    "not_counted": {"en": "not counted", "zh": "未计入"},
    "not_in_denominator": {"en": "no answer", "zh": "无答案"},
    "world_pct": {"en": "World", "zh": "全球"},
    "profile": {"en": "Indicators", "zh": "指标"},
    "back": {"en": "All indicators", "zh": "所有指标"},
    "home": {"en": "Home", "zh": "首页"},
    "switch_to": {"en": "中文", "zh": "English"},
    "not_found": {"en": "Not found", "zh": "未找到"},
    "unknown_indicator": {"en": "No indicator with this code.", "zh": "没有此编号的指标。"},
    "unknown_party": {"en": "Not a Party to the Cartagena Protocol (give an ISO 3166-1 alpha-3 or alpha-2 code, or EU).",
                      "zh": "不是《卡塔赫纳议定书》缔约方（请输入 ISO 3166-1 三字母或二字母代码，或 EU）。"},
    "bad_dataset": {"en": "Unknown data set.", "zh": "未知的数据集。"},
    "chart_world": {"en": "Percentage of Parties, world: baseline and 5th cycle", "zh": "缔约方百分比（全球）：基线与第五个周期"},
    "chart_regions": {"en": "Percentage of Parties by region: baseline and 5th cycle", "zh": "按区域的缔约方百分比：基线与第五个周期"},
    "chart_index": {"en": "Every indicator, world: baseline and 5th cycle", "zh": "所有指标（全球）：基线与第五个周期"},
    "chart_party": {"en": "World percentage per indicator, with this Party's answer", "zh": "各指标的全球百分比及本缔约方的情况"},
    "query_link": {"en": "the query behind this page", "zh": "本页面所用的查询"},
    "dataset": {"en": "Data set", "zh": "数据集"},
    "eu_note": {"en": "The European Union belongs to no M49 region: it counts in the world figures only.",
                "zh": "欧洲联盟不属于任何M49区域，只计入全球数字。"},
}


def t(key: str, lang: str) -> str:
    return STRINGS.get(key, {}).get(lang) or STRINGS.get(key, {}).get("en") or key


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _lang(request: Request) -> tuple[str, bool]:
    param = request.query_params.get("lang")
    if param in LANGS:
        return param, True
    header = (request.headers.get("accept-language") or "").lower()
    best = ("en", -1.0)
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.split("-")[0].strip()
        if primary in LANGS and q > best[1] and q > 0:
            best = (primary, q - position * 1e-6)
    return best[0], False


@lru_cache(maxsize=4)
def _catalogue(queries_dir: Path) -> dict[str, NamedQuery]:
    return load_catalogue(queries_dir)


def _num(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


class Page:
    """One request: language, links, store, the data set shown."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.settings: Settings = request.app.state.settings
        self.store: ox.Store = request.app.state.store.store
        self.lang, self.explicit_lang = _lang(request)
        self.ids = Ids(self.settings.base_uri)
        self.pids = ProgressIds(self.ids)
        self.catalogue = _catalogue(self.settings.queries_dir)

    # -------------------------------------------------------------------------------- queries

    def rows(self, name: str, **values: str) -> list[dict[str, str | None]]:
        query = self.catalogue[name]
        results = cast(ox.QuerySolutions, self.store.query(
            query.text, use_default_graph_as_union=True, substitutions=dict(query.bind(values))))  # type: ignore[arg-type]
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

    def url(self, path: str, **params: object) -> str:
        items = [(k, str(v)) for k, v in params.items() if v is not None]
        asked = self.request.query_params.get("dataset")
        if asked and _DATASET.match(asked) and "dataset" not in params:
            items.append(("dataset", asked))
        if self.explicit_lang:
            items.append(("lang", self.lang))
        query = urlencode(items, quote_via=quote, safe="")
        return path + ("?" + query if query else "")

    def switch_url(self) -> str:
        items = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        items.append(("lang", "zh" if self.lang == "en" else "en"))
        return self.request.url.path + "?" + urlencode(items, quote_via=quote, safe="")

    def label(self, row: dict[str, str | None], stem: str) -> str:
        return row.get(f"{stem}_{self.lang}") or row.get(f"{stem}_en") or row.get(f"{stem}_zh") or ""

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        html = _env.get_template(template).render(
            p=self, t=lambda key: t(key, self.lang), lang=self.lang,
            page_lang="zh-Hans" if self.lang == "zh" else "en", **context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Language"] = self.lang
        response.headers["Vary"] = "Accept-Language"
        return response

    def error(self, status: int, message_key: str) -> HTMLResponse:
        return self.render("progress-error.html", status=status, message=t(message_key, self.lang),
                           synthetic=False, dataset=None)


# ------------------------------------------------------------------------------------- charts

BASE_COLOUR, LATEST_COLOUR = "#8c959f", "#0d5c46"


def bar_pairs_svg(rows: list[tuple[str, Decimal | None, Decimal | None]], *, title: str, legend: tuple[str, str],
                  label_width: int = 110, width: int = 640) -> Markup:
    """Horizontal paired bars (baseline grey, latest green), 0-100 %, one row per label; escaped SVG.

    >>> svg = bar_pairs_svg([("A<1>", Decimal("40"), None)], title="t & u", legend=("b", "l"))
    >>> "A&lt;1&gt;" in svg and "t &amp; u" in svg and "<script" not in svg
    True
    """
    row_h, bar_h, top = 30, 11, 34
    plot = width - label_width - 60
    height = top + row_h * len(rows) + 24
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="progress-chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px">'),
           f'<title>{_e(title)}</title>',
           (f'<rect x="{label_width}" y="6" width="12" height="10" fill="{BASE_COLOUR}"/>'
            f'<text x="{label_width + 16}" y="15" font-size="11">{_e(legend[0])}</text>'),
           (f'<rect x="{label_width + 180}" y="6" width="12" height="10" fill="{LATEST_COLOUR}"/>'
            f'<text x="{label_width + 196}" y="15" font-size="11">{_e(legend[1])}</text>')]
    for tick in (0, 25, 50, 75, 100):
        x = label_width + plot * tick / 100
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 20}" stroke="#d0d7de" stroke-width="1"/>'
                   f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{tick}%</text>')
    for i, (label, base, latest) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{label_width - 6}" y="{y + 15}" font-size="12" text-anchor="end">{_e(label)}</text>')
        for j, (value, colour) in enumerate(((base, BASE_COLOUR), (latest, LATEST_COLOUR))):
            yy = y + j * (bar_h + 1)
            if value is None:
                out.append(f'<text x="{label_width + 2}" y="{yy + 9}" font-size="9" fill="#4a5361">–</text>')
                continue
            w = plot * float(value) / 100
            out.append(f'<rect x="{label_width}" y="{yy}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                       f'<title>{_e(label)}: {_e(value)}%</title></rect>'
                       f'<text x="{label_width + w + 3:.1f}" y="{yy + 9}" font-size="9">{_e(value)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def party_svg(rows: list[tuple[str, Decimal | None, str | None, str | None]], *, title: str,
              labels: dict[str, str], width: int = 640) -> Markup:
    """Per indicator: the world's latest percentage as a bar and this Party's status as two marks."""
    label_width, row_h, top = 80, 22, 30
    plot = width - label_width - 170
    height = top + row_h * len(rows) + 24
    marks = {"1": ("#0d5c46", labels["counted"]), "0": ("#b42318", labels["not_counted"]),
             None: ("#ffffff", labels["not_in_denominator"])}
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="progress-chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px"><title>{_e(title)}</title>'),
           f'<text x="{label_width}" y="14" font-size="11">{_e(labels["world"])} %</text>',
           f'<text x="{label_width + plot + 20}" y="14" font-size="11">{_e(labels["baseline"])}</text>',
           f'<text x="{label_width + plot + 95}" y="14" font-size="11">{_e(labels["latest"])}</text>']
    for i, (code, world, base, latest) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{label_width - 6}" y="{y + 13}" font-size="12" text-anchor="end">{_e(code)}</text>')
        if world is not None:
            w = plot * float(world) / 100
            out.append(f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="12" fill="#8c959f">'
                       f'<title>{_e(code)}: {_e(world)}%</title></rect>')
        for j, status in enumerate((base, latest)):
            colour, text = marks.get(status, marks[None])
            cx = label_width + plot + 40 + j * 75
            out.append(f'<circle cx="{cx}" cy="{y + 9}" r="6" fill="{colour}" stroke="#1b1f24" stroke-width="1">'
                       f'<title>{_e(code)}: {_e(text)}</title></circle>')
    out.append("</svg>")
    return Markup("".join(out))


# ------------------------------------------------------------------------------------- routes


@router.get("/progress/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/progress", response_class=HTMLResponse, include_in_schema=False)
def progress_index(request: Request) -> HTMLResponse:
    page = Page(request)
    key, synthetic = page.dataset()
    if request.query_params.get("dataset") and key is None:
        return page.error(404, "bad_dataset")
    rows = page.rows("progress-baseline-vs-latest", dataset=str(page.pids.dataset(key)),
                     area=str(page.pids.region("001"))) if key else []
    chart = bar_pairs_svg([(r["code"] or "", _num(r["baseline"]), _num(r["latest"])) for r in rows],
                          title=t("chart_index", page.lang), legend=(t("baseline", page.lang), t("latest", page.lang)),
                          label_width=70) if rows else None
    return page.render("progress-index.html", rows=rows, chart=chart, dataset=key, synthetic=synthetic)


@router.get("/progress/indicator/{code}", response_class=HTMLResponse, include_in_schema=False)
def progress_indicator(request: Request, code: str) -> HTMLResponse:
    page = Page(request)
    if not _CODE.match(code):
        return page.error(404, "unknown_indicator")
    indicator = str(page.ids.indicator(code))
    if not page.ask("ASK { { ?i ?p ?o } UNION { ?r <https://w3id.org/cpbkg/ontology#ruleFor> ?i } }",
                    i=ox.NamedNode(indicator)):
        return page.error(404, "unknown_indicator")
    key, synthetic = page.dataset()
    label = _indicator_label(page, indicator)
    world: dict[str, str | None] = {}
    regions: list[dict[str, str | None]] = []
    if key:
        ds = str(page.pids.dataset(key))
        world = next((r for r in page.rows("progress-baseline-vs-latest", dataset=ds, area=str(page.pids.region("001")))
                      if r["indicator"] == indicator), {})
        regions = hierarchical(page.rows("progress-regional-breakdown", dataset=ds, indicator=indicator))
    method = page.rows("progress-indicator-methodology", indicator=indicator)
    measured_from = next((r["measuredFrom"] for r in method if r["measuredFrom"]), None)
    rules: dict[str, dict[str, Any]] = {}
    for r in method:
        if not r["rule"]:
            continue
        rule = rules.setdefault(r["rule"], {"cycle": r["cycle"], "combination": r["combination"],
                                            "questionBasis": r["questionBasis"], "valueBasis": r["valueBasis"],
                                            "note": r["note"], "questions": {}, "population": r["populationTreaty"]})
        rule["questions"].setdefault((r["questionCode"] or "", r["question"]), []).append(page.label(r, "option"))
    top = [r for r in regions if r["level"] in ("world", "region")]
    world_chart = bar_pairs_svg([(t("world", page.lang), _num(world.get("baseline")), _num(world.get("latest")))],
                                title=t("chart_world", page.lang),
                                legend=(t("baseline", page.lang), t("latest", page.lang))) if world else None
    region_chart = bar_pairs_svg([(page.label(r, "region"), _num(r["baseline"]), _num(r["latest"])) for r in top],
                                 title=t("chart_regions", page.lang),
                                 legend=(t("baseline", page.lang), t("latest", page.lang))) if top else None
    return page.render("progress-indicator.html", code=code, label=label, world=world, regions=regions,
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


def _indicator_label(page: Page, indicator: str) -> str:
    results = cast(ox.QuerySolutions, page.store.query(
        "SELECT ?i ?lang ?l WHERE { ?i <http://www.w3.org/2004/02/skos/core#prefLabel> ?l FILTER(LANG(?l) = ?lang) }",
        use_default_graph_as_union=True,
        substitutions={ox.Variable("i"): ox.NamedNode(indicator), ox.Variable("lang"): ox.Literal(page.lang)}))
    for row in results:
        return str(row["l"].value)
    return ""


@router.get("/progress/party/{iso}", response_class=HTMLResponse, include_in_schema=False)
def progress_party(request: Request, iso: str) -> HTMLResponse:
    page = Page(request)
    parties = load_parties(page.settings.data_dir)
    iso3 = parties.resolve(iso) if re.fullmatch(r"[A-Za-z]{2,3}", iso or "") else None
    if iso3 is None:
        return page.error(404, "unknown_party")
    party = parties.parties[iso3]
    key, synthetic = page.dataset()
    profile: list[dict[str, str | None]] = []
    world: dict[str, dict[str, str | None]] = {}
    if key:
        ds = str(page.pids.dataset(key))
        profile = page.rows("progress-party-profile", dataset=ds, party=str(page.pids.party(iso3)))
        world = {r["indicator"] or "": r for r in page.rows("progress-baseline-vs-latest", dataset=ds,
                                                             area=str(page.pids.region("001")))}
    chart = party_svg([(r["code"] or "", _num(world.get(r["indicator"] or "", {}).get("latest")),
                        r["baselineCounted"], r["latestCounted"]) for r in profile],
                      title=t("chart_party", page.lang),
                      labels={k: t(k, page.lang) for k in ("counted", "not_counted", "not_in_denominator", "world",
                                                            "baseline", "latest")}) if profile else None
    regions = [(code, parties.regions[code].names.get(page.lang) or parties.regions[code].names.get("en", code))
               for code in party.regions]
    return page.render("progress-party.html", party=party, regions=regions, profile=profile, world=world,
                       chart=chart, dataset=key, synthetic=synthetic,
                       name=party.names.get(page.lang) or party.names.get("en", iso3),
                       languages=("en", "zh", "fr", "es", "ru", "ar"))
