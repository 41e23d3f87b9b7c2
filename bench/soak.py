"""The soak: a real ``cpbkg serve`` under a mixed workload from many connections for a while.

    python bench/soak.py                              # 60 s, 64 connections, on ./dist
    python bench/soak.py --seconds 600 --connections 128 --dist /path/to/dist --json soak.json
    python bench/soak.py --url http://127.0.0.1:8000  # a server already running (loopback only)

It starts ``cpbkg serve`` on a copy of the build (its own store, a free loopback port), then
keeps ``--connections`` keep-alive connections busy (asyncio, a lean HTTP/1.1 client) with a mix of requests:
repeated and new SPARQL queries by GET and both POSTs, named queries, resource pages as HTML
and Turtle, search, the dumps listing and byte ranges of a dump, the service description,
and wrong requests that must be refused (malformed queries, unknown pages). Every answer is
checked against the status its kind must get. The server's resident memory (its process and
its query workers) is sampled twice a second.

It passes when no answer is a 5xx, no request failed at the transport level (a dropped or
refused connection, a timeout), every answer had the status its kind must get, and memory is
flat: the median of the last quarter of the run is within ``--max-growth-mb`` of the median of
the second quarter (the first quarter warms caches up). It prints a summary and, with
``--json``, writes the whole record. Exit 0 passed, 1 failed.

``--attacks slow-reader,big-answer,search`` (or ``all``) then plays the attacks of issue 20, each on
a server of its own with the default admission settings (docs/security.md), from distinct loopback
addresses (127.0.0.10, ...) while another client (127.0.0.250) asks for ``/health`` and a new small
query: ``slow-reader`` -- 20 clients ask for one-row answers of ~150 MB (``--answer-mb``) and read
none of it; ``big-answer`` -- the same, read at full speed; ``search`` -- 16 clients search without
pause. Each reports the server's peak RSS over idle (its process and its workers; passes within
``--max-attack-growth-mb``, 1024 by default), the other client's statuses and its ``/health`` and
query latency (p50, max)::

    python bench/soak.py --seconds 0 --attacks all --attack-seconds 30

``tests/reliability/test_soak.py`` runs the same code for ~12 s in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent

SKOS = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
GOALS = SKOS + "SELECT ?goal ?code WHERE { ?goal a <https://w3id.org/cpbkg/ontology#Goal> ; skos:notation ?code } ORDER BY ?code"
CODES = [f"A.{n}" for n in range(1, 11)] + [f"B.{n}" for n in range(1, 5)]


@dataclass
class Kind:
    """One kind of request of the mix: how often, how to make it, which statuses it must get."""

    name: str
    weight: int
    make: Callable[[random.Random, int], tuple[str, str, dict[str, Any]]]
    expect: tuple[int, ...] = (200,)


def _uncached(rng: random.Random, n: int) -> str:
    code = rng.choice(CODES)
    return SKOS + f'SELECT ?s ?label {{ ?s skos:notation "{code}" ; skos:prefLabel ?label FILTER(?label != "soak-{n}") }}'


MIX: list[Kind] = [
    Kind("sparql repeated (cache)", 26, lambda r, n: ("GET", "/sparql", {"params": {"query": GOALS}})),
    Kind("sparql new (worker)", 14, lambda r, n: ("GET", "/sparql", {"params": {"query": _uncached(r, n)}})),
    Kind("sparql POST form", 5, lambda r, n: ("POST", "/sparql", {"data": {"query": _uncached(r, n)}})),
    Kind("sparql POST query", 5, lambda r, n: ("POST", "/sparql", {
        "content": _uncached(r, n).encode(), "headers": {"Content-Type": "application/sparql-query"}})),
    Kind("sparql CONSTRUCT turtle", 3, lambda r, n: ("GET", "/sparql", {"params": {
        "query": f"CONSTRUCT WHERE {{ <https://w3id.org/cpbkg/id/goal/{r.choice(CODES)}> ?p ?o }}", "format": "ttl"}})),
    Kind("named query", 5, lambda r, n: ("GET", "/queries/plan-elements-for-gbf-target", {
        "params": {"target": f"https://w3id.org/cpbkg/id/gbf/target/{r.randint(1, 23)}"}})),
    Kind("resource page html", 9, lambda r, n: ("GET", f"/id/goal/{r.choice(CODES)}", {"headers": {"Accept": "text/html"}})),
    Kind("resource turtle", 5, lambda r, n: ("GET", f"/id/goal/{r.choice(CODES)}.ttl", {})),
    Kind("search", 4, lambda r, n: ("GET", "/search", {"params": {"q": r.choice(["biosafety", "Target 17", "A.1", "风险"])}})),
    Kind("home page", 4, lambda r, n: ("GET", "/", {})),
    Kind("dumps listing", 3, lambda r, n: ("GET", "/dumps/", {"headers": {"Accept": "application/json"}})),
    Kind("dump byte range", 3, lambda r, n: ("GET", "/dumps/cpbkg.ttl", {"headers": {"Range": f"bytes={r.randint(0, 5000)}-{r.randint(5001, 90000)}"}}),
         (206,)),
    Kind("service description", 2, lambda r, n: ("GET", "/sparql", {"headers": {"Accept": "text/turtle"}})),
    Kind("VoID", 2, lambda r, n: ("GET", "/.well-known/void", {})),
    Kind("malformed query", 5, lambda r, n: ("GET", "/sparql", {"params": {"query": f"SELECT * WHERE {{ ?s ?p {n}"}}), (400,)),
    Kind("update refused", 2, lambda r, n: ("POST", "/sparql", {"data": {"update": "INSERT DATA { <a:a> <a:b> <a:c> }"}}), (400,)),
    Kind("unknown page", 3, lambda r, n: ("GET", f"/id/goal/Z.{n}", {"headers": {"Accept": "text/turtle"}}), (404,)),
]


@dataclass
class Record:
    """What a soak measured."""

    seconds: float
    connections: int
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    #: kind -> [p50 ms, p99 ms]
    latency_by_kind: dict[str, list[float]] = field(default_factory=dict)
    server_errors: int = 0
    transport_errors: int = 0
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests_per_s: float = 0.0
    rss_mb: list[float] = field(default_factory=list)
    rss_growth_mb: float = 0.0
    passed: bool = False

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.0f} s at {self.connections} connections "
                f"({self.requests_per_s:.0f}/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms); "
                f"5xx {self.server_errors}, transport errors {self.transport_errors}, unexpected statuses "
                f"{self.unexpected}; memory {self.rss_mb[0] if self.rss_mb else 0:.0f} -> "
                f"{self.rss_mb[-1] if self.rss_mb else 0:.0f} MB (growth {self.rss_growth_mb:+.1f} MB after warm-up): "
                + ("PASSED" if self.passed else "FAILED"))


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int, *, descendants: bool = True) -> float:
    """Resident memory of a process and (unless told otherwise) all its descendants, MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            if not descendants:
                break
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return total / 1024


