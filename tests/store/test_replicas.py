"""``cpbkg serve`` as N replicas of one build: real processes, a real nginx in front (issue 19).

* replicas started at the same moment on one ``dist/`` and one store path all come up (the store's
  loader lock: :mod:`cpbkg.store.embedded`), and answer alike (data version, ETags, answers);
* SIGTERM drains: ``/health`` says 503 "draining" while a request in flight finishes, then exit 0;
* behind Debian's nginx (:func:`cpbkg.web.proxy.nginx_conf`, the configuration docs/operations.md
  shows), mixed load goes on while one replica is stopped with SIGTERM and started again, and then
  the other's query workers are killed: no request fails, and a conditional GET answered by one
  replica revalidates (304) on the other;
* a new build rolled out in the order docs/operations.md gives (swapped into ``dist/``, then each
  replica stopped with SIGTERM, started again and waited for, one at a time), behind nginx, under load
  and clients revalidating what they hold: no request fails, every answer is whole and of the build
  its ETag names, a 304 comes only for an ETag of a build still served.

Every server listens on 127.0.0.1 and is stopped by the test, also when it fails.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx
import pytest
from support.replicas import Nginx, Replica, child_env, nginx_executable, servable_dist
from support.web_server import web_settings  # noqa: F401  (fixture)

from bench.servers import children
from cpbkg.build.dist import swap_in
from cpbkg.config import Settings
from cpbkg.store.protocol import Release

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


class _Clients:
    """Client threads that run until the ``with`` block ends (``_stop``), their findings under ``_lock``."""

    def __init__(self, threads: list[threading.Thread]) -> None:
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = threads

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)


class Load(_Clients):
    """Mixed requests through ``url`` from a few threads until stopped; every outcome counted."""

    def __init__(self, url: str, etag: str) -> None:
        super().__init__([threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(4)])
        self.url, self.etag = url, etag
        self.outcomes: Counter[str] = Counter()

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


# --------------------------------------------------------------------------- a new build, one replica at a time

#: what a revalidating client keeps (ETag and body) and asks again for with If-None-Match: the
#: Turtle of a page (the same bytes in both builds: its ETag alone names the build), the page in
#: HTML, a SPARQL answer and a named query's (bytes that differ from one build to the other); and
#: VoID, read from ``dist/`` (:data:`FROM_DIST`)
TRACKED: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "page-ttl": (PAGE, {}, {"Accept": "text/turtle"}),
    "page-html": (PAGE, {}, {"Accept": "text/html", "Accept-Language": "en"}),
    "query": ("/sparql", {"query": QUERY}, {"Accept": "application/sparql-results+json"}),
    "named": (NAMED, {}, {"Accept": "text/csv"}),
    "void": ("/.well-known/void", {}, {"Accept": "text/turtle"}),
}
#: answers of the build in ``dist/``, not of the store: once the new build is swapped in, every
#: replica answers them from it, restarted or not (cpbkg.web.routes.dumps)
FROM_DIST = {"void"}


def _build_of(etag: str) -> str:
    """The data version an ETag of a page or an answer names (``W/"<data version>-..."``)."""
    return etag.removeprefix("W/").strip('"').split("-", 1)[0]


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _get(c: httpx.Client, key: str, etag: str | None = None) -> httpx.Response:
    path, params, headers = TRACKED[key]
    return c.get(path, params=params, headers={**headers, **({"If-None-Match": etag} if etag else {})})


def _expected(url: str) -> dict[str, tuple[str, str]]:
    """What one replica answers for each tracked request: (ETag, SHA-256 of the body)."""
    with httpx.Client(base_url=url, timeout=60) as c:
        answers = {key: _get(c, key) for key in TRACKED}
    assert all(r.status_code == 200 for r in answers.values()), {k: r.status_code for k, r in answers.items()}
    return {key: (r.headers["etag"], _digest(r.content)) for key, r in answers.items()}


def _data_version(url: str) -> str:
    return str(httpx.get(url + "/health", timeout=30).json()["data_version"])


@dataclass(frozen=True)
class Seen:
    """One request of a revalidating client: what it sent, what came back, when (monotonic s)."""

    key: str
    sent: str | None  # the ETag it revalidated (None: it held nothing yet)
    held: str | None  # the build of the body it held
    status: int
    etag: str | None
    digest: str | None
    started: float
    ended: float


class Revalidators(_Clients):
    """Clients that keep what they got (ETag, body, the build it came from) of each :data:`TRACKED`
    request and ask again with ``If-None-Match``: a 304 keeps the body, a 200 replaces it."""

    def __init__(self, url: str, n: int = 2) -> None:
        super().__init__([threading.Thread(target=self._run, daemon=True) for _ in range(n)])
        self.url = url
        self.seen: list[Seen] = []

    def _run(self) -> None:
        held: dict[str, tuple[str, str]] = {}  # key -> (ETag, build)
        n = 0
        with httpx.Client(base_url=self.url, timeout=60) as c:
            while not self._stop.is_set():
                key = list(TRACKED)[n % len(TRACKED)]
                n += 1
                etag, build = held.get(key, (None, None))
                started = time.monotonic()
                try:
                    r = _get(c, key, etag)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append(f"{key}: {exc!r}")
                    continue
                seen = Seen(key, etag, build, r.status_code, r.headers.get("etag"),
                            _digest(r.content) if r.status_code == 200 else None, started, time.monotonic())
                if r.status_code == 200 and seen.etag:
                    held[key] = (seen.etag, _build_of(seen.etag))
                with self._lock:
                    self.seen.append(seen)
                    if r.status_code not in (200, 304):
                        self.failures.append(f"{key}: {r.status_code} {r.text[:200]}")

    def builds(self, since: float = 0.0) -> set[str]:
        """The builds answered (200: the ETag's; 304: the one revalidated), of requests started at ``since`` or later."""
        with self._lock:
            return {_build_of(s.etag or s.sent or "") for s in self.seen if s.status in (200, 304) and s.started >= since}

    def wait_for(self, requests: int, limit: float = 120) -> None:
        target = len(self.seen) + requests
        deadline = time.monotonic() + limit
        while len(self.seen) < target and time.monotonic() < deadline:
            time.sleep(0.05)


class RolloutLoad(Load):
    """:class:`Load`, where a conditional GET of the old build's ETag is answered 304 by a replica
    of that build, or 200 with the ETag of another build it knows (``builds``) by a replica of the new one."""

    def __init__(self, url: str, etag: str, builds: set[str]) -> None:
        super().__init__(url, etag)
        self.builds = builds

    def _one(self, c: httpx.Client, i: int, n: int) -> tuple[str, httpx.Response, bool]:
        kind, r, ok = super()._one(c, i, n)
        if kind == "conditional":
            if r.status_code == 200:
                return "conditional 200", r, _build_of(r.headers.get("etag", "")) in self.builds - {_build_of(self.etag)}
            return "conditional 304", r, ok
        return kind, r, ok


@pytest.fixture(scope="module")
def new_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another build than the session's, made here: ``cpbkg build --demo`` (SYNTHETIC answers of 2
    Parties on top of the real data: other data, another data version), without the reasoner."""
    root = tmp_path_factory.mktemp("new-build")
    done = subprocess.run(
        [sys.executable, "-m", "cpbkg", "build", "--no-reason", "--demo", "--synthetic-parties", "2", "-q",
         "--dist", str(root / "dist"), "--store", str(root / "store")],
        stdin=subprocess.DEVNULL, capture_output=True, env=child_env(), timeout=900, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return root / "dist"


@pytest.mark.skipif(nginx_executable() is None and not os.environ.get("CI"),
                    reason="nginx is not installed (apt-get install nginx; .ci/install --test installs it)")
def test_a_new_build_rolled_out_one_replica_at_a_time(dist: Path, new_build: Path, tmp_path: Path) -> None:
    """docs/operations.md's order: the new build swapped into the replicas' ``dist/`` (as ``cpbkg build``
    does), then each replica in turn stopped with SIGTERM, started again (it loads the new build) and
    waited for, behind nginx, under mixed load and clients revalidating what they hold: no request
    fails, every 200 is whole and of the build its ETag names, a 304 comes only for an ETag of a build
    still served, both builds are seen while the replicas differ, and only the new one after.

    VoID is read from ``dist/``, not the store: every replica answers the new build's once it is swapped
    in, with the new build's ETag (one ETag, one body, whichever replica answers)."""
    shared = tmp_path / "dist"
    servable_dist(dist, shared)
    old, new = Release.read(shared).data_version, Release.read(new_build).data_version
    assert old != new, "the two builds hold the same data"
    marks: dict[str, float] = {}
    with replicas(shared, tmp_path / "store", tmp_path / "logs", 2, workers=2,
                  env={"CPBKG_CLIENT_QUERIES": "8"}) as (a, b):
        expected = {old: _expected(a.url)}
        assert _expected(b.url) == expected[old], "the replicas of one build answer alike"
        with Nginx(tmp_path / "nginx", [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]) as proxy:
            with RolloutLoad(proxy.url, expected[old]["page-ttl"][0], {old, new}) as load, \
                    Revalidators(proxy.url) as clients:
                started = time.monotonic()
                load.wait_for(100)
                clients.wait_for(40)
                # the new build into dist/, atomically (cpbkg build's own swap): the replicas go on serving the old one
                swap_in(servable_dist(new_build, tmp_path / "dist.new"), shared)
                assert Release.read(shared).data_version == new
                for name, replica in (("a", a), ("b", b)):
                    marks[f"{name} terminated"] = time.monotonic()
                    replica.terminate()
                    assert replica.wait(timeout=120) == 0, replica.tail()
                    marks[f"{name} exited"] = time.monotonic()
                    load.wait_for(50)  # the other replica takes every request
                    replica.launch()
                    marks[f"{name} launched"] = time.monotonic()
                    replica.wait_ready()
                    marks[f"{name} ready"] = time.monotonic()
                    assert _data_version(replica.url) == new, replica.tail()
                    if new not in expected:
                        expected[new] = _expected(replica.url)
                    before = proxy.answered_by(replica.port)  # nginx tries it again after fail_timeout
                    deadline = time.monotonic() + 120
                    while proxy.answered_by(replica.port) <= before + 20 and time.monotonic() < deadline:
                        time.sleep(0.1)
                    assert proxy.answered_by(replica.port) > before + 20, f"nginx sends nothing to the restarted {name}"
                    if name == "a":  # both builds served: the clients flip between them
                        mixed = time.monotonic()
                        deadline = mixed + 120
                        while clients.builds(mixed) != {old, new} and time.monotonic() < deadline:
                            time.sleep(0.1)
                        clients.wait_for(200)
                marks["rolled out"] = time.monotonic()
                load.wait_for(100)
                clients.wait_for(40)
                elapsed = time.monotonic() - started
            # after the rollout, a client holding an ETag of the old build gets the new answer whole
            with httpx.Client(base_url=proxy.url, timeout=60) as c:
                stale = {key: _get(c, key, etag) for key, (etag, _) in expected[old].items()}
            log = proxy.error_log()
        final = {_expected(r.url)["named"] for r in (a, b)}

    seen = clients.seen
    assert expected[new] != expected[old]
    assert all(expected[new][k][0] != expected[old][k][0] for k in TRACKED), "an ETag matches across builds"
    differ = [k for k in TRACKED if expected[new][k][1] != expected[old][k][1]]
    assert set(differ) >= {"page-html", "query", "named"}, differ
    # every 200 of a client: whole and of the build its ETag names (a body of one build never comes with the
    # other's ETag); every 304: the ETag the client held, of the body it held, of a build still served then
    wrong: list[str] = []
    last_old = marks["b exited"]  # the last replica of the old build gone (its requests in flight answered)
    first_new = marks["a launched"]
    for s in seen:
        if s.status == 200:
            build = _build_of(s.etag or "")
            if build not in expected or expected[build][s.key] != (s.etag, s.digest):
                wrong.append(f"200 {s.key} etag={s.etag} body={s.digest and s.digest[:12]}")
            if s.key in FROM_DIST:
                continue  # of the build in dist/, whichever replica answered: when is not asked
            if s.started > last_old and build != new:
                wrong.append(f"200 {s.key} of {build} after the last old replica exited")
        elif s.status == 304:
            build = _build_of(s.sent or "")
            if s.sent is None or s.etag not in (None, s.sent) or build != s.held:
                wrong.append(f"304 {s.key} sent={s.sent} got={s.etag} held={s.held}")
            elif s.key in FROM_DIST:
                continue
            elif build == old and s.started > last_old:
                wrong.append(f"304 {s.key} for the old build after its last replica exited")
            elif build == new and s.ended < first_new:
                wrong.append(f"304 {s.key} for the new build before a replica served it")
    mixed_phase = [s for s in seen if marks["a ready"] < s.started and s.ended < marks["b terminated"]]
    revalidated = Counter(f"{s.status} {'old' if _build_of(s.etag or s.sent or '') == old else 'new'}" for s in seen)
    print(f"\nrolled out {old} -> {new} in {elapsed:.0f} s; load through nginx: {dict(load.outcomes)}; "
          f"revalidating clients: {len(seen)} requests {dict(revalidated)} ({len(mixed_phase)} while the replicas "
          f"differed); failed: {len(load.failures) + len(clients.failures)}; wrong answers: {len(wrong)}; "
          f"builds seen by the clients: {sorted(clients.builds())}, after the rollout: "
          f"{sorted(clients.builds(marks['rolled out']))}; answered after a retry on the other replica: {proxy.retried()}")
    assert not load.failures, f"{len(load.failures)} failed: {load.failures[:10]}\n{log[-2000:]}"
    assert not clients.failures, f"{len(clients.failures)} failed: {clients.failures[:10]}\n{log[-2000:]}"
    assert not wrong, f"{len(wrong)} wrong answers: {wrong[:10]}"
    assert clients.builds() == {old, new} and clients.builds(marks["rolled out"]) == {new}
    assert revalidated["304 old"] and revalidated["304 new"], revalidated  # revalidation worked on both builds
    assert {_build_of(s.etag or s.sent or "") for s in mixed_phase} == {old, new}, "not both builds while both served"
    assert sum(load.outcomes.values()) >= 500
    assert final == {expected[new]["named"]}
    assert all(r.status_code == 200 and (r.headers["etag"], _digest(r.content)) == expected[new][k]
               for k, r in stale.items()), {k: r.status_code for k, r in stale.items()}


