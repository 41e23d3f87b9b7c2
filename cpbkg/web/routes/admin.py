"""Operator actions over HTTP: ``POST /admin/reload`` serves the build now in ``dist/``.

Off by default. They exist only when ``Settings.admin_token`` (``CPBKG_ADMIN_TOKEN``) is set;
otherwise every ``/admin/...`` path answers 404, as any unknown page does. When on, a request
must carry ``Authorization: Bearer <token>``: none is a 401 (with ``WWW-Authenticate``), a
wrong one a 403; the token is compared in constant time and never logged. They are left out
of the OpenAPI description and CORS never allows them (CORS allows only GET and HEAD, and no
``Authorization`` header), so a web page cannot call them from a browser.

``POST /admin/reload`` (``?force=1`` to load again even the same build, e.g. after the store
was damaged):

1. reads ``dist/release.json``; if it names the build being served (and no ``force``), answers
   ``{"reloaded": false}``;
2. loads ``dist/cpbkg.trig`` into a new store directory (:func:`cpbkg.store.embedded.load`: atomic, the
   served store is not touched), opens it read-only and checks it;
3. starts a new pool of query workers on it and waits until every worker has opened it;
4. swaps store, query service (its own answer cache) and the cached service description in
   one step: requests that start afterwards see only the new build;
5. lets the old pool finish the queries it is running (up to the query timeout), then stops it
   and lets go of the old store, which the next load removes.

Any failure before step 4 leaves the server on the old build and answers 503 with the reason.
Only one reload runs at a time (a second one meanwhile is a 409). Remote backends
(``Settings.backend``) are switched by ``cpbkg publish``, not here (409).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from cpbkg.errors import Conflict, Forbidden, NotFound, StoreError, Unauthorized
from cpbkg.sparql.service import QueryService
from cpbkg.store.embedded import Release, _current_name, load, open_store

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

_RELOADING = threading.Lock()


def authorise(request: Request) -> None:
    """Let an operator request through, or raise 404 (actions off), 401 (no token) or 403 (wrong token)."""
    token: str = getattr(request.app.state.settings, "admin_token", "") or ""
    if not token:
        raise NotFound(f"no page {request.url.path}")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("this operator action needs the header Authorization: Bearer <admin token>")
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        log.warning("operator action %s refused: wrong token (from %s)", request.url.path,
                    request.client.host if request.client else "?")
        raise Forbidden("wrong admin token")


def reload_build(app: FastAPI, *, force: bool = False) -> dict[str, Any]:
    """Serve the build now in ``dist/`` (blocking: run it in a thread). See the module docstring.

    Raises:
        Conflict: a reload is already running, or the store is remote.
        StoreError: no build, or it could not be loaded or opened (the old build is still served).
    """
    if not _RELOADING.acquire(blocking=False):
        raise Conflict("a reload is already running")
    try:
        return _reload(app, force=force)
    finally:
        _RELOADING.release()


def _reload(app: FastAPI, *, force: bool) -> dict[str, Any]:
    state = app.state
    settings = state.settings
    old_store, old_service = state.store, state.query_service
    if getattr(old_store, "make_pool", None) is not None:
        raise Conflict("the server reads a remote store: switch it with `cpbkg publish`, not a reload")
    start = time.monotonic()
    release = Release.read(settings.dist_dir)
    previous = old_store.data_version
    if release.data_hash == old_store.release.data_hash and not force:
        return {"reloaded": False, "data_version": previous, "triples": release.triples,
                "message": "the server already serves this build"}
    name = release.data_hash[:16]
    root = settings.store_path
    if force or _current_name(root) != name or not (root / name).is_dir():
        load(settings, release)
    try:
        new_store = open_store(settings, read_only=True)
    except StoreError as exc:
        log.warning("reload: %s; loading it again", exc)
        load(settings, release)
        new_store = open_store(settings, read_only=True)
    service = QueryService(settings, new_store)
    try:
        service.pool.warm(max(60.0, settings.query_timeout))
    except BaseException:
        service.close()
        new_store.close()
        raise
    # the swap: each is one attribute assignment; requests read them when they need them
    owned_old_pool = getattr(state, "owns_pool", False)
    state.query_service = service
    state.store = new_store
    state.sd_cache = {}
    state.void_cache = {}
    state.owns_pool = True
    log.warning("reload: now serving build %s (%d triples) instead of %s", new_store.data_version,
                release.triples, previous)

    def retire() -> None:
        if owned_old_pool:
            drained = old_service.pool.retire(settings.query_timeout + 5.0)
            if not drained:
                log.warning("reload: queries of the old build still running after the timeout were stopped")
        close = getattr(old_store, "close", None)
        if close is not None:
            close()

    threading.Thread(target=retire, name="cpbkg-retire", daemon=True).start()
    return {"reloaded": True, "data_version": new_store.data_version, "previous": previous,
            "triples": release.triples, "built": release.built,
            "seconds": round(time.monotonic() - start, 3)}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@router.api_route("/admin/reload", methods=["GET", "HEAD", "POST"])
async def reload(request: Request) -> Response:
    """Serve the build now in dist/ (operators only; see the module docstring)."""
    import json

    try:
        authorise(request)
    except Unauthorized as exc:
        from cpbkg.web.app import error_response

        response = error_response(request, 401, str(exc), "Unauthorized")
        response.headers["WWW-Authenticate"] = 'Bearer realm="cpbkg-admin"'
        return response
    if request.method != "POST":
        return Response("use POST\n", status_code=405, headers={"Allow": "POST", "Cache-Control": "no-store"},
                        media_type="text/plain")
    result = await anyio.to_thread.run_sync(lambda: reload_build(request.app,
                                                                  force=_flag(request.query_params.get("force"))))
    return Response(json.dumps(result).encode("utf-8") + b"\n", media_type="application/json",
                    headers={"Cache-Control": "no-store"})
