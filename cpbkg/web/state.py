"""What a running server holds: the build it serves (:class:`ServingState`) and what lasts as long
as the app whichever build it serves (:class:`ProcessState`).

``app.state.serving`` is one :class:`ServingState`, frozen: the settings, the store
(a :class:`~cpbkg.store.protocol.ServedStore`, embedded or remote), the query service over it,
the cached service description and VoID, and the app's :class:`ProcessState` (the response
memo, the query slot and thread limits, caches of the app's own routes and named queries).
Nothing else is kept on ``app.state``, and only this module reads it: a route asks
:func:`serving`, the app's middleware :func:`pin` and :func:`state_of`, the operator's reload
:func:`current`.

A reload (``POST /admin/reload``, :mod:`cpbkg.web.routes.admin`) makes a complete new state with
:func:`serve`, puts it in place with one assignment (:func:`install`), then retires the old one
(:meth:`ServingState.retire`). Each request is pinned to one state: the app's
outermost middleware takes the current state when the request starts (:func:`pin`) and every
:func:`serving` of that request gives it back, so that a request is answered from the old build or
from the new one, never from both. The old state stops only once the requests pinned to it are done.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.requests import HTTPConnection
from starlette.types import Scope

from cpbkg.config import _cpus
from cpbkg.errors import StoreError
from cpbkg.sparql.catalogue import NamedQuery, load_catalogue
from cpbkg.sparql.service import QueryService
from cpbkg.web.admission import Admission
from cpbkg.web.memo import ResponseMemo

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from cpbkg.config import Settings
    from cpbkg.sparql.pool import QueryPool
    from cpbkg.store.protocol import ServedStore

log = logging.getLogger(__name__)

#: where a request's state is kept in its ASGI scope
SCOPE_KEY = "cpbkg.serving"


class _Bounded(dict[str, bool]):
    """A dict that forgets everything once it holds ``most`` entries (a cache keyed by something a
    request may name must not grow without bound)."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def __setitem__(self, key: str, value: bool) -> None:
        if len(self) >= self.most and key not in self:
            self.clear()
        super().__setitem__(key, value)


@dataclass(frozen=True, eq=False)
class ProcessState:
    """What lasts as long as the app, whichever build it serves (a reload keeps it)."""

    #: repeated requests answered with the bytes sent last time (:mod:`cpbkg.web.memo`)
    response_memo: ResponseMemo
    #: one slot per query worker, shared fairly between clients (:mod:`cpbkg.web.admission`: a
    #: share per client, a bounded queue, 429/503 with ``Retry-After``): a request waits for a slot
    #: on the event loop (cheaply, at most the timeout, then 503); then the loop sends its job and
    #: reads a small answer itself, and only a longer one, or a job that must wait for its worker,
    #: takes a thread (:meth:`cpbkg.sparql.pool.QueryPool.run_async`) -- no crowd of threads
    #: contending for the GIL while they wait
    query_slots: Admission
    #: the threads that read the workers' longer answers (a slot each, and two to spare)
    query_threads: anyio.CapacityLimiter
    #: pages and searches rendered at once (``Settings.page_threads``): the size the app gives the
    #: event loop's default thread limiter, which runs FastAPI's plain ``def`` routes (every page
    #: and search) -- the others wait on the loop, so ``/health`` and cached answers stay fast
    #: whatever the pages cost, with no crowd of threads contending for the GIL
    page_threads: int = field(default_factory=_cpus)
    #: which paths a route of this app answers (:meth:`cpbkg.web.routes.ui.View.serves`)
    routes_served: dict[str, bool] = field(default_factory=lambda: _Bounded(4096))
    #: set once the server is stopping (SIGTERM, :func:`start_draining`): /health answers 503 while
    #: the requests in flight finish, so that a load balancer sends no more here
    draining: threading.Event = field(default_factory=threading.Event)
    _catalogues: dict[Path, dict[str, NamedQuery]] = field(default_factory=dict, repr=False)

    @classmethod
    def sized(cls, workers: int, settings: Settings | None = None) -> ProcessState:
        """The state of an app whose queries run on ``workers`` workers (limits of ``settings``)."""
        if settings is None:
            return cls(ResponseMemo(), Admission(workers), anyio.CapacityLimiter(workers + 2))
        slots = Admission(workers, per_client=settings.client_queries, queue=settings.query_queue,
                          timeout=settings.query_timeout)
        return cls(ResponseMemo(), slots, anyio.CapacityLimiter(workers + 2),
                   settings.page_threads or _cpus())

    def catalogue(self, queries_dir: Path) -> dict[str, NamedQuery]:
        """The named queries in ``queries_dir``, read once (a broken file is a SourceError)."""
        found = self._catalogues.get(queries_dir)
        if found is None:
            found = self._catalogues[queries_dir] = load_catalogue(queries_dir)
        return found


