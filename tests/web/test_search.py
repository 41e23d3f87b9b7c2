"""Search (``/search``), the header search box, and what the resource pages add for a reader:
links grouped by kind with a legend of their basis, notes, missing-language notices, readable
sources, the favicon, the progress link, the downloads page in the site's layout, and a Party's
page (on the real build plus the Parties part, as the progress work will publish it).

Over HTTP on the real built graph (the session's ``web_*`` fixtures, ``tests/web_server.py``).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from support.graph import ROOT
from support.html_page import Page

from cpbkg.config import Settings
from cpbkg.describe.model import SearchResults
from cpbkg.describe.resource import Describer
from cpbkg.describe.search import LABEL_INDEX_MAX
from cpbkg.store.embedded import LoadedStore
from cpbkg.web.app import create_app
from cpbkg.web.state import current

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = Settings().base_uri


def results(html: str) -> list[str]:
    """The resource paths a search page lists, in order."""
    block = html.split('<ol class="search-results">', 1)[1].split("</ol>", 1)[0] if "search-results" in html else ""
    return [h.split("?")[0] for h in re.findall(r'<p class="hit-title">.*?<a href="([^"]+)"', block, re.DOTALL)]


# ---------------------------------------------------------------------- search


@pytest.mark.parametrize("text, expected", [
    ("A.1(a)", "/id/indicator/A.1(a)"),
    ("a.1(A)", "/id/indicator/A.1(a)"),  # any case
    ("target 17", "/id/gbf/target/17"),  # a word of the kind's name and the code
    ("行动目标 17", "/id/gbf/target/17"),  # the same in Chinese
    ("indicator A.1(a)", "/id/indicator/A.1(a)"),
    ("Q7", "/id/report/nr5/question/Q007"),
    ("Article 17", "/id/treaty/cpb/article/17"),
])
def test_search_puts_the_resource_first(client: TestClient, text: str, expected: str) -> None:
    r = client.get("/search", params={"q": text})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert results(r.text)[0] == expected, results(r.text)[:5]


def test_search_finds_chinese_and_other_languages(client: TestClient, web_store: LoadedStore) -> None:
    zh = client.get("/search", params={"q": "生物安全框架", "lang": "en"})
    assert "/id/goal/A.1" in results(zh.text)
    assert "<mark>生物安全框架</mark>" in zh.text  # the match is marked
    # a French label of a report question, shown as what matched
    [fr] = [q.object.value for q in web_store.store.quads_for_pattern(
        ox.NamedNode(BASE + "id/report/nr5/question/Q007"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
        None) if isinstance(q.object, ox.Literal) and q.object.language == "fr"]
    page = client.get("/search", params={"q": fr[:25]}).text
    assert "/id/report/nr5/question/Q007" in results(page)
    assert '@fr' in page


def test_search_page_language_and_empty_states(client: TestClient) -> None:
    empty = Page(client.get("/search?lang=zh").text)
    assert empty.all("html")[0]["lang"] == "zh-Hans" and "搜索" in empty.text
    examples = [h for h in empty.hrefs() if h.startswith("/search?q=")]
    assert len(examples) >= 3 and all("lang=zh" in h for h in examples)
    none = client.get("/search", params={"q": "zzzz no such thing", "lang": "en"})
    assert none.status_code == 200 and "Nothing found for" in Page(none.text).text
    assert 'role="status"' in none.text


@pytest.mark.parametrize("text", ['"} ?s ?p ?o } #', "a.1\\", "\\u0041.1", "<script>alert(1)</script>", "' OR 1=1 --",
                                  "x" * 5000, "\u2028", "   "])
def test_search_text_is_only_ever_data(client: TestClient, text: str) -> None:
    r = client.get("/search", params={"q": text})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text or "<script>alert" not in text


@pytest.mark.parametrize("indexed", [True, False], ids=["label index", "queries"])
def test_search_binds_the_text_and_never_pastes_it(web_store: LoadedStore, indexed: bool) -> None:
    """The query text sent to the store is the same for every search; the text is a bound literal.

    With the label index, the only queries are the two that build it, on the first search;
    without (a store with more labels than the bound), two a word, the word bound to ?needle."""
    sent: list[tuple[str, dict[Any, Any]]] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(web_store.store, name)

        def query(self, query: str, **options: Any) -> Any:
            sent.append((query, options.get("substitutions") or {}))
            return web_store.store.query(query, **options)

    texts = ("A.1", 'x" } { ?a ?b ?c', "Target 17")
    d = Describer(Spy(), BASE)  # type: ignore[arg-type]
    if not indexed:
        d.LABEL_INDEX_MAX = 0
    d.search(texts[0])
    first = {q for q, _ in sent}
    for text in texts[1:]:
        d.search(text)
    assert {q for q, _ in sent} == first  # the same query texts, whatever was searched
    # without the index: its try, then two queries for the text and two a word of it (6 words, 2 words)
    assert len(sent) == (2 if indexed else 1 + 2 + (2 + 2 * 6) + (2 + 2 * 2))
    for query, substitutions in sent:
        assert not any(word in query for text in texts for word in text.split() if len(word) > 2)
        assert list(substitutions) in ([ox.Variable("needle")], [])
        assert all(isinstance(value, ox.Literal) for value in substitutions.values())
    needles = {s[ox.Variable("needle")].value for _, s in sent if s}
    assert needles == ({""} if indexed else {"", "a.1", 'x" } { ?a ?b ?c', 'x"', "}", "{", "?a", "?b", "?c",
                                               "target 17", "target", "17"})


class CountingStore:
    """A real pyoxigraph store, with its ``query`` calls counted (everything else passed through)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.queries = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def query(self, query: str, **options: Any) -> Any:
        with self._lock:
            self.queries += 1
        return self.store.query(query, **options)


