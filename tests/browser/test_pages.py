"""The site in a real browser (Chromium), in English and Chinese, on the session's real build.

* every kind of page (home, search, query editor, explorer, network view, ontology, downloads,
  progress, and the resource pages of the Plan, its goals, objectives, indicators and outcomes, a
  treaty article, GBF Target 17, an SDG, a decision paragraph, a report question and a Party) loads
  without a console error, failed request or request to another host, has one ``h1``, the
  landmarks and headings in order, and is saved as a full-page screenshot in both languages;
* a user goes from GBF Target 17 to a Plan indicator and on to the national-report question that
  measures it, by clicking links only;
* a user runs an example query in the query editor and sees the result table;
* the language follows Accept-Language and the switch changes it, interface and labels;
* search from the header finds a resource by code and by Chinese text;
* the SPARQL snippet of a resource page is copied to the clipboard;
* keyboard: the first Tab reaches the skip link, which moves focus to the main content;
* at phone width (375 px) no page scrolls sideways; text has WCAG AA contrast;
* the progress pages, on synthetic observations, at 375 and 390 px in both languages: no sideways
  scroll, the home page's header, a clean console;
* the API documentation works with nothing from another host (once the app serves the vendored one).

``pagecheck.py`` says how the browser is started, what makes a page "clean", and holds the fixtures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest

# the browser fixtures (browser, shots, open_tab), and the session's app on its real build
# (web_settings, web_store, web_pool, web_app, live)
from support.pagecheck import DESKTOP, PHONE, SKIP, Visit

from cpbkg.config import Settings
from cpbkg.store.embedded import LoadedStore

pytestmark = SKIP

BASE = Settings().base_uri
CPB = "https://w3id.org/cpbkg/ontology#"
T17 = BASE + "id/gbf/target/17"
LANGS = ("en", "zh")
#: strings of the interface in each language (from cpbkg.web.i18n) that every page shows
UI = {"en": {"skip": "Skip to main content", "home": "Home", "search": "Search"},
      "zh": {"skip": "跳到主要内容", "home": "首页", "search": "搜索"}}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}


def first_of(store: LoadedStore, cls: str) -> str | None:
    rows = list(store.store.query("SELECT ?s ?c WHERE { ?s a ?c } ORDER BY STR(?s) LIMIT 1",
                                  substitutions={ox.Variable("c"): ox.NamedNode(CPB + cls)},
                                  use_default_graph_as_union=True))
    return rows[0]["s"].value if rows else None


def exists(store: LoadedStore, uri: str) -> bool:
    return next(iter(store.store.quads_for_pattern(ox.NamedNode(uri), None, None)), None) is not None


def local(uri: str) -> str:
    """The path of a resource page on this site."""
    if uri.startswith(BASE):
        return "/" + uri[len(BASE):]
    return "/resource?uri=" + quote(uri, safe="")


def resource_path(store: LoadedStore, uri: str, cls: str) -> str | None:
    """The page of ``uri``, or of the first resource of ``cls`` when the build lacks that one."""
    if exists(store, uri):
        return local(uri)
    other = first_of(store, cls)
    return local(other) if other else None


def page_kinds(store: LoadedStore, live: str) -> dict[str, str | None]:
    """Page kind -> its path on this build (None: the build has no such page)."""
    import httpx

    progress = httpx.get(live + "/progress/", timeout=30).status_code == 200
    return {
        "home": "/",
        "search": "/search?q=biosafety+framework",
        "query": "/query",
        "explore": "/explore",
        "explore-cell": "/explore/goal/A.1/target/17",
        "network": "/explore/node?uri=" + quote(BASE + "id/goal/A.1", safe=""),
        "ontology": "/ontology",
        "dumps": "/dumps/",
        "plan": resource_path(store, BASE + "id/plan", "ImplementationPlan"),
        "goal": resource_path(store, BASE + "id/goal/A.1", "Goal"),
        "objective": resource_path(store, BASE + "id/objective/A.1.1", "Objective"),
        "indicator": resource_path(store, BASE + "id/indicator/A.1(a)", "Indicator"),
        "outcome": resource_path(store, BASE + "id/outcome/A.1", "Outcome"),
        "article": resource_path(store, BASE + "id/treaty/cpb/article/17", "Article"),
        "gbf-target": resource_path(store, T17, "GBFTarget"),
        "sdg": "/resource?uri=" + quote("http://metadata.un.org/sdg/2", safe=""),
        "decision-paragraph": resource_path(store, BASE + "id/document/CP-10-3/para/4", "OperativeParagraph"),
        "report-question": resource_path(store, BASE + "id/report/nr5/question/Q007", "ReportQuestion"),
        "progress": "/progress/" if progress else None,
    }


KINDS = ["home", "search", "query", "explore", "explore-cell", "network", "ontology", "dumps", "plan", "goal",
         "objective", "indicator", "outcome", "article", "gbf-target", "sdg", "decision-paragraph",
         "report-question", "progress"]


@pytest.fixture(scope="module")
def kinds(web_store: LoadedStore, live: str) -> dict[str, str | None]:
    return page_kinds(web_store, live)


def ready(visit: Visit, kind: str) -> None:
    """Wait for what a page builds in the browser (the query editor) before judging it."""
    if kind == "query":
        visit.page.wait_for_selector(".yasqe .CodeMirror")
        visit.settle()


def check_landmarks(visit: Visit, lang: str) -> None:
    page = visit.page
    assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]
    assert page.locator("h1").count() == 1 and page.locator("h1").is_visible()
    assert page.locator("main#main").count() == 1
    assert page.locator("header").count() >= 1
    # headings go down one level at a time (h2 then h3, never h2 then h4), outside vendored widgets
    levels = page.evaluate("""() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
        .filter(h => !h.closest('.yasgui-holder, .swagger-ui')).map(h => Number(h.tagName[1]))""")
    skips = [(a, b) for a, b in pairwise(levels) if b > a + 1]
    assert levels and levels[0] == 1 and not skips, f"heading levels {levels}"
    # every page of the site (cpbkg.web.view, base.html)
    assert page.locator("footer").count() == 1
    assert page.locator("nav[aria-label]").count() >= 1
    assert page.locator("form[role=search] input[type=search]").count() >= 1
    assert UI[lang]["home"] in page.locator("nav").first.inner_text()


# ---------------------------------------------------------------------- every kind of page


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_page_kind_loads_cleanly(open_tab: Any, kinds: dict[str, str | None], kind: str, lang: str) -> None:
    path = kinds[kind]
    if path is None:
        pytest.skip(f"the build has no {kind} page")
    visit = open_tab(lang)
    visit.goto(path)
    ready(visit, kind)
    visit.screenshot(f"{kind}-{lang}")
    # the language came from Accept-Language alone (no ?lang= in the URL)
    check_landmarks(visit, lang)
    visit.assert_clean()


# ---------------------------------------------------------------------- a Party


@pytest.fixture(scope="module")
def party_site(web_settings: Settings, web_store: LoadedStore, web_pool: Any, live: str) -> Iterator[str]:
    """A site whose graph has the Parties: the session's when its build has them, else a second
    server on the real build plus the Parties part (data/parties/), as the progress work adds it."""
    if exists(web_store, BASE + "id/party/CHN"):
        yield live
        return
    from support.web_server import LiveServer

    from cpbkg.build.progress.parties import build_graph
    from cpbkg.vocab import Ids
    from cpbkg.web.app import create_app

    store = ox.Store()
    store.bulk_load(path=str(web_settings.dist_dir / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    nt = build_graph(web_settings.data_dir, Ids(BASE)).serialize(format="nt", encoding="utf-8")
    store.load(nt, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(BASE + "graph/parties"))
    app = create_app(web_settings, store=LoadedStore(store, web_store.path, web_store.release), pool=web_pool)
    with LiveServer(app) as server:
        yield server.url


@pytest.mark.parametrize("lang", LANGS)
def test_party_page(open_tab: Any, party_site: str, lang: str) -> None:
    visit = open_tab(lang, base=party_site)
    visit.goto("/id/party/CHN")
    check_landmarks(visit, lang)
    page = visit.page
    assert page.locator(".title-main").inner_text() == ("China" if lang == "en" else "中国")
    crumbs = page.get_by_role("navigation", name="Breadcrumbs" if lang == "en" else "导航路径")
    assert crumbs.locator('a[href^="/id/region/m49/030"]').count() == 1  # Eastern Asia, the most specific
    visit.screenshot(f"party-{lang}")
    visit.assert_clean()


# ---------------------------------------------------------------------- the progress pages


@pytest.fixture(scope="module")
def progress_site(web_settings: Settings, web_store: LoadedStore, web_pool: Any, live: str) -> Iterator[str]:
    """A site with indicator observations: the session's when its build has them, else a second server
    on the demo store (the Plan, the Parties and SYNTHETIC observations: cpbkg.build.progress.parts)."""
    import httpx

    if "progress-chart" in httpx.get(live + "/progress/", timeout=30).text:
        yield live
        return
    from support.web_server import LiveServer

    from cpbkg.build.progress.parts import demo_store
    from cpbkg.vocab import Ids
    from cpbkg.web.app import create_app

    store = demo_store(web_settings, Ids(BASE))
    app = create_app(web_settings, store=LoadedStore(store, web_store.path, web_store.release), pool=web_pool)
    with LiveServer(app) as server:
        yield server.url


#: an iPhone 12-15 (390 px) and the narrowest common phone (375 px)
PHONES = {390: {"width": 390, "height": 844}, 375: PHONE}
PROGRESS_PATHS = {"index": "/progress/", "indicator": "/progress/indicator/A.1(a)", "party": "/progress/party/CHN"}

#: the site header of a page as HTML, without the address of the page in the other language
HEADER_JS = """() => { const h = document.querySelector('header.site-header').cloneNode(true);
  h.querySelector('a.lang-switch').removeAttribute('href'); return h.outerHTML; }"""


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", sorted(PHONES))
@pytest.mark.parametrize("name", PROGRESS_PATHS)
def test_progress_page_on_a_phone(open_tab: Any, progress_site: str, name: str, width: int, lang: str) -> None:
    """A progress page (with its charts and tables) at phone width: no sideways scroll (the tables scroll in
    their own box), the home page's header, the landmarks of every page, nothing wrong in the console."""
    path = PROGRESS_PATHS[name]
    visit = open_tab(lang, PHONES[width], base=progress_site)
    page = visit.page
    visit.goto("/")
    home_header = page.evaluate(HEADER_JS)
    visit.goto(path)
    check_landmarks(visit, lang)
    assert page.evaluate(HEADER_JS) == home_header
    assert page.locator("svg.progress-chart").count() >= 1 and page.locator(".progress-table").count() >= 1
    for table in page.locator(".progress-table").all():
        scroller = table.locator("xpath=..")
        assert scroller.evaluate("e => getComputedStyle(e).overflowX") == "auto", "a table scrolls in its own box"
    assert_no_sideways_scroll(visit, path)
    if width == 390:
        visit.screenshot(f"phone-progress-{name}-{lang}")
    visit.assert_clean()


