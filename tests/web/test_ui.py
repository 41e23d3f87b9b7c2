"""The human pages (cpbkg.web.routes.ui) on the real built graph, over HTTP: home page counts, the query
page and its vendored editor (nothing loaded from another host), the linkage explorer, the
language switch and the accessibility basics of every page.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from support.html_page import Page

from cpbkg.config import Settings
from cpbkg.sparql.catalogue import load_catalogue
from cpbkg.store.embedded import LoadedStore
from cpbkg.web import i18n
from cpbkg.web.view import STATIC_DIR

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = Settings().base_uri
PREFIXES = """PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
#: the pages every test of the basics visits
PAGES = ["/", "/query", "/explore", "/explore/goal/A.1/target/17", "/explore/node",
         "/explore/node?uri=" + quote(BASE + "id/goal/A.1", safe=""), "/ontology", "/id/goal/A.1",
         "/id/treaty/cpb/article/17", "/resource?uri=http%3A%2F%2Fmetadata.un.org%2Fsdg%2F2", "/id/nothing-here"]
#: the progress pages (cpbkg.web.routes.progress): pages of the same framework
PROGRESS_PAGES = ["/progress/", "/progress/indicator/A.1(a)", "/progress/party/CHN", "/progress/party/XX"]
PAGES += PROGRESS_PAGES


@pytest.fixture(scope="module")
def settings(web_settings: Settings) -> Settings:
    return web_settings


@pytest.fixture(scope="module")
def loaded(web_store: LoadedStore) -> LoadedStore:
    """The session's store, opened read-only as ``cpbkg serve`` opens it."""
    return web_store


def select(loaded: LoadedStore, query: str) -> list[dict[str, str]]:
    results = loaded.store.query(PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in results.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in results]


def get_page(client: TestClient, path: str, **headers: str) -> Page:
    r = client.get(path, headers=headers)
    assert r.status_code in (200, 404), (path, r.status_code, r.text[:300])
    return Page(r.text)


# ---------------------------------------------------------------------- every page


