"""Throughput of ``cpbkg serve`` replicas behind nginx, and of ``cpbkg serve --backend`` on a remote store.

    python bench/replicas.py                                     # 1, 2, 4 replicas; Virtuoso; Oxigraph
    python bench/replicas.py --replicas 1,2 --backends embedded --connections 16,64 --seconds 10
    python bench/replicas.py --backends virtuoso --mode distinct
    python bench/replicas.py --sizing                            # memory per query worker (published, 1m)

On the published build (``dist/``, or ``--dist``; the benchmark serves its own copy), one configuration
after the other, each on processes of its own (so that each has its own peak RSS):

* **direct x1**: one ``cpbkg serve`` (``--workers`` query workers, default 1), wrk straight at it:
  the reference, so that the proxy's own cost is visible;
* **nginx xN** (``--replicas``, default 1,2,4): N ``cpbkg serve`` on one copy of the build and one
  store folder, Debian's nginx in front with the configuration of ``cpbkg nginx-conf``
  (:func:`cpbkg.web.proxy.nginx_conf`), wrk at nginx;
* **virtuoso backend** / **oxigraph backend**: one ``cpbkg serve --backend`` (``--backend-workers``
  queries at once to the store) on a throw-away Virtuoso or ``oxigraph serve`` that ``cpbkg publish``
  filled with the build;
* **virtuoso bare** / **oxigraph bare**: the same store's own endpoint (``/sparql``, ``/query``) under
  the same load, each query with the dataset CPB-KG's backend sends (``default-graph-uri`` and
  ``named-graph-uri``: the build's graphs), so that the store's own cost is visible.

The SPARQL workloads of bench/workloads.py (``--workloads``, default lookup, linkage, scan) in both
modes of bench/run.py (``--mode``): repeated (one text: CPB-KG's cache answers it) and distinct (a
text nobody has seen per request, bench/load.py's wrk script). Before a configuration's runs each
workload is asked once: the answer must be 200, and its rows those of the first configuration (a
warning says otherwise). Printed: per mode, workload and connection count, each configuration's
req/s, p50, p99, errors (non-2xx and socket errors, from wrk), its req/s over direct x1's and the
peak RSS of its processes. Written: ``bench/results/replicas-<UTC time>.json`` (or ``--json``).

``--sizing`` measures memory instead: the RSS of the server process and of each query worker of one
``cpbkg serve`` after its workers copied the store into memory (and again after one pass of the
workloads), at the published size and at ~1M triples (``cpbkg build --demo --synthetic-replicates
3``, minutes), there both on disk (the default ``--memory-store-triples``) and in memory
(``--memory-store-triples 2000000``): the figures of docs/operations.md's sizing.

The throughput figures are wall-clock: take them on a quiet machine. Every server listens on 127.0.0.1
and is stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads
from bench.data import ROOT, Dataset, build_size, load_store, read_build
from bench.load import distinct_script, first_of_run, run_wrk
from bench.report import fmt, ratio, write_json
from bench.servers import (
    VIRTUOSO_AUTH,
    Server,
    children,
    nginx_log,
    start_nginx,
    start_oxigraph_server,
    start_replica,
    start_virtuoso,
    vm_rss_mb,
    wait_in_memory,
)

RESULTS = ROOT / "bench" / "results"
MODES = ("repeated", "distinct")
BACKENDS = ("embedded", "virtuoso", "oxigraph")
#: the configuration every other one is compared with (the proxy's own cost shows against it)
REFERENCE = "direct x1"
#: distinct LIMITs one run may use. Not bench/load.py's DISTINCT_SPAN (10^9): under an ORDER BY
#: (the linkage) Virtuoso 7.2.5 allocates for the whole LIMIT, and above ~4M it dies ("GPF:
#: Dkpool.c:1968 large free not on 4k boundary", seen here). With 10^5 per run and the run numbers
#: restarting per store, the LIMITs stay below 2M; a run that sends more requests than this is flagged
RUN_SPAN = 100_000


def first_limit(run: int) -> int:
    """The first LIMIT of distinct run ``run`` of a store: above the repeated text's, :data:`RUN_SPAN` apart."""
    return workloads.REPEATED_LIMIT + 1 + run * RUN_SPAN


