"""``/dumps/`` and ``/.well-known/void`` over real HTTP, on the session's build: the listing (JSON,
HTML) with sizes and checksums that match the files, downloads with their media type,
Content-Length, byte ranges, HEAD and validators, refusal of path traversal, and the VoID
description in each RDF format (parsed back); a dump per named graph, the ``dataset`` graph in the
whole dumps, a description that counts itself and lists every file; the CSV tables, their
byte-order-mark variants and CSVW metadata.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from cpbkg.config import Settings

VOID = "http://rdfs.org/ns/void#"
BASE = Settings().base_uri


@pytest.fixture(scope="module")
def web(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=30) as c:
        yield c


def test_listing_names_every_file_with_size_and_checksum(web: httpx.Client, web_settings: Settings) -> None:
    r = web.get("/dumps/", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    files = {f["name"]: f for f in doc["files"]}
    on_disk = {p.name: p for p in web_settings.dist_dir.iterdir() if p.is_file()}
    assert set(files) == set(on_disk)
    assert {"cpbkg.trig", "cpbkg.ttl", "cpbkg.nt.gz", "cpbkg.jsonld", "void.ttl", "release.json", "SHA256SUMS"} <= set(files)
    for name, path in on_disk.items():
        entry = files[name]
        assert entry["size"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["url"] == f"/dumps/{name}"
    assert files["cpbkg.trig"]["media_type"] == "application/trig"
    assert files["cpbkg.nt.gz"]["media_type"] == "application/gzip"
    assert "N-Triples" in files["cpbkg.nt.gz"]["format"]
    assert doc["triples"] > 1000 and doc["void"] == "/.well-known/void"


def test_listing_html_for_browsers(web: httpx.Client) -> None:
    r = web.get("/dumps/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.headers["content-type"].startswith("text/html")
    assert 'href="/dumps/cpbkg.trig"' in r.text and "SHA-256" in r.text
    assert web.get("/dumps/", params={"format": "json"}, headers={"Accept": "text/html"}).headers[
        "content-type"] == "application/json"
    assert web.get("/dumps/", headers={"Accept": "image/png"}).status_code == 406
    assert web.get("/dumps", follow_redirects=False).status_code == 301


@pytest.mark.parametrize("name, media", [
    ("cpbkg.trig", "application/trig"), ("cpbkg.ttl", "text/turtle; charset=utf-8"),
    ("cpbkg.nt.gz", "application/gzip"), ("cpbkg.jsonld", "application/ld+json"),
    ("void.ttl", "text/turtle; charset=utf-8"), ("release.json", "application/json"),
    ("SHA256SUMS", "text/plain; charset=utf-8"),
])
def test_download(web: httpx.Client, web_settings: Settings, name: str, media: str) -> None:
    path = web_settings.dist_dir / name
    r = web.get(f"/dumps/{name}", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == media
    assert int(r.headers["content-length"]) == path.stat().st_size
    assert "content-encoding" not in r.headers  # never re-compressed on the fly
    assert r.content == path.read_bytes()
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"] == f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"'


def test_dumps_parse(web: httpx.Client) -> None:
    trig = list(ox.parse(web.get("/dumps/cpbkg.trig").content, format=ox.RdfFormat.TRIG))
    nt = list(ox.parse(gzip.decompress(web.get("/dumps/cpbkg.nt.gz").content), format=ox.RdfFormat.N_TRIPLES))
    assert len(trig) > 1000 and len(nt) > 1000


def test_ranges(web: httpx.Client, web_settings: Settings) -> None:
    data = (web_settings.dist_dir / "cpbkg.trig").read_bytes()
    r = web.get("/dumps/cpbkg.trig", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert r.headers["content-length"] == "100" and r.content == data[100:200]
    r = web.get("/dumps/cpbkg.trig", headers={"Range": "bytes=-50"})
    assert r.status_code == 206 and r.content == data[-50:]
    r = web.get("/dumps/cpbkg.trig", headers={"Range": "bytes=0-9,20-29"})
    assert r.status_code == 206 and r.headers["content-type"].startswith("multipart/byteranges")
    assert data[:10] in r.content and data[20:30] in r.content
    r = web.get("/dumps/cpbkg.trig", headers={"Range": f"bytes={len(data) + 10}-"})
    assert r.status_code == 416
    # If-Range with the current validator gives the range, a stale one the whole file
    etag = web.head("/dumps/cpbkg.trig").headers["etag"]
    assert web.get("/dumps/cpbkg.trig", headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    assert web.get("/dumps/cpbkg.trig", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}).status_code == 200


def test_head_and_conditional(web: httpx.Client, web_settings: Settings) -> None:
    size = (web_settings.dist_dir / "cpbkg.ttl").stat().st_size
    r = web.head("/dumps/cpbkg.ttl")
    assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) == size
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert web.get("/dumps/cpbkg.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert web.get("/dumps/cpbkg.ttl", headers={"If-Modified-Since": modified}).status_code == 304
    assert web.get("/dumps/cpbkg.ttl", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("path", [
    "/dumps/..", "/dumps/%2e%2e", "/dumps/..%2fpyproject.toml", "/dumps/%2e%2e%2fpyproject.toml",
    "/dumps/.hidden", "/dumps/..%5cpyproject.toml", "/dumps/%2fetc%2fpasswd", "/dumps/nope.ttl",
    "/dumps/cpbkg.ttl%00.txt",
])
def test_path_traversal_is_refused(live: str, path: str) -> None:
    # http.client sends the path as written (httpx would normalise the dots away)
    host, port = live.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status in (404, 400), (path, r.status)
    assert b"[project]" not in body and b"root:" not in body


def test_symlink_out_of_dist_is_not_served(web: httpx.Client, web_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text("secret")
    link = web_settings.dist_dir / "link.txt"
    link.symlink_to(secret)
    try:
        assert web.get("/dumps/link.txt").status_code == 404
        names = {f["name"] for f in web.get("/dumps/", params={"format": "json"}).json()["files"]}
        assert "link.txt" not in names
    finally:
        link.unlink()


@pytest.mark.parametrize("accept, fmt", [
    ("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/ld+json", ox.RdfFormat.JSON_LD), ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    (None, ox.RdfFormat.TURTLE),
])
def test_void_is_negotiated(web: httpx.Client, accept: str | None, fmt: ox.RdfFormat) -> None:
    r = web.get("/.well-known/void", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == fmt.media_type
    quads = list(ox.parse(r.content, format=fmt))
    datasets = {q.subject for q in quads if q.predicate.value.endswith("#type") and q.object.value == VOID + "Dataset"}
    assert datasets and any(q.predicate.value == VOID + "triples" for q in quads)
    assert any(q.predicate.value == VOID + "dataDump" for q in quads)


def test_void_format_parameter_and_errors(web: httpx.Client) -> None:
    assert web.get("/.well-known/void", params={"format": "nt"}).headers["content-type"] == "application/n-triples"
    assert web.get("/void", params={"format": "jsonld"}).headers["content-type"] == "application/ld+json"
    assert web.get("/.well-known/void", params={"format": "csv"}).status_code == 406
    assert web.get("/.well-known/void", headers={"Accept": "application/sparql-results+json"}).status_code == 406
    r = web.get("/.well-known/void")
    assert web.get("/.well-known/void", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_a_file_response_sends_the_file_it_opened_even_if_replaced_and_deleted(tmp_path: Path) -> None:
    """What a new build does under a reader: dist/ swapped, the old files deleted, between routing
    and sending. The response sends the file it opened, whole, with the length it announced."""
    import anyio

    from cpbkg.web.routes.dumps import OpenFileResponse

    path = tmp_path / "release.json"
    path.write_bytes(b"old build " * 100)
    response = OpenFileResponse(path.open("rb"), path, media_type="application/json")
    path.unlink()
    path.write_bytes(b"new")  # another file under the same name
    sent: list[dict] = []

    requested = False

    async def receive() -> dict:
        nonlocal requested
        if requested:  # the client stays connected
            await anyio.sleep_forever()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/dumps/release.json", "headers": [], "query_string": b""}
    # in a thread of its own: the browser tests may leave an event loop running in this one
    worker = threading.Thread(target=anyio.run, args=(response, scope, receive, send))
    worker.start()
    worker.join(timeout=30)
    headers = dict(sent[0]["headers"])
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert sent[0]["status"] == 200 and headers[b"content-length"] == b"1000"
    assert body == b"old build " * 100
    assert response._file.closed


# --------------------------------------------------------------------------- whole graphs, the dataset graph


def graph_of(triples: Any) -> ox.Dataset:
    """Triples as a graph that compares equal to another parse of the same graph (blank nodes renamed)."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in set(triples))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def test_each_graph_has_a_dump_and_the_dataset_graph_is_in_the_whole_dumps(
        web: httpx.Client, web_store: Any, web_settings: Settings) -> None:
    """The union dumps hold what the store serves (the ``dataset`` graph, void.ttl, included), each
    named graph is a file of its own, and release.json counts them all."""
    release = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))
    store = web_store.store
    graphs = {g.value.rsplit("/", 1)[1] for g in store.named_graphs()}
    assert "dataset" in graphs and set(release["graphs"]) == graphs
    union = graph_of(q.triple for q in ox.parse(web.get("/dumps/cpbkg.ttl").content, format=ox.RdfFormat.TURTLE))
    assert union == graph_of(q.triple for q in store) and len(union) == release["triples"]
    for name in graphs:
        r = web.get(f"/dumps/graph-{name}.ttl")
        assert r.status_code == 200 and r.headers["content-type"] == "text/turtle; charset=utf-8"
        triples = graph_of(q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE))
        assert len(triples) == release["graphs"][name] > 0
        in_store = graph_of(q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(BASE + "graph/" + name)))
        assert triples == in_store, name
    void = graph_of(q.triple for q in ox.parse(web.get("/dumps/void.ttl").content, format=ox.RdfFormat.TURTLE))
    assert void == graph_of(q.triple for q in ox.parse(web.get("/dumps/graph-dataset.ttl").content,
                                                       format=ox.RdfFormat.TURTLE))