@pytest.mark.parametrize("path", PAGES)
def test_page_basics(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    assert not page.errors, page.errors[:5]
    html = page.all("html")[0]
    assert html["lang"] in ("en", "zh-Hans")
    assert any(m.get("name") == "viewport" for m in page.all("meta"))
    # landmarks, a skip link to the main content, one h1
    assert page.all("a")[0]["href"] == "#main"
    assert [m.get("id") for m in page.all("main")] == ["main"]
    assert page.all("header") and page.all("footer")
    assert all(n.get("aria-label") or n.get("aria-labelledby") for n in page.all("nav"))
    assert len(page.all("h1")) == 1
    ids = [attrs["id"] for _t, attrs in page.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_hosts(client: TestClient, path: str) -> None:
    page = get_page(client, path)
    for tag, attrs in page.tags:
        for attr in ("src", "href"):
            value = attrs.get(attr, "")
            if tag in ("script", "link", "img", "iframe", "source", "audio", "video", "object", "embed") and value:
                assert not re.match(r"^(https?:)?//", value), f"<{tag} {attr}={value}> loads from another host"
                if tag in ("script",) or (tag == "link" and attrs.get("rel") == "stylesheet"):
                    assert value.startswith("/static/")
                    assert client.get(value).status_code == 200
    for style in page.all("style"):
        pytest.fail(f"inline style block: {style}")


def test_static_css_and_js_make_no_external_requests(client: TestClient) -> None:
    css_files = sorted(STATIC_DIR.rglob("*.css"))
    js_files = sorted(STATIC_DIR.rglob("*.js"))
    assert css_files and js_files
    for path in css_files:
        css = client.get("/static/" + path.relative_to(STATIC_DIR).as_posix()).text
        assert "@import" not in css
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), f"{path.name} loads a remote resource"
        assert "@font-face" not in css or not re.search(r"src:[^;]*(https?:)?//", css)
    for path in js_files:
        r = client.get("/static/" + path.relative_to(STATIC_DIR).as_posix())
        assert r.status_code == 200
        js = r.text
        for host in ("fonts.googleapis", "fonts.gstatic", "cdnjs", "jsdelivr", "unpkg.com", "googletagmanager",
                     "google-analytics", "cdn."):
            assert host not in js, f"{path.name} names {host}"
        if "vendor" not in path.parts:
            # our own scripts hold no URL of another host at all
            assert not re.search(r"https?://", js), f"{path.name} has an absolute URL"
    # YASGUI's only remote look-ups (LOV class/property suggestions; prefix.cc when configured)
    # are switched off by our configuration, before the editor is made
    query_js = (STATIC_DIR / "query.js").read_text(encoding="utf-8")
    assert 'autocompleters = ["prefixes", "variables"]' in query_js
    assert "prefixCcApi = null" in query_js
    assert query_js.index("autocompleters = ") < query_js.index("new Yasgui(")


def test_static_files_are_served_and_confined(client: TestClient) -> None:
    css = client.get("/static/cpbkg.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = client.get("/static/vendor/yasgui/yasgui.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert client.get("/static/vendor/yasgui/LICENSE").status_code == 200
    assert client.get("/static/vendor/yasgui/yasgui.min.css").status_code == 200
    assert client.get("/static/nothing.css").status_code == 404
    assert client.get("/static/%2e%2e/ui.py").status_code == 404
    assert client.get("/static/..%2fui.py").status_code == 404


# ---------------------------------------------------------------------- home


def test_home_counts_equal_sparql_counts(client: TestClient, loaded: LoadedStore) -> None:
    page = get_page(client, "/")
    html = client.get("/").text
    shown = {}
    for m in re.finditer(r'data-count="(\w+)" data-value="(\d+)">([\d,]+)<', html):
        assert m.group(3) == f"{int(m.group(2)):,}"  # shown with thousands separators
        shown[m.group(1)] = int(m.group(2))
    for key, cls in (("goals", "Goal"), ("objectives", "Objective"), ("indicators", "Indicator"),
                     ("outcomes", "Outcome"), ("articles", "Article"), ("links", "Link")):
        [row] = select(loaded, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a cpb:{cls} }}")
        assert shown[key] == int(row["n"]), key
    assert (shown["goals"], shown["objectives"], shown["indicators"], shown["outcomes"]) == (14, 36, 48, 14)
    assert shown["triples"] == loaded.release.triples
    assert loaded.release.version in page.text and loaded.release.built in page.text
    for href in ("/query", "/explore", "/ontology", "/dumps/", "/sparql", "/docs"):
        assert href in page.hrefs(), href
    assert "Apache" in page.text and "CC BY 4.0" in page.text
    assert BASE + "dataset" in page.text  # the suggested citation


def test_home_outline_lists_areas_and_goals_in_order(client: TestClient, loaded: LoadedStore) -> None:
    html = client.get("/?lang=en").text
    page = Page(html.split('<ul class="outline">', 1)[1].split("</section>", 1)[0])  # the outline only
    goals = [row["g"] for row in select(loaded, "SELECT ?g WHERE { ?g a cpb:Goal ; cpb:order ?o } ORDER BY ?o")]
    linked = [h.split("?")[0] for h in page.hrefs() if h.startswith("/id/goal/")]
    assert linked == ["/" + g[len(BASE):] for g in goals]
    assert "/id/area/A?lang=en" in page.hrefs() and "/id/area/B?lang=en" in page.hrefs()


# ---------------------------------------------------------------------- query page


def test_query_page_preloads_the_catalogue(client: TestClient, settings: Settings) -> None:
    r = client.get("/query")
    page = Page(r.text)
    catalogue = load_catalogue(settings.queries_dir)
    assert len(catalogue) > 10
    data = json.loads(page.scripts["cpbkg-queries"])
    assert [q["name"] for q in data] == list(catalogue)
    for q in data:
        assert q["query"] == catalogue[q["name"]].text
        assert q["title"] in page.text
    options = [o["value"] for o in page.all("option")]
    assert options == list(catalogue)
    # the JSON block cannot be closed from inside: no raw < in it
    block = r.text.split('id="cpbkg-queries">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
    scripts = [s["src"] for s in page.all("script") if "src" in s]
    assert "/static/vendor/yasgui/yasgui.min.js" in scripts and "/static/query.js" in scripts
    stylesheets = [link["href"] for link in page.all("link") if link.get("rel") == "stylesheet"]
    assert "/static/vendor/yasgui/yasgui.min.css" in stylesheets


def test_query_page_takes_a_query_to_open(client: TestClient) -> None:
    hostile = 'SELECT * { ?s ?p "</script><script>alert(1)</script>" }'
    r = client.get("/query", params={"query": hostile})
    assert "<script>alert(1)" not in r.text
    assert json.loads(Page(r.text).scripts["cpbkg-initial-query"]) == hostile
    # the resource pages link to it with their DESCRIBE query
    describe = get_page(client, "/id/goal/A.1")
    link = next(h for h in describe.hrefs() if h.startswith("/query?"))
    assert parse_qs(urlsplit(link).query)["query"] == [f"DESCRIBE <{BASE}id/goal/A.1>"]


# ---------------------------------------------------------------------- explorer


def cell_counts(loaded: LoadedStore) -> dict[tuple[str, str], int]:
    """Goal code x target number -> link records joining the goal (or its objectives, indicators) to the target."""
    rows = select(loaded, """
        SELECT ?code ?target (COUNT(DISTINCT ?link) AS ?n) WHERE {
          ?goal a cpb:Goal ; skos:notation ?code .
          ?goal (cpb:hasObjective|cpb:hasIndicator)? ?element .
          ?link a cpb:Link ; cpb:linkSubject ?element ; cpb:linkObject ?target .
          ?target a cpb:GBFTarget .
        } GROUP BY ?code ?target""")
    return {(r["code"], r["target"].rsplit("/", 1)[1]): int(r["n"]) for r in rows}


def test_matrix_is_goals_by_targets(client: TestClient, loaded: LoadedStore) -> None:
    html = client.get("/explore").text
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<tr data-goal="([^"]+)">(.*?)</tr>', body, re.DOTALL)
    goals = [r["code"] for r in select(loaded, "SELECT ?code WHERE { ?g a cpb:Goal ; skos:notation ?code ; cpb:order ?o } ORDER BY ?o")]
    assert [code for code, _ in rows] == goals and len(goals) == 14
    assert goals[0] == "A.1" and goals[-1] == "B.4"
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    columns = re.findall(r'class="target-col"><a [^>]*>(\d+)</a>', header)
    assert columns == [str(n) for n in range(1, 24)]
    expected = cell_counts(loaded)
    for code, row in rows:
        cells = re.findall(r'<td class="cell[^"]*" data-target="(\d+)"[^>]*>(.*?)</td>', row, re.DOTALL)
        assert [t for t, _ in cells] == columns
        for target, content in cells:
            n = expected.get((code, target), 0)
            if n:
                assert f'href="/explore/goal/{code}/target/{target}"' in content and f">{n}</a>" in content
            else:
                assert "href" not in content
    assert expected[("A.1", "17")] > 0


