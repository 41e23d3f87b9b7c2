"""The three servers the benchmark compares, each a real process on a loopback port.

* CPB-KG: ``cpbkg serve`` on a build's ``dist/`` and its embedded store;
* Oxigraph's own server (Rust): ``oxigraph load`` then ``oxigraph serve-read-only``,
  with the union of the named graphs as the default graph (as CPB-KG answers);
* rdflib-endpoint (FastAPI on rdflib), the usual Python choice, on the same N-Quads.

Peak RSS is read from ``/proc/<pid>/status`` (VmHWM) of the server and its children
(CPB-KG runs its queries in worker processes: they count too).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cpbkg.config import console_command

ASK = "ASK { ?s ?p ?o }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server process and where its SPARQL endpoint is."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    sparql_path: str
    log: Path
    ready_seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def sparql(self) -> str:
        return self.base + self.sparql_path

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the process and its children, in MB."""
        return sum(_status_kb(pid, "VmHWM") for pid in _process_tree(self.process.pid)) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return pids


def _status_kb(pid: int, field: str) -> int:
    """A memory field of ``/proc/PID/status`` (``VmHWM``, ``VmRSS``), in kB; 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _start(name: str, argv: list[str], workdir: Path, base: str, sparql_path: str,
           *, env: dict[str, str] | None = None, ready_timeout: float = 600) -> Server:
    log = workdir / f"{name}.log"
    # a process group of its own, so stop() also ends the server's worker processes
    process = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=workdir,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    server = Server(name, process, base, sparql_path, log)
    start = time.perf_counter()
    deadline = start + ready_timeout
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; {log} ends:\n{_tail(log)}")
            try:
                r = client.get(server.sparql, params={"query": ASK},
                               headers={"Accept": "application/sparql-results+json"})
                if r.status_code == 200:
                    server.ready_seconds = time.perf_counter() - start
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} not ready after {ready_timeout} s; {log} ends:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    """The last lines of a server's log (the error says why; the log may be removed with its work dir)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


#: the limits CPB-KG runs under in the benchmark (and bench/stages.py in process): long enough for
#: the aggregate on 1M triples, high enough that no workload meets the result cap
QUERY_TIMEOUT = 60
RESULT_CAP = 1_000_000