# ---------------------------------------------------------------------- the journey


def test_journey_from_target_17_to_an_indicator_and_its_report_question(
        open_tab: Any, web_store: LoadedStore) -> None:
    """Home -> search "Target 17" -> GBF Target 17 -> a Plan goal contributing to it -> one of its
    indicators -> the national-report question that measures it; every step a click."""
    [row] = list(web_store.store.query(f"""
        PREFIX cpb: <{CPB}>
        SELECT ?goal ?indicator ?question WHERE {{
          ?goal a cpb:Goal ; cpb:contributesTo <{T17}> ; cpb:hasIndicator ?indicator ; cpb:order ?o .
          ?indicator cpb:measuredBy ?question ; cpb:order ?io .
          ?question a cpb:ReportQuestion .
        }} ORDER BY ?o ?io STR(?question) LIMIT 1""", use_default_graph_as_union=True))
    goal, indicator, question = (row[n].value for n in ("goal", "indicator", "question"))
    visit = open_tab("en")
    page = visit.page
    visit.goto("/")

    # 1. search for the target from the header
    page.get_by_role("search").first.get_by_role("searchbox").fill("Target 17")
    page.get_by_role("search").first.get_by_role("searchbox").press("Enter")
    visit.settle()
    assert visit.path().startswith("/search?")
    visit.screenshot("journey-1-search-en")
    page.locator(".search-results").get_by_role("link").first.click()
    visit.settle()
    assert visit.path() == local(T17)
    assert "strengthen biosafety" in page.locator("h1").inner_text().lower()  # the data's case has changed
    visit.screenshot("journey-2-gbf-target-17-en")

    # 2. the Plan elements that contribute to it, grouped by kind, with their basis
    links_in = page.locator("section.links-in")
    group = links_in.locator(".prop-group", has=page.locator("h3", has_text="contributes to"))
    assert group.count() == 1
    assert group.locator("h4", has_text="long-term goal").count() == 1
    assert group.locator(".basis-curated").count() > 0
    group.locator(f'a[href="{local(goal)}"]').first.click()
    visit.settle()
    assert visit.path() == local(goal)
    # the breadcrumbs place the goal in the Plan
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    assert crumbs.locator('a[href="/id/plan"]').count() == 1
    visit.screenshot("journey-3-goal-en")

    # 3. one of the goal's indicators
    page.locator("section.links-out .prop-group", has=page.locator("h3", has_text="has indicator")) \
        .locator(f'a[href="{local(indicator)}"]').click()
    visit.settle()
    assert visit.path() == local(indicator)
    assert page.locator("h1 .code").inner_text().strip() == indicator.rsplit("/", 1)[1]
    visit.screenshot("journey-4-indicator-en")

    # 4. the report question that measures it, with the basis of that link
    measured = page.locator("section.links-out .prop-group", has=page.locator("h3", has_text="measured by"))
    assert measured.locator(".basis").count() > 0
    measured.locator(f'a[href="{local(question)}"]').click()
    visit.settle()
    assert visit.path() == local(question)
    h1 = page.locator("h1").inner_text()
    assert "?" in h1 or "？" in h1  # a question
    # and back: the question page says which indicator it measures
    back = page.locator("section.links-in .prop-group", has=page.locator("h3", has_text="measured by"))
    assert back.locator(f'a[href="{local(indicator)}"]').count() == 1
    visit.screenshot("journey-5-report-question-en")
    visit.assert_clean()