def test_matrix_agrees_with_the_named_query(client: TestClient, loaded: LoadedStore, settings: Settings) -> None:
    """The explorer and queries/goal-gbf-target-matrix.rq count the same links."""
    query = load_catalogue(settings.queries_dir)["goal-gbf-target-matrix"]
    named = {}
    for row in query.run(loaded.store):
        for n in range(1, 24):
            value = row[f"t{n}"]
            named[(row["code"].value, str(n))] = int(value.value) if value is not None else 0
    html = client.get("/explore").text
    shown = {}
    for code, row in re.findall(r'<tr data-goal="([^"]+)">(.*?)</tr>', html, re.DOTALL):
        for target, content in re.findall(r'data-target="(\d+)"[^>]*>(.*?)</td>', row, re.DOTALL):
            found = re.search(r">(\d+)</a>", content)
            shown[(code, target)] = int(found.group(1)) if found else 0
    assert shown == named


def test_cell_page_lists_curated_links_with_justifications(client: TestClient, loaded: LoadedStore) -> None:
    page = get_page(client, "/explore/goal/A.1/target/17?lang=en")
    rows = select(loaded, f"""
        SELECT ?link ?code ?why WHERE {{
          <{BASE}id/goal/A.1> (cpb:hasObjective|cpb:hasIndicator)? ?element .
          ?element skos:notation ?code .
          ?link cpb:linkSubject ?element ; cpb:linkObject <{BASE}id/gbf/target/17> ; cpb:basis cpb:CuratedLink ;
                cpb:justification ?why .
        }}""")
    assert rows
    items = re.findall(r'<li class="link-item basis-item-(\w+)">', client.get("/explore/goal/A.1/target/17").text)
    assert len(items) == cell_counts(loaded)[("A.1", "17")]
    for row in rows:
        assert " ".join(row["why"].split()) in page.text
        assert row["code"] in page.text
        assert "/" + row["link"][len(BASE):] + "?lang=en" in page.hrefs()
    assert "curated link" in page.text
    assert client.get("/explore/goal/Z.9/target/17").status_code == 404
    assert client.get("/explore/goal/A.1/target/99").status_code == 404


