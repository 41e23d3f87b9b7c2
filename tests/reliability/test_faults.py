"""Faults while serving: builds, dist/ writes, store loads and ingests killed (SIGKILL) at points
through their run; a new build swapped in under readers; damaged and missing stores; the
operator's reload (``POST /admin/reload``) with queries running. After every fault: the last
good ``dist/`` is byte-identical and checks against its own ``SHA256SUMS``, ``data/reports``
is byte-identical, the repository's input files are unchanged, and a server on the old store
still answers. Every server here is on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from support.reliability import (
    FIGURES,
    MARKER_PREDICATE,
    MARKER_SUBJECT,
    ROOT,
    ask_marker,
    check_sums,
    child_env,
    fingerprint,
    inputs_fingerprint,
    kill_after,
    write_dist_command,
    write_new_build,
)
from support.web_server import LiveServer, web_settings  # noqa: F401  (fixture)

from cpbkg.config import Settings
from cpbkg.errors import StoreError
from cpbkg.sparql.pool import QueryPool
from cpbkg.store.embedded import open_store
from cpbkg.web.app import create_app
from cpbkg.web.state import current

pytestmark = pytest.mark.timeout(240)

TOKEN = "s3cret-operator-token-for-tests"
ASK = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def inputs_before() -> Iterator[dict[str, str]]:
    """The repository's input files, checked unchanged after every test of the module."""
    before = inputs_fingerprint()
    yield before
    after = inputs_fingerprint()
    if after != before:
        FIGURES.lost("input files modified")
    assert after == before, "input files were modified"


@pytest.fixture()
def site(tmp_path: Path, web_settings: Settings) -> Settings:  # noqa: F811
    """A dist/ of its own (a copy of the session build) and a store loaded from it."""
    dist = tmp_path / "dist"
    shutil.copytree(web_settings.dist_dir, dist)
    settings = web_settings.with_(dist_dir=dist, store_path=tmp_path / "store", query_workers=1,
                                  query_timeout=5.0, cache_bytes=0)
    open_store(settings).close()
    (tmp_path / "tmp").mkdir()
    return settings