def test_copy_the_sparql_snippet(browser: Any, live: str, shots: Any) -> None:
    """The resource page's SPARQL snippet goes to the clipboard with its Copy button."""
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    try:
        visit = Visit(context.new_page(), live, None)
        visit.goto("/id/indicator/A.1(a)?lang=zh")
        button = visit.page.locator(".get-data .copy-button")
        assert button.is_visible() and button.inner_text() == "复制"
        button.click()
        assert visit.page.evaluate("navigator.clipboard.readText()") == f"DESCRIBE <{BASE}id/indicator/A.1(a)>"
        assert button.inner_text() == "已复制"
        visit.assert_clean()
    finally:
        context.close()


# ---------------------------------------------------------------------- query editor


def run_active_query(visit: Visit) -> Any:
    """Run the query of the editor's open tab; its result rows once they show."""
    panel = visit.page.locator(".tabPanel.active")
    panel.get_by_role("button", name="Run query").click()
    rows = panel.locator(".yasr table tbody tr")
    rows.first.wait_for()
    visit.settle()
    return rows


def test_run_an_example_query_and_see_the_result_table(open_tab: Any) -> None:
    visit = open_tab("en")
    page = visit.page
    visit.goto("/query")
    page.wait_for_selector(".yasqe .CodeMirror")
    picker = page.get_by_label("Open an example query")
    names = [o.get_attribute("value") for o in picker.locator("option").all()]
    name = "indicator-report-questions" if "indicator-report-questions" in names else names[0]
    picker.select_option(name)
    page.locator("#query-picker-form button[type=submit]").click()
    panel = page.locator(".tabPanel.active")
    assert "# title:" in panel.locator(".CodeMirror-code").inner_text()
    rows = run_active_query(visit)
    assert rows.count() > 0
    assert panel.locator(".yasr table thead th").count() > 1
    assert "No data" not in rows.first.inner_text()
    visit.screenshot("query-results-en")
    # keyboard: in the editor Esc moves to the run button (Tab indents there), Enter runs again
    panel.locator(".CodeMirror").click()
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Run query"
    # the results scroll inside their box, not the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    visit.assert_clean()


