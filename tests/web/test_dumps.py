"""``/dumps/`` and ``/.well-known/void`` over real HTTP, on the session's build: the listing (JSON,
HTML) with sizes and checksums that match the files, downloads with their media type,
Content-Length, byte ranges, HEAD and validators, refusal of path traversal, and the VoID
description in each RDF format (parsed back).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from cpbkg.config import Settings

VOID = "http://rdfs.org/ns/void#"


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
