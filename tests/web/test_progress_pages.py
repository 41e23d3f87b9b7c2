"""The progress pages: per indicator, per Party, the index; inline SVG, zh/en, escaping, 404s."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from cpbkg.build.progress.parties import ProgressIds
from cpbkg.build.progress.parts import demo_store
from cpbkg.config import Settings
from cpbkg.store.embedded import LoadedStore, Release
from cpbkg.vocab import Ids

SETTINGS = Settings()
IDS = Ids()
PIDS = ProgressIds(IDS)
EVIL = '<script>alert("x")</script>'


def client_for(store: ox.Store) -> TestClient:
    from cpbkg.web.app import create_app
    from cpbkg.web.routes import progress

    release = Release("test", "0" * 64, "2026-11-24T00:00:00Z", len(store), SETTINGS.base_uri)
    app = create_app(SETTINGS, store=LoadedStore(store, Path("/nonexistent"), release))
    if not any(getattr(route, "path", None) == "/progress/" for route in app.routes):
        app.include_router(progress.router)
    return TestClient(app)


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = demo_store(SETTINGS, IDS)
    # hostile labels, as a third-party store could hold: every page must escape them
    store.add(ox.Quad(ox.NamedNode(str(PIDS.region("002"))), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
                      ox.Literal(EVIL, language="zh")))
    store.add(ox.Quad(ox.NamedNode(str(IDS.indicator("A.6(a)"))), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
                      ox.Literal(EVIL, language="zh")))
    return store


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    return client_for(store)


def no_external_resources(html: str) -> None:
    # the one script of every page of the site (base.html), from the package, and no other
    assert re.findall(r'<script[^>]*\bsrc="([^"]*)"', html) == ["/static/cpbkg.js"]
    assert not re.search(r'(src|href)="https?://', html)  # nothing loaded from another host; no CDN


def test_index(client):
    r = client.get("/progress/")
    assert r.status_code == 200 and r.headers["content-language"] == "en"
    html = r.text
    assert "SYNTHETIC — not real national-report data" in html  # loud label
    assert html.count("<svg") == 1 and "<title>Every indicator, world" in html
    assert 'href="/progress/indicator/A.1(a)"' in html
    assert "A.10(b)" in html
    no_external_resources(html)


def test_index_in_chinese_keeps_the_language_in_links(client):
    html = client.get("/progress/?lang=zh").text
    assert '<html lang="zh-Hans">' in html and "执行计划进展" in html and "合成数据" in html
    assert 'href="/progress/indicator/A.1(a)?lang=zh"' in html
    assert "SYNTHETIC" in html


def test_indicator_page(client):
    r = client.get("/progress/indicator/A.1(a)")
    assert r.status_code == 200
    html = r.text
    assert html.count("<svg") == 2  # world, regions
    assert "Percentage of Parties that have measures in place" in html
    assert "Africa" in html and "M49 002" in html
    assert "National measures are fully in place" in html and "official table" in html
    assert "project&#39;s reading (curated)" in html or "project's reading (curated)" in html
    no_external_resources(html)


def test_indicator_not_from_reports(client):
    html = client.get("/progress/indicator/A.2(c)").text
    assert "Biosafety Clearing-House web statistics" in html and "<svg" not in html


def test_hostile_labels_are_escaped(client):
    for url in ("/progress/indicator/A.6(a)?lang=zh", "/progress/?lang=zh"):
        html = client.get(url).text
        assert EVIL not in html, url
        assert "&lt;script&gt;" in html, url


def test_party_page(client):
    html = client.get("/progress/party/CHN?lang=zh").text
    assert "中国" in html and "China" in html and "الصّين" in html and 'dir="rtl"' in html
    assert "<svg" in html and "东亚" in html
    assert client.get("/progress/party/cn").text.count("<h1>") == 1
    eu = client.get("/progress/party/EU").text
    assert "European Union" in eu and "counts in the world figures only" in eu
    no_external_resources(html)


@pytest.mark.parametrize("url", ["/progress/party/USA", "/progress/party/XX", "/progress/party/CHNA",
                                 "/progress/indicator/Z.1(a)", "/progress/indicator/A.99(z)",
                                 "/progress/?dataset=nope", "/progress/party/%3Cscript%3E"])
def test_not_found(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert "<script>" not in r.text.replace("<script src", "")


def test_dataset_can_be_chosen(client):
    assert client.get("/progress/?dataset=synthetic-progress").status_code == 200
    assert client.get("/progress/?dataset=x%3E%20.").status_code == 404


def test_store_without_observations_says_so():
    from rdflib import Graph

    from cpbkg.build.progress.parties import build_graph
    from cpbkg.build.progress.parts import load_into

    store = ox.Store()
    load_into(store, IDS, [("parties", build_graph(SETTINGS.data_dir, IDS)), ("empty", Graph())])
    client = client_for(store)
    html = client.get("/progress/").text
    assert "No indicator observations in this store" in html
    assert client.get("/progress/party/KEN").status_code == 200
