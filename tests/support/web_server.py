"""Test helpers for the HTTP service: the real app on the session's build, served by uvicorn.

* :class:`LiveServer` runs ``uvicorn`` with an app in a thread, on a socket bound to a free
  port of 127.0.0.1 (never another interface), and stops it at exit.
* Fixtures (import them into a test module: ``from web_server import *  # noqa: F401,F403``):

  - ``web_settings`` -- the session's real build (the ``built`` fixture of ``conftest.py``, or
    the ``dist/`` named by ``CPBKG_TEST_DIST``) with a store of its own and test-sized limits;
  - ``web_store`` -- that store, opened read-only as ``cpbkg serve`` does;
  - ``web_pool`` -- one pool of query workers shared by the apps of the session;
  - ``web_app`` / ``client`` -- the app, and Starlette's TestClient on it through ASGI (quick cases),
    once per backend (``embedded``, ``remote``: a real ``oxigraph serve`` the build is published
    to; ``virtuoso``: a real ``virtuoso-t``, likewise; ``CPBKG_TEST_BACKENDS=embedded`` for the
    embedded one only);
  - ``live`` -- the same app behind a real uvicorn: base URL like ``http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from cpbkg.config import Settings
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import LoadedStore, open_store
from cpbkg.web.app import create_app

__all__ = ["BACKENDS", "LiveServer", "backend_of", "backends", "client", "live", "make_live", "web_app", "web_pool", "web_settings", "web_store"]


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app: object) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: one of each per test session, whichever module asks first: the fixtures below are imported
#: into several test modules, and pytest would otherwise make one set per module
_SHARED: dict[str, Any] = {}


def _shared(key: str, make: Callable[[], Any], stop: Callable[[Any], None] | None = None) -> Any:
    if key not in _SHARED:
        _SHARED[key] = make()
        if stop is not None:
            atexit.register(stop, _SHARED[key])
    return _SHARED[key]


@pytest.fixture(scope="session")
def web_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's build, a store of its own, limits small enough to test.

    ``CPBKG_TEST_DIST=/path/to/dist`` uses an existing build instead of building one (quick runs).
    """
    def make() -> Settings:
        dist = os.environ.get("CPBKG_TEST_DIST")
        built: Settings = Settings().with_(dist_dir=Path(dist)) if dist else request.getfixturevalue("built")
        return built.with_(store_path=tmp_path_factory.mktemp("web") / "store", query_timeout=5.0, result_cap=5000,
                           query_workers=2, max_body=64 * 1024)

    return _shared("settings", make)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def web_store(web_settings: Settings) -> LoadedStore:
    def make() -> LoadedStore:
        open_store(web_settings)  # load it once
        return open_store(web_settings, read_only=True)

    return _shared("store", make)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def web_pool(web_store: LoadedStore) -> QueryPool:
    # in memory, as `cpbkg serve` runs a store of this size (Settings.memory_store_triples);
    # the tests that make pools of their own query the store on disk
    return _shared("pool", lambda: QueryPool(web_store.path, size=2, in_memory=True).start(),  # type: ignore[no-any-return]
                   QueryPool.close)


#: the backends the API tests can run on; ``remote`` is Oxigraph's server
BACKENDS = ("embedded", "remote", "virtuoso")


def backends() -> list[str]:
    """The backends the API and page tests run on: ``CPBKG_TEST_BACKENDS`` (comma-separated, of
    :data:`BACKENDS`), default all of them (a remote one is skipped where its server is not
    installed, and an error in CI)."""
    chosen = [b.strip() for b in os.environ.get("CPBKG_TEST_BACKENDS", ",".join(BACKENDS)).split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BACKENDS))
    if unknown:
        raise ValueError(f"CPBKG_TEST_BACKENDS: unknown backend {', '.join(unknown)} (known: {', '.join(BACKENDS)})")
    return chosen or ["embedded"]


def backend_of(request: pytest.FixtureRequest) -> str:
    """The backend a test runs on (the ``web_app`` parameter; ``embedded`` for a test without it)."""
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.params.get("web_app", "embedded")) if callspec else "embedded"