def test_network_view_navigates_in_and_out(client: TestClient, loaded: LoadedStore) -> None:
    goal = BASE + "id/goal/A.1"
    page = get_page(client, "/explore/node?uri=" + quote(goal, safe="") + "&lang=en")
    targets = {parse_qs(urlsplit(h).query).get("uri", [""])[0] for h in page.hrefs() if h.startswith("/explore/node?")}
    assert BASE + "id/objective/A.1.1" in targets  # out
    assert BASE + "id/area/A" in targets  # in
    assert BASE + "id/gbf/target/17" in targets
    assert "curated link" in page.text  # the basis of the link to target 17
    assert page.all("svg") and page.all("title")
    # an external node (the UN's SDG 2) is reachable with its in-graph description
    sdg = get_page(client, "/explore/node?uri=http%3A%2F%2Fmetadata.un.org%2Fsdg%2F2")
    assert "Zero hunger" in sdg.text or "End hunger" in sdg.text
    back = {parse_qs(urlsplit(h).query).get("uri", [""])[0] for h in sdg.hrefs() if h.startswith("/explore/node?")}
    assert BASE + "id/plan" in back
    assert client.get("/explore/node?uri=http%3A%2F%2Fexample.org%2Fnone").status_code == 404
    assert client.get("/explore/node?uri=javascript%3Aalert(1)").status_code == 400
    start = get_page(client, "/explore/node")
    assert any("uri=" + quote(BASE + "id/plan", safe="") in h for h in start.hrefs())


# ---------------------------------------------------------------------- languages


def test_language_from_accept_language_and_switch(client: TestClient) -> None:
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert Page(zh.text).all("html")[0]["lang"] == "zh-Hans"
    assert zh.headers["content-language"] == "zh" and "Accept-Language" in zh.headers["vary"]
    assert "长期目标" in Page(zh.text).text
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert Page(en.text).all("html")[0]["lang"] == "en" and "long-term goals" in Page(en.text).text
    # ?lang= wins over the header, and every internal link keeps it
    chosen = Page(client.get("/?lang=zh", headers={"Accept-Language": "en"}).text)
    assert chosen.all("html")[0]["lang"] == "zh-Hans"
    switch = next(a for a in chosen.all("a") if "lang-switch" in a.get("class", ""))
    assert switch["href"] == "/?lang=en" and switch["lang"] == "en"
    internal = [a["href"] for a in chosen.all("a") if a.get("href", "").startswith("/") and a is not switch
                and not a["href"].startswith(("/dumps", "/sparql", "/docs", "/static"))]
    assert internal and all("lang=zh" in h for h in internal), [h for h in internal if "lang=zh" not in h][:5]


@pytest.mark.parametrize("path", ["/explore", "/explore/goal/A.1/target/17", "/ontology", "/query", "/id/goal/A.1",
                                  "/explore/node?uri=" + quote(BASE + "id/goal/A.1", safe=""), *PROGRESS_PAGES])
def test_pages_in_both_languages(client: TestClient, path: str) -> None:
    sep = "&" if "?" in path else "?"
    en = Page(client.get(path + sep + "lang=en").text)
    zh = Page(client.get(path + sep + "lang=zh").text)
    assert en.all("html")[0]["lang"] == "en" and zh.all("html")[0]["lang"] == "zh-Hans"
    assert "Skip to main content" in en.text and "跳到主要内容" in zh.text
    assert en.text != zh.text
    # the interface strings follow the language (Chinese on the English page comes only from the data)
    assert "首页" not in en.text and "首页" in zh.text
    assert "Home" in en.text


