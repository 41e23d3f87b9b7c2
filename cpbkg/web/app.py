"""The FastAPI application factory: one router per area, settings injected.

``create_app(settings, store=...)`` builds the app for one store. What every router can rely on
is :func:`cpbkg.web.state.serving` (``serving(request)``): the :class:`~cpbkg.web.state.ServingState`
of the build that answers the request -- the :class:`~cpbkg.config.Settings`, the store (a
:class:`~cpbkg.store.protocol.ServedStore`: ``.store`` what the pages read, ``.data_version``
changing exactly when the data does), the :class:`~cpbkg.sparql.service.QueryService` (worker pool
and answer cache) that ``/sparql`` and ``/queries/`` share, whose workers start with the app and
stop when it shuts down, and the app's :class:`~cpbkg.web.state.ProcessState`. A reload
(:mod:`cpbkg.web.routes.admin`) swaps it whole; a request keeps the one it started with.

Errors: every :class:`~cpbkg.errors.CpbkgError` becomes the status
:func:`cpbkg.errors.http_status` gives (the one mapping), with a ``text/plain`` message -- or
JSON ``{"error", "status", "detail"}`` for a client that prefers ``application/json``; a 401 says
how to authenticate (``WWW-Authenticate``). No traceback ever reaches a client; an unexpected
exception is logged and answered 500.

Middleware, outermost first: :class:`_Guard` (size limits before any parsing -- 431, 414, long
file names 404 --, trusted hosts, the client of the request for fair admission, ``HEAD`` wherever
``GET`` is, and no ``Location`` on the request's own ``Host``: docs/security.md), the pin of the
request to one build, the response memo, gzip for answers over 1 kB except the files under
``/dumps/`` (their ``Content-Length`` and byte ranges must stay true), and CORS for
``GET``/``HEAD`` from ``Settings.cors_origins`` (default any origin, never with credentials).
A client gone while its body was read is one log line, not a traceback.
"""

from __future__ import annotations

import atexit
import gzip
import importlib
import importlib.util
import json
import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpbkg import __version__
from cpbkg.config import Settings
from cpbkg.errors import CpbkgError, SourceError, Unauthorized, http_status
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import open_store
from cpbkg.store.protocol import ServedStore
from cpbkg.web.admission import Proxies, enter_request, retry_after
from cpbkg.web.memo import FLAG as MEMO_FLAG
from cpbkg.web.memo import Recorder, ResponseMemo
from cpbkg.web.negotiation import wants
from cpbkg.web.routes.sparql import GZIP_MIN, DirectQuery, direct_query
from cpbkg.web.state import ServingState, current, install, pin, serve, serving, state_of, unpin

log = logging.getLogger(__name__)

DESCRIPTION = """The Cartagena Protocol Implementation Plan 2023-2030 (decision CP-10/3) as linked data.

* **SPARQL 1.1 endpoint** at `/sparql` (GET, POST form, POST `application/sparql-query`), read-only:
  updates, `LOAD` and `SERVICE` are refused; each query has a timeout and a result cap.
* **Named queries** at `/queries/` (the `queries/*.rq` catalogue) with bound parameters.
* **Dumps** at `/dumps/` with checksums; VoID at `/.well-known/void`.
* **Dereferenceable URIs** under `/id/`, the ontology at `/ontology`.
"""


def _as_gzip_would(response: Response, compress: bool) -> Response:
    """An error the direct path answers (it runs before :class:`_GZipExceptDumps`), compressed as
    that middleware would compress the route's: when the client accepts gzip and it is long."""
    if not compress or len(response.body) < GZIP_MIN:
        return response
    response.body = gzip.compress(response.body, compresslevel=6, mtime=0)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.body))
    response.headers["Vary"] = ", ".join([*response.headers.getlist("Vary"), "Accept-Encoding"])
    return response


