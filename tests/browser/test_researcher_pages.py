"""What a researcher reads and does, in a real browser (Chromium), in English and Chinese, at 1366 px and
on a 390 px phone (issue 17), on the session's real build:

* every page below loads with no console error, failed request or request to another host, has the
  landmarks of every page, does not scroll sideways at 390 px, has text of WCAG AA contrast (computed
  in the page from the computed styles of its text elements), and is saved as a screenshot in
  ``test-artifacts/screenshots/researcher-*.png``;
* search: a code goes first, flagged as an exact match, each hit with what it belongs to; the kind filter;
* resource pages: the Plan's tree (opening a branch), previous/next, a folded long list (GBF Target 17)
  opened with its count, copy the URI, cite this (text, BibTeX, CSL-JSON); a Party's memberships named;
* the decision read in order, a paragraph reached by its anchor, the official text's link from the data;
* one 404 page for any path, the endpoint's page in the site's frame in both languages;
* the matrix: target names, totals, the basis filter, the CSV, sticky header and first column;
* the network view: nodes coloured by kind, a node's full name on hover and focus, a phone layout;
* the query editor: results with labels, prefixed names and links here; a share link that reopens the
  query; example titles in Chinese; classes completed from the data;
* the progress pages with no answers: the methodology, the questions per cycle, the sources, and
  what an operator loads -- no command for visitors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from browser.test_pages import CONTRAST_JS, assert_no_sideways_scroll, check_landmarks, run_active_query
from support.pagecheck import SKIP, Visit

from cpbkg.config import Settings

pytestmark = SKIP

BASE = Settings().base_uri
LANGS = ("en", "zh")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {1366: DESKTOP, 390: PHONE}

#: the pages of issue 17, by name
PAGES = {
    "search-code": "/search?q=" + quote("Target 17"),
    "search-phrase": "/search?q=" + quote("风险评估"),
    "plan": "/id/plan",
    "objective": "/id/objective/A.1.2",
    "gbf-target-17": "/id/gbf/target/17",
    "decision": "/id/document/CP-10-3",
    "party": "/id/party/CHN",
    "not-found": "/no/such/page",
    "sparql": "/sparql",
    "matrix": "/explore",
    "network": "/explore/node?uri=" + quote(BASE + "id/goal/A.1", safe=""),
    "query": "/query",
    "progress": "/progress/",
    "progress-indicator": "/progress/indicator/A.1(a)",
}
STATUS = {"not-found": 404}


def ready(visit: Visit, name: str) -> None:
    if name == "query":
        visit.page.wait_for_selector(".yasqe .CodeMirror")
        visit.settle()


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", PAGES)
def test_page(open_tab: Any, name: str, lang: str, width: int) -> None:
    """Clean, the site's landmarks, no sideways scroll on a phone, AA contrast, a screenshot."""
    visit = open_tab(lang, WIDTHS[width])
    visit.goto(PAGES[name], status=STATUS.get(name, 200))
    ready(visit, name)
    if name == "not-found":
        visit.problems[:] = [p for p in visit.problems if "404" not in p]  # the page asked for is the 404
    check_landmarks(visit, lang)
    if width == 390:
        assert_no_sideways_scroll(visit, PAGES[name])
    bad = visit.page.evaluate(CONTRAST_JS)
    assert not bad, f"{name} ({lang}, {width}px): text below WCAG AA contrast: {bad}"
    visit.screenshot(f"researcher-{name}-{lang}-{width}")
    visit.assert_clean()


# ---------------------------------------------------------------------- search


@pytest.mark.parametrize("lang", LANGS)
def test_a_code_goes_first_flagged_exact_with_its_context(open_tab: Any, lang: str) -> None:
    visit = open_tab(lang)
    page = visit.page
    visit.goto("/")
    box = page.locator("header").get_by_role("searchbox")
    box.fill("Art. 26" if lang == "en" else "第26条")
    box.press("Enter")
    visit.settle()
    first = page.locator(".search-results > li").first
    assert "exact-hit" in (first.get_attribute("class") or "")
    assert first.locator(".badge-exact").is_visible()
    assert first.locator(".hit-title a").get_attribute("href").startswith("/id/treaty/cpb/article/26")
    assert first.locator('.hit-context a[href^="/id/treaty/cpb"]').count() == 1  # the treaty it belongs to
    # only goals
    page.locator("main #search-q").fill("risk assessment")
    page.locator("main #search-type").select_option("goal")
    page.locator("main .page-search button[type=submit]").click()
    visit.settle()
    assert "type=goal" in visit.path()
    kinds = page.locator(".search-results .hit-kind").all_inner_texts()
    assert kinds and all(k.strip().startswith("long-term goal" if lang == "en" else "长期目标") for k in kinds)
    assert page.locator(".search-results > li").first.locator('a[href^="/id/goal/A.5"]').count() >= 1
    visit.screenshot(f"researcher-search-filter-{lang}")
    visit.assert_clean()