# ---------------------------------------------------------------------- languages


def test_language_follows_accept_language_and_switches(open_tab: Any, web_store: LoadedStore) -> None:
    labels = {q.object.language: q.object.value for q in web_store.store.quads_for_pattern(
        ox.NamedNode(BASE + "id/goal/A.1"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"), None)
        if isinstance(q.object, ox.Literal)}
    visit = open_tab("zh")
    page = visit.page
    visit.goto("/id/goal/A.1")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator(".skip-link").inner_text() == UI["zh"]["skip"]
    assert page.locator(".title-main").inner_text() == labels["zh"]
    assert page.locator(".title-other").inner_text() == labels["en"]
    visit.screenshot("switch-1-goal-zh")

    page.locator("a.lang-switch").click()
    visit.settle()
    assert "lang=en" in visit.path()
    assert page.locator("html").get_attribute("lang") == "en"
    assert UI["en"]["home"] in page.locator("nav").first.inner_text()
    assert page.locator(".title-main").inner_text() == labels["en"]
    assert page.locator(".title-other").inner_text() == labels["zh"]
    visit.screenshot("switch-2-goal-en")
    # the choice sticks: a link followed from here stays in English despite Accept-Language zh
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Linkage explorer").click()
    visit.settle()
    assert page.locator("html").get_attribute("lang") == "en" and "lang=en" in visit.path()
    page.locator("a.lang-switch").click()
    visit.settle()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert UI["zh"]["home"] in page.locator("nav").first.inner_text()
    visit.assert_clean()


# ---------------------------------------------------------------------- search


@pytest.mark.parametrize("lang", LANGS)
def test_search_from_the_header(open_tab: Any, web_store: LoadedStore, lang: str) -> None:
    [zh] = [q.object.value for q in web_store.store.quads_for_pattern(
        ox.NamedNode(BASE + "id/indicator/A.1(a)"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
        None) if isinstance(q.object, ox.Literal) and q.object.language == "zh"]
    visit = open_tab(lang)
    page = visit.page
    visit.goto("/explore")
    for text in ("a.1(A)", zh[2:9]):  # a code in the wrong case; a piece of the Chinese label
        box = page.locator("header").get_by_role("searchbox")
        box.fill(text)
        box.press("Enter")
        visit.settle()
        assert visit.path().startswith("/search?")
        results = page.locator(".search-results > li")
        assert results.count() >= 1
        assert results.locator('a[href="/id/indicator/A.1(a)"]').count() == 1, text
        assert page.locator(".search-results mark").count() >= 1
    visit.screenshot(f"search-results-{lang}")
    page.locator('.search-results a[href="/id/indicator/A.1(a)"]').click()
    visit.settle()
    assert "A.1(a)" in page.locator("h1").inner_text()
    # nothing found: said so, with examples to try
    visit.goto("/search?q=" + quote("zzzz-nothing-like-this"))
    assert page.get_by_role("status").count() >= 1
    assert page.locator("main a[href^='/search?q=']").count() >= 3
    visit.assert_clean()


# ---------------------------------------------------------------------- keyboard, phone, contrast


@pytest.mark.parametrize("path", ["/", "/id/goal/A.1", "/query"])
def test_first_tab_reaches_the_skip_link_and_it_works(open_tab: Any, path: str) -> None:
    visit = open_tab("en")
    page = visit.page
    visit.goto(path)
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.getAttribute('href')]")
    assert focused == ["skip-link", "#main"]
    box = page.locator(".skip-link").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the skip link is visible when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.url.endswith("#main")
    # the next Tab goes on inside the main content, not back to the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    visit.assert_clean()


def test_keyboard_reaches_the_search_box_and_the_language_switch(open_tab: Any) -> None:
    visit = open_tab("en")
    page = visit.page
    visit.goto("/id/goal/A.1")
    seen = []
    for _ in range(8):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
    assert "site-search-q" in seen and "lang-switch" in seen, seen
    # a focused element shows a focus ring
    page.locator("a.lang-switch").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    visit.assert_clean()


def assert_no_sideways_scroll(visit: Visit, path: str) -> None:
    """The page is no wider than the window; else which elements stick out (outside a scrolling box)."""
    page = visit.page
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect(); if (r.width === 0) return false;
        for (let p = e.parentElement; p; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return false; }
        return r.right > window.innerWidth + 1; }).slice(0, 5).map(e => e.tagName + '.' + e.className)""")
    assert scroll <= width, f"{path}: {scroll}px wide at {width}px; too wide: {wide}"


PHONE_PAGES = ["/", "/id/gbf/target/17", "/id/goal/A.1", "/id/indicator/A.1(a)", "/id/report/nr5/question/Q007",
               "/search?q=biosafety", "/explore", "/query", "/ontology"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", PHONE_PAGES)
def test_phone_width_has_no_sideways_scroll(open_tab: Any, path: str, lang: str) -> None:
    visit = open_tab(lang, PHONE)
    visit.goto(path)
    ready(visit, "query" if path == "/query" else "")
    assert_no_sideways_scroll(visit, path)
    if path in ("/", "/id/gbf/target/17", "/id/goal/A.1", "/search?q=biosafety"):
        visit.screenshot(f"phone-{path.strip('/').replace('/', '-') or 'home'}-{lang}")
    visit.assert_clean()


#: every element with text of its own: its colour against the background behind it (WCAG 2.x)
CONTRAST_JS = """() => {
  const lum = (c) => { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const rgba = (s) => { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const background = (e) => { let layers = [];
    for (let p = e; p; p = p.parentElement) { const c = rgba(getComputedStyle(p).backgroundColor);
      if (c.length < 4 || c[3] > 0) { layers.push(c); if (c.length < 4 || c[3] >= 1) break; } }
    let base = [255, 255, 255];
    for (const c of layers.reverse()) { const a = c.length < 4 ? 1 : c[3]; base = base.map((b, i) => b * (1 - a) + c[i] * a); }
    return base; };
  const bad = [];
  for (const e of document.querySelectorAll('body *')) {
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(e); if (s.visibility === 'hidden' || s.display === 'none') continue;
    if (e.closest('.visually-hidden, .skip-link, svg, .yasgui-holder, select, option')) continue;
    const fg = rgba(s.color), bg = background(e);
    const l1 = lum(fg.slice(0, 3)), l2 = lum(bg), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) bad.push(`${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad.slice(0, 10);
}"""


@pytest.mark.parametrize("path", ["/", "/id/gbf/target/17", "/id/indicator/A.1(a)", "/explore",
                                  "/search?q=biosafety", "/explore/goal/A.1/target/17"])
def test_text_contrast_meets_wcag_aa(open_tab: Any, path: str) -> None:
    visit = open_tab("en")
    visit.goto(path)
    bad = visit.page.evaluate(CONTRAST_JS)
    assert not bad, f"{path}: text below WCAG AA contrast: {bad}"
    visit.assert_clean()


def test_api_documentation_works_offline(open_tab: Any, live: str) -> None:
    """The "API documentation" of every page's navigation: Swagger UI from the package."""
    import httpx

    # FastAPI's own page would load Swagger UI from a CDN; ours is served from the package
    assert not re.search(r"(src|href)=[\"']https?://", httpx.get(live + "/docs", timeout=30).text)
    visit = open_tab("en")
    visit.goto("/docs")
    visit.page.locator("#swagger-ui .opblock").first.wait_for()
    visit.settle()
    assert visit.page.locator("#swagger-ui .opblock-summary-path", has_text="/sparql").count() >= 1
    visit.screenshot("api-docs-en")
    assert not visit.page.evaluate(CONTRAST_JS)
    visit.assert_clean()


def test_nothing_is_loaded_from_another_host_even_by_the_query_editor(open_tab: Any) -> None:
    """The tab records and aborts any request for another host: the editor must work without."""
    visit = open_tab("zh")
    visit.goto("/query")
    ready(visit, "query")
    editor = visit.page.locator(".tabPanel.active .CodeMirror")
    editor.click()
    visit.page.keyboard.press("Control+End")
    visit.page.keyboard.type("\nPREFIX ")  # prefix autocompletion: bundled list, no prefix.cc
    visit.page.wait_for_timeout(500)
    visit.settle()
    visit.assert_clean()