class _GZipExceptDumps:
    """Starlette's GZipMiddleware for everything but the files under /dumps/ (ranges, Content-Length)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=GZIP_MIN, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/dumps/") and path != "/dumps/":
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


#: bytes of a path, and of one file name under /dumps/ and /static/ (the limits of common file systems)
MAX_PATH = 4096
MAX_NAME = 255
_FILE_TREES = ("/dumps/", "/static/")


def _plain(status: int, name: str, message: str) -> Response:
    return Response(f"{name}: {message}\n".encode(), status_code=status,
                    headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store",
                             "Connection": "close"})


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    for pattern in allowed:
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class _Guard:
    """The app's outer wall, before anything parses the request (issue 20, docs/security.md):

    * a header set over ``Settings.max_header_bytes`` is 431, a path and query string over
      ``max_url_bytes`` (or a path over :data:`MAX_PATH`) 414, a file name over :data:`MAX_NAME`
      under ``/dumps/`` or ``/static/`` 404; a ``Host`` outside ``trusted_hosts`` (when set) 400;
    * sets the client of the request (:func:`cpbkg.web.admission.enter_request`: ``X-Forwarded-For``
      only from ``trusted_proxies``);
    * ``HEAD`` wherever ``GET`` is: a HEAD no route takes is answered as the GET, without its body;
    * a ``Location`` never names the host the request said it was for: one on the request's own
      host is made relative, or put on ``Settings.public_url``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._settings: Settings | None = None
        self._proxies = Proxies()
        self._hosts: tuple[str, ...] = ()

    def _limits(self, settings: Settings) -> None:
        if settings is not self._settings:  # parsed once per build served
            self._proxies = Proxies.parse(settings.trusted_proxies)
            self._hosts = tuple(h.strip().lower() for h in settings.trusted_hosts.split(",") if h.strip())
            self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = current(scope["app"]).settings
        self._limits(settings)
        refusal = self._refusal(scope, settings)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        client = scope.get("client")
        enter_request(client[0] if client else "-", scope["headers"], self._proxies)
        head = scope["method"] == "HEAD" and self._head_as_get(scope)
        if head:
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, self._sender(scope, send, settings, head=head))

    def _refusal(self, scope: Scope, settings: Settings) -> Response | None:
        size = 0
        host = ""
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == b"host":
                host = value.decode("latin-1")
        if size > settings.max_header_bytes:
            return _plain(431, "HeadersTooLarge", f"the request's headers are {size} bytes; this server takes at "
                          f"most {settings.max_header_bytes}")
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if len(raw) + len(scope.get("query_string", b"")) > settings.max_url_bytes or len(raw) > MAX_PATH:
            return _plain(414, "URITooLong", f"the URL is over {min(settings.max_url_bytes, MAX_PATH)} bytes; "
                          "send a long query by POST")
        path: str = scope["path"]
        if path.startswith(_FILE_TREES) and any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME
                                                for part in path.split("/")):
            return _plain(404, "NotFound", f"no file with a name over {MAX_NAME} bytes")
        if self._hosts and not _host_allowed(host, self._hosts):
            return _plain(400, "InvalidHost", "this server does not answer for that Host")
        return None

    @staticmethod
    def _head_as_get(scope: Scope) -> bool:
        """True if no route takes this HEAD but one takes the GET of the same path."""
        routes = scope["app"].router.routes
        as_get = {**scope, "method": "GET"}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            return False
        return any(route.matches(as_get)[0] is Match.FULL for route in routes)

    @staticmethod
    def _sender(scope: Scope, send: Send, settings: Settings, *, head: bool) -> Send:
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        origins = {f"{s}://{host.decode('latin-1')}".lower() for s in ("http", "https")} if host else set()
        base = settings.public_url.rstrip("/")

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if any(k.lower() == b"location" for k, _ in headers):
                    message = {**message, "headers": [(k, _own_location(v, origins, base) if k.lower() == b"location"
                                                       else v) for k, v in headers]}
            elif head and message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        return sender


def _own_location(value: bytes, origins: set[str], base: str) -> bytes:
    """A Location on the request's own host, made relative (or put on the public base)."""
    text = value.decode("latin-1")
    parts = urlsplit(text)
    if not parts.scheme or f"{parts.scheme}://{parts.netloc}".lower() not in origins:
        return value
    local = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return (base + local).encode("latin-1")