@dataclass
class Config:
    """One configuration under load: where wrk sends its requests, and whose memory it counts."""

    name: str
    #: the server wrk talks to (nginx, a replica, ``cpbkg serve --backend`` or a bare store)
    front: Server
    #: every process of the configuration (their peak RSS is the configuration's)
    processes: list[Server]
    #: for a bare store, the dataset CPB-KG's backend sends with every query (a query string)
    dataset: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def url(self, load: workloads.Workload) -> str:
        """The GET URL of a workload's repeated text."""
        query = urlencode({"query": load.text()}, quote_via=quote)
        return f"{self.front.sparql}?{self.dataset + '&' if self.dataset else ''}{query}"

    def script(self, load: workloads.Workload, values: list[str]) -> str:
        """bench/load.py's distinct script for this configuration (with the dataset of a bare store:
        the script's first piece, ``"PATH?query=``, is the one place it goes)."""
        path = urlsplit(self.front.sparql).path
        script = distinct_script(path, load, values)
        if not self.dataset:
            return script
        piece = f'"{path}?query='
        assert piece in script, "bench/load.py's distinct script no longer starts its URL with PATH?query="
        return script.replace(piece, f'"{path}?{self.dataset}&query=', 1)

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak RSS (VmHWM) of each process of the configuration, with its children, in MB."""
        return {server.name: server.peak_rss_mb() for server in self.processes}


# --------------------------------------------------------------------------- the configurations


def admission_options(args: argparse.Namespace, *, proxied: bool) -> list[str]:
    """``cpbkg serve`` flags that let one load generator use every connection it opens.

    wrk is one client (127.0.0.1), and so is nginx: by default one client may have as many queries
    running and waiting as there are workers, and 8 per worker may wait, so 16 connections on one
    worker would be answered 429/503 -- and through nginx a 503 is passed to the next replica, which
    nginx then counts as failed. ``--trusted-proxies`` as docs/operations.md says for nginx.
    """
    admit = str(2 * max(args.connections))
    options = ["--client-queries", admit, "--query-queue", admit]
    return options + (["--trusted-proxies", "127.0.0.1"] if proxied else [])


@contextlib.contextmanager
def embedded(data: Dataset, store: Path, workdir: Path, args: argparse.Namespace, replicas: int,
             proxied: bool) -> Iterator[Config]:
    """``replicas`` ``cpbkg serve`` on one build and one store folder, nginx in front if ``proxied``;
    all stopped after, also on error."""
    started: list[Server] = []
    name = f"nginx x{replicas}" if proxied else f"direct x{replicas}"
    tag = name.replace(" ", "-")
    try:
        for i in range(replicas):
            started.append(start_replica(data.dist, workdir, "--workers", str(args.workers),
                                         "--memory-store-triples", str(args.memory_store_triples),
                                         *admission_options(args, proxied=proxied), store=store,
                                         name=f"{tag}-replica-{i}"))
        if data.in_memory(args.memory_store_triples):
            for replica in started:  # as in production: timed once every worker queries its in-memory copy
                wait_in_memory(replica)
        front = started[0]
        if proxied:
            front = start_nginx(started, workdir, name=f"{tag}-nginx")
            started.append(front)
        yield Config(name, front, list(started))
    finally:
        for server in reversed(started):
            server.stop()


def publish(data: Dataset, target: str, workdir: Path, env: dict[str, str] | None = None) -> float:
    """``cpbkg publish --to target`` of the build; its seconds.

    Raises:
        RuntimeError: it failed (its output says why).
    """
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cpbkg", "publish", "--to", target, "--dist", str(data.dist), "-q"],
                          cwd=workdir, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"cpbkg publish --to {target} exited {done.returncode}: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def dataset_query(data: Dataset) -> str:
    """The dataset CPB-KG's backend sends with a query that names none (cpbkg/store/backend.py: every
    graph of the build, as default and as named graphs), as a query string for the bare store."""
    raw = json.loads((data.dist / "release.json").read_text(encoding="utf-8"))
    graphs = [f"{raw['base_uri']}graph/{name}" for name in raw["graphs"]]
    return urlencode([("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g) for g in graphs],
                     quote_via=quote)


@contextlib.contextmanager
def remote(kind: str, data: Dataset, workdir: Path, args: argparse.Namespace) -> Iterator[list[Config]]:
    """A throw-away store of ``kind`` filled by ``cpbkg publish``, and one ``cpbkg serve --backend`` on
    it: the configurations "KIND backend" and "KIND bare" (the store alone); stopped after."""
    started: list[Server] = []
    try:
        if kind == "virtuoso":
            store = start_virtuoso(workdir)
            started.append(store)
            backend = f"virtuoso+{store.base}"
            # Virtuoso's anonymous /sparql cannot write: the new database's administrator publishes
            seconds = publish(data, backend, workdir, env={"CPBKG_REMOTE_AUTH": VIRTUOSO_AUTH})
        else:
            store = start_oxigraph_server(workdir)
            started.append(store)
            backend = store.base
            seconds = publish(data, backend, workdir)
        print(f"   {kind}: ready in {store.ready_seconds:.1f} s, cpbkg publish {seconds:.1f} s", flush=True)
        # it reads anonymously (Virtuoso's /sparql), as docs/remote-stores.md serves it
        server = start_replica(data.dist, workdir, "--backend", backend, "--workers", str(args.backend_workers),
                               *admission_options(args, proxied=False), name=f"{kind}-backend")
        started.append(server)
        notes = {"publish_seconds": seconds, "store_ready_seconds": store.ready_seconds}
        yield [Config(f"{kind} backend", server, [server, store], notes=notes),
               Config(f"{kind} bare", store, [store], dataset=dataset_query(data), notes=notes)]
    finally:
        for s in reversed(started):
            s.stop()


# --------------------------------------------------------------------------- measuring


def check_answers(config: Config, loads: list[workloads.Workload], reference: dict[str, int]) -> dict[str, int]:
    """Each workload's repeated text once (also the warm-up of the repeated runs): 200 and, per
    workload, the rows of the first configuration checked (``reference``, filled by the first)."""
    rows = {}
    with httpx.Client(timeout=300) as client:
        for load in loads:
            answer = client.get(config.url(load), headers={"Accept": load.accept})
            if answer.status_code != 200:
                raise RuntimeError(f"{config.name} answered {answer.status_code} to {load.name}: {answer.text[:300]}")
            rows[load.name] = len(answer.json()["results"]["bindings"])
            expected = reference.setdefault(load.name, rows[load.name])
            if rows[load.name] != expected:
                print(f"   WARNING: {config.name} answers {load.name} with {rows[load.name]} rows, the first "
                      f"configuration with {expected}: its figures are of another answer", flush=True)
    return rows


def measure(config: Config, data: Dataset, loads: list[workloads.Workload], args: argparse.Namespace,
            reference: dict[str, int], runs: Iterator[int]) -> list[dict[str, Any]]:
    """Every workload at every connection count in every mode asked for, on one configuration.

    Each distinct run takes the next run number of its store (``runs``): every embedded configuration
    (processes of its own) gets the same texts, as bench/run.py's servers do; the two of a remote
    store share its numbers, so that the second is sent no text the store has seen (Virtuoso keeps
    compiled queries).
    """
    answers = check_answers(config, loads, reference)
    rows = []
    for load in loads:
        for connections in args.connections:
            for mode in (m for m in load.modes if m in args.modes):
                row: dict[str, Any] = {"configuration": config.name, "workload": load.name, "mode": mode,
                                       "connections": connections, "answer_rows": answers[load.name]}
                if mode == "repeated":
                    result = run_wrk(config.url(load), connections=connections, seconds=args.seconds,
                                     accept=load.accept)
                else:
                    row["first_limit"] = first_limit(next(runs))
                    result = run_wrk(config.front.sparql, connections=connections, seconds=args.seconds,
                                     accept=load.accept, script=config.script(load, data.values.get(load.name, [])),
                                     first=row["first_limit"])
                    if result.requests > RUN_SPAN:
                        print(f"   WARNING: {result.requests} requests > RUN_SPAN {RUN_SPAN}: the run sent texts of "
                              "the next one, which a cache may then answer", flush=True)
                row.update(result.as_dict())
                rows.append(row)
                print(f"   {config.name}, {load.name}, {mode}, {connections} conn: {fmt(result.requests_per_s)} r/s "
                      f"p50 {fmt(result.p50_ms, 2)} ms p99 {fmt(result.p99_ms, 2)} ms err {result.errors}", flush=True)
    return rows


def finish(config: Config, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration's record: its peak RSS (on each of its rows too) and, behind nginx, what its
    access log says (requests not answered 200, requests passed on to another replica)."""
    parts = config.peak_rss_mb()
    total = sum(parts.values())
    for row in rows:
        row["peak_rss_mb"] = total
    record: dict[str, Any] = {"name": config.name, "peak_rss_mb": total, "peak_rss_parts_mb": parts, **config.notes}
    if config.front.name.endswith("nginx"):
        record["nginx"] = nginx_log(config.front)
        # the access log counts the check and the runs: a failure or a retry is worth a look
        if record["nginx"]["failed"] or record["nginx"]["retried"]:
            print(f"   NOTE: through nginx {record['nginx']}", flush=True)
    print(f"   {config.name}: peak RSS {total:.0f} MB (" + ", ".join(f"{n} {mb:.0f}" for n, mb in parts.items()) + ")",
          flush=True)
    return record


