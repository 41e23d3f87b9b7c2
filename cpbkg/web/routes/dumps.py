"""``/dumps/``: every file of the build's ``dist/`` to download, and the VoID description.

The files (:mod:`cpbkg.build.dist`): the whole graph (TriG with the parts' named graphs; Turtle,
N-Triples.gz and JSON-LD of the union), each named graph alone (``graph-{name}.ttl``), the CSV
tables for analysts (:mod:`cpbkg.build.tables`: each with an ``-excel.csv`` variant and CSVW
metadata), VoID, the SHACL report, the release record and the checksums.

* ``GET /dumps/`` lists the files with size, SHA-256 checksum (from ``SHA256SUMS``, computed
  for files it does not list) and format: JSON by default, a page of the site for a browser
  (``Accept: text/html``) or ``?format=html`` (:func:`cpbkg.web.routes.ui.dumps_page`, in the reader's
  language).
* ``GET /dumps/{file}`` downloads one file with its media type (by
  :func:`cpbkg.formats.file_type`; ``cpbkg.nt.gz`` is served as
  ``application/gzip``: the bytes are the gzip file, not N-Triples), ``Content-Length``,
  ``Accept-Ranges: bytes`` and single or multiple byte ranges (Starlette's ``FileResponse``,
  ``206``/``416``), ``HEAD``, a strong ``ETag`` (the file's SHA-256) and ``Last-Modified`` with
  ``304`` answers. Only plain files directly inside ``dist/`` are served: a name with a
  path separator, a leading dot or ``..`` is refused (404), and so is anything whose resolved
  path leaves ``dist/``.
* ``GET /dumps/{version}/`` and ``/dumps/{version}/{file}``: the same listing and files at the
  stable address of the release ``version`` (``release.json``'s; the VoID/DCAT description names
  each distribution by that address, with its version and issue date), and ``/dumps/latest/...``
  for whichever release is current. A server holds one release: another version is a 404 that
  names the one it has (a mirror keeps older releases by serving their ``dist/`` folders).
* ``GET /.well-known/void`` (and ``/void``) is ``dist/void.ttl`` (VoID + DCAT), negotiated:
  Turtle (default), N-Triples, JSON-LD, RDF/XML, TriG, N-Quads; ``?format=`` overrides.

Dumps are never gzipped on the fly (the middleware skips ``/dumps/{file}``): that would drop
``Content-Length`` and break ranges.

Everything here is read from ``dist/`` at each request, and describes the build found there
(its ``release.json``), not the build the store was loaded from: the two differ while a new
build is rolled out over replicas (``dist/`` swapped in, the replicas restarted one at a time,
docs/operations.md). So the listing's release, the stable addresses and VoID's ETag are those
of ``dist/``, and a file or a listing is returned only if ``release.json`` was the same before
and after it was read (:func:`of_one_build`): one ETag, one body, whichever replica answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TypeVar

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from cpbkg.build.tables import TABLES
from cpbkg.errors import NotFound, StoreError
from cpbkg.formats import FORMATS, GRAPHS, JSON, content_type, file_type
from cpbkg.store.protocol import Release
from cpbkg.web.i18n import STRINGS, t
from cpbkg.web.negotiation import LISTINGS, choose
from cpbkg.web.routes.sparql import CACHE_CONTROL, not_modified
from cpbkg.web.state import serving
from cpbkg.web.view import dumps_page, page_language

router = APIRouter(tags=["dumps"])

_T = TypeVar("_T")
#: reads of dist/ tried before a request gives up on a folder that keeps being swapped
_ATTEMPTS = 3


def of_one_build(dist: Path, read: Callable[[Release], _T],
                 discard: Callable[[_T], object] | None = None) -> tuple[Release, _T]:
    """``read(release)`` of ``dist`` and the release it read: ``release.json`` is read before (and given
    to ``read``) and after, and ``read`` again if a build was swapped in meanwhile (builds only move forward, so the same record
    on both sides means one build was read); ``discard`` is given what was read of a build swapped out.

    Raises:
        StoreError: no build in ``dist``, or one swapped in at every attempt.
    """
    for _ in range(_ATTEMPTS):
        before = Release.read(dist)
        try:
            value = read(before)
        except (FileNotFoundError, NotFound):
            if Release.read(dist) == before:
                raise
            continue  # the folder it read was swapped out and removed meanwhile
        if Release.read(dist) == before:
            return before, value
        if discard is not None:
            discard(value)
    raise StoreError(f"{dist}: a new build was swapped in at each of {_ATTEMPTS} reads; try again")


def describe_file(name: str, lang: str = "en") -> str:
    """What a file of ``dist/`` holds, for the listing, in ``lang`` (the interface strings ``dump_*``)."""
    if f"dump_{name}" in STRINGS:
        return t(f"dump_{name}", lang)
    if name.startswith("graph-") and name.endswith(".ttl"):
        return t("dump_graph", lang, name=name[len("graph-"):-len(".ttl")])
    for table in TABLES:
        title = table.title_in(lang)
        if name == table.file:
            return t("dump_table", lang, title=title, excel=table.excel)
        if name == table.excel:
            return t("dump_table_excel", lang, title=title)
        if name == table.metadata:
            return t("dump_table_metadata", lang, file=table.file)
    return ""


class _Checksums:
    """SHA-256 of the dist/ files: from SHA256SUMS when it lists them, else computed once per (mtime, size)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def of(self, path: Path, listed: dict[str, str]) -> str:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._known.get(key)
        if found is None:
            sums_mtime = (path.parent / "SHA256SUMS").stat().st_mtime_ns if (path.parent / "SHA256SUMS").is_file() else 0
            if path.name in listed and sums_mtime >= stat.st_mtime_ns:
                found = listed[path.name]
            else:
                digest = hashlib.sha256()
                with path.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                found = digest.hexdigest()
            with self._lock:
                self._known[key] = found
        return found


