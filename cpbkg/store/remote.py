"""A small client for a remote SPARQL store.

It speaks three W3C protocols and nothing store-specific:

* SPARQL 1.1 Protocol, query: ``POST`` of ``query=`` (URL-encoded form) to the query endpoint;
* SPARQL 1.1 Protocol, update: ``POST`` of ``update=`` to the update endpoint;
* SPARQL 1.1 Graph Store HTTP Protocol, indirect graph identification:
  ``PUT`` / ``DELETE`` of ``{gsp}?graph={IRI}``.

Every call has a timeout; redirects are followed only to the same scheme, host and port
(never to another host, which would receive the credentials and the data); failures of any
kind are raised as :class:`RemoteStoreError` (exit code 2), naming the URL and, where the
store answered, its status and the start of its message.

Graph IRIs are placed in query and update text only after :func:`check_iri` accepted them
(absolute ``http``/``https`` IRIs without the characters SPARQL's ``IRIREF`` forbids), so no
text given by a user can change what a query does.

>>> ep = endpoints("http://127.0.0.1:7878/", "oxigraph")
>>> ep.query, ep.update, ep.gsp
('http://127.0.0.1:7878/query', 'http://127.0.0.1:7878/update', 'http://127.0.0.1:7878/store')
>>> endpoints("http://localhost:3030/cpbkg", "fuseki").gsp
'http://localhost:3030/cpbkg/data'
>>> check_iri("https://w3id.org/cpbkg/graph/plan")
'https://w3id.org/cpbkg/graph/plan'
>>> check_iri("https://example.org/g> } ; DROP ALL ; #")
Traceback (most recent call last):
...
cpbkg.store.remote.RemoteStoreError: not a safe absolute http(s) IRI: 'https://example.org/g> } ; DROP ALL ; #'
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from cpbkg import __version__
from cpbkg.errors import CpbkgError

__all__ = [
    "KINDS",
    "Endpoints",
    "RemoteStore",
    "RemoteStoreError",
    "check_iri",
    "check_url",
    "endpoints",
]

SPARQL_JSON = "application/sparql-results+json"
#: characters that may not appear inside a SPARQL IRIREF ``<...>`` (SPARQL 1.1 grammar, rule 139)
_IRI_FORBIDDEN = frozenset('<>"{}|^`\\')
_MAX_REDIRECTS = 5


class RemoteStoreError(CpbkgError):
    """A remote store could not be reached, refused a request, or holds other data than expected.

    ``url`` is the endpoint concerned, ``status`` the HTTP status when the store answered,
    ``graph`` the graph IRI concerned when there is one.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 graph: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.graph = graph


@dataclass(frozen=True)
class Endpoints:
    """The three URLs of a store: SPARQL query, SPARQL update, Graph Store Protocol."""

    query: str
    update: str | None = None
    gsp: str | None = None


#: kind -> paths below the ``--to`` URL (query, update, graph store); "" means the URL itself.
#: What each store's ``--to`` URL is: see docs/remote-stores.md.
KINDS: dict[str, tuple[str, str, str]] = {
    # http://host:7878 (oxigraph serve)
    "oxigraph": ("query", "update", "store"),
    # http://host:3030/{dataset} (fuseki-server --update)
    "fuseki": ("sparql", "update", "data"),
    # http://host:7200/repositories/{repository} (RDF4J REST API, as GraphDB serves it)
    "graphdb": ("", "statements", "rdf-graphs/service"),
    # http://host:8890 (anonymous; with credentials the -auth endpoints are used, see endpoints())
    "virtuoso": ("sparql", "sparql", "sparql-graph-crud"),
}