def _require(executable: str | None, what: str, install: str) -> None:
    """Skip the test when a store's server is not installed; in CI (which installs it) fail instead."""
    if executable is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"{what} is missing in CI ({install})")
        pytest.skip(f"{what} is not installed ({install}): this backend is not tested")


def _remote_store(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An ``oxigraph serve`` on loopback, the session's build published to it, and the backend on it."""
    from support.oxigraph_server import OxigraphServer, oxigraph_executable

    from cpbkg.store.backend import open_remote
    from cpbkg.store.publish import publish
    from cpbkg.store.remote import RemoteStore, endpoints

    _require(oxigraph_executable(), "the `oxigraph` executable", "pip install -e '.[test]'")
    server = _shared("oxigraph", lambda: OxigraphServer(tmp_path_factory.mktemp("remote") / "oxigraph").start(),
                     OxigraphServer.stop)
    with RemoteStore.at(endpoints(server.url, "oxigraph"), timeout=60) as client:
        publish(settings.dist_dir, client)
    return open_remote(settings, server.url, kind="oxigraph")


def _virtuoso_store(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ``virtuoso-t`` on loopback (a throw-away database), the session's build published to it, and
    the backend on it."""
    import httpx
    from support.virtuoso_server import AUTH, VirtuosoServer, virtuoso_executable

    from cpbkg.store.backend import open_remote
    from cpbkg.store.publish import publish
    from cpbkg.store.remote import RemoteStore, endpoints

    _require(virtuoso_executable(), "virtuoso-t", ".ci/install --test installs virtuoso-opensource")
    server = _shared("virtuoso", lambda: VirtuosoServer(tmp_path_factory.mktemp("virtuoso") / "db").start(),
                     VirtuosoServer.stop)
    user, _, password = AUTH.partition(":")
    with RemoteStore.at(endpoints(server.url, "virtuoso", authenticated=True), auth=httpx.DigestAuth(user, password),
                        timeout=120) as client:
        publish(settings.dist_dir, client)
    return open_remote(settings, server.url, kind="virtuoso")


#: backend -> how its store is made (the embedded one is ``web_store``)
_REMOTES = {"remote": _remote_store, "virtuoso": _virtuoso_store}


@pytest.fixture(scope="session", params=backends())
def web_app(request: pytest.FixtureRequest, web_settings: Settings, web_store: LoadedStore, web_pool: QueryPool,
            tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app on each backend in turn: ``embedded`` (the pyoxigraph store) and ``remote`` (the same
    build published to a real Oxigraph server; :mod:`cpbkg.store.backend`), and ``virtuoso`` (published to
    a real Virtuoso), of those ``CPBKG_TEST_BACKENDS`` names. Tests that take ``client``, ``live`` or
    ``web_app`` run on each."""
    if request.param in _REMOTES:
        def make() -> Any:
            remote = _REMOTES[request.param](web_settings, tmp_path_factory)
            return create_app(web_settings, store=remote)

        return _shared(f"app-{request.param}", make)
    return _shared("app", lambda: create_app(web_settings, store=web_store, pool=web_pool))


@pytest.fixture()
def client(web_app: Any) -> Iterator[Any]:
    """Starlette's TestClient on the app (ASGI, no socket): for quick cases."""
    from fastapi.testclient import TestClient

    with TestClient(web_app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
def live(web_app: Any) -> str:
    """The app behind a real uvicorn on a free loopback port; the base URL (one per backend)."""
    server: LiveServer = _shared(f"live-{id(web_app)}", lambda: LiveServer(web_app).start(), LiveServer.stop)
    return server.url


def make_live(settings: Settings, store: LoadedStore, **pool_options: object) -> tuple[LiveServer, QueryPool]:
    """A second server with other settings (e.g. a 1 s timeout) and a pool of its own; caller stops both."""
    pool = QueryPool(store.path, size=int(pool_options.pop("size", 2)), **pool_options).start()  # type: ignore[arg-type]
    server = LiveServer(create_app(settings, store=store, pool=pool)).start()
    return server, pool


class Canary:
    """A loopback HTTP server that records every request: did the endpoint fetch anything?"""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b'<http://example.org/canary> <http://example.org/p> "canary" .\n'
                self.send_response(200)
                self.send_header("Content-Type", "application/n-triples")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/canary"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