def site_frame(html: str) -> tuple[str, str]:
    """The site header (without the address of this page in the other language) and the footer of a page."""
    header = html.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
    header = re.sub(r'(class="lang-switch" href=)"[^"]*"', r"\1", header)
    return header, html.split('<footer class="site-footer">', 1)[1]


@pytest.mark.parametrize("path", PROGRESS_PAGES)
def test_progress_pages_have_the_header_and_footer_of_every_page(client: TestClient, path: str) -> None:
    """One page framework: the progress pages have the home page's header, navigation, language switch
    and footer, in either language."""
    for lang in ("en", "zh"):
        page = client.get(f"{path}?lang={lang}").text
        assert site_frame(page) == site_frame(client.get(f"/?lang={lang}").text), (path, lang)
        assert 'class="lang-switch"' in page and f'href="{path}?lang={i18n.other(lang)}"' in page


def test_resource_titles_side_by_side(client: TestClient, loaded: LoadedStore) -> None:
    [labels] = select(loaded, f"""SELECT ?zh ?en WHERE {{ <{BASE}id/goal/A.1> skos:prefLabel ?zh, ?en
                                   FILTER(LANG(?zh) = "zh" && LANG(?en) = "en") }}""")
    for lang, first, second in (("en", labels["en"], labels["zh"]), ("zh", labels["zh"], labels["en"])):
        html = client.get(f"/id/goal/A.1?lang={lang}").text
        h1 = html.split('<h1 id="title">', 1)[1].split("</h1>", 1)[0]
        assert h1.index(first) < h1.index(second), f"{lang}: the UI language's label comes first"



# ---------------------------------------------------------------------- issue 17: what a researcher reads


def test_matrix_has_totals_goal_d_sdgs_and_a_basis_filter(client: TestClient, loaded: LoadedStore) -> None:
    html = client.get("/explore?lang=en").text
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert 'class="gbf-goal-col"' in head and ">Goal D</a>" in head
    assert ">SDG 2</a>" in head and ">SDG 3</a>" in head
    assert 'title="Strengthen biosafety and distribute benefits of biotechnology"' in head  # the target's name
    # the Plan itself supports the SDGs: its row, not a goal's
    plan = re.search(r'<tr class="plan-row" data-row="plan">(.*?)</tr>', html, re.DOTALL)
    assert plan and 'data-column="sdg-2"' in plan.group(1)
    assert 'href="/explore/goal/plan/target/sdg-2?lang=en"' in plan.group(1)
    # row totals are the sum of the row; the grand total is the sum of the totals
    rows = re.findall(r'<tr data-goal="([^"]+)">(.*?)</tr>', html, re.DOTALL)
    grand = 0
    for _code, row in rows:
        counts = [int(n) for n in re.findall(r"<td class=\"cell has-links\"[^>]*>.*?>(\d+)</a></td>", row, re.DOTALL)]
        total = int(re.search(r'<td class="total">(\d+)</td>', row).group(1))
        assert total == sum(counts)
        grand += total
    foot = html.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    assert int(re.search(r'grand-total">(\d+)<', foot).group(1)) == grand + (2 if plan else 0)
    # Goal D: the curated links of goals to GBF Goal D
    [row] = select(loaded, f"SELECT (COUNT(DISTINCT ?l) AS ?n) WHERE {{ ?l cpb:linkObject <{BASE}id/gbf/goal/D> ; "
                           "cpb:linkSubject ?s . ?g a cpb:Goal ; (cpb:hasObjective|cpb:hasIndicator)? ?s }")
    assert sum(int(n) for n in re.findall(r'data-column="goal-D"[^>]*><a [^>]*>(\d+)</a>', html)) == int(row["n"])
    # a basis filter: only curated links (none of the Plan's explicit SDG links)
    curated = client.get("/explore?basis=curated&lang=en").text
    assert 'class="plan-row"' not in curated and "curated link" in curated
    assert 'href="/explore/goal/A.1/target/17?basis=curated&amp;lang=en"' in curated
    assert client.get("/explore?basis=nonsense").status_code == 400