_CHECKSUMS = _Checksums()


def _listed(dist: Path) -> dict[str, str]:
    try:
        text = (dist / "SHA256SUMS").read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name:
            out[name.strip().lstrip("*")] = digest
    return out


def dist_files(dist: Path, version: str) -> list[dict[str, object]]:
    """Every plain file of dist/, by name: name, size, sha256, media type, format, url (the current
    release's) and stable_url (the release ``version``'s, which stays)."""
    if not dist.is_dir():
        raise StoreError(f"{dist}: no build to list; run `cpbkg build`")
    listed = _listed(dist)
    root = dist.resolve()
    files = []
    for path in sorted(dist.iterdir(), key=lambda p: p.name):
        if not path.is_file() or path.name.startswith(".") or path.resolve().parent != root:
            continue
        media, label = file_type(path.name)
        files.append({
            "name": path.name,
            "url": "/dumps/" + path.name,
            "stable_url": f"/dumps/{version}/{path.name}",
            "size": path.stat().st_size,
            "sha256": _CHECKSUMS.of(path, listed),
            "media_type": media,
            "format": label,
            "description": describe_file(path.name),
            "description_zh": describe_file(path.name, "zh"),
        })
    return files


def _safe_file(dist: Path, name: str) -> Path:
    """The file ``name`` directly inside ``dist``, or NotFound (never anything outside it)."""
    if (not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name
            or "\x00" in name):
        raise NotFound(f"no file {name!r} in the dumps")
    root = dist.resolve()
    path = (dist / name).resolve()
    if path.parent != root or not path.is_file():
        raise NotFound(f"no file {name!r} in the dumps; see /dumps/")
    return path


@router.api_route("/dumps", methods=["GET", "HEAD"], include_in_schema=False)
def dumps_redirect() -> RedirectResponse:
    return RedirectResponse("/dumps/", status_code=301)


