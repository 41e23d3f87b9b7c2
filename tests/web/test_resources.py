"""Dereferenceable URIs (cpbkg.web.routes.resources) on the real built graph, over HTTP.

Every kind of resource answers with an HTML page holding its Chinese and English labels and with
its description in four RDF formats (parsed back with rdflib), by content negotiation and by
suffix; unknown URIs answer 404; labels are escaped; the ontology documents itself.
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, URIRef
from support.html_page import Page

from cpbkg.config import Settings
from cpbkg.store.embedded import LoadedStore, Release
from cpbkg.web.app import create_app
from cpbkg.web.state import current

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = Settings().base_uri
CPB = "https://w3id.org/cpbkg/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
LABELS = (SKOS + "prefLabel", RDFS + "label")
SDG2 = "http://metadata.un.org/sdg/2"

#: suffix -> (media type, rdflib parser)
RDF_FORMATS = {
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "nt": ("application/n-triples", "nt"),
    "rdf": ("application/rdf+xml", "xml"),
    "trig": ("application/trig", "trig"),
    "nq": ("application/n-quads", "nquads"),
}


def parse(client: TestClient, data: bytes, parser: str) -> rdflib.Graph:
    """A description parsed with rdflib: the triples of a dataset format's default graph; JSON-LD with
    the context it references (``/context.jsonld``) read from the same app, since a TestClient's
    URLs are not on the network (tests/web/test_interop.py reads it over HTTP)."""
    if parser == "json-ld":
        doc = json.loads(data)
        if isinstance(doc, dict) and isinstance(doc.get("@context"), str):
            assert doc["@context"].endswith("/context.jsonld")
            doc["@context"] = client.get("/context.jsonld").json()["@context"]
        data = json.dumps(doc).encode()
    if parser in ("trig", "nquads"):
        dataset = rdflib.Dataset()
        dataset.parse(data=data, format=parser)
        graph = rdflib.Graph()
        for s, p, o, _ in dataset.quads():
            graph.add((s, p, o))
        return graph
    return rdflib.Graph().parse(data=data, format=parser)


# ---------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def settings(web_settings: Settings) -> Settings:
    return web_settings


@pytest.fixture(scope="module")
def loaded(web_store: LoadedStore) -> LoadedStore:
    """The session's store, opened read-only as ``cpbkg serve`` opens it."""
    return web_store


def first_of(loaded: LoadedStore, cls: str) -> str:
    """The first resource of a class, by URI: a real example without hard-coding data details."""
    rows = list(loaded.store.query(
        "SELECT ?c ?s WHERE { ?s a ?c } ORDER BY STR(?s) LIMIT 1",
        substitutions={ox.Variable("c"): ox.NamedNode(CPB + cls)}, use_default_graph_as_union=True))
    assert rows, f"no cpb:{cls} in the built graph"
    return rows[0]["s"].value


#: kind -> (how to find its URI, local path or None for an external resource)
KINDS = {
    "goal": BASE + "id/goal/A.1",
    "objective": BASE + "id/objective/A.1.1",
    "indicator": BASE + "id/indicator/A.1(a)",
    "outcome": BASE + "id/outcome/A.1",
    "area": BASE + "id/area/A",
    "article": BASE + "id/treaty/cpb/article/17",
    "gbf-target": BASE + "id/gbf/target/17",
    "decision-paragraph": BASE + "id/document/CP-10-3/para/4",
    "report-question": "ReportQuestion",  # the first one in the graph
    "sdg-goal": SDG2,
}
#: kinds whose data has both a Chinese and an English label (articles, GBF targets and the UN's SDG
#: labels are English-only in the sources the build reads: the page shows whatever exists)
BILINGUAL = {"goal", "objective", "indicator", "outcome", "area", "decision-paragraph", "report-question"}


def uri_of(kind: str, loaded: LoadedStore) -> str:
    value = KINDS[kind]
    return value if value.startswith("http") else first_of(loaded, value)


def page_url(uri: str) -> str:
    if uri.startswith(BASE):
        return "/" + uri[len(BASE):]
    return "/resource?uri=" + uri