def test_the_description_counts_itself(web_store: Any, web_settings: Settings) -> None:
    """void:triples, each graph's size and each class partition include the description's own triples."""
    release = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))
    store = web_store.store
    dataset = f"<{BASE}graph/dataset>"

    def rows(query: str) -> dict[str, int]:
        return {r["k"].value: int(r["n"].value) for r in store.query(query)}

    described = rows(f"SELECT ?k ?n {{ GRAPH {dataset} {{ ?k <{VOID}triples> ?n }} }}")
    assert described[BASE + "dataset"] == release["triples"]
    assert described[BASE + "graph/dataset"] == release["graphs"]["dataset"]
    partitions = rows(f"SELECT ?k ?n {{ GRAPH {dataset} {{ ?p <{VOID}class> ?k ; <{VOID}entities> ?n }} }}")
    counted = rows("SELECT ?k (COUNT(DISTINCT ?x) AS ?n) { GRAPH ?g { ?x a ?k } FILTER(isIRI(?k)) } GROUP BY ?k")
    assert partitions == counted and "http://www.w3.org/ns/dcat#Distribution" in partitions


def test_void_lists_every_file_as_a_distribution_with_its_checksum(web: httpx.Client, web_settings: Settings) -> None:
    quads = list(ox.parse(web.get("/.well-known/void").content, format=ox.RdfFormat.TURTLE))
    dcat, spdx = "http://www.w3.org/ns/dcat#", "http://spdx.org/rdf/terms#"
    version = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))["version"]
    release = BASE + f"dumps/{version}/"  # each distribution is named by its release's stable address
    distributions = {q.subject.value for q in quads if q.predicate.value == dcat + "downloadURL"}
    files = {p.name for p in web_settings.dist_dir.iterdir() if p.is_file()}
    data = {n for n in files if n.endswith((".ttl", ".trig", ".gz", ".jsonld", ".csv"))} - {"void.ttl", "shacl-report.ttl"}
    assert {release + n for n in data} == distributions
    sums = {q.subject.value[:-len("#sha256")]: q.object.value for q in quads if q.predicate.value == spdx + "checksumValue"}
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in
                                                 (web_settings.dist_dir / "SHA256SUMS").read_text().splitlines())}
    for url, digest in sums.items():
        assert listed[url[len(release):]] == digest, url
    # a file that holds the description cannot hold its own checksum: those are in SHA256SUMS only
    for name in ("cpbkg.ttl", "cpbkg.nt.gz", "cpbkg.jsonld", "graph-dataset.ttl"):
        assert release + name in distributions and release + name not in sums
    plan = ox.NamedNode(BASE + "graph/plan")
    assert ox.NamedNode(release + "graph-plan.ttl") in {q.object for q in quads if q.subject == plan
                                                       and q.predicate.value == VOID + "dataDump"}
    # every distribution names its version and issue date, and where the current release's copy is
    trig = ox.NamedNode(release + "cpbkg.trig")
    about = {q.predicate.value: q.object.value for q in quads if q.subject == trig}
    built = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))["built"]
    assert about[dcat + "version"] == version
    assert datetime.fromisoformat(about["http://purl.org/dc/terms/issued"]) == datetime.fromisoformat(built)
    assert about["http://www.w3.org/2000/01/rdf-schema#seeAlso"] == BASE + "dumps/latest/cpbkg.trig"


