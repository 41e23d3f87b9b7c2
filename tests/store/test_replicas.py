"""``cpbkg serve`` as N replicas of one build: real processes, a real nginx in front (issue 19).

* replicas started at the same moment on one ``dist/`` and one store path all come up (the store's
  loader lock: :mod:`cpbkg.store.embedded`), and answer alike (data version, ETags, answers);
* SIGTERM drains: ``/health`` says 503 "draining" while a request in flight finishes, then exit 0;
* behind Debian's nginx (:func:`support.replicas.nginx_conf`, the configuration docs/operations.md
  shows), mixed load goes on while one replica is stopped with SIGTERM and started again, and then
  the other's query workers are killed: no request fails, and a conditional GET answered by one
  replica revalidates (304) on the other.

Every server listens on 127.0.0.1 and is stopped by the test, also when it fails.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.replicas import Nginx, Replica, nginx_executable, servable_dist
from support.web_server import web_settings  # noqa: F401  (fixture)

from cpbkg.config import Settings

pytestmark = pytest.mark.slow

REPLICAS = 3
ROUNDS = 5
PAGE = "/id/treaty/cpb"
QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
NAMED = "/queries/class-instance-counts"


@pytest.fixture(scope="module")
def dist(web_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    return servable_dist(web_settings.dist_dir, tmp_path_factory.mktemp("replicas") / "dist")


@contextlib.contextmanager
def replicas(dist: Path, store: Path, logs: Path, n: int, *, workers: int = 1, extra: tuple[str, ...] = (),
             env: dict[str, str] | None = None) -> Iterator[list[Replica]]:
    """``n`` replicas launched at once on ``dist``/``store``, all ready; every one stopped after."""
    logs.mkdir(parents=True, exist_ok=True)
    started = [Replica(dist, store, logs / f"replica-{i}.log", workers=workers, extra=extra, env=env)
               for i in range(n)]
    try:
        for r in started:
            r.launch()
        for r in started:
            r.wait_ready()
        yield started
    finally:
        for r in started:
            r.stop()


def _fingerprint(url: str) -> tuple[str, str, str, str]:
    """What must be the same on every replica: data version, a page's ETag and bytes, a query's answer."""
    with httpx.Client(base_url=url, timeout=60) as c:
        health = c.get("/health").json()
        page = c.get(PAGE, headers={"Accept": "text/turtle"})
        assert page.status_code == 200
        answer = c.get("/sparql", params={"query": QUERY}, headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200
        named = c.get(NAMED, headers={"Accept": "text/csv"})
        assert named.status_code == 200
    return health["data_version"], page.headers["etag"], page.text + answer.text, named.text


def test_replicas_started_together_all_come_up_and_answer_alike(dist: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    seen: set[tuple[str, str, str, str]] = set()
    for round_ in range(ROUNDS):
        if round_ % 2 == 0:  # rounds 0, 2, 4: an empty store (all race to load); 1, 3: loaded (all race to open)
            shutil.rmtree(store, ignore_errors=True)
        with replicas(dist, store, tmp_path / f"round-{round_}", REPLICAS) as running:
            prints = {_fingerprint(r.url) for r in running}
            assert len(prints) == 1, f"round {round_}: replicas answer differently"
            seen |= prints
            versions = {d for d, *_ in prints}
            loaded = [p.name for p in store.iterdir() if p.is_dir()]
            assert loaded == list(versions), f"one store directory for the build, found {loaded}"
    # from one round (one load of the store) to the next: the same build, the same ETags
    assert len({(version, etag) for version, etag, *_ in seen}) == 1


#: an answer of ~30 MB (CSV), more than the socket buffers hold: its response is in flight while the client reads
BIG = "SELECT ?a ?b WHERE { ?a ?p ?b . ?c ?q ?d } LIMIT 400000"


def test_sigterm_drains_then_exits_0(dist: Path, tmp_path: Path) -> None:
    """SIGTERM while a response is being sent: no new connection is accepted, the response still
    arrives whole, then the server exits 0."""
    with replicas(dist, tmp_path / "store", tmp_path / "logs", 1) as (replica,):
        with httpx.Client(base_url=replica.url, timeout=120) as c, \
                c.stream("GET", "/sparql", params={"query": BIG}, headers={"Accept": "text/csv"}) as r:
            assert r.status_code == 200
            chunks = r.iter_bytes()
            body = [next(chunks)]
            replica.terminate()
            deadline = time.monotonic() + 60
            refused = False
            while not refused and time.monotonic() < deadline:  # the listener closes soon after the signal
                try:
                    httpx.get(replica.url + "/health", timeout=5)
                    time.sleep(0.05)
                except httpx.ConnectError:
                    refused = True
                except httpx.TransportError:  # accepted just before the listener closed, then reset: ask again
                    time.sleep(0.05)
            assert refused, "still accepting connections after SIGTERM"
            body += list(chunks)
        rows = list(csv.reader(io.StringIO(b"".join(body).decode("utf-8"), newline="")))
        assert len(rows) == 400001  # the header and every row: the request in flight finished
        assert replica.wait(timeout=120) == 0, replica.tail()


def test_health_says_draining(web_settings: Settings) -> None:  # noqa: F811
    """Once draining, /health answers 503 with status "draining" (a load balancer's readiness check)."""
    from fastapi.testclient import TestClient

    from cpbkg.store.embedded import open_store
    from cpbkg.web.app import create_app
    from cpbkg.web.state import start_draining

    settings = web_settings.with_(store_path=web_settings.store_path.with_name("draining-store"))
    store = open_store(settings)
    try:
        app = create_app(settings, store=store)
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            start_draining(app)
            r = client.get("/health")
            assert r.status_code == 503 and r.json()["status"] == "draining"
            assert r.headers["cache-control"] == "no-store"
    finally:
        store.close()


class Load:
    """Mixed requests through ``url`` from a few threads until stopped; every outcome counted."""

    def __init__(self, url: str, etag: str) -> None:
        self.url, self.etag = url, etag
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(4)]

    def _one(self, c: httpx.Client, i: int, n: int) -> tuple[str, httpx.Response, bool]:
        kind = ("query", "page", "conditional", "named", "post")[(i + n) % 5]
        if kind == "query":  # distinct queries: not answered from a cache
            r = c.get("/sparql", params={"query": f"SELECT ?s WHERE {{ ?s a ?c }} LIMIT {1 + (n * 7 + i) % 50}"},
                      headers={"Accept": "application/sparql-results+json"})
            return kind, r, r.status_code == 200
        if kind == "post":
            r = c.post("/sparql", data={"query": f"ASK {{ ?s ?p {n % 100} }}"},
                       headers={"Accept": "application/sparql-results+json"})
            return kind, r, r.status_code == 200
        if kind == "page":
            r = c.get(PAGE, headers={"Accept": "text/html"})
            return kind, r, r.status_code == 200
        if kind == "named":
            r = c.get(NAMED, headers={"Accept": "application/sparql-results+json"})
            return kind, r, r.status_code == 200
        r = c.get(PAGE, headers={"Accept": "text/turtle", "If-None-Match": self.etag})
        return kind, r, r.status_code == 304

    def _run(self, i: int) -> None:
        n = 0
        with httpx.Client(base_url=self.url, timeout=60) as c:
            while not self._stop.is_set():
                n += 1
                try:
                    kind, r, ok = self._one(c, i, n)
                except httpx.HTTPError as exc:
                    kind, ok = "error", False
                    with self._lock:
                        self.failures.append(repr(exc))
                with self._lock:
                    self.outcomes[kind if ok else f"{kind} FAILED"] += 1
                    if not ok and kind != "error":
                        self.failures.append(f"{kind} {r.status_code} {r.text[:200]}")

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def wait_for(self, requests: int, limit: float = 120) -> None:
        """Until ``requests`` more requests were made (bounded by ``limit`` s: a stalled load fails below)."""
        target = sum(self.outcomes.values()) + requests
        deadline = time.monotonic() + limit
        while sum(self.outcomes.values()) < target and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.mark.skipif(nginx_executable() is None and not os.environ.get("CI"),
                    reason="nginx is not installed (apt-get install nginx; .ci/install --test installs it)")