@router.api_route("/dumps/", methods=["GET", "HEAD"], summary="List the downloadable files",
                  responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def dumps_listing(
    request: Request,
    format: Annotated[str | None, Query(description="json or html, overriding Accept")] = None,
) -> Response:
    """Every file of the build (dumps in TriG, Turtle, N-Triples.gz, JSON-LD; VoID; SHACL report;
    release record; checksums) with its size, SHA-256 and format."""
    dist = serving(request).settings.dist_dir
    kind = choose(request.headers.get("accept"), [format] if format is not None else [], LISTINGS,
                  what="the listing of the dumps is JSON or a page")
    release, files = of_one_build(dist, lambda found: dist_files(dist, found.version))
    variant = kind if kind == "json" else f"html-{page_language(request)}"  # the page is in the reader's language
    listed = hashlib.sha1(json.dumps(files, sort_keys=True).encode()).hexdigest()[:20]
    etag = f'W/"{release.data_version}-{listed}-{variant}"'
    headers = {"Vary": "Accept" if format else "Accept, Accept-Language", "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    if kind == "json":
        doc = {"version": release.version, "built": release.built, "data_hash": release.data_hash,
               "triples": release.triples, "void": "/.well-known/void",
               "release": f"/dumps/{release.version}/", "latest": f"/dumps/{LATEST}/", "files": files}
        return Response(json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"),
                        headers={**headers, "Content-Type": JSON.content_type})
    return dumps_page(request, files, headers=headers)


LATEST = "latest"


def _release_folder(request: Request, version: str) -> None:
    """Nothing if ``version`` is the release in ``dist/`` or ``latest``, else a 404 naming the release it has."""
    current = Release.read(serving(request).settings.dist_dir).version
    if version not in (LATEST, current):
        raise NotFound(f"this server holds release {current} only: see /dumps/{current}/ (also /dumps/{LATEST}/)")


@router.api_route("/dumps/{version}/", methods=["GET", "HEAD"], summary="List the files of one release",
                  responses={200: {"content": {"application/json": {}, "text/html": {}}},
                             404: {"description": "not the release this server holds"}})
def release_listing(
    request: Request, version: str,
    format: Annotated[str | None, Query(description="json or html, overriding Accept")] = None,
) -> Response:
    """The listing of ``/dumps/`` at the release's stable address (``version`` or ``latest``)."""
    _release_folder(request, version)
    return dumps_listing(request, format)


@router.api_route("/dumps/{version}/{name}", methods=["GET", "HEAD"], summary="Download one file of one release",
                  responses={200: {"description": "the file"}, 206: {"description": "a byte range of it"},
                             304: {"description": "not modified"},
                             404: {"description": "no such file, or not the release this server holds"},
                             416: {"description": "range not satisfiable"}},
                  response_class=FileResponse)
def release_file(request: Request, version: str, name: str,
                 bom: Annotated[str | None, Query(description="1: a CSV table with a UTF-8 byte-order mark (Excel)")]
                 = None) -> Response:
    """One file at the release's stable address: the same bytes and headers as ``/dumps/{name}``."""
    _release_folder(request, version)
    return dumps_file(request, name, bom)


@router.api_route("/dumps/{name}", methods=["GET", "HEAD"], summary="Download one file",
                  responses={200: {"description": "the file"}, 206: {"description": "a byte range of it"},
                             304: {"description": "not modified"}, 404: {"description": "no such file"},
                             416: {"description": "range not satisfiable"}},
                  response_class=FileResponse)
def dumps_file(request: Request, name: str,
               bom: Annotated[str | None, Query(description="1: a CSV table with a UTF-8 byte-order mark (Excel)")]
               = None) -> Response:
    """One file of the build, with Content-Length, byte ranges (``Range``), ETag and Last-Modified.
    ``?bom=1`` on a CSV table gives its ``-excel.csv`` variant (the same bytes after a byte-order mark)."""
    dist: Path = serving(request).settings.dist_dir
    if name in (LATEST, Release.read(dist).version):
        return RedirectResponse(f"/dumps/{name}/", status_code=301)  # a release's folder, without its slash
    if bom in ("1", "true", "yes") and name.endswith(".csv") and not name.endswith("-excel.csv"):
        name = name.removesuffix(".csv") + "-excel.csv"
    path, file, digest = _open_file(dist, name)
    media, _ = file_type(path.name)
    try:
        response = OpenFileResponse(file, path, headers={"ETag": f'"{digest}"', "Cache-Control": "public, max-age=300"},
                                    media_type=content_type(media))
    except BaseException:
        file.close()
        raise
    if not_modified(request, f'"{digest}"', response.headers.get("last-modified")):
        file.close()
        return Response(status_code=304, headers={"ETag": f'"{digest}"',
                                                  "Last-Modified": response.headers["last-modified"]})
    return response


def _open_file(dist: Path, name: str) -> tuple[Path, BinaryIO, str]:
    """The file ``name`` of ``dist``, opened (its bytes stay those of one build: :class:`OpenFileResponse`),
    and its SHA-256, both of one build."""
    def opened(_: Release) -> tuple[Path, BinaryIO, str]:
        path = _safe_file(dist, name)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"no file {name} in this build") from None
        try:
            return path, file, _CHECKSUMS.of(path, _listed(dist))
        except BaseException:
            file.close()
            raise

    return of_one_build(dist, opened, discard=lambda found: found[1].close())[1]


class OpenFileResponse(FileResponse):
    """A :class:`FileResponse` of a file opened when the request was routed.

    A new build swaps ``dist/`` in and deletes the old one at any moment; a response that
    opened the file by name only when sending could find another file (another length than
    its Content-Length said) or none, and drop the connection (seen in
    ``test_a_new_build_swaps_in_atomically_under_readers``). The open file is the old build's
    until it is sent whole.
    """

    def __init__(self, file: BinaryIO, path: Path, **options: Any) -> None:
        self._file = file
        super().__init__(path, stat_result=os.fstat(file.fileno()), **options)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        # Starlette's FileResponse reads through this (1.x); the file is closed in __call__
        yield anyio.wrap_file(self._file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "extensions": {k: v for k, v in scope.get("extensions", {}).items()
                                         if k != "http.response.pathsend"}}  # pathsend would reopen by name
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._file.close()


# --------------------------------------------------------------------------- VoID

VOID_FILE = "void.ttl"


def _void_body(request: Request) -> tuple[Release, bytes]:
    """The release in ``dist/`` and its ``void.ttl``, read together (:func:`of_one_build`)."""
    dist = serving(request).settings.dist_dir
    return of_one_build(dist, lambda _: _safe_file(dist, VOID_FILE).read_bytes())


def _void_in(request: Request, release: Release, turtle: bytes, fmt: str) -> bytes:
    """VoID in the format ``fmt``: the Turtle of ``dist/`` as it is, the others converted once per build."""
    if fmt == "ttl":
        return turtle
    cache = serving(request).void_cache
    key = (release.data_version, fmt)
    body = cache.get(key)
    if body is None:
        quads = list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))
        body = ox.serialize(quads, format=FORMATS[fmt].ox) or b""  # type: ignore[arg-type]
        if len(cache) > 32:
            cache.clear()
        cache[key] = body
    return body


@router.api_route("/.well-known/void", methods=["GET", "HEAD"], summary="VoID description of the dataset",
                  responses={200: {"content": {FORMATS[n].media_type: {} for n in ("ttl", "nt", "jsonld", "rdfxml")}},
                             406: {"description": "no acceptable RDF format"}})
def void(
    request: Request,
    format: Annotated[str | None, Query(description="ttl, nt, jsonld, rdfxml, trig or nq, overriding Accept")] = None,
) -> Response:
    """The VoID + DCAT description of the dataset (``dist/void.ttl``): triples, classes, named graphs,
    distributions with sizes and checksums, licence, SPARQL endpoint."""
    fmt = choose(request.headers.get("accept"), [format] if format is not None else [], GRAPHS, what="VoID is RDF")
    release, turtle = _void_body(request)
    etag = f'W/"{release.data_version}-void-{fmt}"'  # of the build the bytes are from, not the store's
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    body = _void_in(request, release, turtle, fmt)
    return Response(body, headers={**headers, "Content-Type": FORMATS[fmt].content_type})


@router.api_route("/void", methods=["GET", "HEAD"], include_in_schema=False)
def void_alias(request: Request, format: str | None = None) -> Response:
    return void(request, format)