def signature(found: SearchResults) -> tuple[object, ...]:
    """All that a search's results say, comparable."""
    return (found.total, found.truncated, [
        (h.ref.value, h.kind.value if h.kind else None, h.score,
         [(m.literal.value, m.literal.language, m.start, m.end) for m in h.matches]) for h in found.hits])


def test_search_index_is_built_once_then_searches_query_nothing(web_store: LoadedStore) -> None:
    store = CountingStore(web_store.store)
    d = Describer(store, BASE)  # type: ignore[arg-type]
    first = d.search("biosafety")
    assert store.queries == 2  # the labels, then their subjects' types and codes
    index = d.label_index()
    assert index is not None and 10_000 < len(index) < LABEL_INDEX_MAX
    for text in ("biosafety", "target 17", "生物安全框架", "A.1(a)", "a"):
        d.search(text)
    # a new Describer of the same store (one per page request) uses the same index
    again = Describer(store, BASE)  # type: ignore[arg-type]
    assert signature(again.search("biosafety")) == signature(first)
    assert again.label_index() is index
    assert store.queries == 2


def test_search_index_is_built_once_by_concurrent_searches(web_store: LoadedStore) -> None:
    """Pages are rendered in a thread pool: the first searches of a store arrive together."""
    store = CountingStore(web_store.store)
    texts = ["target 17", "biosafety", "生物安全", "Article 17"] * 3
    start = threading.Barrier(len(texts))

    def one(text: str) -> tuple[object, ...]:
        start.wait()
        return signature(Describer(store, BASE).search(text))  # type: ignore[arg-type]

    with ThreadPoolExecutor(len(texts)) as pool:
        found = list(pool.map(one, texts))
    assert store.queries == 2
    for text, sig in zip(texts, found, strict=True):
        assert sig == found[texts.index(text)]


SAME_TEXTS = ["biosafety", "生物安全框架", "生物安全", "中国", "A.1(a)", "a.1(A)", "target 17", "行动目标 17",
              "indicator A.1(a)", "Article 17", "Q7", "zero hunger", "goal a.1", "risk assessment capacity", "17",
              "a", 'x" } { ?a ?b ?c', '"} ?s ?p ?o } #', "a.1\\", "{A.1}", "'biosafety'", "zzzz no such thing"]


@pytest.mark.slow  # about 40 texts x 2 scan limits through the query path: 35-90 s here
def test_search_with_and_without_the_index_finds_the_same(web_store: LoadedStore) -> None:
    indexed = Describer(web_store.store, BASE)
    assert indexed.label_index() is not None
    for scan in (Describer.SEARCH_SCAN, 40):  # 40: the scan's limit reached, the same rows kept
        for text in SAME_TEXTS:
            queried = Describer(web_store.store, BASE)
            queried.LABEL_INDEX_MAX = 0  # more labels than that: no index, queries
            fresh = Describer(web_store.store, BASE)
            queried.SEARCH_SCAN = fresh.SEARCH_SCAN = scan
            # context=False: the context is looked up for the hits afterwards, the same way on both
            # paths, and is not in the signature (for "a", thousands of lookups)
            expected = signature(queried.search(text, limit=10_000, context=False))
            assert queried.label_index() is None
            assert signature(fresh.search(text, limit=10_000, context=False)) == expected, (text, scan)
            if scan == 40 and text in ("a", "biosafety"):
                assert expected[1]  # truncated