def run_throughput(data: Dataset, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    loads = [workloads.by_name(name) for name in args.workloads]
    reference: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    configurations: list[dict[str, Any]] = []

    def run(config: Config, runs: Iterator[int]) -> None:
        print(f"\n== {config.name}", flush=True)
        measured = measure(config, data, loads, args, reference, runs)
        configurations.append(finish(config, measured))
        rows.extend(measured)

    if "embedded" in args.backends:
        store = load_store(data, workdir)  # loaded once, before any replica starts: they open it as it is
        with embedded(data, store, workdir, args, 1, proxied=False) as config:
            run(config, count())
        for n in args.replicas:
            with embedded(data, store, workdir, args, n, proxied=True) as config:
                run(config, count())
    for kind in (k for k in BACKENDS[1:] if k in args.backends):
        print(f"\n== {kind}: starting the store and publishing the build", flush=True)
        with remote(kind, data, workdir, args) as pair:
            runs = count()
            for config in pair:
                run(config, runs)
    print_table(rows)
    return {"configurations": configurations, "rows": rows, "answer_rows": reference}


def print_table(rows: list[dict[str, Any]]) -> None:
    """Per mode (repeated first), workload and connection count, one line per configuration."""
    header = (f"{'configuration':<18} {'workload':<10} {'mode':<9} {'conn':>4} | {'req/s':>9} {'p50':>7} {'p99':>7} "
              f"{'err':>5} | {'x direct':>8} {'RSS MB':>7}")
    for mode in MODES:
        picked = [r for r in rows if r["mode"] == mode]
        if not picked:
            continue
        print()
        print("REPEATED: one text again and again; CPB-KG answers it from its cache (bare stores evaluate it)"
              if mode == "repeated" else "DISTINCT: a text nobody has seen per request; no cache answers it")
        print(header)
        print("-" * len(header))
        groups = dict.fromkeys((r["workload"], r["connections"]) for r in picked)
        for workload, connections in groups:
            group = [r for r in picked if (r["workload"], r["connections"]) == (workload, connections)]
            base = next((r["requests_per_s"] for r in group if r["configuration"] == REFERENCE), math.nan)
            for r in group:
                print(f"{r['configuration']:<18} {workload:<10} {mode:<9} {connections:>4} | "
                      f"{fmt(r['requests_per_s']):>9} {fmt(r['p50_ms'], 2):>7} {fmt(r['p99_ms'], 2):>7} "
                      f"{r['errors']:>5} | {fmt(ratio(r['requests_per_s'], base), 2):>8} "
                      f"{fmt(r.get('peak_rss_mb'), 0):>7}")
    print("(latency in ms; err: non-2xx answers and socket errors; x direct: req/s over direct x1's; RSS: peak RSS\n"
          " of the configuration's processes, replicas' workers and nginx's included, a store's since it started)")


# --------------------------------------------------------------------------- memory per worker


def rss_now(server: Server) -> dict[str, Any]:
    """RSS now (VmRSS, MB) of the server process and of each of its query workers (its children)."""
    workers = [vm_rss_mb(pid) for pid in children(server.process.pid)]
    main = vm_rss_mb(server.process.pid)
    return {"server_mb": main, "workers_mb": workers, "total_mb": main + sum(workers)}


def one_pass(server: Server, data: Dataset, workers: int) -> None:
    """Every SPARQL workload (the aggregate included) as texts no cache holds, ``workers`` at once so
    that each worker likely answers one: the memory a worker has once it has read its store, not
    only opened it (on disk, RocksDB's caches fill as queries read)."""
    loads = [w for w in workloads.WORKLOADS if w.template is not None]

    def ask(n: int) -> None:
        load = loads[n % len(loads)]
        text = load.distinct_text(first_of_run(0) + n, data.values.get(load.name, []))
        httpx.get(server.sparql, params={"query": text}, headers={"Accept": load.accept},
                  timeout=300).raise_for_status()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(ask, range(len(loads) * workers * 2)))