def test_a_release_has_a_stable_address_and_latest_follows_the_current_one(web: httpx.Client,
                                                                            web_settings: Settings) -> None:
    version = json.loads((web_settings.dist_dir / "release.json").read_text(encoding="utf-8"))["version"]
    current = web.get("/dumps/cpbkg.trig")
    for folder in (version, "latest"):
        same = web.get(f"/dumps/{folder}/cpbkg.trig")
        assert same.status_code == 200 and same.content == current.content
        assert same.headers["etag"] == current.headers["etag"]
        assert web.get(f"/dumps/{folder}/cpbkg.trig", headers={"Range": "bytes=0-9"}).content == current.content[:10]
        listing = web.get(f"/dumps/{folder}/").json()
        assert listing["version"] == version and {f["name"] for f in listing["files"]} >= {"cpbkg.trig", "void.ttl"}
        assert web.get(f"/dumps/{folder}", follow_redirects=False).headers["location"] == f"/dumps/{folder}/"
        assert web.get(f"/dumps/{folder}/links.csv", params={"bom": "1"}).content.startswith(b"\xef\xbb\xbf")
    listing = web.get("/dumps/").json()
    assert listing["release"] == f"/dumps/{version}/" and listing["latest"] == "/dumps/latest/"
    assert {f["stable_url"] for f in listing["files"]} >= {f"/dumps/{version}/cpbkg.trig"}
    other = web.get("/dumps/0.0.0-not-this/cpbkg.trig")
    assert other.status_code == 404 and f"/dumps/{version}/" in other.text
    assert web.get(f"/dumps/{version}/..%2Fcpbkg.trig").status_code == 404
    page = web.get(f"/dumps/{version}/", headers={"Accept": "text/html", "Accept-Language": "zh"})
    assert "本版本的文件长期保留于" in page.text and "单独的命名图 plan" in page.text
    assert "执行计划的关联及其依据（CSV，UTF-8" in page.text  # a Chinese reader reads what each file is