@pytest.mark.slow  # the query path on each backend: about 15 s here
def test_search_with_and_without_the_index_finds_the_same_on_each_backend(client: TestClient) -> None:
    store = current(client.app).store.store  # type: ignore[arg-type]
    for text in ("biosafety", "target 17", "生物安全框架", "A.1(a)", "zero hunger", 'x" } { ?a ?b ?c'):
        queried = Describer(store, BASE)
        queried.LABEL_INDEX_MAX = 0
        assert signature(Describer(store, BASE).search(text, context=False)) == signature(
            queried.search(text, context=False)), text


def test_search_index_is_bounded() -> None:
    """A store with more labels than the bound has no index: searches query it, as before."""
    real = ox.Store()
    for i in range(30):
        real.add(ox.Quad(ox.NamedNode(f"https://x.org/id/{i}"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
                         ox.Literal(f"label {i}", language="en")))
    store = CountingStore(real)
    d = Describer(store, "https://x.org/")  # type: ignore[arg-type]
    d.LABEL_INDEX_MAX = 29
    assert [h.ref.value for h in d.search("label 17").hits] == ["https://x.org/id/17"]
    assert d.label_index() is None and store.queries == 1 + 2 + 2 * 2  # the try, then two queries a word
    d.search("label 17")
    assert store.queries == 1 + 2 * (2 + 2 * 2)  # not tried again
    d = Describer(store, "https://x.org/")  # type: ignore[arg-type]
    d.LABEL_INDEX_MAX = 30
    assert d.label_index() is not None and len(d.label_index()) == 30  # type: ignore[arg-type]


def test_search_caps_its_results(client: TestClient) -> None:
    from cpbkg.web.routes.ui import SEARCH_LIMIT

    page = client.get("/search", params={"q": "a", "lang": "en"}).text
    assert len(results(page)) == SEARCH_LIMIT
    assert "Showing the best" in Page(page).text


# ---------------------------------------------------------------------- every page's header

PAGES = ["/", "/query", "/explore", "/ontology", "/id/goal/A.1", "/search?q=A.1", "/explore/node",
         "/resource?uri=http%3A%2F%2Fmetadata.un.org%2Fsdg%2F2", "/id/nothing-here"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_search_box_and_the_icon(client: TestClient, path: str) -> None:
    page = Page(client.get(path).text)
    forms = [f for f in page.all("form") if f.get("role") == "search"]
    assert forms and forms[0]["action"] == "/search" and forms[0]["method"] == "get"
    inputs = [i for i in page.all("input") if i.get("type") == "search"]
    assert inputs[0]["name"] == "q"
    labels = [lab.get("for") for lab in page.all("label")]
    assert inputs[0]["id"] in labels  # labelled for screen readers
    assert any(link.get("rel") == "icon" and link["href"].startswith("/static/") for link in page.all("link"))


def test_search_box_keeps_the_chosen_language(client: TestClient) -> None:
    page = Page(client.get("/id/goal/A.1?lang=zh").text)
    hidden = [i for i in page.all("input") if i.get("type") == "hidden" and i.get("name") == "lang"]
    assert hidden and hidden[0]["value"] == "zh"
    assert not [i for i in Page(client.get("/id/goal/A.1").text).all("input") if i.get("name") == "lang"]


def test_favicon(client: TestClient) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.startswith("<svg")


# ---------------------------------------------------------------------- home page


def test_home_links_everything_a_new_user_needs(client: TestClient) -> None:
    page = Page(client.get("/?lang=en").text)
    hrefs = [h.split("?")[0] for h in page.hrefs()]
    for target in ("/search", "/query", "/explore", "/ontology", "/dumps/", "/sparql", "/dataset"):
        assert target in hrefs, target
    if client.get("/progress/").status_code == 200:
        assert "/progress/" in hrefs
    # places to start from, each a page that exists
    for start in ("/id/plan", "/id/gbf/target/17", "/id/goal/A.1", "/id/indicator/A.1(a)"):
        assert start in hrefs
        assert client.get(start).status_code == 200


# ---------------------------------------------------------------------- resource pages


def test_links_are_grouped_by_kind_with_a_legend_of_their_basis(client: TestClient) -> None:
    html = client.get("/id/gbf/target/17?lang=en").text
    links_in = html.split('<section class="links-in"', 1)[1].split("</section>\n</section>", 1)[0]
    group = links_in.split("contributes to", 1)[1].split('<section class="prop-group">', 1)[0]
    kinds = re.findall(r'<h4 class="kind-head"><span lang="en">([^<]+)</span> <span class="count">\((\d+)\)', group)
    assert [k for k, _ in kinds] == ["long-term goal", "objective"], kinds
    assert sum(int(n) for _, n in kinds) == int(re.search(r'contributes to</span> <span class="count">\((\d+)\)',
                                                          links_in).group(1))
    assert 'class="basis-legend"' in html and "explicit citation" in html and "curated link" in html
    # the property is named with its CURIE, a link to its definition
    assert 'href="/ontology?lang=en#contributesTo"' in links_in and ">cpb:contributesTo<" in links_in


def test_missing_language_and_notes_are_said(client: TestClient) -> None:
    # issue 16: no source has Chinese for the GBF targets; Target 17's Chinese label is the project's
    # translation, and the page says so in its notes (it used to say "no Chinese text")
    en = Page(client.get("/id/gbf/target/17?lang=en").text)
    assert "The sources give no Chinese text for this resource." not in en.text
    assert "Notes" in en.text and "GBF-TARGET-17" in en.text  # the editorial notes, the thesaurus code
    assert "the project's translation of its English label" in en.text and "加强生物安全" in en.text
    zh = Page(client.get("/id/gbf/target/17?lang=zh").text)
    assert "本资源的中文标签是本项目根据其英文标签所作的翻译" in zh.text
    # the Chinese badge reads cpb:chineseWording: official for a Plan element (with its source),
    # the project's translation for the target
    goal = Page(client.get("/id/goal/A.1?lang=en").text)
    assert "Official Chinese wording" in goal.text and "Chinese source" in goal.text
    assert "Official Chinese wording" not in en.text and "Project translation, not official wording" in en.text
    assert "正式中文措辞" in Page(client.get("/id/goal/A.1?lang=zh").text).text


def test_sources_without_a_label_show_where_they_are(client: TestClient) -> None:
    # (Target 17 used to cite www.cbd.int/gbf/targets/17/, a page its title was not copied from;
    # since issue 16 it cites the Secretariat's KMGBF vocabulary, which has a label)
    page = Page(client.get("/id/treaty/cpb/article/17?lang=en").text)
    address = ("https://github.com/statengeneraal/laws-markdown/blob/91556a80a25a3da4234c8039945c6aeef4108d00/"
               "verdrag/cartagena/protocol/on/biosafety/to/the/convention/on/biological/diversity/BWBV0001513/README.md")
    source = [a for a in page.all("a") if a.get("href") == address]
    assert source
    assert "github.com/…/README.md" in page.text  # the address without its scheme, the middle left out


def test_question_page_links_back_to_the_indicators_it_measures(client: TestClient) -> None:
    html = client.get("/id/report/nr5/question/Q007?lang=en").text
    links_in = html.split('<section class="links-in"', 1)[1]
    assert "measured by" in links_in and 'href="/id/indicator/A.1(a)?lang=en"' in links_in
    assert "official mapping" in links_in


# ---------------------------------------------------------------------- downloads page


def test_downloads_page_is_a_page_of_the_site(client: TestClient) -> None:
    r = client.get("/dumps/", headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
    page = Page(r.text)
    assert page.all("main") and page.all("main")[0].get("id") == "main"  # the site's frame (base.html)
    assert page.all("html")[0]["lang"] == "zh-Hans" and "下载图谱" in page.text
    assert "Accept-Language" in r.headers["vary"]
    names = [a["href"] for a in page.all("a") if a.get("href", "").startswith("/dumps/") and "format" not in a["href"]]
    assert "/dumps/cpbkg.trig" in names and "/dumps/SHA256SUMS" in names
    assert any(f.get("role") == "search" for f in page.all("form"))


# ---------------------------------------------------------------------- a Party's page


@pytest.fixture(scope="module")
def party_client(web_settings: Settings, web_store: LoadedStore, web_pool: Any) -> Iterator[TestClient]:
    """The app on the real build plus the Parties part of the graph (data/parties/)."""
    from cpbkg.build.progress.parties import build_graph
    from cpbkg.vocab import Ids

    store = ox.Store()
    store.bulk_load(path=str(web_settings.dist_dir / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    if next(iter(store.quads_for_pattern(ox.NamedNode(BASE + "id/party/CHN"), None, None)), None) is None:
        nt = build_graph(web_settings.data_dir, Ids(BASE)).serialize(format="nt", encoding="utf-8")
        store.load(nt, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(BASE + "graph/parties"))
    loaded = LoadedStore(store, web_store.path, web_store.release)
    with TestClient(create_app(web_settings, store=loaded, pool=web_pool), base_url="http://testserver") as c:
        yield c


def test_party_page(party_client: TestClient) -> None:
    r = party_client.get("/id/party/CHN?lang=en")
    assert r.status_code == 200
    page = Page(r.text)
    h1 = r.text.split('<h1 id="title">', 1)[1].split("</h1>", 1)[0]
    assert "China" in h1 and "中国" in h1 and h1.index("China") < h1.index("中国")
    # breadcrumbs: the most specific region last (World > Asia > Eastern Asia)
    crumbs = r.text.split('class="wrap breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.index("/id/region/m49/001") < crumbs.index("/id/region/m49/142") < crumbs.index("/id/region/m49/030")
    assert "/id/treaty/cpb?lang=en" in page.hrefs()
    assert "CHN" in page.text and "156" in page.text  # codes
    zh = Page(party_client.get("/id/party/CHN?lang=zh").text)
    assert zh.all("html")[0]["lang"] == "zh-Hans" and "中国" in zh.text
    found = party_client.get("/search", params={"q": "中国"}).text
    assert "/id/party/CHN" in results(found)


def test_search_results_link_to_pages_that_exist(client: TestClient) -> None:
    for text in ("biosafety", "17", "生物安全"):
        for path in results(client.get("/search", params={"q": text}).text)[:15]:
            assert client.get(path).status_code == 200, (text, path)
    # an external resource (a UN SDG) is listed with its page on this site
    sdg = client.get("/search", params={"q": "zero hunger"}).text
    links = [h for h in results(sdg) if h.startswith("/resource")]
    assert links
    full = re.findall(r'<a href="(/resource\?[^"]+)"', sdg)[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(full).query)["uri"][0].startswith("http://metadata.un.org/sdg/")


# ---------------------------------------------------------------------- API documentation


def test_api_docs_page_is_served_from_the_package(web_settings: Settings, web_store: LoadedStore,
                                                  web_pool: Any) -> None:
    """cpbkg.web.routes.ui.api_docs, as it answers once the app is made with docs_url=None (FastAPI's
    own /docs loads Swagger UI from a CDN); here FastAPI's routes are taken out by hand."""
    app = create_app(web_settings, store=web_store, pool=web_pool)
    app.router.routes = [r for r in app.router.routes
                         if not (type(r).__name__ == "Route" and getattr(r, "path", "") in ("/docs", "/redoc"))]
    with TestClient(app, base_url="http://testserver") as c:
        r = c.get("/docs", params={"lang": "zh"})
        assert r.status_code == 200
        page = Page(r.text)
        assert page.all("html")[0]["lang"] == "zh-Hans" and "API 文档" in page.text
        sources = [t.get("src") or t.get("href") for tag, t in page.tags if tag in ("script", "link") and
                   (t.get("src") or t.get("rel") in ("stylesheet", "icon"))]
        assert sources and all(s.startswith("/static/") for s in sources), sources
        for src in sources:
            assert c.get(src).status_code == 200
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
        config = r.text.split('id="api-docs-config">', 1)[1].split("</script>", 1)[0]
        assert '"url": "/openapi.json"' in config
    js = (ROOT / "cpbkg/web/static/api-docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in js  # Swagger UI's only remote look-up, off


def test_indicator_and_party_pages_link_to_their_progress_page(client: TestClient) -> None:
    if client.get("/progress/").status_code != 200:
        pytest.skip("this app serves no progress pages")
    indicator = Page(client.get("/id/indicator/A.1(a)?lang=en").text)
    assert "/progress/indicator/A.1(a)?lang=en" in indicator.hrefs()
    assert client.get("/progress/indicator/A.1(a)").status_code == 200
    if client.get("/id/party/CHN").status_code == 200:
        party = Page(client.get("/id/party/CHN?lang=zh").text)
        assert "/progress/party/CHN?lang=zh" in party.hrefs()
    goal = Page(client.get("/id/goal/A.1").text)
    assert not [h for h in goal.hrefs() if h.startswith("/progress/goal")]