# ---------------------------------------------------------------------- resource pages


def test_plan_tree_and_previous_next(open_tab: Any) -> None:
    visit = open_tab("zh")
    page = visit.page
    visit.goto("/id/plan")
    tree = page.locator("nav.plan-tree")
    assert tree.locator("> ul > li > details[open]").count() == 2  # the two areas open on the Plan's page
    goal = tree.locator('li.tree-goal:has(> details > summary a[href^="/id/goal/A.5"]) > details')
    assert not goal.evaluate("d => d.open")
    goal.locator("> summary").click(position={"x": 2, "y": 5})
    assert goal.evaluate("d => d.open")
    assert goal.locator('a[href^="/id/objective/A.5.1"]').is_visible()
    assert goal.locator(".other-lang").first.inner_text()  # the other language too
    visit.screenshot("researcher-plan-tree-open-zh")
    # from an objective, its neighbours
    visit.goto("/id/objective/A.1.2")
    page.locator("nav.pager a[rel=next]").click()
    visit.settle()
    assert visit.path().startswith("/id/objective/A.1.3")
    page.locator("nav.pager a[rel=prev]").click()
    visit.settle()
    assert visit.path().startswith("/id/objective/A.1.2")
    # its place in the Plan's tree, folded, with its own branch open
    fold = page.locator("nav.plan-tree details.tree-fold")
    fold.locator("> summary").click()
    assert page.locator('nav.plan-tree [aria-current="page"]').is_visible()
    visit.assert_clean()


def test_a_long_list_is_folded_with_its_count(open_tab: Any) -> None:
    visit = open_tab("en", PHONE)
    page = visit.page
    visit.goto("/id/gbf/target/17")
    height = page.evaluate("document.documentElement.scrollHeight")
    fold = page.locator("section.links-in details.kind-fold").first
    summary = fold.locator("> summary").inner_text()
    assert "objective" in summary and "(" in summary
    assert not fold.locator("ul.edges").is_visible()
    fold.locator("> summary").click()
    assert fold.locator("ul.edges").is_visible()
    first = fold.locator("details.link-fold").first
    first.locator("> summary").click()
    assert first.locator(".justification").first.is_visible()
    assert page.evaluate("document.documentElement.scrollHeight") > height
    assert_no_sideways_scroll(visit, "/id/gbf/target/17 (opened)")
    visit.screenshot("researcher-gbf-target-17-opened-en-390")
    visit.assert_clean()


def test_copy_the_uri_and_cite_this(browser: Any, live: str) -> None:
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"],
                                  extra_http_headers={"Accept-Language": "en"})
    try:
        visit = Visit(context.new_page(), live, None)
        page = visit.page
        visit.goto("/id/goal/B.3")
        button = page.locator("button.copy-uri")
        assert button.is_visible() and button.inner_text() == "Copy URI"
        button.click()
        assert page.evaluate("navigator.clipboard.readText()") == BASE + "id/goal/B.3"
        cite = page.locator("details.cite")
        cite.locator("summary").click()
        for block in ("cite-text", "cite-bibtex", "cite-csl"):
            assert page.locator(f"#{block}").is_visible()
        assert "@misc{" in page.locator("#cite-bibtex").inner_text()
        csl = page.evaluate("JSON.parse(document.getElementById('cite-csl').textContent)")
        assert csl[0]["URL"] == BASE + "id/goal/B.3"
        cite.locator(".copy-button[data-copy-target=cite-bibtex]").click()
        assert page.evaluate("navigator.clipboard.readText()").startswith("@misc{cpbkg-id-goal-B-3,")
        visit.assert_clean()
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_memberships_are_named(open_tab: Any, lang: str) -> None:
    visit = open_tab(lang)
    visit.goto("/id/party/CHN")
    links = visit.page.locator('main a[href^="/id/party/CHN/membership/"]').all_inner_texts()
    assert links and all("membership/" not in text for text in links)
    assert any(("Party to the" if lang == "en" else "缔约方") in text for text in links)
    visit.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