def run_sizing(args: argparse.Namespace, base: Path) -> list[dict[str, Any]]:
    """Memory of one ``cpbkg serve`` with ``--sizing-workers`` workers per size and store choice."""
    record = []
    for size in ("published", "1m"):
        workdir = base / size
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        print(f"\n== sizing: {size}", flush=True)
        if size == "published":
            data = read_build(size, args.dist, workdir)
        else:
            data = build_size(size, workdir)
            print(f"   cpbkg build {data.build_seconds:.0f} s", flush=True)
        store = load_store(data, workdir)
        # the default bound, and (above it) one that lets the workers copy the 1M store into memory
        bounds = [500_000] + ([2_000_000] if not data.in_memory(500_000) else [])
        for bound in bounds:
            in_memory = data.in_memory(bound)
            server = start_replica(data.dist, workdir, "--workers", str(args.sizing_workers),
                                   "--memory-store-triples", str(bound), store=store, name=f"sizing-{size}-{bound}")
            try:
                copied = wait_in_memory(server, timeout=900) if in_memory else math.nan
                ready = rss_now(server)
                one_pass(server, data, args.sizing_workers)
                after = rss_now(server)
                figures = {"size": size, "triples": data.triples, "memory_store_triples": bound,
                           "in_memory": in_memory, "workers": args.sizing_workers,
                           "ready_seconds": server.ready_seconds, "in_memory_seconds": copied,
                           "ready": ready, "after_queries": after, "peak_rss_mb": server.peak_rss_mb()}
            finally:
                server.stop()
            record.append(figures)
            where = f"in memory after {copied:.1f} s" if in_memory else "on disk"
            print(f"   {data.triples:,} triples, --memory-store-triples {bound:,} ({where}): server "
                  f"{ready['server_mb']:.0f} MB, workers " + ", ".join(f"{w:.0f}" for w in ready["workers_mb"]) +
                  f" MB; after a pass of the workloads: server {after['server_mb']:.0f} MB, workers " +
                  ", ".join(f"{w:.0f}" for w in after["workers_mb"]) + f" MB; peak {figures['peak_rss_mb']:.0f} MB",
                  flush=True)
    print_sizing(record)
    return record


