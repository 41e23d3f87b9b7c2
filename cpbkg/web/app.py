"""The FastAPI application factory: one router per area, settings injected.

``create_app(settings, store=...)`` builds the app for one store. What every router can rely on:

* ``app.state.settings`` -- the :class:`~cpbkg.config.Settings`;
* ``app.state.store`` -- the :class:`~cpbkg.store.embedded.LoadedStore` (``.store`` a pyoxigraph Store,
  ``.data_version`` changing exactly when the data does);
* ``app.state.query_service`` -- the :class:`~cpbkg.sparql.service.QueryService` (worker pool and answer
  cache) that ``/sparql`` and ``/queries/`` share; its workers start with the first query and
  stop when the app shuts down.

Errors: every :class:`~cpbkg.errors.CpbkgError` becomes the status
:func:`cpbkg.errors.http_status` gives (the one mapping), with a ``text/plain`` message -- or
JSON ``{"error", "status", "detail"}`` for a client that prefers ``application/json``. No
traceback ever reaches a client; an unexpected exception is logged and answered 500.

Middleware: CORS for ``GET``/``HEAD`` from ``Settings.cors_origins`` (default any origin, never
with credentials), and gzip for answers over 1 kB except the files under ``/dumps/`` (their
``Content-Length`` and byte ranges must stay true).
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import json
import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from cpbkg import __version__
from cpbkg.config import Settings
from cpbkg.errors import CpbkgError, SourceError, http_status
from cpbkg.sparql.pool import QueryPool
from cpbkg.sparql.service import QueryService
from cpbkg.store.embedded import LoadedStore, open_store
from cpbkg.web.memo import FLAG as MEMO_FLAG
from cpbkg.web.memo import Recorder, ResponseMemo
from cpbkg.web.negotiation import wants
from cpbkg.web.routes.sparql import cached_answer

log = logging.getLogger(__name__)

DESCRIPTION = """The Cartagena Protocol Implementation Plan 2023-2030 (decision CP-10/3) as linked data.

* **SPARQL 1.1 endpoint** at `/sparql` (GET, POST form, POST `application/sparql-query`), read-only:
  updates, `LOAD` and `SERVICE` are refused; each query has a timeout and a result cap.
* **Named queries** at `/queries/` (the `queries/*.rq` catalogue) with bound parameters.
* **Dumps** at `/dumps/` with checksums; VoID at `/.well-known/void`.
* **Dereferenceable URIs** under `/id/`, the ontology at `/ontology`.
"""


class _GZipExceptDumps:
    """Starlette's GZipMiddleware for everything but the files under /dumps/ (ranges, Content-Length)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1000, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/dumps/") and path != "/dumps/":
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)


class _CachedQueries:
    """Answers a request seen before with the very bytes sent then (:mod:`cpbkg.web.memo`), and
    ``GET /sparql?query=...`` from the answer cache before routing (see ``sparql.cached_answer``).

    Requests with an ``Origin`` header go the normal way (CORS middleware); so does anything
    that is not a plain cache hit.
    """

    def __init__(self, app: ASGIApp, *, memo: ResponseMemo, cors: bool = False) -> None:
        self.app = app
        self.memo = memo
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
        state = scope["app"].state
        service = state.query_service  # who answered: a reload swaps it, and forgets what it answered
        seen = self.memo.get(key, service)
        if seen is not None:
            await seen.send(send)
            return
        recorder = Recorder(send)
        response = self._cached_answer(scope)
        if response is not None:  # from the answer cache: always kept
            await response(scope, receive, recorder)
        else:
            await self.app(scope, receive, recorder)
            if not scope.get(MEMO_FLAG):
                return
        entry = recorder.memorised(service)
        if entry is not None:
            self.memo.put(key, entry)

    def _cached_answer(self, scope: Scope) -> Response | None:
        """``GET /sparql?query=...`` answered from the answer cache, if it is there."""
        if scope["path"] != "/sparql" or not scope.get("query_string"):
            return None
        try:
            response = cached_answer(scope["app"].state, scope["query_string"], Headers(scope=scope))
        except Exception:  # noqa: BLE001 -- the normal route answers (and reports) it
            return None
        if response is not None and self.cors:
            response.headers["Vary"] = ", ".join([*response.headers.getlist("Vary"), "Origin"])
        return response