class Served:
    """``cpbkg serve`` on a copy of a build, on a free loopback port."""

    def __init__(self, dist: Path, workdir: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None,
                 many_clients: bool = True) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        copy = workdir / "dist"
        shutil.copytree(dist, copy)
        os.utime(copy / "release.json")  # the copy is current: `cpbkg serve` does not rebuild it
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["CPBKG_QUERY_WORKERS"] = str(workers)
        if many_clients:
            # the soak's connections all come from 127.0.0.1 but stand for many clients: the per-client
            # share of cpbkg.web.admission would refuse most of them (429)
            env.update({"CPBKG_CLIENT_QUERIES": str(workers), "CPBKG_QUERY_QUEUE": "1024"})
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "cpbkg", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--dist", str(copy), "--store", str(workdir / "store")]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cpbkg serve exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + "/sparql", params={"query": "ASK {}"}, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("cpbkg serve did not answer within 120 s")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --------------------------------------------------------------------------- the load


class _Conn:
    """One keep-alive HTTP/1.1 connection (a lean client: httpx's pool, not the server, is the limit at 64
    connections in one Python process)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      data: dict[str, str] | None = None, content: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        target = path + ("?" + urlencode(params) if params else "")
        head = {"Host": f"{self.host}:{self.port}", "Accept-Encoding": "identity", **(headers or {})}
        body = b""
        if data is not None:
            body = urlencode(data).encode()
            head.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif content is not None:
            body = content
        if method == "POST":
            head["Content-Length"] = str(len(body))
        raw = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        self.writer.write(raw.encode("latin-1") + body)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            payload = b"".join(parts)
        elif length is not None:
            payload = await self.reader.readexactly(length)
        else:
            payload = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _drive(url: str, seconds: float, connections: int, seed: int, record: Record,
                 latencies: list[float]) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    weights = [k.weight for k in MIX]
    deadline = time.monotonic() + seconds
    statuses: Counter[str] = Counter()
    counter = [0]
    by_kind: dict[str, Counter[str]] = {k.name: Counter() for k in MIX}
    kind_latencies: dict[str, list[float]] = {k.name: [] for k in MIX}

    async def one(rng: random.Random) -> None:
        conn = _Conn(host, port)
        try:
            while time.monotonic() < deadline:
                kind = rng.choices(MIX, weights)[0]
                counter[0] += 1
                method, path, kwargs = kind.make(rng, counter[0])
                start = time.perf_counter()
                try:
                    status, payload = await asyncio.wait_for(conn.request(method, path, **kwargs), 60)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    record.transport_errors += 1
                    by_kind[kind.name]["transport error"] += 1
                    if len(record.examples) < 20:
                        record.examples.append(f"{kind.name}: {exc!r}")
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - start)
                kind_latencies[kind.name].append(latencies[-1])
                statuses[str(status)] += 1
                by_kind[kind.name][str(status)] += 1
                if status >= 500:
                    record.server_errors += 1
                if status not in kind.expect:
                    record.unexpected += 1
                    if len(record.examples) < 20:
                        record.examples.append(f"{kind.name}: {status} {payload[:200]!r}")
        finally:
            await conn.close()

    await asyncio.gather(*(one(random.Random(seed + i)) for i in range(connections)))
    record.statuses = dict(statuses)
    record.by_kind = {k: dict(v) for k, v in by_kind.items()}
    for name, values in kind_latencies.items():
        if values:
            ordered = sorted(values)
            record.latency_by_kind[name] = [round(1000 * statistics.median(ordered), 1),
                                            round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)]


def soak(url: str, *, seconds: float, connections: int, pid: int | None = None, seed: int = 7,
         max_growth_mb: float = 40.0) -> Record:
    """Drive ``url`` (loopback only) for ``seconds`` from ``connections`` connections; sample ``pid``'s memory."""
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise RuntimeError(f"the soak only ever sends load to loopback, not {host}")
    record = Record(seconds=seconds, connections=connections)
    latencies: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set() and pid is not None:
            record.rss_mb.append(round(rss_mb(pid), 1))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    try:
        # a loop of its own in a thread: the caller may already run one (Playwright's sync API does,
        # in a test session that ran the browser tests first)
        driver = threading.Thread(target=asyncio.run,
                                  args=(_drive(url, seconds, connections, seed, record, latencies),))
        driver.start()
        driver.join()
    finally:
        stop.set()
        sampler.join(timeout=5)
    elapsed = time.monotonic() - start
    record.requests = sum(record.statuses.values()) + record.transport_errors
    record.requests_per_s = record.requests / elapsed if elapsed else 0.0
    if latencies:
        ordered = sorted(latencies)
        record.p50_ms = round(1000 * statistics.median(ordered), 2)
        record.p99_ms = round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)
    if len(record.rss_mb) >= 8:
        quarter = len(record.rss_mb) // 4
        record.rss_growth_mb = round(statistics.median(record.rss_mb[-quarter:])
                                     - statistics.median(record.rss_mb[quarter:2 * quarter]), 1)
    record.passed = (record.server_errors == 0 and record.transport_errors == 0 and record.unexpected == 0
                     and record.requests > 0 and record.rss_growth_mb <= max_growth_mb)
    return record