def print_sizing(record: list[dict[str, Any]]) -> None:
    print("\nmemory of one cpbkg serve (VmRSS, MB; a worker's: the mean of its workers)")
    header = (f"{'size':<10} {'triples':>9} {'store':<10} | {'server':>7} {'worker':>7} | {'server':>7} {'worker':>7} "
              f"| {'bytes/triple':>12}")
    print(f"{'':<32}| {'ready':^15} | {'after queries':^15} |")
    print(header)
    print("-" * len(header))
    for figures in record:
        ready, after = figures["ready"], figures["after_queries"]
        worker = sum(after["workers_mb"]) / max(1, len(after["workers_mb"]))
        # a worker's memory over the same size's on disk worker: what its in-memory copy costs per triple
        disk = next((f for f in record if f["size"] == figures["size"] and not f["in_memory"]), None)
        per_triple = math.nan
        if figures["in_memory"] and disk is not None:
            on_disk = sum(disk["after_queries"]["workers_mb"]) / max(1, len(disk["after_queries"]["workers_mb"]))
            per_triple = (worker - on_disk) * 2**20 / figures["triples"]
        print(f"{figures['size']:<10} {figures['triples']:>9,} {'memory' if figures['in_memory'] else 'disk':<10} | "
              f"{ready['server_mb']:>7.0f} {sum(ready['workers_mb']) / max(1, len(ready['workers_mb'])):>7.0f} | "
              f"{after['server_mb']:>7.0f} {worker:>7.0f} | {fmt(per_triple, 0):>12}")
    print("(bytes/triple: an in-memory worker's RSS over an on-disk one's of the same size, per triple)")