class _OneBuild:
    """Pins each HTTP request to the build served when it starts (:func:`cpbkg.web.state.pin`):
    whatever a reload swaps in meanwhile, the request is answered from that one build."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = pin(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            unpin(state)


class _CachedQueries:
    """Answers a request seen before with the very bytes sent then (:mod:`cpbkg.web.memo`), and
    ``GET /sparql?query=...`` on the direct path, before routing (:func:`cpbkg.web.routes.sparql.direct_query`:
    read, negotiated and lexed once, then answered from the answer cache or a worker).

    Requests with an ``Origin`` header go the normal way (CORS middleware); so does anything
    the direct path does not take. Inside :class:`_OneBuild`: the request is pinned to its build.
    """

    def __init__(self, app: ASGIApp, *, cors: bool = False) -> None:
        self.app = app
        #: the CORS middleware adds ``Vary: Origin`` to what it passes: so must this shortcut
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        key = ResponseMemo.key(scope["method"], scope.get("raw_path") or scope["path"].encode(),
                               scope.get("query_string", b""), scope["headers"])
        if key is None:
            await self.app(scope, receive, send)
            return
        # the request's build answered: a reload swaps it, and the memo forgets what the old one answered
        state = state_of(scope)
        memo = state.process.response_memo
        seen = memo.get(key, state)
        if seen is not None:
            await seen.send(send)
            return
        recorder = Recorder(send)
        direct = self._direct(scope, state)
        if direct is None:
            await self.app(scope, receive, recorder)
            if not scope.get(MEMO_FLAG):
                return
        else:
            response = await self._respond(direct, scope, state, receive)
            await response(scope, receive, recorder)
            if not direct.prepared.cacheable:
                return
        entry = recorder.memorised(state)
        if entry is not None:
            memo.put(key, entry)

    @staticmethod
    def _direct(scope: Scope, state: ServingState) -> DirectQuery | None:
        """``GET /sparql?query=...`` as the direct path takes it, or None (the route answers)."""
        if scope["method"] != "GET" or scope["path"] != "/sparql" or not scope.get("query_string"):
            return None
        try:
            return direct_query(state, scope["query_string"], Headers(scope=scope))
        except Exception:  # the normal route answers (and reports) it
            log.exception("the direct path of /sparql failed on a request; the route answers it")
            return None

    async def _respond(self, direct: DirectQuery, scope: Scope, state: ServingState, receive: Receive) -> Response:
        try:
            response = await direct.respond(state, receive)
        except ClientDisconnect:  # nobody to answer, as the app's handler of it says
            log.info("client went away during GET /sparql")
            return Response(status_code=400)
        except CpbkgError as exc:
            response = _as_gzip_would(error_answer(Request(scope), exc), direct.compress)
        except Exception:
            response = _as_gzip_would(internal_error(Request(scope)), direct.compress)
        if self.cors:
            response.headers["Vary"] = ", ".join([*response.headers.getlist("Vary"), "Origin"])
        return response


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What ``cpbkg serve`` (and the tests' servers) give uvicorn besides the app and the socket.

    uvicorn's own reading of ``X-Forwarded-For``/``-Proto`` is off: it trusts 127.0.0.1 by default,
    and the app reads ``X-Forwarded-For`` itself, from ``Settings.trusted_proxies`` only (:class:`_Guard`).
    With the h11 parser a request head over ``max_header_bytes`` is refused by the parser itself;
    httptools (the default when installed) reads the head whole, and :class:`_Guard` answers 431.
    """
    return {"proxy_headers": False, "forwarded_allow_ips": "", "server_header": False,
            "h11_max_incomplete_event_size": settings.max_header_bytes + settings.max_url_bytes}


#: the challenge of a 401 (RFC 9110 §11.6.1): the operator's bearer token is the one credential taken
CHALLENGE = 'Bearer realm="cpbkg-admin"'


def error_response(request: Request, status: int, message: str, name: str) -> Response:
    """An error answer: plain text, or JSON for a client that prefers application/json."""
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    accept = request.headers.get("accept")
    if wants(accept, "application/json", over=["text/plain", "text/html"]):
        body = json.dumps({"error": name, "status": status, "detail": message}, ensure_ascii=False).encode("utf-8")
        return Response(body, status_code=status, headers={**headers, "Content-Type": "application/json"})
    return Response(f"{name}: {message}\n".encode(), status_code=status,
                    headers={**headers, "Content-Type": "text/plain; charset=utf-8"})


def internal_error(request: Request) -> Response:
    """The answer to an unexpected exception (being handled): logged with its traceback, a 500 without it."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "internal error (logged on the server)", "InternalError")


def error_answer(request: Request, exc: CpbkgError) -> Response:
    """The answer to a :class:`~cpbkg.errors.CpbkgError`: its status (:func:`cpbkg.errors.http_status`), a
    message (:func:`error_response`; the site's 404 page for a browser), and the headers its status calls for."""
    from cpbkg.web.routes.ui import browser_wants_page, not_found_page

    status = http_status(exc)
    if status >= 500 and type(exc) is CpbkgError:
        log.error("internal error on %s %s: %s", request.method, request.url.path, exc)
    if status == 404 and browser_wants_page(request):  # a browser: the same page, with the route's message
        return not_found_page(request, str(exc))
    response = error_response(request, status, str(exc), type(exc).__name__)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = CHALLENGE
    wait = retry_after(exc, serving(request).settings.query_timeout)
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    return response


def _optional_routers() -> list[Any]:
    """Routers of areas that may not exist yet (``cpbkg.web.routes.progress``)."""
    found = []
    for name in ("cpbkg.web.routes.progress",):
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name).router)
    return found