def error_response(request: Request, status: int, message: str, name: str) -> Response:
    """An error answer: plain text, or JSON for a client that prefers application/json."""
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    accept = request.headers.get("accept")
    if wants(accept, "application/json", over=["text/plain", "text/html"]):
        body = json.dumps({"error": name, "status": status, "detail": message}, ensure_ascii=False).encode("utf-8")
        return Response(body, status_code=status, headers={**headers, "Content-Type": "application/json"})
    return Response(f"{name}: {message}\n".encode(), status_code=status,
                    headers={**headers, "Content-Type": "text/plain; charset=utf-8"})


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


def create_app(settings: Settings | None = None, *, store: LoadedStore | None = None,
               pool: QueryPool | None = None) -> FastAPI:
    """Build the app for one store.

    Args:
        settings: where the build and store live, limits; defaults from the environment.
        store: an already opened store (tests, ``cpbkg serve``), or a
            :class:`cpbkg.store.backend.RemoteLoadedStore`; if None, ``settings.backend`` (a remote store)
            or else the embedded store of ``settings``.
        pool: query worker processes to share (tests); one of ``settings.query_workers`` if None.
    """
    settings = settings or Settings()
    if store is None and settings.backend.strip() not in ("", "embedded"):  # a remote SPARQL store (cpbkg.store.backend)
        from cpbkg.store.backend import open_backend

        store = open_backend(settings)  # type: ignore[assignment]
    store = store or open_store(settings)
    make_pool = getattr(store, "make_pool", None)  # a remote store brings its own "pool"
    service = QueryService(settings, store, pool=pool or (make_pool(settings) if make_pool else None))
    if pool is None:
        atexit.register(service.pool.close)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.pool.start()  # workers get ready while the server starts
        try:
            yield
        finally:
            current = app.state.query_service
            if current is not service:  # a reload (cpbkg.web.routes.admin) swapped in a service of the app's own
                current.close()
            if pool is None:
                service.close()

    app = FastAPI(title="CPB-KG", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=_operation_id,
                  # FastAPI's own /docs loads Swagger UI from a CDN; cpbkg.web.routes.ui serves a vendored copy
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = store
    app.state.query_service = service
    #: the app started (and stops) the query workers; a reload retires only pools it owns
    app.state.owns_pool = pool is None
    # one slot per query worker: a request waits for a slot on the event loop (cheaply, at most
    # the timeout, then 503), and only then takes a thread to talk to its worker -- no crowd of
    # threads contending for the GIL while they wait
    app.state.query_slots = anyio.CapacityLimiter(service.pool.size)
    app.state.query_threads = anyio.CapacityLimiter(service.pool.size + 2)
    app.state.sd_cache = {}
    app.state.void_cache = {}

    @app.exception_handler(CpbkgError)
    async def cpbkg_error(request: Request, exc: CpbkgError) -> Response:
        status = http_status(exc)
        if status >= 500 and type(exc) is CpbkgError:
            log.error("internal error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, status, str(exc), type(exc).__name__)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal error (logged on the server)", "InternalError")

    # routers are imported here so that each area stays in its own module
    from cpbkg.web.routes import admin, dumps, health, queries, resources, sparql, ui

    for module in (sparql, queries, dumps, resources, ui, health):
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
    #: on the state so that operators and tests can see what it holds
    app.state.response_memo = ResponseMemo()
    app.add_middleware(_CachedQueries, memo=app.state.response_memo,
                       cors=bool(settings.cors_origins.strip()))  # outermost: a repeated query is answered before anything else

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
            from cpbkg.sparql.catalogue import load_catalogue

            schema["paths"].update(queries.openapi_paths(load_catalogue(settings.queries_dir)))
        except SourceError as exc:
            log.warning("named queries left out of the OpenAPI description: %s", exc)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