# --------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dist", type=Path, default=ROOT / "dist", help="the published build (copied; default dist/)")
    p.add_argument("--replicas", default="1,2,4", help="comma-separated replica counts behind nginx")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated: embedded (direct x1 and nginx xN), virtuoso, oxigraph")
    p.add_argument("--workers", type=int, default=1,
                   help="query workers per replica (default 1: 4 replicas x 1 worker fit 2 cores)")
    p.add_argument("--backend-workers", type=int, default=4,
                   help="queries at once from cpbkg serve --backend to its store (threads, not processes)")
    p.add_argument("--connections", default="16", help="comma-separated connection counts")
    p.add_argument("--seconds", type=int, default=5, help="duration of each wrk run (whole seconds)")
    p.add_argument("--mode", default="both", choices=[*MODES, "both"], help="as bench/run.py's --mode")
    p.add_argument("--workloads", default="lookup,linkage,scan", help="comma-separated SPARQL workloads")
    p.add_argument("--memory-store-triples", type=int, default=500_000, help="passed to every replica")
    p.add_argument("--sizing", action="store_true",
                   help="measure memory per query worker (published and ~1M triples) instead of throughput")
    p.add_argument("--sizing-workers", type=int, default=2, help="query workers of the --sizing server")
    p.add_argument("--json", type=Path, default=None, help="the record (default bench/results/replicas-<time>.json)")
    p.add_argument("--workdir", type=Path, default=None, help="where copies, stores and logs go (default: a temp dir)")
    args = p.parse_args(argv)
    args.replicas = [int(n) for n in args.replicas.split(",") if n]
    args.backends = [b for b in args.backends.split(",") if b]
    if unknown := [b for b in args.backends if b not in BACKENDS]:
        p.error(f"unknown backend(s) {unknown}; of {list(BACKENDS)}")
    args.connections = [int(c) for c in args.connections.split(",") if c]
    args.modes = MODES if args.mode == "both" else (args.mode,)
    args.workloads = [w for w in args.workloads.split(",") if w]
    for name in args.workloads:
        try:
            if workloads.by_name(name).template is None:
                p.error(f"{name} is not a SPARQL workload")
        except KeyError as exc:
            p.error(str(exc))
    if not (args.dist / "release.json").exists():
        p.error(f"{args.dist} is not a build (no release.json): cpbkg build, or give --dist")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record: dict[str, Any] = {"started": stamp, "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                                             "python": platform.python_version()},
                              "args": {k: str(v) for k, v in vars(args).items()}}
    base = args.workdir or Path(tempfile.mkdtemp(prefix="cpbkg-replicas-"))
    out = args.json or RESULTS / f"replicas-{stamp}.json"
    try:
        if args.sizing:
            record["sizing"] = run_sizing(args, base)
        else:
            workdir = base / "published"
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            data = read_build("published", args.dist, workdir)
            record["triples"] = data.triples
            print(f"published build: {data.triples:,} triples", flush=True)
            record.update(run_throughput(data, workdir, args))
    finally:
        write_json(out, record)
        print(f"\nrecord: {out}")
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