# -- several server processes of one `cpbkg serve` (--processes, cpbkg.web.supervisor) -----------------


def _versions_by_process(url: str, want: int, done: Callable[[dict[int, str]], bool] | None = None, *,
                         tries: int = 400) -> dict[int, str]:
    """``/health`` over new connections (the kernel spreads them over the processes), each saying it is
    one of ``want``, until ``done`` holds of what they said (default: ``want`` processes answered) or
    ``tries`` asks: each process's pid and data version, as its last answer said."""
    seen: dict[int, str] = {}
    for _ in range(tries):
        with httpx.Client(base_url=url, timeout=30) as c:
            body = c.get("/health").json()
        assert body["process"]["of"] == want
        seen[body["process"]["pid"]] = body["data_version"]
        if done(seen) if done is not None else len(seen) >= want:
            break
        time.sleep(0.02)
    return seen


def test_processes_share_the_port_and_answer_alike(dist: Path, tmp_path: Path) -> None:
    """``--processes 2``: two server processes (the supervisor's children, each with its own query
    worker) answer on the one port, and alike; each says which it is."""
    with Replica(dist, tmp_path / "store", tmp_path / "serve.log", extra=("--processes", "2")) as server:
        assert server.process is not None
        servers = set(children(server.process.pid))
        assert len(servers) == 2, server.tail()
        seen = _versions_by_process(server.url, 2)
        assert set(seen) == servers, "every server process answers on the port"
        answers: dict[int, bytes] = {}
        for _ in range(400):
            with httpx.Client(base_url=server.url, timeout=30) as c:
                pid = c.get("/health").json()["process"]["pid"]
                r = c.get("/sparql", params={"query": QUERY}, headers={"Accept": "text/csv"})  # the same connection
            assert r.status_code == 200
            answers[pid] = r.content
            if len(answers) == 2:
                break
        assert len(answers) == 2 and len(set(answers.values())) == 1, "both processes give the same answer"
        for pid in servers:  # each has its own query workers
            assert len(children(pid)) >= 1