class Server:
    """The app on ``settings`` behind uvicorn on loopback, with a pool of its own (or owned by the app)."""

    def __init__(self, settings: Settings, *, own_pool: bool = False) -> None:
        self.store = open_store(settings, read_only=True)
        self.pool = None if own_pool else QueryPool(self.store.path, size=settings.query_workers).start()
        self.app = create_app(settings, store=self.store, pool=self.pool)
        self.live = LiveServer(self.app).start()
        self.url = self.live.url
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        FIGURES.request()
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        FIGURES.request()
        return self.client.post(path, **kwargs)

    def answers(self, dist: Path | None = None) -> None:
        """The server answers a query, its dumps listing and a download that matches its checksum."""
        r = self.get("/sparql", params={"query": ASK}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200 and r.json()["boolean"] is True, r.text
        listing = self.get("/dumps/", headers={"Accept": "application/json"})
        assert listing.status_code == 200, listing.text
        files = {f["name"]: f["sha256"] for f in listing.json()["files"]}
        body = self.get("/dumps/release.json")
        assert body.status_code == 200
        import hashlib

        assert hashlib.sha256(body.content).hexdigest() == files["release.json"]

    def stop(self) -> None:
        self.client.close()
        self.live.stop()
        if self.pool is not None:
            self.pool.close()
        self.store.close()


@pytest.fixture()
def server(site: Settings) -> Iterator[Server]:
    s = Server(site)
    yield s
    s.stop()


def assert_intact(dist: Path, before: dict[str, str], what: str) -> None:
    after = fingerprint(dist)
    problems = check_sums(dist)
    if after != before or problems:
        FIGURES.lost(what)
    assert after == before, f"{what}: dist/ changed"
    assert problems == [], problems


# --------------------------------------------------------------------------- builds killed


@pytest.mark.slow
def test_a_build_killed_at_any_point_leaves_dist_and_the_server_intact(site: Settings, server: Server,
                                                                       inputs_before: dict[str, str]) -> None:
    """`cpbkg build` (the real pipeline, in a process of its own) SIGKILLed while it reads the
    sources, while it checks the shapes: the served build and the server do not notice."""
    before = fingerprint(site.dist_dir)
    cmd = [sys.executable, "-m", "cpbkg", "build", "--dist", str(site.dist_dir), "--store", str(site.store_path),
           "--no-reason", "-q"]
    env = child_env(TMPDIR=str(site.dist_dir.parent / "tmp"))
    # the build takes ~5 s here (SHACL's SPARQL constraints run on pyoxigraph since 2026-11-25)
    for delay in (0.3, 1.0, 2.0, 3.0):
        status, _ = kill_after(cmd, delay, cwd=ROOT, env=env)
        assert status == -signal.SIGKILL, f"the build ended by itself within {delay} s?"
        assert_intact(site.dist_dir, before, f"build killed at {delay} s")
        server.answers()


def _tmp_dirs(dist: Path) -> list[Path]:
    return sorted(dist.parent.glob(dist.name + ".tmp-*"))


def test_writing_dist_killed_at_every_stage(site: Settings, server: Server, tmp_path: Path) -> None:
    """The last step of a build (dumps, VoID, checksums, release record, swap), killed by time
    and at named points seen on disk: dist/ is the old build, whole, or the new build, whole."""
    src = tmp_path / "src"
    shutil.copytree(site.dist_dir, src)
    dist = site.dist_dir
    before = fingerprint(dist)
    cmd = write_dist_command(src, dist, "killed")
    start = time.monotonic()
    write_new_build(src, tmp_path / "timing" / "dist", "timing")
    full = time.monotonic() - start

    def seen(name: str) -> Any:
        return lambda: any((d / name).exists() for d in _tmp_dirs(dist))

    points: list[tuple[str, Any, float]] = [(f"{f:.0%} of a run", None, full * f)
                                            for f in (0.1, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.97)]
    points += [("temporary folder made", lambda: bool(_tmp_dirs(dist)), 0),
               ("TriG dump written", seen("cpbkg.trig"), 0), ("VoID written", seen("void.ttl"), 0),
               ("release.json written", seen("release.json"), 0), ("SHA256SUMS written", seen("SHA256SUMS"), 0)]
    outcomes = {"old": 0, "new": 0}
    for label, when, delay in points:
        kill_after(cmd, delay, when=when, limit=60)
        problems = check_sums(dist)
        if problems:
            FIGURES.lost(f"dist/ partial after a kill at {label}")
        assert problems == [], (label, problems)
        if fingerprint(dist) == before:
            outcomes["old"] += 1
        else:  # killed after the swap: the new build, whole
            assert json.loads((dist / "release.json").read_text())["marker"] == "killed", label
            outcomes["new"] += 1
            before = fingerprint(dist)
        server.answers()
    assert outcomes["old"] >= 5, outcomes
    # a complete run swaps in the new build and clears what the killed ones left
    write_new_build(src, dist, "complete")
    assert check_sums(dist) == [] and json.loads((dist / "release.json").read_text())["marker"] == "complete"
    assert _tmp_dirs(dist) == [] and not list(dist.parent.glob("dist.old-*"))
    server.answers()


def test_a_new_build_swaps_in_atomically_under_readers(site: Settings, server: Server, tmp_path: Path) -> None:
    """Readers of /dumps/ while five builds are swapped in: every answer 200 and whole (a listing of
    all files, a release record that parses), no connection dropped."""
    src = tmp_path / "src"
    shutil.copytree(site.dist_dir, src)
    stop = threading.Event()
    seen: dict[str, int] = {"ok": 0, "bad": 0, "errors": 0}
    # every build lists the same files (the dumps, their per-graph and CSV variants, VoID, checksums)
    expected_files = json.loads(server.get("/dumps/", headers={"Accept": "application/json"}).text)["files"]
    assert len(expected_files) >= 8
    # a listing is whole: every file of the session's build, or of a rebuilt one (which has one
    # graph more, the marker's: graph-reliability.ttl)
    whole = {len(expected_files), len(expected_files) + 1}
    names = set(expected_files[0].keys())
    assert "sha256" in names
    bad: list[str] = []

    def reader() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop.is_set():
                try:
                    listing = c.get("/dumps/", headers={"Accept": "application/json"})
                    release = c.get("/dumps/release.json")
                    ttl = c.get("/dumps/cpbkg.ttl", headers={"Range": "bytes=0-99"})
                    FIGURES.request(3)
                    ok = (listing.status_code == 200 and len(listing.json()["files"]) in whole
                          and release.status_code == 200 and "data_hash" in release.json()
                          and ttl.status_code == 206 and len(ttl.content) == 100)
                    if ok:
                        seen["ok"] += 1
                    else:
                        seen["bad"] += 1
                        bad.append(f"{listing.status_code} {release.status_code} {ttl.status_code} {release.text[:80]}")
                except (httpx.HTTPError, ValueError) as exc:
                    seen["errors"] += 1
                    bad.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(5):
            write_new_build(src, site.dist_dir, f"swap-{n}")
            assert check_sums(site.dist_dir) == []
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert seen["bad"] == 0 and seen["errors"] == 0, (seen, bad[:5])
    assert seen["ok"] > 10, seen


# --------------------------------------------------------------------------- store loads killed


def test_a_store_load_killed_leaves_the_served_store(site: Settings, server: Server, tmp_path: Path) -> None:
    """Loading a new build into the store (what `cpbkg serve`, `cpbkg query` and a reload do), killed
    at points through the load: CURRENT still names a whole store, the server answers, and the next
    load completes and clears what the killed ones left (never the store the server holds)."""
    new_dist = tmp_path / "new" / "dist"
    write_new_build(site.dist_dir, new_dist, "loaded")
    settings = site.with_(dist_dir=new_dist)
    code = ("import sys; from pathlib import Path; from cpbkg.config import Settings; from cpbkg.store.embedded import open_store; "
            "open_store(Settings().with_(dist_dir=Path(sys.argv[1]), store_path=Path(sys.argv[2])))")
    cmd = [sys.executable, "-c", code, str(new_dist), str(site.store_path)]
    served = server.store.path
    start = time.monotonic()
    kill_after(cmd, 60)  # one whole load, timed; then undone
    full = time.monotonic() - start
    shutil.rmtree(site.store_path / json.loads((new_dist / "release.json").read_text())["data_hash"][:16])
    (site.store_path / "CURRENT").write_text(served.name + "\n")
    for fraction in (0.2, 0.4, 0.55, 0.7, 0.85):
        kill_after(cmd, full * fraction)
        current = (site.store_path / "CURRENT").read_text().strip()
        opened = open_store(site.with_(dist_dir=new_dist if current != served.name else site.dist_dir),
                            read_only=True)  # whichever CURRENT names opens, whole
        opened.close()
        server.answers()
        (site.store_path / "CURRENT").write_text(served.name + "\n")
    loaded = open_store(settings)
    left = sorted(p.name for p in site.store_path.iterdir())
    assert left == sorted([loaded.path.name, served.name, "CURRENT"]), left  # stale loads gone, served kept
    loaded.close()
    server.answers()


# --------------------------------------------------------------------------- ingest killed


def test_an_ingest_killed_leaves_the_reports_and_the_input(tmp_path: Path) -> None:
    """`cpbkg ingest --replace` SIGKILLed at points through its run: the reports folder holds the old
    answers or the new ones, each file whole; the input file is never changed; the next ingest
    clears what a killed one left."""
    reports = tmp_path / "reports"
    small = ROOT / "tests" / "data" / "answers" / "valid" / "nr5-small.csv"
    big = tmp_path / "synthetic.csv"
    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cpbkg", *a], capture_output=True, text=True,
                              env=child_env(), timeout=120, check=False)

    assert run("synthetic", "--out", str(big), "--cycle", "5", "--seed", "11").returncode == 0
    assert run("ingest", str(small), "--cycle", "5", "--to", str(reports), "--name", "previous").returncode == 0
    old = fingerprint(reports, hidden=False)
    input_before = big.read_bytes()
    cmd = [sys.executable, "-m", "cpbkg", "ingest", str(big), "--cycle", "5", "--to", str(reports), "--name",
           "previous", "--replace"]
    scratch = tmp_path / "scratch"
    start = time.monotonic()
    assert run("ingest", str(big), "--cycle", "5", "--to", str(scratch), "--name", "previous").returncode == 0
    full = time.monotonic() - start
    new = fingerprint(scratch, hidden=False)
    outcomes = {"old": 0, "new": 0}
    for fraction in (0.15, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.99):
        kill_after(cmd, full * fraction)
        now = fingerprint(reports, hidden=False)
        if now not in (old, new):
            FIGURES.lost("reports folder partial after a killed ingest")
        assert now in (old, new), fraction
        outcomes["old" if now == old else "new"] += 1
        if now == new:  # it got through: put the old answers back for the next kill
            assert run("ingest", str(small), "--cycle", "5", "--to", str(reports), "--name", "previous",
                       "--replace").returncode == 0
        assert big.read_bytes() == input_before
    assert outcomes["old"] >= 4, outcomes
    assert run("ingest", str(big), "--cycle", "5", "--to", str(reports), "--name", "previous",
               "--replace").returncode == 0
    assert fingerprint(reports) == new  # hidden temporary files of the killed runs cleared too
    assert big.read_bytes() == input_before


