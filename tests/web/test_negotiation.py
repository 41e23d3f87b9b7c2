"""Content negotiation: one rule on every route (cpbkg.web.negotiation, formats from cpbkg.formats).

Hard cases of ``Accept`` and ``Accept-Language``, run on the real app against every route that
negotiates: ``/sparql`` (a SELECT, a DESCRIBE, the service description), ``/id/goal/A.1``,
``/ontology``, a named query and ``/dumps/``; and the language of the pages.

* :data:`SAME_AS`: a hard header and the plain header it must be read as. Every route answers
  the two alike (status and media type), so every route reads malformed q-values, case,
  parameters, garbage, duplicates and 60 KB headers the same way; a header set over the 64 KiB
  budget is 431 on every route.
* :data:`EXPECTED`: what each route answers to the plain headers -- the rule itself, as a table.
* :data:`LANGUAGES`: ``Accept-Language`` -> the language every page is in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from cpbkg.config import Settings
from cpbkg.formats import FORMATS, GRAPHS, RESULTS
from cpbkg.web import negotiation

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = Settings().base_uri
SELECT = "SELECT ?goal ?code WHERE { ?goal a <https://w3id.org/cpbkg/ontology#Goal> ; " \
         "<http://www.w3.org/2004/02/skos/core#notation> ?code } ORDER BY ?code LIMIT 5"
#: the routes that negotiate a format, by a short name
ROUTES = {
    "select": "/sparql?query=" + quote(SELECT),
    "describe": "/sparql?query=" + quote(f"DESCRIBE <{BASE}id/goal/A.1>"),
    "service": "/sparql",
    "resource": "/id/goal/A.1",
    "ontology": "/ontology",
    "named": "/queries/plan-outline",
    "dumps": "/dumps/",
}

J, X, CSV = "application/sparql-results+json", "application/sparql-results+xml", "text/csv"
TTL, NT, JL, RX = "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"
H, AJ, NO = "text/html", "application/json", "406"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

#: Accept -> what each route answers: (select, describe, service, resource, ontology, named, dumps)
EXPECTED: list[tuple[str | None, tuple[str, ...]]] = [
    (None,                   (J, TTL, TTL, H, H, J, AJ)),
    ("*/*",                  (J, TTL, TTL, H, H, J, AJ)),
    ("text/*",               (CSV, TTL, TTL, H, H, CSV, H)),
    ("text/html",            (H, H, H, H, H, H, H)),
    ("application/xhtml+xml", (H, H, H, H, H, H, H)),
    (BROWSER,                (H, H, H, H, H, H, H)),
    ("text/turtle",          (NO, TTL, TTL, TTL, TTL, NO, NO)),
    ("text/turtle;q=0",      (NO, NO, NO, NO, NO, NO, NO)),  # a valid header that excludes everything
    ("*/*, text/turtle;q=0", (J, NT, NT, H, H, J, AJ)),      # q=0 excludes ...
    ("text/*, text/turtle;q=0", (CSV, NO, NO, H, H, CSV, H)),  # ... and an alias (text/n3) does not bring it back
    ("*/*;q=0.5, application/sparql-results+json;q=0", (X, TTL, TTL, H, H, X, AJ)),
    ("application/json",     (J, JL, JL, JL, JL, J, AJ)),    # an alias, named
    ("application/xml",      (X, RX, RX, RX, RX, X, NO)),
    ("text/plain",           (NO, NT, NT, NT, NT, NO, NO)),
    ("image/png",            (NO, NO, NO, NO, NO, NO, NO)),
    ("text/turtle;q=0.5, application/ld+json;q=0.9, text/csv;q=0.1", (CSV, JL, JL, JL, JL, CSV, NO)),
]

#: (hard header, the plain header every route must read it as)
SAME_AS: list[tuple[str, str | None]] = [
    # a malformed q makes its range invalid: it is ignored; nothing valid left = no header
    ("text/turtle;q=abc", None),
    ("text/turtle;q=2", None),
    ("text/turtle;q=-1", None),
    ("text/turtle;q=0.1234", None),
    ("text/turtle;q=.5", None),
    ("text/turtle;q=", None),
    ("application/ld+json;q=abc, text/turtle;q=0.5", "text/turtle;q=0.5"),
    ("application/sparql-results+json;q=2, text/csv;q=0.5, application/ld+json;q=-1", "text/csv"),
    ("text/turtle;q=0.123", "text/turtle"),
    ("text/turtle;q=1.000, text/csv;q=0.", "text/turtle, text/csv;q=0"),
    # wildcards, case
    ("*/*;q=0.3", "*/*"),
    ("*/*", None),
    ("TEXT/Turtle", "text/turtle"),
    ("Application/LD+JSON;Q=0.9, TEXT/*;q=0.5", "application/ld+json;q=0.9, text/*;q=0.5"),
    # parameters other than q do not change what a range matches
    ("text/turtle;charset=utf-8", "text/turtle"),
    ("text/turtle; charset=\"UTF-8\" ; q=0.8", "text/turtle"),
    ('application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"', "application/ld+json"),
    ('text/turtle;foo="a,b;c", application/ld+json;q=0.1', "text/turtle, application/ld+json;q=0.1"),
    ("text/turtle;", "text/turtle"),
    ("text/turtle;x, application/ld+json", "application/ld+json"),  # a parameter without a value: invalid
    # empty and garbage: as if absent
    ("", None),
    ("   ", None),
    ("garbage", None),
    (";;;q=abc,,", None),
    ("*/html, text, /turtle, text/, */", None),
    ('a/b;x="unterminated, text/turtle', None),
    (",,, ,", None),
    # duplicates: the highest q of the equally specific ranges counts
    ("text/turtle;q=0.1, application/ld+json;q=0.5, text/turtle;q=0.9", "text/turtle;q=0.9, application/ld+json;q=0.5"),
    ("text/csv, text/csv, text/csv", "text/csv"),
    # only the first 4 KiB and the first 64 ranges are read (a header set over 64 KiB is 431: below)
    ("x" * 60_000, None),
    ("text/turtle, " + "x" * 60_000, "text/turtle"),
    ("image/png, " * 5_000 + "text/turtle", "image/png"),
    ("text/csv;q=0.5, " + "a/b;q=0.1, " * 70 + "text/turtle", "text/csv"),
]


def outcome(client: Any, url: str, headers: dict[str, str]) -> str:
    """The media type of the answer, or its status when it is not a 200."""
    r = client.get(url, headers=headers)
    if r.status_code != 200:
        return str(r.status_code)
    return str(r.headers["content-type"].split(";")[0].strip())


def accept(header: str | None) -> dict[str, str]:
    return {} if header is None else {"Accept": header}


@pytest.mark.parametrize("header, expected", EXPECTED, ids=[str(h)[:40] for h, _ in EXPECTED])
def test_every_route_follows_the_rule(client: Any, header: str | None, expected: tuple[str, ...]) -> None:
    got = tuple(outcome(client, url, accept(header)) for url in ROUTES.values())
    assert dict(zip(ROUTES, got, strict=True)) == dict(zip(ROUTES, expected, strict=True)), header


@pytest.mark.parametrize("hard, plain", SAME_AS, ids=[h[:40] for h, _ in SAME_AS])
def test_every_route_reads_a_hard_header_as_its_plain_one(client: Any, hard: str, plain: str | None) -> None:
    got = {name: outcome(client, url, accept(hard)) for name, url in ROUTES.items()}
    want = {name: outcome(client, url, accept(plain)) for name, url in ROUTES.items()}
    assert got == want, (hard[:80], plain)


@pytest.mark.parametrize("header", ["Accept", "Accept-Language"])
def test_a_header_over_the_budget_is_431_on_every_route(client: Any, header: str) -> None:
    """Past ``Settings.max_header_bytes`` (64 KiB) the request is refused before anything parses it."""
    for path in ROUTES.values():
        response = client.get(path, headers={header: "x" * 100_000})
        assert response.status_code == 431, (path, response.status_code)


def test_406_says_what_there_is(client: Any) -> None:
    for url in ROUTES.values():
        r = client.get(url, headers={"Accept": "image/png"})
        assert r.status_code == 406 and r.headers["content-type"].startswith("text/plain"), url
        assert r.text.strip(), url


# --------------------------------------------------------------------------- Accept-Language

#: the pages in both languages (the progress pages too when the build has observations)
PAGES = ["/", "/id/goal/A.1", "/ontology", "/dumps/", "/explore", "/progress/"]

#: Accept-Language -> the language of every page
LANGUAGES: list[tuple[str | None, str]] = [
    (None, "en"),
    ("zh-CN", "zh"),
    ("zh-Hant", "zh"),
    ("zh-TW,zh;q=0.9", "zh"),
    ("ZH-cn", "zh"),
    ("en-GB;q=0.5, zh;q=0.9", "zh"),
    ("zh;q=0.9, en-GB;q=0.95", "en"),
    ("fr-FR, zh;q=0.5, en;q=0.4", "zh"),
    ("zh, en", "zh"),
    ("en, zh", "en"),
    ("zh;q=0.8, en;q=0.8", "zh"),  # equal q: the client's order
    ("*", "en"),
    ("*;q=0.5, zh", "zh"),
    ("zh;q=0", "en"),  # nothing acceptable: the default language, never a 406
    # malformed: the range is ignored
    ("zh;q=abc", "en"),
    ("zh;q=2", "en"),
    ("zh;q=0.1234, en;q=0.1", "en"),
    ("en;q=abc, zh;q=0.1", "zh"),
    ("zh_CN", "en"),
    ("", "en"),
    ("*;q=abc,,,;", "en"),
    ("garbage!!", "en"),
    ("x" * 60_000, "en"),
    ("zh, " + "x" * 60_000, "zh"),
]


@pytest.fixture(scope="module")
def pages(web_app: Any) -> list[str]:
    """The pages this app serves (the progress pages need observations in the build)."""
    from fastapi.testclient import TestClient

    with TestClient(web_app) as c:
        return [p for p in PAGES if c.get(p, headers={"Accept": "text/html"}).status_code == 200]


@pytest.mark.parametrize("header, lang", LANGUAGES, ids=[str(h)[:30] for h, _ in LANGUAGES])
def test_every_page_picks_the_same_language(client: Any, pages: list[str], header: str | None, lang: str) -> None:
    headers = {"Accept": "text/html", **({} if header is None else {"Accept-Language": header})}
    got = {}
    for page in pages:
        r = client.get(page, headers=headers)
        assert r.status_code == 200, page
        got[page] = r.headers.get("content-language")
    assert got == dict.fromkeys(pages, lang), header and header[:60]


def test_lang_parameter_overrides_accept_language(client: Any, pages: list[str]) -> None:
    for page in pages:
        r = client.get(page, params={"lang": "en"}, headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
        assert r.headers.get("content-language") == "en", page


# --------------------------------------------------------------------------- Accept-Encoding (the same rule)

BIG = "/sparql?query=" + quote("SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 200")


@pytest.mark.parametrize("header, gzipped", [
    ("gzip", True), ("x-gzip", True), ("gzip;q=0.5, br", True), ("*", True), ("GZIP", True),
    ("gzip;q=0", False), ("gzip;q=abc", False), ("gzip;q=2", False), ("identity", False), ("", False),
    ("*, gzip;q=0", False), ("br;q=abc, gzip;q=0.1", True),
])
def test_gzip_by_the_same_rule(client: Any, header: str, gzipped: bool) -> None:
    r = client.get(BIG, headers={"Accept": J, "Accept-Encoding": header})
    assert r.status_code == 200
    assert (r.headers.get("content-encoding") == "gzip") is gzipped, header


# --------------------------------------------------------------------------- the parser and the registry


def test_long_headers_are_read_in_bounded_time_and_never_cached() -> None:
    negotiation.parse_accept("text/html")
    before = negotiation.parse_accept.cache_info()
    for n in range(20):
        negotiation.parse_accept(f"text/{n}, " + "x" * 1_000_000)
        negotiation.parse_accept_language(f"zh-{n}, " + "x" * 1_000_000)
    after = negotiation.parse_accept.cache_info()
    assert after.currsize == before.currsize and after.maxsize == negotiation.CACHE_SIZE
    ranges = negotiation.parse_accept("a/b, " * 1_000_000)
    assert len(ranges) == negotiation.MAX_RANGES


def test_the_registry_says_what_pyoxigraph_says() -> None:
    """Media type, extension and name come from pyoxigraph; every alias means what pyoxigraph reads it as
    (but text/n3, answered with Turtle, which every N3 reader reads)."""
    for fmt in FORMATS.values():
        assert fmt.ox is not None
        assert (fmt.media_type, fmt.extension, fmt.label) == (fmt.ox.media_type.split(";")[0], fmt.ox.file_extension,
                                                              fmt.ox.name)
        assert fmt.w3c == fmt.ox.iri or fmt.name == "jsonld"
    for fmt in GRAPHS:
        for alias in fmt.aliases:
            assert ox.RdfFormat.from_media_type(alias) == fmt.ox or alias == "text/n3", alias
    for fmt in RESULTS:
        for alias in fmt.aliases:
            assert ox.QueryResultsFormat.from_media_type(alias) == fmt.ox, alias