# --------------------------------------------------------------------------- attacks (issue 20)


def big_query(megabytes: float, n: int = 0) -> str:
    """A one-row SELECT whose single value is ~``megabytes`` MB (made by the engine: REPLACE of REPLACE)."""
    k = max(1, round(megabytes * 1e6 / 3_240_000))
    return (f"SELECT ?x WHERE {{ BIND(REPLACE(REPLACE(REPLACE(STRUUID(), \".\", \"{'a' * 300}\"), \"a\", "
            f"\"{'b' * 300}\"), \"b\", \"{'c' * k}\") AS ?x) }} # {n}")


@dataclass
class Attack:
    """What an attack measured: the server's memory, and how the other client fared meanwhile."""

    kind: str
    clients: int
    seconds: float
    idle_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    growth_mb: float = 0.0
    #: the server process alone (without its query workers): idle, peak
    server_idle_mb: float = 0.0
    server_peak_mb: float = 0.0
    #: the other client's requests (``/health`` and a new small query each round): statuses, latencies
    probe_statuses: dict[str, int] = field(default_factory=dict)
    health_p50_ms: float = 0.0
    health_max_ms: float = 0.0
    query_p50_ms: float = 0.0
    query_max_ms: float = 0.0
    attacker_statuses: dict[str, int] = field(default_factory=dict)
    passed: bool = False

    def summary(self) -> str:
        return (f"{self.kind}: {self.clients} clients for {self.seconds:.0f} s; server RSS {self.idle_rss_mb:.0f} MB "
                f"idle, peak {self.peak_rss_mb:.0f} MB (+{self.growth_mb:.0f} MB; the server process without its "
                f"workers {self.server_idle_mb:.0f} -> {self.server_peak_mb:.0f} MB); the other client: "
                f"{self.probe_statuses}, /health p50 {self.health_p50_ms:.1f} ms (max {self.health_max_ms:.0f}), "
                f"new query p50 {self.query_p50_ms:.1f} ms (max {self.query_max_ms:.0f}); attackers "
                f"{self.attacker_statuses}: " + ("PASSED" if self.passed else "FAILED"))