# --------------------------------------------------------------------------- damaged and missing stores


def _damage(folder: Path, how: str) -> None:
    ssts = sorted(folder.glob("*.sst"), key=lambda p: p.stat().st_size)
    if how == "truncated file":
        os.truncate(ssts[-1], 1000)
    elif how == "deleted file":
        ssts[-1].unlink()
    elif how == "no RocksDB CURRENT":
        (folder / "CURRENT").unlink()
    elif how == "emptied folder":
        for f in folder.iterdir():
            f.unlink()
    elif how == "garbage MANIFEST":
        for f in folder.glob("MANIFEST-*"):
            f.write_bytes(os.urandom(600))
    elif how == "folder removed":
        shutil.rmtree(folder)
    FIGURES.fault("store damaged: " + how)


DAMAGE = ["truncated file", "deleted file", "no RocksDB CURRENT", "emptied folder", "garbage MANIFEST",
          "folder removed"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_store_is_a_clear_error_and_is_loaded_again(site: Settings, how: str) -> None:
    loaded = open_store(site, read_only=True)
    path = loaded.path
    loaded.close()
    _damage(path, how)
    with pytest.raises(StoreError) as info:
        open_store(site, read_only=True)
    message = str(info.value)
    assert str(site.store_path) in message and ("damaged" in message or "cannot be read" in message
                                                or "no store loaded" in message), message
    assert "Traceback" not in message
    # what `cpbkg serve` and `cpbkg query` do: the store is loaded again from dist/
    again = open_store(site)
    assert len(again.store) > 40000
    again.close()
    ro = open_store(site, read_only=True)
    ro.close()


def test_cpbkg_query_recovers_a_damaged_store_and_names_a_missing_build(site: Settings, tmp_path: Path) -> None:
    store = open_store(site, read_only=True)
    store.close()
    _damage(store.path, "truncated file")
    cli = [sys.executable, "-m", "cpbkg", "query", "--dist", str(site.dist_dir), "--store", str(site.store_path)]
    done = subprocess.run([*cli, ASK, "--format", "json"], capture_output=True, text=True, env=child_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["boolean"] is True and "loading it again" in done.stderr
    missing = subprocess.run([sys.executable, "-m", "cpbkg", "query", "--dist", str(tmp_path / "nowhere"),
                              "--store", str(tmp_path / "s"), ASK], capture_output=True, text=True, env=child_env(),
                             timeout=120, check=False)
    FIGURES.bad_input("missing build")
    assert missing.returncode == 2
    assert "no build found; run `cpbkg build` first" in missing.stderr and "Traceback" not in missing.stderr


def test_a_store_removed_under_a_running_server_is_503_then_reloaded(site: Settings) -> None:
    """The store folder deleted while the server runs: queries already open keep working; a new
    query worker cannot open it (503, the message says why); POST /admin/reload?force=1 loads it
    again from dist/ and the server answers again -- without a restart."""
    settings = site.with_(admin_token=TOKEN)
    s = Server(settings, own_pool=True)
    try:
        s.answers()
        shutil.rmtree(s.store.path)
        FIGURES.fault("store removed under a running server")
        for pid in current(s.app).query_service.pool.pids:
            os.kill(pid, signal.SIGKILL)
            FIGURES.fault("query worker killed")
        time.sleep(0.2)
        r = s.get("/sparql", params={"query": ASK + " # fresh"})
        assert r.status_code == 503 and "StoreError" in r.text and "cannot open the store" in r.text, r.text
        r = s.post("/admin/reload", params={"force": "1"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["reloaded"] is True, r.text
        s.answers()
    finally:
        s.stop()


# --------------------------------------------------------------------------- the operator's reload


def test_reload_is_off_by_default_and_needs_the_token(site: Settings) -> None:
    assert Settings().admin_token == "" or os.environ.get("CPBKG_ADMIN_TOKEN")
    from fastapi.testclient import TestClient

    store = open_store(site, read_only=True)
    pool = QueryPool(store.path, size=1)
    try:
        with TestClient(create_app(site, store=store, pool=pool)) as off:
            for method in ("GET", "POST", "HEAD"):
                r = off.request(method, "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
                FIGURES.request()
                assert r.status_code == 404, (method, r.text)
        with TestClient(create_app(site.with_(admin_token=TOKEN), store=store, pool=pool)) as on:
            cases = [({}, 401), ({"Authorization": TOKEN}, 401), ({"Authorization": "Basic " + TOKEN}, 401),
                     ({"Authorization": "Bearer "}, 401), ({"Authorization": "Bearer wrong"}, 403),
                     ({"Authorization": "Bearer " + TOKEN + "x"}, 403), ({"Authorization": "Bearer " + TOKEN[:-1]}, 403),
                     ({"Authorization": "Bearer ünïcode".encode()}, 403)]
            for headers, status in cases:
                r = on.post("/admin/reload", headers=headers)
                FIGURES.request()
                FIGURES.bad_input("admin credentials")
                assert r.status_code == status, (headers, r.status_code, r.text)
                assert TOKEN not in r.text
            assert on.post("/admin/reload").headers["www-authenticate"].startswith("Bearer")
            r = on.get("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 405
            r = on.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200 and r.json()["reloaded"] is False  # the same build
            # no browser can call it: CORS allows neither POST nor the Authorization header
            pre = on.options("/admin/reload", headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "authorization"})
            assert "access-control-allow-origin" not in pre.headers or pre.status_code >= 400
            assert "/admin/reload" not in on.get("/openapi.json").text
    finally:
        pool.close()
        store.close()


@pytest.mark.slow
def test_reload_swaps_in_a_new_build_while_queries_run(site: Settings, tmp_path: Path) -> None:
    """A real server under 6 clients sending queries; a new build is written to dist/ and the
    operator reloads twice. Every answer is a 200, none is lost, the new build is served after
    each reload, the old query workers stop, and the store of the first build is removed by the
    second reload's load once no one serves it."""
    settings = site.with_(admin_token=TOKEN, query_workers=2, query_timeout=10.0)
    src = tmp_path / "src"
    shutil.copytree(site.dist_dir, src)
    s = Server(settings, own_pool=True)
    first_store = s.store.path
    first_pids = set(current(s.app).query_service.pool.start().pids)
    statuses: dict[int, int] = {}
    errors: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(n: int) -> None:
        i = 0
        with httpx.Client(base_url=s.url, timeout=60) as c:
            while not stop.is_set() and i < 5000:
                i += 1
                query = (f'SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{MARKER_PREDICATE}>|<http://www.w3.org/2004/02/skos/core#notation> ?o '
                         f'FILTER(?o != "{n}-{i}") }}') if i % 3 else "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
                try:
                    r = c.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
                    page = c.get("/id/goal/A.1", headers={"Accept": "text/turtle"})
                    FIGURES.request(2)
                    with lock:
                        for status in (r.status_code, page.status_code):
                            statuses[status] = statuses.get(status, 0) + 1
                        if r.status_code != 200:
                            errors.append(r.text[:200])
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    try:
        s.answers()
        # asked three times: run, then from the answer cache, then replayed by the response memo,
        # which must not replay it once the new build is served
        assert [ask_marker(s.url, "first") for _ in range(3)] == [False] * 3
        for t in threads:
            t.start()
        time.sleep(1.0)
        write_new_build(src, site.dist_dir, "first")
        r = s.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["reloaded"] is True, r.text
        assert ask_marker(s.url, "first") is True
        time.sleep(1.0)
        write_new_build(src, site.dist_dir, "second")
        r = s.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["reloaded"] is True, r.text
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    try:
        assert ask_marker(s.url, "second") is True and ask_marker(s.url, "first") is False
        assert errors == [], errors[:5]
        assert set(statuses) == {200}, statuses
        assert sum(statuses.values()) > 50, statuses
        sd = s.get("/sparql", headers={"Accept": "application/n-triples"}).text
        triples = json.loads((site.dist_dir / "release.json").read_text())["triples"]
        assert f'"{triples}"' in sd  # the service description is of the new build
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in first_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in first_pids), "the first build's workers still run"
        assert not first_store.exists(), "the first build's store was not removed"
        s.answers()
    finally:
        s.stop()


def test_a_request_begun_before_a_reload_is_answered_by_the_old_build(site: Settings, tmp_path: Path) -> None:
    """A POST /sparql whose body is still on its way when the operator reloads: the request was
    pinned to the build served when it began, so it is answered from that build, whole (not the
    new build's marker, the old data version in its ETag); the old build's workers run until it is
    answered and stop after; a request begun after the reload sees the new build."""
    settings = site.with_(admin_token=TOKEN, query_timeout=30.0, body_timeout=120.0, cache_bytes=1 << 20)
    src = tmp_path / "src"
    shutil.copytree(site.dist_dir, src)
    s = Server(settings, own_pool=True)
    try:
        old = current(s.app)
        old_pids = set(old.query_service.pool.start().pids)
        body = urlencode({"query": f'ASK {{ <{MARKER_SUBJECT}> <{MARKER_PREDICATE}> "late" }}'}).encode()
        with socket.create_connection(("127.0.0.1", s.live.port), timeout=120) as sock:
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/sparql-results+json\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            FIGURES.request()
            deadline = time.monotonic() + 60
            while old.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert old.in_flight == 1, "the request did not reach the app"
            write_new_build(src, site.dist_dir, "late")
            r = s.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200 and r.json()["reloaded"] is True, r.text
            assert current(s.app) is not old and ask_marker(s.url, "late") is True
            assert all(_alive(pid) for pid in old_pids), "the old build's workers stopped under a request"
            sock.sendall(body[10:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, content = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer[:500]
        assert json.loads(content)["boolean"] is False  # the old build has no marker "late"
        assert f'\r\netag: w/"{old.store.data_version}-'.encode() in head.lower(), head
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in old_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in old_pids), "the old build's workers still run"
        s.answers()
    finally:
        s.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
