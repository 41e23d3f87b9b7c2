"""The named-query API ``/queries/`` over real HTTP on the session's build: the catalogue listing
(JSON, HTML), the SPARQL text, running a query with a bound parameter in JSON and CSV (checked
against pyoxigraph running the same file with the same binding), defaults, bad and unknown
parameters (400 naming them), unknown names (404), and the same negotiation, validators and
cache as ``/sparql``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from cpbkg.config import Settings
from cpbkg.sparql.catalogue import NamedQuery, load_catalogue
from cpbkg.store.embedded import LoadedStore

TARGET = "plan-elements-for-gbf-target"
BY_CODE = "plan-element-by-code"
GBF = "https://w3id.org/cpbkg/id/gbf/target/"


@pytest.fixture(scope="module")
def web(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def catalogue(web_settings: Settings) -> dict[str, NamedQuery]:
    return load_catalogue(web_settings.queries_dir)


def direct(store: LoadedStore, query: NamedQuery, values: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The rows pyoxigraph gives for the same file and binding, in process."""
    results = query.run(store.store, values)
    names = [v.value for v in results.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in results]


def rows_of(r: httpx.Response) -> list[dict[str, str]]:
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


def test_listing(web: httpx.Client, catalogue: dict[str, NamedQuery]) -> None:
    r = web.get("/queries/", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    entries = {e["name"]: e for e in r.json()["queries"]}
    assert set(entries) == set(catalogue)
    entry = entries[TARGET]
    q = catalogue[TARGET]
    assert entry["title"] == q.title and entry["description"] == q.description and entry["tags"] == q.tags
    assert entry["parameters"] == [{"name": "target", "description": "GBF target URI", "kind": "iri",
                                    "default": GBF + "17", "type": ["cpb:GBFTarget"],
                                    "accepts": "a code, a name or an IRI of a cpb:GBFTarget"}]
    # every query says what it does in Chinese too
    assert entry["title_zh"] == q.title_zh and entry["title_zh"] != entry["title"]
    assert all(e["title_zh"] and e["description_zh"] and e["title_zh"] != e["title"] for e in entries.values())
    assert entry["url"] == f"/queries/{TARGET}" and entry["sparql"] == f"/queries/{TARGET}.rq"
    code = entries[BY_CODE]["parameters"][0]
    assert code["kind"] == "literal" and code["default"] == "A.5"


def test_listing_html(web: httpx.Client, catalogue: dict[str, NamedQuery]) -> None:
    r = web.get("/queries/", headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("text/html")
    for name in catalogue:
        assert f'id="{name}"' in r.text
    assert web.get("/queries", follow_redirects=False).status_code == 301


def test_sparql_text(web: httpx.Client, catalogue: dict[str, NamedQuery]) -> None:
    r = web.get(f"/queries/{TARGET}.rq")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-query")
    assert r.text == catalogue[TARGET].text
    assert web.get("/queries/no-such-query.rq").status_code == 404


def test_run_with_a_bound_iri_parameter_json_and_csv(web: httpx.Client, web_store: LoadedStore,
                                                      catalogue: dict[str, NamedQuery]) -> None:
    q = catalogue[TARGET]
    for target in ("20", "21"):
        expected = direct(web_store, q, {"target": GBF + target})
        assert expected, f"no Plan element linked to GBF target {target} in the build"
        r = web.get(f"/queries/{TARGET}", params={"target": GBF + target}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        got = rows_of(r)
        assert sorted(map(sorted, (x.items() for x in got))) == sorted(map(sorted, (x.items() for x in expected)))
        assert {row["targetValue"] for row in got} == {GBF + target}
        c = web.get(f"/queries/{TARGET}", params={"target": f"<{GBF}{target}>", "format": "csv"})
        assert c.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(c.text)))
        assert len(table) == len(expected)
        assert {row["element"] for row in table} == {row["element"] for row in expected}


def test_run_with_defaults_and_a_literal_parameter(web: httpx.Client, web_store: LoadedStore,
                                                   catalogue: dict[str, NamedQuery]) -> None:
    default = rows_of(web.get(f"/queries/{TARGET}"))
    assert default and {row["targetValue"] for row in default} == {GBF + "17"}
    assert len(default) == len(direct(web_store, catalogue[TARGET]))
    rows = rows_of(web.get(f"/queries/{BY_CODE}", params={"code": "B.1"}))
    assert rows == direct(web_store, catalogue[BY_CODE], {"code": "B.1"})
    assert {row["element"].rsplit("/", 1)[-1] for row in rows} == {"B.1"}
    tsv = web.get(f"/queries/{BY_CODE}", params={"code": "B.1"}, headers={"Accept": "text/tab-separated-values"})
    assert len(tsv.text.rstrip("\n").split("\n")) == len(rows) + 1


def test_values_are_bound_not_pasted(web: httpx.Client) -> None:
    """An injection attempt is just a literal that matches nothing, or an IRI refused by kind."""
    r = web.get(f"/queries/{BY_CODE}", params={"code": '"A.5") } SELECT * { ?s ?p ?o } #'})
    assert r.status_code == 200 and rows_of(r) == []
    r = web.get(f"/queries/{TARGET}", params={"target": f"{GBF}17> . ?s ?p ?o . <x"})
    assert r.status_code == 400 and "'target'" in r.text and "absolute http(s) IRI" in r.text


def test_bad_parameters_are_400_naming_them(web: httpx.Client) -> None:
    r = web.get(f"/queries/{TARGET}", params={"target": "not an iri"})
    assert r.status_code == 400 and "BadParameter" in r.text and "'target'" in r.text
    r = web.get(f"/queries/{TARGET}", params={"tagret": GBF + "20"})
    assert r.status_code == 400 and "no parameter 'tagret'" in r.text and "target" in r.text
    r = web.get(f"/queries/{TARGET}", params=[("target", GBF + "20"), ("target", GBF + "21")])
    assert r.status_code == 400 and "more than once" in r.text
    r = web.get(f"/queries/{BY_CODE}", params={"code": "x" * 2000})
    assert r.status_code == 400 and "longer than" in r.text
    r = web.get(f"/queries/{BY_CODE}", params={"code": "a\nb"}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "BadParameter"


def test_unknown_query_is_404(web: httpx.Client) -> None:
    r = web.get("/queries/no-such-query")
    assert r.status_code == 404 and "/queries/" in r.text


def test_negotiation_validators_and_formats(web: httpx.Client) -> None:
    assert web.get(f"/queries/{TARGET}", params={"format": "ttl"}).status_code == 406
    assert web.get(f"/queries/{TARGET}", headers={"Accept": "image/png"}).status_code == 406
    xml = web.get(f"/queries/{TARGET}", params={"format": "xml"})
    assert xml.headers["content-type"] == "application/sparql-results+xml"
    r = web.get(f"/queries/{TARGET}", params={"target": GBF + "20"})
    etag = r.headers["etag"]
    assert web.get(f"/queries/{TARGET}", params={"target": GBF + "20"}, headers={"If-None-Match": etag}).status_code == 304
    other = web.get(f"/queries/{TARGET}", params={"target": GBF + "21"}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    html = web.get(f"/queries/{TARGET}", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<table>" in html.text


def test_every_catalogue_query_runs(web: httpx.Client, catalogue: dict[str, NamedQuery]) -> None:
    for name in catalogue:
        r = web.get(f"/queries/{name}", headers={"Accept": "application/sparql-results+json, text/turtle;q=0.9"})
        assert r.status_code == 200, (name, r.text)