# --------------------------------------------------------------------------- CSV for analysts

TABLE_COLUMNS = {
    "plan-elements": ["code", "level", "zh", "en", "parent", "iri"],
    "links": ["from", "to", "property", "basis", "source", "justification", "from_iri", "to_iri"],
    "goal-gbf-target-matrix": ["goal", "code", "label_en", *(f"t{n}" for n in range(1, 24))],
}


@pytest.mark.parametrize("table", sorted(TABLE_COLUMNS))
def test_csv_tables_with_a_byte_order_mark_on_request_and_their_csvw_metadata(web: httpx.Client, table: str) -> None:
    plain = web.get(f"/dumps/{table}.csv")
    assert plain.status_code == 200 and plain.headers["content-type"] == "text/csv; charset=utf-8"
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(plain.content.decode("utf-8"), newline=""), strict=True))
    assert rows[0] == TABLE_COLUMNS[table] and len(rows) > 10
    assert all(len(row) == len(rows[0]) for row in rows)
    for excel in (web.get(f"/dumps/{table}-excel.csv"), web.get(f"/dumps/{table}.csv", params={"bom": "1"})):
        assert excel.content == b"\xef\xbb\xbf" + plain.content
    meta = web.get(f"/dumps/{table}.csv-metadata.json").json()
    assert meta["@context"][0] == "http://www.w3.org/ns/csvw" and meta["url"] == f"{table}.csv"
    assert [c["name"] for c in meta["tableSchema"]["columns"]] == rows[0]
    if table == "plan-elements":
        by_code = {row[0]: row for row in rows[1:] if row[1] == "goal"}
        assert by_code["A.1"][2] == "缔约方建立了有效的国家生物安全框架" and by_code["A.1"][4] == "A"
        assert {row[1] for row in rows[1:]} == {"area", "goal", "objective", "indicator", "outcome"}
        assert len(rows) - 1 == 2 + 14 + 36 + 48 + 14
    if table == "links":
        assert {row[3] for row in rows[1:]} == {"ExplicitCitation", "OfficialMapping", "CuratedLink"}
        assert all(row[5] for row in rows[1:] if row[3] == "CuratedLink")
    if table == "goal-gbf-target-matrix":
        assert len(rows) - 1 == 14 and sum(int(v) for row in rows[1:] for v in row[3:]) > 0


@pytest.mark.parametrize("page, tables", [("/", ["plan-elements"]), ("/explore", ["links", "goal-gbf-target-matrix"])])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_that_shows_a_table_links_its_csv(web: httpx.Client, page: str, tables: list[str], lang: str) -> None:
    html = web.get(page, params={"lang": lang}, headers={"Accept": "text/html"}).text
    for table in tables:
        for file in (f"{table}.csv", f"{table}-excel.csv", f"{table}.csv-metadata.json"):
            assert f'href="/dumps/{file}"' in html, (page, file)
            assert web.head(f"/dumps/{file}").status_code == 200
    assert ("下载 CSV 表格" if lang == "zh" else "Download as CSV") in html