def test_two_replicas_behind_nginx_lose_no_request(dist: Path, tmp_path: Path) -> None:
    # the load is one client (loopback, 4 threads): let it have more queries at once than a public
    # client may (the per-client limit answers 429 by design; tests/web test it)
    with replicas(dist, tmp_path / "store", tmp_path / "logs", 2, workers=2,
                  env={"CPBKG_CLIENT_QUERIES": "8"}) as (a, b):
        first = httpx.get(a.url + PAGE, headers={"Accept": "text/turtle"})
        etag = first.headers["etag"]
        # a conditional GET answered by one replica revalidates on the other
        assert httpx.get(b.url + PAGE, headers={"Accept": "text/turtle", "If-None-Match": etag}).status_code == 304
        assert httpx.get(b.url + PAGE, headers={"Accept": "text/turtle"}).headers["etag"] == etag
        with Nginx(tmp_path / "nginx", [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]) as proxy:
            with Load(proxy.url, etag) as load:
                load.wait_for(100)
                a.terminate()  # a rolling restart: a drains and stops, b takes every request ...
                assert a.wait(timeout=120) == 0, a.tail()
                load.wait_for(100)
                a.launch().wait_ready()  # ... a comes back on its port; nginx tries it again after fail_timeout
                before = proxy.answered_by(a.port)
                deadline = time.monotonic() + 120
                while proxy.answered_by(a.port) <= before + 20 and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert proxy.answered_by(a.port) > before + 20, "nginx sends nothing to the restarted replica"
                killed = b.worker_pids()
                assert killed, "b has query workers"
                for pid in killed:  # b's query workers die mid-load: b answers 503, nginx asks a
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                load.wait_for(200)
            # both still serve the same build afterwards
            assert _fingerprint(a.url) == _fingerprint(b.url)
            log = proxy.error_log()
        print(f"\nrequests through nginx: {dict(load.outcomes)}; failed: {len(load.failures)}; "
              f"answered after a retry on the other replica: {proxy.retried()}")
        assert sum(load.outcomes.values()) >= 500
        assert not load.failures, f"{len(load.failures)} failed: {load.failures[:10]}\n{log[-2000:]}"
        with httpx.Client(base_url=b.url, timeout=60) as c:  # b answers on new workers
            for n in range(6):
                assert c.get("/sparql", params={"query": f"ASK {{ ?s ?p {1000 + n} }}"}).status_code == 200