def test_the_decision_in_order_and_by_anchor(open_tab: Any, lang: str) -> None:
    visit = open_tab(lang)
    page = visit.page
    visit.goto("/id/document/CP-10-3#para-4")
    part = page.locator("#para-4")
    assert part.is_visible() and part.evaluate("e => e.matches(':target')")
    box = part.bounding_box()
    assert box is not None and 0 <= box["y"] < 300  # scrolled to it
    texts = part.locator("> .doc-texts > .doc-text")
    assert texts.count() == 2 and texts.first.get_attribute("lang") == ("en" if lang == "en" else "zh-Hans")
    ids = page.evaluate("[...document.querySelectorAll('section.doc-part')].map(e => e.id)")
    assert ids.index("preamble-1") < ids.index("para-1") < ids.index("annex-para-1") < ids.index("annex-para-18")
    official = page.locator(".official-links a")
    assert official.count() == 1 and official.get_attribute("href").startswith("https://bch.cbd.int/")
    page.locator('.doc-toc a[href="#annex-annex"]').click()
    assert page.evaluate("location.hash") == "#annex-annex"
    visit.screenshot(f"researcher-decision-para-4-{lang}")
    visit.assert_clean()


# ---------------------------------------------------------------------- 404 and the endpoint


@pytest.mark.parametrize("lang", LANGS)
def test_one_404_page_and_the_endpoint_page(open_tab: Any, lang: str) -> None:
    visit = open_tab(lang, PHONE)
    page = visit.page
    visit.goto("/not/a/page/at/all", status=404)
    visit.problems[:] = [p for p in visit.problems if "404" not in p]  # the page asked for is the 404
    assert page.locator("h1").inner_text() == ("Not found" if lang == "en" else "未找到")
    assert page.locator("main code.uri").inner_text() == "/not/a/page/at/all"
    page.locator("main form[role=search] input").fill("B.3")
    page.locator("main form[role=search] button").click()
    visit.settle()
    assert page.locator(".search-results > li").first.locator('a[href^="/id/goal/B.3"]').count() >= 1
    visit.goto("/sparql?lang=" + lang)
    assert page.locator("h1").inner_text() == ("CPB-KG SPARQL endpoint" if lang == "en" else "CPB-KG SPARQL 端点")
    assert page.locator("header.site-header nav").count() == 1
    visit.assert_clean()


# ---------------------------------------------------------------------- linkage views


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_matrix(open_tab: Any, width: int) -> None:
    visit = open_tab("en", WIDTHS[width])
    page = visit.page
    visit.goto("/explore")
    scroller = page.locator(".matrix-scroll")
    assert scroller.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert page.locator("thead th.target-col").first.evaluate("e => getComputedStyle(e).position") == "sticky"
    assert page.locator("tbody th.goal-head").first.evaluate("e => getComputedStyle(e).position") == "sticky"
    # scrolled to the right end: the goal codes and the header still show, and the totals
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; e.scrollTop = 200; }")
    first_col = page.locator('tr[data-goal="A.5"] th.goal-head').bounding_box()
    frame = scroller.bounding_box()
    assert first_col and frame and abs(first_col["x"] - frame["x"]) < 3
    assert page.locator("th.total-col").is_visible() and page.locator(".grand-total").is_visible()
    assert page.locator("th.gbf-goal-col").inner_text().strip() == "Goal D"
    assert page.locator('th.target-col a[title^="Strengthen biosafety"]').count() == 1
    assert page.locator(".column-names").inner_text().count("Strengthen biosafety") == 1
    visit.screenshot(f"researcher-matrix-scrolled-en-{width}")
    # the basis filter
    page.locator("#basis").select_option("curated")
    page.locator(".matrix-filter button").click()
    visit.settle()
    assert "basis=curated" in visit.path() and page.locator(".notice[role=status]").is_visible()
    csv = page.locator('.matrix-actions a[href*="format=csv"]')
    assert "basis=curated" in csv.get_attribute("href")
    with page.expect_download() as download:
        csv.click()
    assert download.value.suggested_filename == "cpbkg-goal-target-matrix-curated.csv"
    if width == 390:
        assert_no_sideways_scroll(visit, "/explore?basis=curated")
    visit.assert_clean()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_network_view(open_tab: Any, width: int) -> None:
    visit = open_tab("en", WIDTHS[width])
    page = visit.page
    visit.goto(PAGES["network"])
    svg = page.locator("svg.diagram-narrow" if width == 390 else "svg.diagram-wide")
    other = page.locator("svg.diagram-wide" if width == 390 else "svg.diagram-narrow")
    assert svg.is_visible() and not other.is_visible()
    fills = set(svg.locator("circle.node").evaluate_all("cs => cs.map(c => getComputedStyle(c).fill)"))
    assert len(fills) >= 3, fills  # coloured by kind
    labels = svg.locator("text.edge-label").evaluate_all("es => es.map(e => e.textContent)")
    assert any("has objective" in text for text in labels) and any("contributes to" in text for text in labels)
    if width == 1366:
        node = svg.locator("a.node-link", has=page.locator("text.short-label", has_text="A.1.1")).first
        full = node.locator("text.full-label")
        assert full.evaluate("e => getComputedStyle(e).visibility") == "hidden"
        node.locator("circle.node").hover()
        assert full.evaluate("e => getComputedStyle(e).visibility") == "visible"
        page.mouse.move(0, 0)
        node.focus()
        assert full.evaluate("e => getComputedStyle(e).visibility") == "visible"
        assert full.evaluate("e => e.textContent").startswith("A.1.1 Parties have adopted")
    else:
        box = svg.bounding_box()
        assert box and box["width"] <= 390
        size = svg.locator("text.short-label").first.evaluate("e => e.getBoundingClientRect().height")
        assert size >= 11, size  # legible: drawn at its own size, not a shrunk circle
        assert_no_sideways_scroll(visit, PAGES["network"])
    visit.screenshot(f"researcher-network-en-{width}")
    visit.assert_clean()