def _attacker(port: int, address: str, kind: str, megabytes: float, stop: threading.Event,
              statuses: Counter[str], lock: threading.Lock) -> None:
    """One attacking client (its own loopback address): ask again and again for a big answer and
    read none of it (slow-reader), all of it at once (big-answer), or search (search)."""
    n = 0
    while not stop.is_set():
        n += 1
        if kind == "search":
            target = "/search?" + urlencode({"q": f"biosafety {address} {n} " + "risk " * (n % 9), "lang": "en"})
        else:
            target = "/sparql?" + urlencode({"query": big_query(megabytes, n), "format": "tsv"})
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(address, 0)) as sock:
                sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                head = sock.recv(1024)
                with lock:
                    statuses[head[9:12].decode(errors="replace") or "closed"] += 1
                if kind == "slow-reader":
                    # hold the socket, read nothing, until the server gives up on us (or the attack ends)
                    sock.settimeout(0.5)
                    while not stop.is_set():
                        try:
                            if not sock.recv(1, socket.MSG_PEEK):
                                break
                        except TimeoutError:
                            continue
                        stop.wait(0.5)
                else:
                    while sock.recv(1 << 20):
                        pass
        except OSError as exc:
            with lock:
                statuses[type(exc).__name__] += 1
            stop.wait(0.2)