def _operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids named after the GET of GET+HEAD routes."""
    methods = route.methods or {"GET"}
    method = "get" if "GET" in methods else min(methods).lower()
    return re.sub(r"\W", "_", f"{route.name}{route.path_format}") + "_" + method


def create_app(settings: Settings | None = None, *, store: ServedStore | None = None,
               pool: QueryPool | None = None) -> FastAPI:
    """Build the app for one store.

    Args:
        settings: where the build and store live, limits; defaults from the environment.
        store: an already opened store (tests, ``cpbkg serve``): a
            :class:`cpbkg.store.embedded.LoadedStore` or a :class:`cpbkg.store.backend.RemoteLoadedStore`;
            if None, ``settings.backend`` (a remote store) or else the embedded store of ``settings``.
        pool: query worker processes to share (tests); one of ``settings.query_workers`` if None.
    """
    settings = settings or Settings()
    if store is None and settings.backend.strip() not in ("", "embedded"):  # a remote SPARQL store (cpbkg.store.backend)
        from cpbkg.store.backend import open_backend

        store = open_backend(settings)
    first = serve(settings, store or open_store(settings), pool=pool)
    if first.owns_pool:
        atexit.register(first.close)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current(app).query_service.pool.start()  # workers get ready while the server starts
        # plain-def routes (pages, searches) run on the default thread limiter: bounded (ProcessState)
        anyio.to_thread.current_default_thread_limiter().total_tokens = current(app).process.page_threads
        try:
            yield
        finally:
            # the one the app started with, and the one a reload (cpbkg.web.routes.admin) put in its place
            for state in {first, current(app)}:
                state.close()

    app = FastAPI(title="CPB-KG", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=_operation_id,
                  # FastAPI's own /docs loads Swagger UI from a CDN; cpbkg.web.routes.ui serves a vendored copy
                  docs_url=None, redoc_url=None)
    install(app, first)

    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from cpbkg.web.routes.ui import not_found_page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A path no route answers: the site's one 404 page (JSON when JSON is asked for)."""
        if exc.status_code == 404:
            return not_found_page(request)
        return await http_exception_handler(request, exc)

    @app.exception_handler(CpbkgError)
    async def cpbkg_error(request: Request, exc: CpbkgError) -> Response:
        return error_answer(request, exc)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # nobody to answer: one line, not a traceback
        log.info("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return internal_error(request)

    # routers are imported here so that each area stays in its own module
    from cpbkg.web.routes import admin, dumps, health, queries, resources, sparql, ui
    from cpbkg.web.routes import store as store_routes

    for module in (sparql, queries, dumps, store_routes, resources, ui, health):
        app.include_router(module.router)
    for router in _optional_routers():
        app.include_router(router)
    app.include_router(admin.router)  # operator actions: 404 unless Settings.admin_token is set

    if settings.cors_origins.strip():
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "HEAD"],
                           allow_credentials=False, allow_headers=["Accept", "Accept-Language", "If-None-Match"],
                           expose_headers=["ETag", "Last-Modified", "Content-Length", "Content-Location", "Link"],
                           max_age=600)
    app.add_middleware(_GZipExceptDumps)
    # a repeated query is answered before anything else, but from the build its request is pinned to
    app.add_middleware(_CachedQueries, cors=bool(settings.cors_origins.strip()))
    app.add_middleware(_OneBuild)
    app.add_middleware(_Guard)  # outermost: limits, Host, client, HEAD, Location

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        with warnings.catch_warnings():
            # a GET+HEAD route is one operation id for two methods; HEAD is dropped below
            warnings.filterwarnings("ignore", message="Duplicate Operation ID", category=UserWarning)
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
        for operations in schema.get("paths", {}).values():
            if "get" in operations:
                operations.pop("head", None)
        try:
            schema["paths"].update(queries.openapi_paths(current(app).catalogue))
        except SourceError as exc:
            log.warning("named queries left out of the OpenAPI description: %s", exc)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