# ---------------------------------------------------------------------- the query editor


def test_results_with_labels_prefixed_names_and_links_here(open_tab: Any) -> None:
    visit = open_tab("zh")
    page = visit.page
    query = ("PREFIX cpb: <https://w3id.org/cpbkg/ontology#>\n"
             "SELECT ?goal ?target WHERE { ?goal a cpb:Goal ; cpb:contributesTo ?target } LIMIT 5")
    visit.goto("/query?query=" + quote(query))  # what a share link or a page's "open in the editor" opens
    ready(visit, "query")
    panel = page.locator(".tabPanel.active")
    assert "cpb:contributesTo" in panel.locator(".CodeMirror-code").inner_text()
    rows = run_active_query(visit)
    cell = rows.first.locator("td").nth(1)
    link = cell.locator("a.iri")
    assert link.get_attribute("href").startswith("/id/goal/")
    assert link.inner_text().startswith("id:goal/")
    assert cell.locator(".iri-label").inner_text().startswith("缔约方")
    visit.screenshot("researcher-query-results-zh")
    # a share link reopens the same query
    panel.locator(".yasqe_share").click()
    shared = page.locator(".yasqe_sharePopup input").first.input_value()
    assert shared.startswith(visit.base + "/query?query=")
    again = open_tab("en")
    again.goto(shared[len(visit.base):])
    ready(again, "query")
    assert again.page.locator(".tabPanel.active .CodeMirror-code").inner_text().count("cpb:contributesTo") == 1
    again.assert_clean()
    visit.assert_clean()


def test_example_titles_in_chinese_and_completion_from_the_data(open_tab: Any) -> None:
    visit = open_tab("zh")
    page = visit.page
    visit.goto("/query")
    ready(visit, "query")
    titles = page.locator("#query-picker option").all_inner_texts()
    assert titles and all(any("\u4e00" <= ch <= "\u9fff" for ch in title) for title in titles)
    page.evaluate("window.cpbkgYasgui.getTab().getYasqe().setValue("
                  "'PREFIX cpb: <https://w3id.org/cpbkg/ontology#>\\nSELECT * WHERE { ?x a cpb:Goa')")
    page.locator(".tabPanel.active .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("l")
    hints = page.locator(".CodeMirror-hints li")
    hints.first.wait_for()
    assert "cpb:Goal" in hints.all_inner_texts()
    page.keyboard.press("Escape")
    visit.assert_clean()


# ---------------------------------------------------------------------- progress without answers


@pytest.mark.parametrize("lang", LANGS)
def test_progress_without_answers_explains_itself(open_tab: Any, lang: str) -> None:
    visit = open_tab(lang)
    page = visit.page
    visit.goto("/progress/")
    if page.locator("svg.progress-chart").count():
        pytest.skip("this build has indicator observations")
    text = page.locator("main").inner_text()
    assert "cpbkg " not in text and "--demo" not in text and "ingest" not in text  # nothing for a shell
    assert page.locator("#what-h").is_visible() and page.locator("#sources-h").is_visible()
    table = page.locator(".method-table")
    row = table.locator("tbody tr", has=page.locator('a[href^="/progress/indicator/A.1(a)"]'))
    cells = row.locator("td").all_inner_texts()
    assert "Q14" in cells[1] and "Q7" in cells[2]  # the questions of the baseline and of the 5th cycle
    assert page.locator("#sources-h + p + ul li").count() == 2  # the two questionnaires
    row.locator("a").first.click()
    visit.settle()
    assert page.locator("h1").inner_text().startswith("A.1(a)")
    assert "cpbkg " not in page.locator("main").inner_text()
    visit.screenshot(f"researcher-progress-indicator-no-answers-{lang}")
    visit.assert_clean()
