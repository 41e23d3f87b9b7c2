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
3. makes the complete new :class:`~cpbkg.web.state.ServingState`: a query service (its own
   answer cache) with a new pool of query workers on the store, waiting until every worker has
   opened it, and empty caches of the service description and VoID;
4. installs it in one assignment (:func:`cpbkg.web.state.install`): requests that start
   afterwards see only the new build, those already running only the old one;
5. retires the old state: once the requests on it are done, lets its pool finish the queries it
   is running (up to the query timeout), stops it and lets go of the old store, which the next
   load removes.

Any failure before step 4 leaves the server on the old build and answers 503 with the reason.
With ``cpbkg serve --processes N`` the other server processes are then told to follow
(:func:`follow_build`; the answer says so): each opens the build this reload loaded and swaps to it.
Only one reload runs at a time (a second one meanwhile is a 409). Remote backends
(``Settings.backend``) are switched by ``cpbkg publish``, not here (409).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from cpbkg.errors import Conflict, Forbidden, NotFound, Unauthorized
from cpbkg.store.embedded import LoadedStore, Release, open_new_build, open_store
from cpbkg.web.state import current, install, serve, serving
from cpbkg.web.supervisor import tell_others

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

_RELOADING = threading.Lock()


def authorise(request: Request) -> None:
    """Let an operator request through, or raise 404 (actions off), 401 (no token) or 403 (wrong token)."""
    token: str = serving(request).settings.admin_token or ""
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
    old = current(app)
    settings = old.settings
    if old.store.backend != "embedded":
        raise Conflict(f"the server reads a {old.store.backend} store: switch it with `cpbkg publish`, not a reload")
    start = time.monotonic()
    release = Release.read(settings.dist_dir)
    previous = old.store.data_version
    if release.data_hash == old.store.release.data_hash and not force:
        return {"reloaded": False, "data_version": previous, "triples": release.triples,
                "message": "the server already serves this build"}
    new_store = open_new_build(settings, release, force=force)
    _swap(app, new_store)
    result: dict[str, Any] = {"reloaded": True, "data_version": new_store.data_version, "previous": previous,
                              "triples": release.triples, "built": release.built,
                              "seconds": round(time.monotonic() - start, 3)}
    if tell_others():  # --processes: the supervisor tells the other server processes to follow
        result["other_processes"] = "told to follow (each logs when it serves the build)"
    return result


def follow_build(app: FastAPI) -> bool:
    """Serve the build another server process of the same supervisor has just loaded, or opened
    when it was started again after a crash (:mod:`cpbkg.web.supervisor`): the store's current
    build, opened (not loaded again), swapped in as a reload does -- unless this process serves
    that very store already (nothing to do). Waits for a reload of this process that is running.
    True if it swapped.

    Raises:
        StoreError: the store's current build cannot be opened (the old build is still served).
    """
    with _RELOADING:
        old = current(app)
        if isinstance(old.store, LoadedStore) and old.store.is_current():
            log.info("build %s: this process serves it already", old.store.data_version)
            return False
        new_store = open_store(old.settings, read_only=True)
        _swap(app, new_store)
        return True


def _swap(app: FastAPI, new_store: LoadedStore) -> None:
    """Serve ``new_store`` (steps 3-5 of the module docstring): a new state, warmed, installed; the
    old one retired once its requests are done."""
    old = current(app)
    settings = old.settings
    new = serve(settings, new_store, process=old.process)
    try:
        new.query_service.pool.warm(max(60.0, settings.query_timeout))
    except BaseException:
        new.close()
        new_store.close()
        raise
    install(app, new)  # the swap
    log.warning("reload: now serving build %s (%d triples) instead of %s", new_store.data_version,
                new_store.release.triples, old.store.data_version)
    threading.Thread(target=old.retire, name="cpbkg-retire", daemon=True).start()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@router.api_route("/admin/reload", methods=["GET", "HEAD", "POST"])
async def reload(request: Request) -> Response:
    """Serve the build now in dist/ (operators only; see the module docstring)."""
    authorise(request)  # a 401 carries the app's challenge (cpbkg.web.app)
    if request.method != "POST":
        return Response("use POST\n", status_code=405, headers={"Allow": "POST", "Cache-Control": "no-store"},
                        media_type="text/plain")
    result = await anyio.to_thread.run_sync(lambda: reload_build(request.app,
                                                                  force=_flag(request.query_params.get("force"))))
    return Response(json.dumps(result).encode("utf-8") + b"\n", media_type="application/json",
                    headers={"Cache-Control": "no-store"})