def check_url(url: str, what: str = "URL") -> str:
    """Return ``url`` if it is an absolute http(s) URL with a host, else raise :class:`RemoteStoreError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise RemoteStoreError(f"{what} must be an absolute http:// or https:// URL, not {url!r}", url=url)
    return url


def check_iri(iri: str) -> str:
    """Return ``iri`` if it is safe to write as ``<iri>`` in SPARQL text, else raise :class:`RemoteStoreError`.

    Safe means: an absolute ``http``/``https`` IRI with a host, and none of the characters
    SPARQL forbids in an IRI reference (``<>"{}|^`\\``, spaces and control characters).
    """
    parts = urlsplit(iri) if isinstance(iri, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c in _IRI_FORBIDDEN or ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in iri)
    ):
        raise RemoteStoreError(f"not a safe absolute http(s) IRI: {iri!r}")
    return iri


def endpoints(base: str, kind: str = "oxigraph", *, query: str | None = None, update: str | None = None,
              gsp: str | None = None, authenticated: bool = False) -> Endpoints:
    """The endpoints of a store of ``kind`` whose base URL is ``base``; explicit URLs win.

    ``authenticated`` picks Virtuoso's ``-auth`` endpoints (the anonymous ones cannot write).
    """
    check_url(base, "--to")
    if kind not in KINDS and kind != "generic":
        raise RemoteStoreError(f"unknown store kind {kind!r}; one of {', '.join([*KINDS, 'generic'])}")
    paths = KINDS.get(kind, ("", "", ""))
    if kind == "virtuoso" and authenticated:
        paths = ("sparql-auth", "sparql-auth", "sparql-graph-crud-auth")
    root = base.rstrip("/")

    def at(path: str) -> str:
        return root + "/" + path if path else root

    # generic: a store that serves everything at one URL (SPARQL query, update and GSP on the same path)
    defaults = (root, root, root) if kind == "generic" else (at(paths[0]), at(paths[1]), at(paths[2]))
    chosen = (query or defaults[0], update or defaults[1], gsp or defaults[2])
    for url, flag in zip(chosen, ("--query", "--update", "--gsp"), strict=True):
        check_url(url, flag)
    return Endpoints(*chosen)


def _snippet(text: str, limit: int = 300) -> str:
    """The start of a store's message, on one line, without control characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat[:limit] + ("..." if len(flat) > limit else "")


def _flag(exc: RemoteStoreError, **marks: object) -> RemoteStoreError:
    """``exc`` with attributes set (``timed_out``, ``too_large``, ``detail``) for callers that tell cases apart."""
    for name, value in marks.items():
        setattr(exc, name, value)
    return exc


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class RemoteStore:
    """A remote SPARQL store, reached over HTTP.

    Args:
        query_url: SPARQL query endpoint.
        update_url: SPARQL update endpoint (needed by :meth:`update`).
        gsp_url: Graph Store HTTP Protocol endpoint (needed by :meth:`put_graph`, :meth:`delete_graph`).
        auth: ``(user, password)`` for HTTP Basic authentication, or any ``httpx.Auth``
            (``httpx.DigestAuth`` for Virtuoso).
        token: a bearer token, sent as ``Authorization: Bearer ...`` (not with ``auth``).
        timeout: seconds for each call (connect at most 10 s of it).
        transport: an ``httpx`` transport, for tests.
    """

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        gsp_url: str | None = None,
        *,
        auth: tuple[str, str] | httpx.Auth | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if auth is not None and token is not None:
            raise RemoteStoreError("give either a user and password or a token, not both")
        self.query_url = check_url(query_url, "query endpoint")
        self.update_url = check_url(update_url, "update endpoint") if update_url else None
        self.gsp_url = check_url(gsp_url, "graph store endpoint") if gsp_url else None
        self.timeout = timeout
        headers = {"User-Agent": f"cpbkg/{__version__}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def at(cls, ep: Endpoints, **options: Any) -> RemoteStore:
        """A client for the endpoints ``ep`` (see :func:`endpoints`)."""
        return cls(ep.query, ep.update, ep.gsp, **options)

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteStore(query={self.query_url!r}, update={self.update_url!r}, gsp={self.gsp_url!r})"

    # -- SPARQL protocol ----------------------------------------------------------------------

    def query(self, text: str, accept: str = SPARQL_JSON) -> bytes:
        """Run a SPARQL query; the response body, in the ``accept`` format."""
        response = self._send("POST", self.query_url, "query", data={"query": text}, headers={"Accept": accept})
        return response.content

    def query_stream(self, text: str, accept: str = SPARQL_JSON, *, params: dict[str, list[str]] | None = None,
                     timeout: float | None = None, max_bytes: int = 64 << 20) -> tuple[str, bytes]:
        """Run a query; (media type, body) of the answer, read as a stream.

        ``params`` are more form fields (``default-graph-uri``, ``named-graph-uri``, repeatable);
        ``timeout`` is a deadline on the whole answer (not only between two reads), ``max_bytes``
        a ceiling on its size. Redirects are not followed (give the final URL). Raises
        :class:`RemoteStoreError` with ``timed_out`` or ``too_large`` set for those two cases,
        and ``detail`` holding the store's message when it answered with an error.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        data: dict[str, str | list[str]] = {"query": text, **(params or {})}
        url = self.query_url
        chunks: list[bytes] = []
        size = 0
        try:
            with self._client.stream("POST", url, data=data, headers={"Accept": accept},
                                     timeout=httpx.Timeout(limit, connect=min(limit, 10.0))) as response:
                if response.is_redirect:
                    raise RemoteStoreError(f"query: {url} redirects ({response.status_code}) to "
                                           f"{response.headers.get('Location')}; give the final URL instead",
                                           url=url, status=response.status_code)
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if response.status_code < 400 and size > max_bytes:
                        raise _flag(RemoteStoreError(f"{url}: the answer is over {max_bytes} bytes", url=url),
                                    too_large=True)
                    if time.monotonic() > deadline:
                        raise _flag(RemoteStoreError(f"query: {url} did not answer within {limit:g} s", url=url),
                                    timed_out=True)
                    if size <= max(max_bytes, 1 << 16):
                        chunks.append(chunk)
                body = b"".join(chunks)
                if response.status_code >= 400:
                    detail = body.decode("utf-8", "replace").strip()[:2000]
                    exc = RemoteStoreError(f"query: {url} answered {response.status_code} {response.reason_phrase}"
                                           + (f": {_snippet(detail)}" if detail else ""),
                                           url=url, status=response.status_code)
                    raise _flag(exc, detail=detail)
                return response.headers.get("content-type", ""), body
        except httpx.TimeoutException as exc:
            raise _flag(RemoteStoreError(f"query: {url} did not answer within {limit:g} s ({type(exc).__name__})",
                                         url=url), timed_out=True) from exc
        except httpx.ConnectError as exc:
            raise RemoteStoreError(f"query: cannot connect to {url} ({exc})", url=url) from exc
        except httpx.HTTPError as exc:
            raise RemoteStoreError(f"query: request to {url} failed ({type(exc).__name__}: {exc})", url=url) from exc

    def select(self, text: str) -> list[dict[str, str]]:
        """Run a SELECT query; rows as ``{variable: value}`` (unbound variables left out)."""
        body = self.query(text, SPARQL_JSON)
        try:
            bindings = json.loads(body)["results"]["bindings"]
            return [{k: v["value"] for k, v in row.items()} for row in bindings]
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteStoreError(
                f"{self.query_url}: not a SPARQL JSON result ({exc}): {_snippet(body.decode('utf-8', 'replace'))}",
                url=self.query_url) from exc

    def update(self, text: str) -> None:
        """Run a SPARQL update request (one request: one transaction in stores that have them)."""
        self._send("POST", self._need(self.update_url, "update"), "update", data={"update": text})

    def count(self, iri: str) -> int:
        """Number of triples in the named graph ``iri`` (0 if there is no such graph)."""
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{check_iri(iri)}> {{ ?s ?p ?o }} }}")
        try:
            return int(rows[0]["n"]) if rows else 0
        except (KeyError, ValueError) as exc:
            raise RemoteStoreError(f"{self.query_url}: unexpected COUNT result {rows!r}", url=self.query_url,
                                   graph=iri) from exc

    def graphs(self) -> dict[str, int]:
        """Every non-empty named graph of the store (IRIs only) and its number of triples."""
        rows = self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        out: dict[str, int] = {}
        for row in rows:
            if "g" in row and "n" in row:
                out[row["g"]] = int(row["n"])
        return out

    def graph_names(self, prefix: str | None = None) -> set[str]:
        """The IRIs of the non-empty named graphs, only those starting with ``prefix`` if given.

        ``prefix`` must pass :func:`check_iri` (so it holds no ``"`` or ``\\`` and is safe in a string literal).
        """
        where = "GRAPH ?g { ?s ?p ?o }"
        if prefix is not None:
            where += f' FILTER(STRSTARTS(STR(?g), "{check_iri(prefix)}"))'
        return {row["g"] for row in self.select(f"SELECT DISTINCT ?g WHERE {{ {where} }}") if "g" in row}

    def ping(self) -> None:
        """Raise :class:`RemoteStoreError` unless the query endpoint answers ``ASK {}``."""
        self.query("ASK {}", SPARQL_JSON)

    # -- Graph Store HTTP Protocol ------------------------------------------------------------

    def put_graph(self, iri: str, data: bytes, media: str = "application/n-triples") -> None:
        """Replace the named graph ``iri`` by ``data`` (GSP ``PUT``)."""
        url = self._need(self.gsp_url, "graph store")
        self._send("PUT", url, f"PUT of graph <{iri}>", params={"graph": check_iri(iri)}, content=data,
                   headers={"Content-Type": media}, graph=iri)

    def delete_graph(self, iri: str, *, missing_ok: bool = True) -> None:
        """Delete the named graph ``iri`` (GSP ``DELETE``); a missing graph is fine if ``missing_ok``."""
        url = self._need(self.gsp_url, "graph store")
        try:
            self._send("DELETE", url, f"DELETE of graph <{iri}>", params={"graph": check_iri(iri)}, graph=iri)
        except RemoteStoreError as exc:
            if not (missing_ok and exc.status == 404):
                raise

    # -- plumbing -----------------------------------------------------------------------------

    def _need(self, url: str | None, what: str) -> str:
        if url is None:
            raise RemoteStoreError(f"no {what} endpoint configured for this store")
        return url

    def _send(self, method: str, url: str, what: str, *, graph: str | None = None,
              **kwargs: Any) -> httpx.Response:
        """One request, following same-origin redirects only; every failure as RemoteStoreError."""
        target = httpx.URL(url)
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = self._client.request(method, target, **kwargs)
            except httpx.TimeoutException as exc:
                raise RemoteStoreError(
                    f"{what}: {target} did not answer within {self.timeout:g} s ({type(exc).__name__})",
                    url=str(target), graph=graph) from exc
            except httpx.ConnectError as exc:
                raise RemoteStoreError(f"{what}: cannot connect to {target} ({exc})", url=str(target),
                                       graph=graph) from exc
            except httpx.HTTPError as exc:
                raise RemoteStoreError(f"{what}: request to {target} failed ({type(exc).__name__}: {exc})",
                                       url=str(target), graph=graph) from exc
            if not response.is_redirect:
                break
            location = target.join(response.headers["Location"])
            same = _origin(location) == _origin(target)
            # 301/302/303 turn a POST or PUT into a GET in most clients: never follow those for writes
            keeps_method = response.status_code in (307, 308) or method in ("GET", "HEAD")
            if not (same and keeps_method):
                raise RemoteStoreError(
                    f"{what}: {target} redirects ({response.status_code}) to {location}; not followed "
                    f"({'another host' if not same else 'the method would change'}): give the final URL instead",
                    url=str(target), status=response.status_code, graph=graph)
            target = location
        else:
            raise RemoteStoreError(f"{what}: more than {_MAX_REDIRECTS} redirects from {url}", url=url, graph=graph)
        if response.status_code >= 400:
            detail = _snippet(response.text) if response.content else ""
            raise RemoteStoreError(
                f"{what}: {target} answered {response.status_code} {response.reason_phrase}"
                + (f": {detail}" if detail else ""),
                url=str(target), status=response.status_code, graph=graph)
        return response