def test_a_crashed_process_is_replaced_and_sigterm_stops_them_all(dist: Path, tmp_path: Path) -> None:
    """A server process killed (SIGKILL) is started again by the supervisor while the other answers,
    and a SIGUSR1 ("follow the store's build") sent to the new one while it starts does not end it;
    SIGTERM to the supervisor drains every process and it exits 0, leaving none behind.

    A connection the kernel had queued for the killed process is reset with it (unless
    ``net.ipv4.tcp_migrate_req`` is 1), as a crash of a single server loses what it held: those are
    counted, not failed; once the new process is up every request is answered."""
    with Replica(dist, tmp_path / "store", tmp_path / "serve.log", extra=("--processes", "2")) as server:
        assert server.process is not None
        first = set(_versions_by_process(server.url, 2))  # both ready (one killed before it is stops the server)
        assert first == set(children(server.process.pid))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 300
        # told to follow a build while it starts (as a reload elsewhere would): it follows once it can, it does not die
        os.kill(_started_in_place(server, first), signal.SIGUSR1)
        outcomes: Counter[str] = Counter()
        while time.monotonic() < deadline:
            try:
                with httpx.Client(base_url=server.url, timeout=30) as c:
                    outcomes[str(c.get("/sparql", params={"query": QUERY}).status_code)] += 1
            except httpx.TransportError as exc:
                outcomes[type(exc).__name__] += 1
            now = set(children(server.process.pid))
            with contextlib.suppress(httpx.TransportError):
                if len(now) == 2 and victim not in now and set(_versions_by_process(server.url, 2, tries=50)) == now:
                    break
            time.sleep(0.05)
        replaced = set(children(server.process.pid))
        assert victim not in replaced and len(replaced) == 2, server.tail()
        said_by_server = server.log.read_text(errors="replace")
        assert f"server process pid {victim} ended with code -9: starting another" in said_by_server
        assert "was started again and serves the build now in the store" in said_by_server, server.tail()
        assert "reload: now serving build" not in said_by_server, "the other serves that store already: no swap"
        assert outcomes["200"] > 0 and set(outcomes) <= {"200", "ConnectError", "ReadError", "RemoteProtocolError"}, \
            outcomes
        assert set(_versions_by_process(server.url, 2)) == replaced, "the new process answers"
        for _ in range(100):  # and from now on nothing is lost
            with httpx.Client(base_url=server.url, timeout=30) as c:
                assert c.get("/sparql", params={"query": QUERY}).status_code == 200
        server.terminate()
        assert server.wait(timeout=120) == 0, server.tail()
        for pid in replaced:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/health", timeout=5)