def test_matrix_as_csv(client: TestClient) -> None:
    r = client.get("/explore", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    import csv as csvlib
    table = list(csvlib.DictReader(io.StringIO(r.text)))
    header = list(table[0])
    assert header[:3] == ["code", "title_en", "title_zh"] and header[-1] == "total"
    assert [f"T{n}" for n in range(1, 24)] == header[3:26] and "GBF goal D" in header and "SDG 2" in header
    a1 = next(row for row in table if row["code"] == "A.1")
    assert int(a1["T17"]) > 0 and int(a1["total"]) == sum(int(a1[h]) for h in header[3:-1])
    assert table[-1]["code"] == "total"


@pytest.mark.parametrize("path, title", [("/explore/goal/B.2/target/goal-D?lang=en", "GBF goal D"),
                                         ("/explore/goal/plan/target/sdg-2?lang=en", "SDG 2")])
def test_cells_of_gbf_goals_and_sdgs(client: TestClient, path: str, title: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and title in Page(r.text).all("h1")[0].get("_text", r.text)
    assert re.findall(r'<li class="link-item basis-item-(\w+)">', r.text)
    assert client.get("/explore/goal/A.1/target/sdg-99").status_code == 404


def test_network_view_colours_nodes_by_kind_and_has_a_phone_layout(client: TestClient) -> None:
    html = client.get("/explore/node?uri=" + quote(BASE + "id/goal/A.1", safe="") + "&lang=en").text
    assert 'class="diagram-wide"' in html and 'class="diagram-narrow"' in html
    kinds = set(re.findall(r'class="node node-(\w+)"', html))
    assert {"plan", "gbf", "treaty"} <= kinds
    assert "contributes to" in html.split('class="diagram-narrow"', 1)[1]  # lines are named by their property
    assert 'class="full-label"' in html  # the whole name, shown on hover and focus
    assert 'class="node-legend"' in html


def test_query_page_titles_in_both_languages_and_completes_the_data(client: TestClient, settings: Settings) -> None:
    catalogue = load_catalogue(settings.queries_dir)
    zh = json.loads(Page(client.get("/query?lang=zh").text).scripts["cpbkg-queries"])
    assert [q["title"] for q in zh] == [catalogue[q["name"]].title_in("zh") for q in zh]
    assert all(q["title"] != catalogue[q["name"]].title for q in zh)
    config = json.loads(Page(client.get("/query").text).scripts["cpbkg-query-config"])
    assert "https://w3id.org/cpbkg/ontology#Goal" in config["terms"]["class"]
    assert "https://w3id.org/cpbkg/ontology#contributesTo" in config["terms"]["property"]
    assert config["prefixes"]["cpb"] == "https://w3id.org/cpbkg/ontology#" and config["base"] == BASE


def test_query_labels_name_iris_and_link_them_here(client: TestClient) -> None:
    iris = [BASE + "id/goal/A.1", "http://metadata.un.org/sdg/2", "https://example.org/unknown", "javascript:x"]
    r = client.post("/query/labels?lang=zh", json={"iris": iris})
    assert r.status_code == 200
    labels = r.json()["labels"]
    assert labels[BASE + "id/goal/A.1"]["href"] == "/id/goal/A.1?lang=zh"
    assert labels[BASE + "id/goal/A.1"]["label"].startswith("缔约方")
    assert labels["http://metadata.un.org/sdg/2"]["href"].startswith("/resource?uri=")
    assert set(labels) == set(iris[:2])
    assert client.post("/query/labels", content=b"not json").status_code == 400


def test_resource_pages_have_neighbours_tree_copy_and_citation(client: TestClient) -> None:
    html = client.get("/id/objective/A.1.2?lang=en").text
    pager = html.split('<nav class="pager"', 1)[1].split("</nav>", 1)[0]
    assert 'rel="prev" href="/id/objective/A.1.1?lang=en"' in pager and 'rel="next" href="/id/objective/A.1.3?lang=en"' in pager
    goal = client.get("/id/goal/A.10?lang=en").text.split('<nav class="pager"', 1)[1].split("</nav>", 1)[0]
    assert "/id/goal/A.9?" in goal and "/id/goal/B.1?" in goal  # goals follow each other across areas
    tree = html.split('<nav class="plan-tree"', 1)[1].split("</nav>", 1)[0]
    assert tree.count("<details") > 14 and 'aria-current="page"' in tree
    assert re.search(r'<details open><summary><span class="code">A.1</span>', tree)  # its branch is open
    assert "缔约方" in tree  # both languages
    page = Page(html)
    assert any(b.get("data-copy-target") == "resource-uri" for b in page.all("button"))
    csl = json.loads(html.split('id="cite-csl"', 1)[1].split("<code>", 1)[1].split("</code>", 1)[0]
                     .replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&").replace("&#39;", "'"))
    assert csl[0]["URL"] == BASE + "id/objective/A.1.2" and csl[0]["type"] == "dataset"
    assert "@misc{cpbkg-id-objective-A-1-2," in html and "\\url{" + BASE + "id/objective/A.1.2}" in html
    plan = client.get("/id/plan?lang=zh").text
    assert '<nav class="plan-tree"' in plan and "<h2 id=\"tree-h\">" in plan


def test_the_decision_reads_in_order_with_anchors(client: TestClient) -> None:
    html = client.get("/id/document/CP-10-3?lang=en").text
    doc = html.split('<section class="document"', 1)[1]
    anchors = re.findall(r'<section class="doc-part [^"]*" id="([^"]+)"', doc)
    assert anchors.index("preamble-1") < anchors.index("para-1") < anchors.index("para-7-a") < anchors.index("annex-para-1")
    assert "annex-para-18" in anchors and len(anchors) == len(set(anchors))
    assert 'href="#para-4"' in doc
    # the only link to an official text is one the data holds
    links = re.findall(r'<ul class="official-links">(.*?)</ul>', doc, re.DOTALL)
    assert links and re.findall(r'href="(https?://[^"]+)"', links[0]) == ["https://bch.cbd.int/protocol/post2020/Plan/text.shtml"]


def test_long_link_lists_fold_with_their_counts(client: TestClient) -> None:
    html = client.get("/id/gbf/target/17?lang=en").text
    links_in = html.split('<section class="links-in"', 1)[1]
    folded = re.findall(r'<details class="kind-fold"><summary><h4 class="kind-head"><span lang="en">([^<]+)</span> '
                        r'<span class="count">\((\d+)\)', links_in)
    assert tuple(k for k, n in folded if int(n) > 15)[:1] == ("objective", )
    assert '<details class="link-details link-fold">' in links_in  # justifications open on demand


def test_membership_is_named(client: TestClient) -> None:
    r = client.get("/id/party/CHN/membership/cpb?lang=en")
    if r.status_code == 404:
        pytest.skip("this build has no Parties")
    h1 = r.text.split('<h1 id="title">', 1)[1].split("</h1>", 1)[0]
    assert "China: Party to the Cartagena Protocol" in h1 and "membership/cpb" not in h1
    party = client.get("/id/party/CHN?lang=zh").text
    assert "中国：《卡塔赫纳生物安全议定书》缔约方" in party


@pytest.mark.parametrize("path", ["/nothing/here", "/static/nothing.css", "/id/nothing-here", "/queries/nothing"])
def test_one_404_page_for_every_path(client: TestClient, path: str) -> None:
    for lang, title in (("en", "Not found"), ("zh", "未找到")):
        r = client.get(path, headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": lang})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        page = Page(r.text)
        assert page.all("html")[0]["lang"] == ("zh-Hans" if lang == "zh" else "en") and title in page.text
        assert any(f.get("role") == "search" for f in page.all("form"))
    if path.startswith("/id/"):
        return  # there application/json asks for JSON-LD, and a 404 of linked data is plain text (test_resources)
    r = client.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert r.json()["status"] == 404


def test_sparql_without_a_query_is_a_page_of_the_site(client: TestClient) -> None:
    for lang, h1 in (("en", "CPB-KG SPARQL endpoint"), ("zh", "CPB-KG SPARQL 端点")):
        r = client.get("/sparql", params={"lang": lang}, headers={"Accept": "text/html"})
        page = Page(r.text)
        assert r.status_code == 200 and page.all("html")[0]["lang"] == ("zh-Hans" if lang == "zh" else "en")
        assert page.all("header") and any(f.get("role") == "search" for f in page.all("form"))
        assert h1 in r.text and "Accept-Language" in r.headers["vary"]
    ttl = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert ttl.headers["content-type"].startswith("text/turtle")