def attack(url: str, pid: int | None, *, kind: str, clients: int = 20, megabytes: float = 150.0,
           seconds: float = 30.0, max_growth_mb: float = 1024.0) -> Attack:
    """Play one attack (``slow-reader``, ``big-answer`` or ``search``) from ``clients`` loopback addresses
    (127.0.0.10, ...) while another client (127.0.0.250) asks for ``/health`` and a new small query;
    sample the server's RSS (its process and workers). Passes when the server grew by at most
    ``max_growth_mb`` over idle and the other client got no 5xx and no transport error."""
    parts = urlsplit(url)
    if not (parts.hostname or "").startswith("127."):
        raise RuntimeError("attacks are only ever played against loopback")
    port = parts.port or 80
    record = Attack(kind=kind, clients=clients, seconds=seconds)
    record.idle_rss_mb = rss_mb(pid) if pid else 0.0
    stop = threading.Event()
    lock = threading.Lock()
    attackers: Counter[str] = Counter()
    probes: Counter[str] = Counter()
    health: list[float] = []
    queries: list[float] = []
    record.server_idle_mb = rss_mb(pid, descendants=False) if pid else 0.0
    peak = [record.idle_rss_mb, record.server_idle_mb]

    def sample() -> None:
        while not stop.is_set() and pid:
            peak[0] = max(peak[0], rss_mb(pid))
            peak[1] = max(peak[1], rss_mb(pid, descendants=False))
            stop.wait(0.25)

    def probe() -> None:
        transport = httpx.HTTPTransport(local_address="127.0.0.250")
        with httpx.Client(base_url=url, timeout=60, transport=transport) as web:
            n = 0
            while not stop.is_set():
                n += 1
                for path, params, into in (("/health", None, health),
                                           ("/sparql", {"query": f"ASK {{ ?s ?p ?o }} # probe {n} {time.time_ns()}"},
                                            queries)):
                    start = time.perf_counter()
                    try:
                        status = str(web.get(path, params=params).status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    into.append(time.perf_counter() - start)
                    probes[status] += 1
                stop.wait(0.25)

    threads = [threading.Thread(target=_attacker, args=(port, f"127.0.0.{10 + i}", kind, megabytes, stop,
                                                        attackers, lock), daemon=True) for i in range(clients)]
    threads += [threading.Thread(target=sample, daemon=True), threading.Thread(target=probe, daemon=True)]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    record.peak_rss_mb = round(peak[0], 1)
    record.growth_mb = round(peak[0] - record.idle_rss_mb, 1)
    record.server_peak_mb = round(peak[1], 1)
    record.probe_statuses = dict(probes)
    record.attacker_statuses = dict(attackers)
    for values, p50, top in ((health, "health_p50_ms", "health_max_ms"), (queries, "query_p50_ms", "query_max_ms")):
        if values:
            setattr(record, p50, round(1000 * statistics.median(values), 1))
            setattr(record, top, round(1000 * max(values), 1))
    failed = sum(n for status, n in probes.items() if not status.isdigit() or int(status) >= 500)
    record.passed = bool(probes) and failed == 0 and (not pid or record.growth_mb <= max_growth_mb)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the build to serve (default ./dist)")
    parser.add_argument("--url", help="drive a server already running on loopback instead of starting one")
    parser.add_argument("--workers", type=int, default=2, help="query workers of the server started")
    parser.add_argument("--max-growth-mb", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the whole record here")
    parser.add_argument("--attacks", default="", help="after the soak, play these attacks on a server with the "
                        "default admission settings: slow-reader,big-answer,search (or 'all'; docs/security.md)")
    parser.add_argument("--attack-seconds", type=float, default=30.0)
    parser.add_argument("--attack-clients", type=int, default=20, help="attacking clients (search: 16 is the case)")
    parser.add_argument("--answer-mb", type=float, default=150.0, help="size of each attacker's answer")
    parser.add_argument("--max-attack-growth-mb", type=float, default=1024.0,
                        help="the memory budget: growth of the server over idle during an attack")
    args = parser.parse_args(argv)
    kinds = ["slow-reader", "big-answer", "search"] if args.attacks == "all" else \
        [k.strip() for k in args.attacks.split(",") if k.strip()]
    with tempfile.TemporaryDirectory(prefix="cpbkg-soak-") as work:
        served = None
        if args.url:
            url, pid = args.url.rstrip("/"), None
        else:
            if not (args.dist / "release.json").is_file():
                parser.error(f"{args.dist}: no build; run `cpbkg build` first or give --dist")
            served = Served(args.dist, Path(work), workers=args.workers)
            url, pid = served.url, served.pid
        try:
            record = soak(url, seconds=args.seconds, connections=args.connections, pid=pid, seed=args.seed,
                          max_growth_mb=args.max_growth_mb) if args.seconds > 0 else None
        finally:
            if served is not None:
                served.stop()
        attacks = []
        for kind in kinds:
            target = None
            if not args.url:  # a server of its own, default admission: the attackers are clients like any other
                target = Served(args.dist, Path(work) / kind, workers=args.workers, many_clients=False)
                url, pid = target.url, target.pid
            try:
                attacks.append(attack(url, pid, kind=kind, clients=16 if kind == "search" else args.attack_clients,
                                      megabytes=args.answer_mb, seconds=args.attack_seconds,
                                      max_growth_mb=args.max_attack_growth_mb))
            finally:
                if target is not None:
                    target.stop()
    for done in attacks:
        print(done.summary())
    if args.json and attacks:
        args.json.with_suffix(".attacks.json").write_text(json.dumps([asdict(a) for a in attacks], indent=2) + "\n",
                                                          encoding="utf-8")
    if record is None:
        return 0 if all(a.passed for a in attacks) else 1
    print(record.summary())
    for kind, counts in record.by_kind.items():
        p50, p99 = record.latency_by_kind.get(kind, [0.0, 0.0])
        print(f"  {kind:28} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  {counts}")
    for example in record.examples:
        print(f"  ! {example}")
    if args.json:
        args.json.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return 0 if record.passed and all(a.passed for a in attacks) else 1


if __name__ == "__main__":
    sys.exit(main())