def test_a_reload_reaches_every_process(dist: Path, new_build: Path, tmp_path: Path) -> None:
    """``POST /admin/reload`` answered by one process: it loads the new build, and the supervisor
    tells the other, which opens that build and swaps to it. Every process then serves the new build,
    and its answers are the same as a single server's of that build."""
    shared = servable_dist(dist, tmp_path / "dist")
    old, new = Release.read(shared).data_version, Release.read(new_build).data_version
    assert old != new
    env = {"CPBKG_ADMIN_TOKEN": "operator-token"}
    with Replica(shared, tmp_path / "store", tmp_path / "serve.log", extra=("--processes", "2"), env=env) as server:
        assert server.process is not None
        pids = set(children(server.process.pid))
        assert set(_versions_by_process(server.url, 2).values()) == {old}
        swap_in(servable_dist(new_build, tmp_path / "dist.new"), shared)
        r = httpx.post(server.url + "/admin/reload", headers={"Authorization": "Bearer operator-token"}, timeout=300)
        assert r.status_code == 200, r.text
        assert r.json()["reloaded"] is True and r.json()["data_version"] == new
        assert "other_processes" in r.json()
        said = _versions_by_process(server.url, 2, lambda seen: all(seen.get(p) == new for p in pids), tries=15_000)
        assert said == dict.fromkeys(pids, new), f"{said}\n{server.tail()}"
        assert set(children(server.process.pid)) == pids, "a reload restarts no process"
        answers = set()
        for _ in range(40):
            with httpx.Client(base_url=server.url, timeout=30) as c:
                answers.add(c.get(NAMED, headers={"Accept": "text/csv"}).content)
    with Replica(shared, tmp_path / "store", tmp_path / "single.log") as single, \
            httpx.Client(base_url=single.url, timeout=30) as c:
        assert answers == {c.get(NAMED, headers={"Accept": "text/csv"}).content}