class _Requests:
    """The requests pinned to one state, so that retiring it can wait for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # taken on the event loop for each request: never held long
        self._idle = threading.Condition(self._lock)
        self._count = 0
        self._closed = False

    def enter(self) -> bool:
        """Count one more request; False once the state is retiring (take the current one instead)."""
        with self._lock:
            if self._closed:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            if self._closed and not self._count:
                self._idle.notify_all()

    @property
    def count(self) -> int:
        return self._count

    def drain(self, timeout: float) -> bool:
        """Take no more requests, and wait (at most ``timeout`` s) until those taken are done."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            while self._count and deadline > time.monotonic():
                self._idle.wait(deadline - time.monotonic())
            return not self._count


@dataclass(frozen=True, eq=False)
class ServingState:
    """One build being served: everything a request reads of it. Made by :func:`serve`."""

    settings: Settings
    store: ServedStore
    #: checks, answer cache and query workers of ``/sparql`` and ``/queries/``
    query_service: QueryService
    process: ProcessState
    #: the app started this state's query workers, and stops them (else they are shared: tests)
    owns_pool: bool
    #: the service description of ``/sparql``, by (endpoint URL, format)
    sd_cache: dict[tuple[str, str], bytes] = field(default_factory=dict)
    #: ``/.well-known/void`` in the formats other than Turtle, by (file time, format)
    void_cache: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: _Requests = field(default_factory=_Requests, repr=False)

    @property
    def in_flight(self) -> int:
        """The requests being answered from this state now."""
        return self.requests.count

    @property
    def catalogue(self) -> dict[str, NamedQuery]:
        """The named queries (``settings.queries_dir``), read once per app."""
        return self.process.catalogue(self.settings.queries_dir)

    def close(self) -> None:
        """Stop the query workers if this app started them (the app shuts down); the store stays open."""
        if self.owns_pool:
            self.query_service.close()

    def retire(self) -> None:
        """Stop serving this state once another is installed (blocking: run it in a thread).

        Waits for the requests pinned to it (at most what one may take before its answer is
        made: its body, a wait for a query slot, its query), lets the query workers it started
        finish what they run, stops them, and lets go of the store (which the next load may then
        remove).
        """
        timeout = self.settings.query_timeout
        bound = self.settings.body_timeout + 2 * timeout + 5.0
        if not self.requests.drain(bound):
            log.warning("reload: requests on the old build still running after %g s", bound)
        if self.owns_pool and not self.query_service.pool.retire(timeout + 5.0):
            log.warning("reload: queries of the old build still running after the timeout were stopped")
        self.store.close()


def serve(settings: Settings, store: ServedStore, *, pool: QueryPool | None = None,
          process: ProcessState | None = None) -> ServingState:
    """The state that serves ``store``: a query service over it (on ``pool``, else on workers of its
    own), and ``process`` (a reload's: the app's; None: a new one sized to the query workers)."""
    # QueryService is typed with the embedded store and pool; it reads only what ServedStore and
    # QueryWorkers declare (and, when it makes workers of its own, the store's path)
    service = QueryService(settings, store, pool=pool or store.make_pool(settings))  # type: ignore[arg-type]
    return ServingState(settings, store, service, process or ProcessState.sized(service.pool.size, settings),
                        owns_pool=pool is None)


def start_draining(app: Starlette) -> None:
    """The server is stopping: report not-ready from now on (the requests in flight still finish)."""
    current(app).process.draining.set()


def current(app: Starlette) -> ServingState:
    """The state the app serves now (a request takes :func:`serving` instead)."""
    state: ServingState = app.state.serving
    return state


def install(app: Starlette, state: ServingState) -> ServingState | None:
    """Serve ``state`` from now on (one assignment); the state served until now, if any."""
    previous: ServingState | None = getattr(app.state, "serving", None)
    app.state.serving = state
    return previous


def pin(scope: Scope) -> ServingState:
    """Pin a request (its ASGI scope) to the state the app serves now, until :func:`unpin`."""
    state = current(scope["app"])
    while not state.requests.enter():  # retired between the read and now: a newer one is installed
        newer = current(scope["app"])
        if newer is state:
            raise StoreError("the build being served was stopped")
        state = newer
    scope[SCOPE_KEY] = state
    return state


def unpin(state: ServingState) -> None:
    """The request pinned to ``state`` is done."""
    state.requests.leave()


def serving(request: HTTPConnection) -> ServingState:
    """The state this request is served from: the same one for the whole request."""
    return state_of(request.scope)


def state_of(scope: Scope) -> ServingState:
    """:func:`serving` for a request's ASGI scope (middleware)."""
    state: ServingState | None = scope.get(SCOPE_KEY)
    if state is None:  # not through the app's middleware (a direct call): pinned from now on
        state = scope[SCOPE_KEY] = current(scope["app"])
    return state


def public_base(scope: Scope) -> str:
    """The base of the absolute links the server makes (no trailing slash): ``Settings.public_url``, else
    the address the server listens on -- never the request's ``Host`` (which the client writes)."""
    base = state_of(scope).settings.public_url.rstrip("/")
    if base:
        return base
    server = scope.get("server") or ("localhost", None)
    host, port = server[0], server[1]
    if ":" in host:
        host = f"[{host}]"
    scheme = scope.get("scheme", "http")
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")