def start_cpbkg(dist: Path, store: Path | None, workdir: Path, *options: str, name: str = "cpbkg",
                own_dist: bool = False, env: dict[str, str] | None = None) -> Server:
    """``cpbkg serve`` on an existing build (the store is loaded first, so start-up is measured apart);
    ``options`` are more flags of ``cpbkg serve`` (``--workers 1``), ``env`` more environment.

    ``own_dist``: ``dist`` is the benchmark's own copy, served as it is: its ``release.json`` is
    touched first, because ``cpbkg serve`` rebuilds a dist/ older than any source or build module,
    and while others edit the tree it would otherwise build the published graph over a demo size.
    ``store`` None: a ``--backend`` server (given in ``options``), which reads a remote store.
    """
    if own_dist:
        (dist / "release.json").touch()
    port = free_port()
    cmd = [sys.executable, "-m", "cpbkg", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--dist", str(dist), *(["--store", str(store)] if store is not None else []), *options]
    return _start(name, cmd, workdir, f"http://127.0.0.1:{port}", "/sparql",
                  env={"CPBKG_QUERY_TIMEOUT": str(QUERY_TIMEOUT), "CPBKG_RESULT_CAP": str(RESULT_CAP), **(env or {})})


def wait_in_memory(server: Server, timeout: float = 300) -> float:
    """Seconds until every worker of a CPB-KG server says (``/health``) it queries its in-memory copy;
    each poll sends a query no cache holds, so that the workers answer and say how they are. Each
    poll is a new connection: with ``--processes`` it meets another server process, and every one
    must say so.

    Raises:
        RuntimeError: not so within ``timeout`` seconds.
    """
    start = time.perf_counter()
    copied: dict[int, bool] = {}
    n = 0
    while time.perf_counter() - start < timeout:
        n += 1
        with httpx.Client(timeout=60) as client:  # a new connection: maybe another server process
            client.get(server.sparql, params={"query": f"ASK {{ <urn:x-bench:{n}> ?p ?o }}"}).raise_for_status()
            health = client.get(server.base + "/health").json()
        workers = health["query_workers"]["in_memory"]
        copied[health["process"]["pid"]] = bool(workers) and all(q for q in workers)
        if len(copied) >= health["process"]["of"] and all(copied.values()):
            return time.perf_counter() - start
        time.sleep(0.1)
    raise RuntimeError(f"the workers of {server.name} did not copy the store into memory in {timeout} s; "
                       f"{server.log} ends:\n{_tail(server.log)}")


def start_oxigraph(nquads: Path, workdir: Path) -> Server:
    """Oxigraph's server, read-only, on a store bulk-loaded from the same quads."""
    binary = console_command("oxigraph")
    if binary is None:
        raise RuntimeError("the oxigraph CLI is not installed: pip install oxigraph")
    location = workdir / "oxigraph-store"
    shutil.rmtree(location, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([binary, "load", "--location", str(location), "--file", str(nquads)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load_seconds = time.perf_counter() - start
    port = free_port()
    # no --timeout-s: Oxigraph 0.5 then starts one thread per query that sleeps for the whole
    # timeout, and above ~1,000 queries/s it runs out of threads and answers 500 (measured
    # 2026-11-25: 1,364 errors in a 5 s run on the published graph); without it, it is at its best
    cmd = [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}",
           "--union-default-graph"]
    server = _start("oxigraph", cmd, workdir, f"http://127.0.0.1:{port}", "/query")
    server.extra["load_seconds"] = load_seconds
    return server


def start_rdflib_endpoint(nquads: Path, workdir: Path) -> Server:
    """rdflib-endpoint on the same quads (it parses them into an rdflib Dataset at start)."""
    binary = console_command("rdflib-endpoint")
    if binary is None:
        raise RuntimeError("rdflib-endpoint is not installed: pip install rdflib-endpoint")
    port = free_port()
    cmd = [binary, "serve", "--host", "127.0.0.1", "--port", str(port), str(nquads)]
    # rdflib-endpoint 0.6 answers SPARQL at its root path
    return _start("rdflib-endpoint", cmd, workdir, f"http://127.0.0.1:{port}", "/", ready_timeout=1800)


# --------------------------------------------------------------------------- replicas and remote stores
# (bench/replicas.py: cpbkg serve replicas behind nginx, and cpbkg serve --backend on a store)


def start_replica(dist: Path, workdir: Path, *options: str, name: str, store: Path | None = None,
                  env: dict[str, str] | None = None) -> Server:
    """One ``cpbkg serve`` of several on the benchmark's own copy of a build (:func:`start_cpbkg` with
    ``own_dist``), under its own ``name`` (and log); ``store`` None: a ``--backend`` server."""
    return start_cpbkg(dist, store, workdir, *options, name=name, own_dist=True, env=env)


def nginx_executable() -> str | None:
    """Debian's nginx: on ``PATH``, or in ``/usr/sbin`` (not on a user's ``PATH``)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def start_nginx(upstreams: list[Server], workdir: Path, *, name: str = "nginx") -> Server:
    """Debian's nginx in front of ``upstreams`` with the configuration the docs show
    (:func:`cpbkg.web.proxy.nginx_conf`, ``cpbkg nginx-conf``); its files under ``workdir/name``.

    Started as tests/support/replicas.py's ``Nginx`` does (the test's twin): in the foreground, in a
    process group of its own (its worker process is stopped with it), ready once a query gets through.
    """
    from cpbkg.web.proxy import nginx_conf

    binary = nginx_executable()
    if binary is None:
        raise RuntimeError("nginx is not installed: apt-get install nginx")
    prefix = workdir / name
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(f"127.0.0.1:{port}", [s.base.removeprefix("http://") for s in upstreams], prefix),
                    encoding="utf-8")
    cmd = [binary, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
    return _start(name, cmd, workdir, f"http://127.0.0.1:{port}", "/sparql", ready_timeout=60)


def nginx_log(server: Server) -> dict[str, int]:
    """What nginx's access log (``workdir/name/access.log``) says: requests, those the client closed
    before the answer (499: wrk ends a run with requests in flight), those answered neither 200 nor
    499, and those passed on to another replica (``$upstream_status`` lists two or more)."""
    path = server.log.with_suffix("") / "access.log"
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return {"requests": len(lines), "client_closed": sum(1 for line in lines if line.startswith("499 ")),
            "failed": sum(1 for line in lines if not line.startswith(("200 ", "499 "))),
            "retried": sum(1 for line in lines if ", " in line.partition(" statuses=")[2])}


#: the administrator (user:password) of a new Virtuoso database, for ``CPBKG_REMOTE_AUTH``
VIRTUOSO_AUTH = "dba:dba"


def virtuoso_ini(folder: Path, sql_port: int, http_port: int, *, threads: int = 10,
                 sorted_top_rows: int | None = None) -> str:
    """A minimal virtuoso.ini: everything under ``folder``, both ports on 127.0.0.1, ``threads`` HTTP
    threads (and as many client connections); ``sorted_top_rows``: Virtuoso's ``MaxSortedTopRows``
    (its default 10,000 refuses a LIMIT above it under an ORDER BY). The test suite's Virtuoso
    (tests/support/virtuoso_server.py) takes the defaults."""
    top = f"MaxSortedTopRows = {sorted_top_rows}\n" if sorted_top_rows else ""
    return f"""[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = ., {folder}
CheckpointInterval = 0
{top}
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}/vsp
ServerThreads = {threads}
MaxClientConnections = {threads}

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
MaxQueryCostEstimationTime = 0
"""


def start_virtuoso(workdir: Path) -> Server:
    """A throw-away Virtuoso (Debian's ``virtuoso-t``): database, logs and ini in ``workdir/virtuoso``,
    SQL and HTTP on free ports of 127.0.0.1, administrator :data:`VIRTUOSO_AUTH`; ``/sparql`` reads
    anonymously. tests/support/virtuoso_server.py is the test suite's twin of this launcher."""
    binary = shutil.which("virtuoso-t")
    if binary is None:
        raise RuntimeError("virtuoso-t is not installed: apt-get install virtuoso-opensource")
    folder = workdir / "virtuoso"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "vsp").mkdir(parents=True)
    port = free_port()
    ini = folder / "virtuoso.ini"
    # HTTP threads for every connection of a run (at 10, connections past the tenth would wait in
    # Virtuoso, and the figure would be of the configuration, not of the store), and MaxSortedTopRows
    # raised: the workloads' LIMITs (100,001 and up) under an ORDER BY are otherwise refused ("SR353:
    # Sorted TOP clause specifies more then 100000 rows"). Not higher: Virtuoso 7.2.5 allocates for the
    # whole LIMIT and dies above ~4M ("GPF: Dkpool.c:1968"), see bench/replicas.py
    ini.write_text(virtuoso_ini(folder, free_port(), port, threads=64, sorted_top_rows=3_000_000), encoding="utf-8")
    # -f: in the foreground, so that it is this process (and its group) that stop() ends; its
    # output goes to workdir/virtuoso.log, its own log to virtuoso/virtuoso.log
    return _start("virtuoso", [binary, "-f", "-c", str(ini)], workdir, f"http://127.0.0.1:{port}", "/sparql",
                  ready_timeout=120)


def start_oxigraph_server(workdir: Path) -> Server:
    """Oxigraph's server, read-write (``oxigraph serve``: ``cpbkg publish`` writes to it), on an empty store;
    without ``--timeout-s``, as :func:`start_oxigraph` (why: there)."""
    binary = console_command("oxigraph")
    if binary is None:
        raise RuntimeError("the oxigraph CLI is not installed: pip install oxigraph")
    location = workdir / "oxigraph-server"
    shutil.rmtree(location, ignore_errors=True)
    port = free_port()
    cmd = [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    return _start("oxigraph", cmd, workdir, f"http://127.0.0.1:{port}", "/query")


def start_floor(workdir: Path) -> Server:
    """uvicorn serving bench/floor.py's fixed answer as it runs ``cpbkg serve`` (httptools and uvloop,
    which uvicorn's ``auto`` picks when they are installed; no access log): the floor of a Python
    front end (bench/stages.py)."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1", "--port", str(port),
           "--http", "httptools", "--loop", "uvloop", "--lifespan", "off", "--no-access-log", "--log-level", "warning"]
    root = str(Path(__file__).resolve().parent.parent)
    return _start("floor", cmd, workdir, f"http://127.0.0.1:{port}", "/sparql",
                  env={"PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)})


def vm_rss_mb(pid: int) -> float:
    """Resident memory of one process now (``VmRSS``), in MB; 0 if it is gone."""
    return _status_kb(pid, "VmRSS") / 1024


def children(pid: int) -> list[int]:
    """The direct children of a process (those of ``cpbkg serve``: its query workers), whichever of
    its threads started them (each thread lists its own in ``/proc``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(found)