def _started_in_place(server: Replica, first: set[int], guard: float = 300) -> int:
    """The pid of the server process the supervisor starts in place of one of ``first`` that was
    killed, as soon as it exists (before it is ready); ``guard`` s only stops a hang."""
    assert server.process is not None
    deadline = time.monotonic() + guard
    while not (new := set(children(server.process.pid)) - first):
        assert time.monotonic() < deadline, server.tail()
        time.sleep(0.01)
    return new.pop()


def test_a_process_that_ends_before_it_is_ready_stops_the_server(dist: Path, tmp_path: Path) -> None:
    """The process started in place of a crashed one is killed before it is ready (as a start-up
    failure ends it): the supervisor does not start another (no crash loop); it stops the other and
    exits with an error, and nothing answers on the port any more."""
    with Replica(dist, tmp_path / "store", tmp_path / "serve.log", extra=("--processes", "2")) as server:
        assert server.process is not None
        first = set(_versions_by_process(server.url, 2))
        os.kill(min(first), signal.SIGKILL)
        starting = _started_in_place(server, first)
        os.kill(starting, signal.SIGKILL)
        code = server.wait(timeout=120)
        said_by_server = server.log.read_text(errors="replace")
        assert code != 0, said_by_server[-3000:]
        assert f"(pid {starting}) ended at start-up with code -9" in said_by_server, said_by_server[-3000:]
        assert "stopping" in said_by_server
        assert not Path(f"/proc/{max(first)}").exists() or "zombie" in Path(f"/proc/{max(first)}/status").read_text().lower()
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/health", timeout=5)