def variant_url(uri: str, suffix: str) -> str:
    """The URL of one format of a resource, as the server names it (Content-Location, links)."""
    if uri.startswith(BASE):
        return page_url(uri) + "." + suffix
    return f"/resource?uri={quote(uri, safe='')}&format={suffix}"


def labels_in_store(loaded: LoadedStore, uri: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for prop in LABELS:
        for q in loaded.store.quads_for_pattern(ox.NamedNode(uri), ox.NamedNode(prop), None):
            if isinstance(q.object, ox.Literal) and q.object.language in ("zh", "en"):
                found.setdefault(q.object.language, set()).add(q.object.value)
    return found


def store_triples(loaded: LoadedStore, uri: str) -> rdflib.Graph:
    """Every triple with the resource as subject, straight from the store (all graphs)."""
    triples = {ox.Triple(q.subject, q.predicate, q.object)
               for q in loaded.store.quads_for_pattern(ox.NamedNode(uri), None, None)}
    data = ox.serialize(sorted(triples, key=str), format=ox.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=data, format="nt")


def same_triples(expected: rdflib.Graph, got: rdflib.Graph) -> list[tuple[object, object, object]]:
    """Expected triples missing from ``got`` (literals compared by value, so that a JSON-LD
    round trip of a number still counts as the same triple)."""
    missing = []
    for s, p, o in expected:
        if (s, p, o) in got:
            continue
        if isinstance(o, rdflib.Literal) and any(
                isinstance(x, rdflib.Literal) and (x.eq(o) or str(x) == str(o)) for x in got.objects(s, p)):
            continue
        missing.append((s, p, o))
    return missing


# ---------------------------------------------------------------------- every kind of resource


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_html_page_has_labels_in_both_languages(client: TestClient, loaded: LoadedStore, kind: str) -> None:
    uri = uri_of(kind, loaded)
    r = client.get(page_url(uri), headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    labels = labels_in_store(loaded, uri)
    assert labels, f"{uri} has no zh or en label in the graph"
    if kind in BILINGUAL:
        assert set(labels) == {"zh", "en"}, f"{kind} should have zh and en labels, has {sorted(labels)}"
    for lang, values in labels.items():
        # one label per language is the title; the others are shown as properties
        assert any(" ".join(v.split()) in page.text for v in values), f"{kind}: no {lang} label on the page"
    if "zh" in labels:
        assert any(attrs.get("lang") == "zh-Hans" for _tag, attrs in page.tags)
    assert uri in page.text  # the URI itself is shown
    assert f"DESCRIBE <{uri}>" in page.text  # the copyable SPARQL snippet
    hrefs = {attrs.get("href") for tag, attrs in page.tags if tag == "a"}
    for suffix in ("ttl", "jsonld", "nt", "rdf"):
        assert variant_url(uri, suffix) in hrefs, f"no link to the {suffix} variant"


@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rdf_by_accept_and_by_suffix(client: TestClient, loaded: LoadedStore, kind: str, suffix: str) -> None:
    uri = uri_of(kind, loaded)
    media, parser = RDF_FORMATS[suffix]
    expected = store_triples(loaded, uri)
    assert len(expected) > 0
    negotiated = client.get(page_url(uri), headers={"Accept": media})
    fixed = client.get(variant_url(uri, suffix))
    for r in (negotiated, fixed):
        assert r.status_code == 200, r.text[:300]
        assert r.headers["content-type"].split(";")[0] == media
        got = parse(client, r.content, parser)
        assert not same_triples(expected, got), f"{kind} {suffix}: missing {same_triples(expected, got)[:3]}"
    assert negotiated.content == fixed.content
    # Cool URIs: the bare URI varies with Accept and names the document it returned
    assert "Accept" in negotiated.headers["vary"]
    assert negotiated.headers["content-location"] == variant_url(uri, suffix)
    assert "Accept" not in [v.strip() for v in fixed.headers.get("vary", "").split(",")]


def test_description_adds_labels_of_objects_and_link_records(client: TestClient, loaded: LoadedStore) -> None:
    uri = BASE + "id/goal/A.1"
    g = rdflib.Graph().parse(data=client.get("/id/goal/A.1.ttl").content, format="turtle")
    target = URIRef(BASE + "id/gbf/target/17")
    assert (URIRef(uri), URIRef(CPB + "contributesTo"), target) in g
    assert any(True for _ in g.objects(target, URIRef(SKOS + "prefLabel"))), "object labels are included"
    links = set(g.subjects(URIRef(CPB + "linkSubject"), URIRef(uri)))
    assert links, "the link records of the resource's links are included"
    curated = [link for link in links
               if (link, URIRef(CPB + "basis"), URIRef(CPB + "CuratedLink")) in g
               and (link, URIRef(CPB + "linkObject"), target) in g]
    assert curated and any(True for _ in g.objects(curated[0], URIRef(CPB + "justification")))


def test_content_negotiation_honours_q_values(client: TestClient) -> None:
    def chosen(accept: str) -> str:
        r = client.get("/id/goal/A.1", headers={"Accept": accept})
        assert r.status_code == 200
        return r.headers["content-type"].split(";")[0]

    assert chosen("text/turtle;q=0.5, application/ld+json;q=0.9") == "application/ld+json"
    assert chosen("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") == "text/html"
    assert chosen("*/*") == "text/html"
    assert chosen("application/n-triples, text/html;q=0.2") == "application/n-triples"
    assert chosen("application/rdf+xml") == "application/rdf+xml"
    assert chosen("text/*;q=0.9, text/html;q=0.1") == "text/turtle"
    r = client.get("/id/goal/A.1", headers={"Accept": "image/png"})
    assert r.status_code == 406


def test_link_header_lists_every_variant(client: TestClient) -> None:
    r = client.get("/id/goal/A.1", headers={"Accept": "text/html"})
    assert r.headers["content-location"] == "/id/goal/A.1.html"
    link = r.headers["link"]
    for suffix, (media, _parser) in RDF_FORMATS.items():
        assert f'</id/goal/A.1.{suffix}>; rel="alternate"; type="{media}"' in link
    assert client.get("/id/goal/A.1.html").status_code == 200


def test_percent_encoded_and_raw_paths_are_the_same_resource(client: TestClient) -> None:
    raw = client.get("/id/indicator/A.1(a).nt")
    encoded = client.get("/id/indicator/A.1%28a%29.nt")
    assert raw.status_code == encoded.status_code == 200
    assert raw.content == encoded.content
    assert f"<{BASE}id/indicator/A.1(a)>".encode() in raw.content


def test_etag_and_head(client: TestClient) -> None:
    r = client.get("/id/goal/A.1.ttl")
    etag = r.headers["etag"]
    again = client.get("/id/goal/A.1.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = client.head("/id/goal/A.1", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.content == b""


# ---------------------------------------------------------------------- the page itself


def test_goal_page_shows_breadcrumbs_links_basis_and_translation_marker(client: TestClient) -> None:
    r = client.get("/id/goal/A.1?lang=en")
    page = Page(r.text)
    hrefs = [attrs.get("href") for tag, attrs in page.tags if tag == "a"]
    # breadcrumbs: plan > area
    crumbs = r.text.split('class="wrap breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.index("/id/plan") < crumbs.index("/id/area/A")
    # links out grouped by property, with the basis and the curated justification
    assert "/id/gbf/target/17?lang=en" in hrefs
    assert "contributes to" in page.text and "curated link" in page.text
    assert "Target 17 asks" in page.text  # the justification sentence of the curated link
    assert "Project translation, not official wording" in page.text
    assert "/id/document/CP-10-3?lang=en" in hrefs  # dcterms:source


def test_official_english_is_marked(client: TestClient) -> None:
    text = Page(client.get("/id/indicator/A.1(a)?lang=en").text).text
    assert "Official English wording" in text
    assert "Project translation" not in text


def test_article_page_lists_what_cites_it_with_basis(client: TestClient) -> None:
    r = client.get("/id/treaty/cpb/article/17?lang=en")
    text = Page(r.text).text
    assert "Links to this resource" in text
    assert "cites" in text and "explicit citation" in text
    crumbs = r.text.split('class="wrap breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert "/id/treaty/cpb?lang=en" in crumbs  # treaty > article


def test_plan_page_links_to_the_sdg_in_graph_description(client: TestClient) -> None:
    r = client.get("/id/plan?lang=en")
    assert "/resource?uri=http%3A%2F%2Fmetadata.un.org%2Fsdg%2F2&amp;lang=en" in r.text


def test_external_resource_pages(client: TestClient, settings: Settings) -> None:
    r = client.get("/resource", params={"uri": SDG2, "lang": "en"})
    assert r.status_code == 200
    assert "not part of CPB-KG" in r.text
    ours = client.get("/resource", params={"uri": BASE + "id/goal/A.1", "format": "ttl"}, follow_redirects=False)
    assert ours.status_code == 301 and ours.headers["location"] == "/id/goal/A.1.ttl"
    assert client.get("/resource", params={"uri": "http://example.org/nothing"}).status_code == 404
    assert client.get("/resource", params={"uri": "not a uri"}).status_code == 400
    assert client.get("/resource", params={"uri": SDG2, "format": "xls"}).status_code == 400


def test_unknown_uris_are_404(client: TestClient) -> None:
    r = client.get("/id/goal/Z.99", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert f"{BASE}id/goal/Z.99" in Page(r.text).text
    rdf = client.get("/id/goal/Z.99", headers={"Accept": "text/turtle"})
    assert rdf.status_code == 404 and rdf.headers["content-type"].startswith("text/plain")
    assert client.get("/id/goal/A.1.xyz").status_code == 404
    assert client.get("/id/goal/Z.99.ttl").status_code == 404
    # a path that would break a pasted query is just an unknown resource
    assert client.get("/id/goal/A.1%3E%20%3Fs%20%3Fp%20%3Fo%20%7B").status_code == 404


def test_graph_and_dataset_uris_resolve(client: TestClient, loaded: LoadedStore) -> None:
    r = client.get("/graph/plan", headers={"Accept": "text/html"})
    assert r.status_code == 200
    count = len(list(loaded.store.quads_for_pattern(None, None, None, ox.NamedNode(BASE + "graph/plan"))))
    assert f"data-graph-triples>{count}<" in r.text
    g = rdflib.Graph().parse(data=client.get("/graph/plan.ttl").content, format="turtle")
    assert (URIRef(BASE + "graph/plan"), RDF.type, URIRef("http://rdfs.org/ns/void#Dataset")) in g
    d = rdflib.Graph().parse(data=client.get("/dataset", headers={"Accept": "text/turtle"}).content, format="turtle")
    assert (URIRef(BASE + "dataset"), RDF.type, URIRef("http://rdfs.org/ns/void#Dataset")) in d
    assert client.get("/dataset", headers={"Accept": "text/html"}).status_code == 200


# ---------------------------------------------------------------------- the ontology


def test_ontology_html_documents_every_term(client: TestClient, loaded: LoadedStore) -> None:
    r = client.get("/ontology", headers={"Accept": "text/html"})
    assert r.status_code == 200
    page = Page(r.text)
    ids = {attrs.get("id") for _tag, attrs in page.tags}
    rows = list(loaded.store.query(
        """SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t a ?k }
           VALUES ?k { <http://www.w3.org/2002/07/owl#Class> <http://www.w3.org/2002/07/owl#ObjectProperty>
                       <http://www.w3.org/2002/07/owl#DatatypeProperty> }
           FILTER(STRSTARTS(STR(?t), "https://w3id.org/cpbkg/ontology#")) }"""))
    terms = {row["t"].value.split("#")[1] for row in rows}
    assert {"Goal", "Indicator", "contributesTo", "text"} <= terms
    assert terms <= ids, f"undocumented: {sorted(terms - ids)}"
    goal = r.text.split('id="Goal"', 1)[1].split("</section>", 1)[0]
    definition = next(q.object.value for q in loaded.store.quads_for_pattern(
        ox.NamedNode(CPB + "Goal"), ox.NamedNode(SKOS + "definition"), None))
    assert html.escape(definition, quote=False) in goal
    assert "长期目标" in goal and "long-term goal" in goal
    assert "plan element" in goal  # sub-class-of
    prop = r.text.split('id="hasObjective"', 1)[1].split("</section>", 1)[0]
    assert 'href="/ontology#Goal"' in prop and 'href="/ontology#Objective"' in prop  # domain, range


@pytest.mark.parametrize("suffix", sorted(RDF_FORMATS))
def test_ontology_rdf(client: TestClient, suffix: str) -> None:
    media, parser = RDF_FORMATS[suffix]
    for r in (client.get("/ontology." + suffix), client.get("/ontology", headers={"Accept": media})):
        assert r.status_code == 200
        g = parse(client, r.content, parser)
        assert (URIRef(CPB + "Goal"), RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")) in g
        assert (URIRef("https://w3id.org/cpbkg/ontology"), RDF.type,
                URIRef("http://www.w3.org/2002/07/owl#Ontology")) in g


# ---------------------------------------------------------------------- RDF for people and parsers

#: a prefixed name with a backslash escape in its local part (``id:area\/A``)
ESCAPED_NAME = r"(?<![<\w\"])[A-Za-z][\w.-]*:[^\s<>\"]*\\"


@pytest.mark.parametrize("path", ["/id/area/A", "/id/indicator/A.1(a)", "/id/goal/A.1", "/ontology", "/dataset"])
def test_turtle_declares_only_the_prefixes_it_uses_and_needs_no_escape(client: TestClient, path: str) -> None:
    import re

    from cpbkg.vocab import PREFIXES

    text = client.get(path + ".ttl").text
    declared = dict(re.findall(r"^@prefix (\w*): <([^>]*)> \.$", text, re.M))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    assert declared, text[:300]
    for prefix, namespace in declared.items():
        assert PREFIXES.get(prefix, namespace if prefix == "id" else None) == namespace, (prefix, namespace)
        assert re.search(rf"(?<![\w<\"]){prefix}:", body), f"@prefix {prefix}: is declared but not used"
    assert "wgs" not in declared and "brick" not in declared and "schema" not in declared
    assert not re.search(ESCAPED_NAME, body), re.search(ESCAPED_NAME, body)
    if path.startswith("/id/"):  # the page's subject first
        first = body.split(None, 1)[0]
        assert first == f"<{BASE}{path[1:]}>", first


def test_an_iri_that_would_need_an_escape_is_written_in_full(client: TestClient) -> None:
    text = client.get("/id/area/A.ttl").text
    assert f"<{BASE}id/area/A>" in text and "id:area" not in text


def _loader(client: TestClient) -> Any:
    def load(url: str, options: dict[str, Any]) -> dict[str, Any]:
        assert url.endswith("/context.jsonld"), url  # the one document a compacted description references
        return {"contextUrl": None, "documentUrl": url, "document": client.get("/context.jsonld").json()}

    return load


@pytest.mark.parametrize("path", ["/id/goal/A.1", "/id/indicator/A.1(a)", "/ontology"])
def test_json_ld_is_compacted_with_the_published_context_and_expands_to_the_same_graph(
        client: TestClient, path: str) -> None:
    from pyld import jsonld
    from rdflib.compare import isomorphic

    compacted = client.get(path + ".jsonld")
    doc = compacted.json()
    assert doc["@context"] == "http://testserver/context.jsonld"
    assert doc["@graph"][0]["@id"] in ("id:" + path[len("/id/"):], "https://w3id.org/cpbkg/ontology")
    assert "skos:prefLabel" in compacted.text or "rdfs:label" in compacted.text
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": _loader(client)})
    from_pyld = rdflib.Graph().parse(data=nquads, format="nquads")
    turtle = rdflib.Graph().parse(data=client.get(path + ".ttl").content, format="turtle")
    assert isomorphic(from_pyld, turtle)
    # expanded on request (the profile of JSON-LD 1.1 §9), on the bare URI: another variant, the same graph
    profile = 'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"'
    expanded = client.get(path, headers={"Accept": profile})
    assert expanded.status_code == 200 and expanded.headers["content-type"] == "application/ld+json"
    assert isinstance(expanded.json(), list) and "@context" not in expanded.text
    assert expanded.headers["etag"] != client.get(path, headers={"Accept": "application/ld+json"}).headers["etag"]
    assert isomorphic(rdflib.Graph().parse(data=expanded.content, format="json-ld"), turtle)
    assert jsonld.expand(doc, {"documentLoader": _loader(client)}) != []


def test_the_json_ld_context_is_served(client: TestClient) -> None:
    from cpbkg.vocab import PREFIXES

    r = client.get("/context.jsonld")
    assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
    context = r.json()["@context"]
    assert {k: v for k, v in context.items() if k != "id"} == PREFIXES and context["id"] == BASE + "id/"
    assert client.get("/context.jsonld", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


# ---------------------------------------------------------------------- escaping


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile_client(tmp_path: Path, web_pool: object) -> Iterator[TestClient]:
    """A store whose labels and texts try to inject markup."""
    store = ox.Store()
    node = ox.NamedNode(BASE + "id/goal/X.1")
    other = ox.NamedNode(BASE + "id/goal/X.2")
    g = ox.NamedNode(BASE + "graph/plan")
    for s, p, o in [
        (node, ox.NamedNode(str(RDF.type)), ox.NamedNode(CPB + "Goal")),
        (node, ox.NamedNode(SKOS + "prefLabel"), ox.Literal(HOSTILE, language="en")),
        (node, ox.NamedNode(SKOS + "prefLabel"), ox.Literal("目标" + HOSTILE, language="zh")),
        (node, ox.NamedNode(SKOS + "notation"), ox.Literal('X.1"><script>alert(2)</script>')),
        (node, ox.NamedNode(CPB + "text"), ox.Literal("</textarea></pre>" + HOSTILE, language="en")),
        (node, ox.NamedNode(CPB + "contributesTo"), other),
        (other, ox.NamedNode(SKOS + "prefLabel"), ox.Literal(HOSTILE, language="en")),
    ]:
        store.add(ox.Quad(s, p, o, g))
    release = Release("0.0.0-test", "0" * 64, "2026-01-01T00:00:00+00:00", len(store), BASE)
    settings = Settings().with_(dist_dir=tmp_path / "dist", store_path=tmp_path / "store")
    # no lifespan (no `with`): these tests use only the pages, never the query workers
    yield TestClient(create_app(settings, store=LoadedStore(store, tmp_path, release), pool=web_pool))


@pytest.mark.parametrize("path", ["/id/goal/X.1", "/id/goal/X.2", "/explore/node?uri=" + BASE + "id/goal/X.1",
                                  "/explore/node?uri=" + BASE + "id/goal/X.2", "/id/goal/X.1?lang=zh"])
def test_labels_with_markup_stay_text(hostile_client: TestClient, path: str) -> None:
    r = hostile_client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert "&lt;script&gt;alert(" in r.text
    assert 'alert("x")' in Page(r.text).text or "alert(&#34;x&#34;)" in r.text


def test_labels_with_markup_round_trip_in_rdf(hostile_client: TestClient) -> None:
    g = rdflib.Graph().parse(data=hostile_client.get("/id/goal/X.1.ttl").content, format="turtle")
    assert rdflib.Literal(HOSTILE, lang="en") in set(g.objects(URIRef(BASE + "id/goal/X.1"), URIRef(SKOS + "prefLabel")))


def test_unknown_uri_with_markup_is_escaped_in_404(hostile_client: TestClient) -> None:
    r = hostile_client.get("/id/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "<script>alert" not in r.text


# ---------------------------------------------------------------------- the response memo (cpbkg.web.memo)


@pytest.mark.parametrize("path,headers", [
    ("/id/goal/A.2", {"Accept": "text/html", "Accept-Language": "zh"}),
    ("/id/goal/A.2", {"Accept": "text/html", "Accept-Language": "en"}),
    ("/id/goal/A.2?lang=en", {"Accept": "text/html", "Accept-Language": "zh"}),
    ("/id/goal/A.2", {"Accept": "text/turtle", "Accept-Encoding": "gzip"}),
    ("/ontology.nt", {}),
], ids=["html-zh", "html-en", "lang-param", "turtle-gzip", "ontology"])
def test_a_repeated_page_is_answered_with_the_same_bytes(live: str, path: str, headers: dict[str, str]) -> None:
    import httpx

    sent = []
    for method in ("GET", "GET", "GET", "HEAD", "HEAD"):
        with httpx.stream(method, live + path, headers=headers, timeout=30) as r:
            sent.append((method, r.status_code, sorted((k, v) for k, v in r.headers.items() if k not in ("date", "server")),
                         b"".join(r.iter_raw())))
    assert sent[0][1] == 200 and sent[1:3] == [sent[0]] * 2  # rendered, then replayed by the memo
    assert sent[4] == sent[3] and sent[3][3] == b"" and sent[3][2] == sent[0][2]  # HEAD: same headers, no body
    etag = dict(sent[0][2])["etag"]
    for _ in range(2):
        again = httpx.get(live + path, headers={**headers, "If-None-Match": etag}, timeout=30)
        assert again.status_code == 304 and again.content == b""


def test_the_memo_keys_on_language_and_format(live: str, web_app: Any) -> None:
    import httpx

    memo = current(web_app).process.response_memo
    before = len(memo)

    def get(path: str, **headers: str) -> httpx.Response:
        return httpx.get(live + path, headers=headers, timeout=30)

    for _ in range(2):  # the second round is answered from the memo
        zh = get("/id/goal/A.3", accept="text/html", **{"accept-language": "zh"})
        en = get("/id/goal/A.3", accept="text/html", **{"accept-language": "en"})
        chosen = get("/id/goal/A.3?lang=zh", accept="text/html", **{"accept-language": "en"})
        turtle = get("/id/goal/A.3", accept="text/turtle")
        assert '<html lang="zh' in zh.text and '<html lang="en' in en.text and '<html lang="zh' in chosen.text
        assert turtle.headers["content-type"].startswith("text/turtle") and "@prefix" in turtle.text
        missing = get("/id/goal/A.99", accept="text/html")
        assert missing.status_code == 404  # not memorised: a 404 is rendered each time
    assert len(memo) == before + 4


@pytest.mark.parametrize("path,headers", [
    ("/queries/plan-elements-for-gbf-target?target=https://w3id.org/cpbkg/id/gbf/target/17", {"Accept": "text/csv"}),
    ("/search?q=biosafety", {"Accept-Language": "en"}),
    ("/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D", {"Accept": "application/sparql-results+xml"}),
], ids=["named-query", "search", "sparql"])
def test_named_queries_searches_and_queries_are_memorised_once_answered(live: str, web_app: Any, path: str,
                                                                       headers: dict[str, str]) -> None:
    import httpx

    memo = current(web_app).process.response_memo
    first = httpx.get(live + path, headers=headers, timeout=30)
    assert first.status_code == 200
    size = len(memo)
    assert any(key[1] == path.split("?")[0].encode() for key in list(memo._entries)), "not memorised"
    again = [httpx.get(live + path, headers=headers, timeout=30) for _ in range(3)]
    assert {(r.status_code, r.content, r.headers["content-type"]) for r in again} == \
        {(first.status_code, first.content, first.headers["content-type"])}
    assert len(memo) == size  # answered from the memo: nothing new stored
    # a volatile query is never memorised: each answer is new
    rand = "/sparql?query=" + "SELECT%20(RAND()%20AS%20%3Fr)%20%7B%7D"
    answers = {httpx.get(live + rand, headers={"Accept": "text/csv"}, timeout=30).text for _ in range(3)}
    assert len(answers) == 3


def test_health_says_what_is_served_and_how(live: str, web_app: Any, web_store: LoadedStore) -> None:
    import httpx

    r = httpx.get(live + "/health", timeout=30)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["status"] == "ok" and body["triples"] == web_store.release.triples
    assert body["data_version"] == current(web_app).query_service.data_version
    assert body["query_workers"]["size"] >= 1
    if body["backend"] == "embedded":
        # the session's workers hold the store in memory (tests/web_server.py), as `cpbkg serve` would
        workers = body["query_workers"]["in_memory"]
        assert all(q in (None, len(web_store.store)) for q in workers), workers
    else:
        assert body["query_workers"]["in_memory"] is None
    assert str(web_store.path) not in r.text  # no path of the machine