def test_a_process_started_again_on_a_newer_build_brings_the_other_to_it(dist: Path, new_build: Path,
                                                                        tmp_path: Path) -> None:
    """A new build swapped into ``dist/`` (as ``cpbkg build`` does) and no reload; then a server
    process crashes. The one started in its place loads the new build, as a single server started
    again would; once it is ready the supervisor tells the other, which swaps to it without being
    restarted. Both then serve the new build, as ``dist/``'s dumps and VoID already are."""
    shared = servable_dist(dist, tmp_path / "dist")
    old, new = Release.read(shared).data_version, Release.read(new_build).data_version
    assert old != new
    with Replica(shared, tmp_path / "store", tmp_path / "serve.log", extra=("--processes", "2")) as server:
        assert server.process is not None
        first = _versions_by_process(server.url, 2)
        assert set(first.values()) == {old} and set(first) == set(children(server.process.pid))
        swap_in(servable_dist(new_build, tmp_path / "dist.new"), shared)
        victim, survivor = min(first), max(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 600
        said: dict[int, str] = {}
        while not (len(said) == 2 and set(said.values()) == {new}):
            assert time.monotonic() < deadline, f"{said}\n{server.tail()}"
            now = set(children(server.process.pid))
            if len(now) == 2 and victim not in now:
                with contextlib.suppress(httpx.TransportError):  # a connection queued for the victim is reset
                    said = _versions_by_process(server.url, 2, _all_on(new, now), tries=200)
            time.sleep(0.2)
        assert survivor in said, "the other process followed; it was not started again"
        again = (set(said) - {survivor}).pop()
        said_by_server = server.log.read_text(errors="replace")
        assert (f"server process pid {again} was started again and serves the build now in the store: "
                f"pid {survivor} follows") in said_by_server, server.tail()
        assert f"reload: now serving build {new}" in said_by_server, server.tail()


def _all_on(build: str, pids: set[int]) -> Callable[[dict[int, str]], bool]:
    """What :func:`_versions_by_process` waits for: each of ``pids`` said it serves ``build``."""
    return lambda seen: set(seen) == pids and set(seen.values()) == {build}
