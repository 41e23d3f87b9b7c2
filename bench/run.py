"""The benchmark: CPB-KG against Oxigraph's server and rdflib-endpoint, same data, one run.

    python bench/run.py                          # all sizes, 10 s per run, 1/16/64 connections
    python bench/run.py --sizes published --seconds 5 --connections 16

For each size (the published graph; + synthetic answers, ~100k triples; ~1M triples) it
builds the data with ``cpbkg build`` (timed), starts the three servers on loopback
(start-up timed), drives each workload with wrk from a separate process, and prints
requests/s, p50/p99 latency, errors and peak RSS per server with the ratios
CPB-KG / Oxigraph and CPB-KG / rdflib-endpoint. Also: the raw pyoxigraph time of the
progress aggregate against CPB-KG's first and repeated answer to it, and the store's
size on disk. Writes ``bench/results/<timestamp>.json`` and a PNG of the ratios.

rdflib-endpoint is skipped above ``--rdflib-max`` triples (default 150k): it parses the
data into memory at start and answers a single aggregate in tens of seconds there, so a
run could not finish; the output says so.
"""

from __future__ import annotations

import argparse
import math
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads  # noqa: E402
from bench.load import run_wrk  # noqa: E402
from bench.report import plot_ratios, print_table, ratio, write_json  # noqa: E402
from bench.servers import Server, start_cpbkg, start_oxigraph, start_rdflib_endpoint  # noqa: E402
from cpbkg.config import Settings
from cpbkg.store.embedded import open_store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: size -> the flags of `cpbkg build` that make it (synthetic answers over the published graph)
SIZES = {
    "published": [],
    "100k": ["--demo", "--synthetic-questions", "indicators", "--synthetic-parties", "80"],
    "1m": ["--demo", "--synthetic-replicates", "3"],
}


@dataclass
class Dataset:
    """One size of data, built once and served by all three servers."""

    name: str
    dist: Path
    nquads: Path
    triples: int
    build_seconds: float


def build_size(name: str, workdir: Path) -> Dataset:
    """``cpbkg build`` for one size (``--demo`` with synthetic answers above the published graph)."""
    dist = workdir / "dist"
    cmd = [sys.executable, "-m", "cpbkg", "build", "-q", "--dist", str(dist), *SIZES[name]]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    nquads = workdir / "data.nq"
    # the same quads for the other servers: N-Quads is what both load fastest
    store = ox.Store()
    store.bulk_load(path=str(dist / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    store.dump(output=str(nquads), format=ox.RdfFormat.N_QUADS)
    return Dataset(name, dist, nquads, len(store), seconds)


def url_for(server: Server, load: workloads.Workload) -> str | None:
    """The GET URL of a workload on a server (None where the server has no equivalent)."""
    if load.path is not None:
        return server.base + load.path if server.name == "cpbkg" else None
    return server.sparql + "?" + urlencode({"query": load.query}, quote_via=quote)


def raw_aggregate_ms(dist: Path) -> float:
    """The progress aggregate on pyoxigraph itself, in process, on the same data in memory (best of 3)."""
    store = ox.Store()
    store.bulk_load(path=str(dist / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    return _best_aggregate_ms(store)


def raw_disk_aggregate_ms(dist: Path, store_dir: Path) -> float:
    """The same on pyoxigraph's on-disk store (RocksDB) that ``cpbkg serve`` loaded (best of 3)."""
    loaded = open_store(Settings().with_(dist_dir=dist, store_path=store_dir), read_only=True)
    try:
        return _best_aggregate_ms(loaded.store)
    finally:
        loaded.close()


def _best_aggregate_ms(store: ox.Store) -> float:
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        list(store.query(workloads.AGGREGATE, use_default_graph_as_union=True))
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def first_and_repeat_ms(server: Server) -> tuple[float, float]:
    """CPB-KG's first answer to the aggregate (nothing cached) and a repeated one (median of 20)."""
    params = {"query": workloads.AGGREGATE}
    headers = {"Accept": "application/sparql-results+json"}
    with httpx.Client(timeout=120) as client:
        start = time.perf_counter()
        client.get(server.sparql, params=params, headers=headers).raise_for_status()
        first = time.perf_counter() - start
        repeats = []
        for _ in range(20):
            start = time.perf_counter()
            client.get(server.sparql, params=params, headers=headers).raise_for_status()
            repeats.append(time.perf_counter() - start)
    return first * 1e3, sorted(repeats)[len(repeats) // 2] * 1e3


GOALS = [f"A.{n}" for n in range(1, 11)] + [f"B.{n}" for n in range(1, 5)]


def first_page_ms(server: Server) -> dict[str, float]:
    """Median time of a page rendered for the first time (each goal's page once, HTML and Turtle):
    the wrk runs repeat one URL, which the response memo answers after the first request."""
    figures = {}
    with httpx.Client(timeout=60) as client:
        for accept in ("text/html", "text/turtle"):
            times = []
            for code in GOALS:
                start = time.perf_counter()
                client.get(f"{server.base}/id/goal/{code}", headers={"Accept": accept}).raise_for_status()
                times.append(time.perf_counter() - start)
            figures[accept] = sorted(times)[len(times) // 2] * 1e3
    print("   first rendering of a page (median of 14 goals): " +
          ", ".join(f"{a} {ms:.1f} ms" for a, ms in figures.items()), flush=True)
    return figures


def measure(data: Dataset, servers: list[Server], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for load in workloads.WORKLOADS:
        for connections in args.connections:
            row: dict[str, Any] = {"size": data.name, "workload": load.name, "connections": connections,
                                   "servers": {}}
            for server in servers:
                url = url_for(server, load)
                if url is None:
                    continue
                result = run_wrk(url, connections=connections, seconds=args.seconds, accept=load.accept)
                row["servers"][server.name] = result.as_dict()
            cpbkg = row["servers"].get("cpbkg", {}).get("requests_per_s", float("nan"))
            row["ratio_oxigraph"] = ratio(cpbkg, row["servers"].get("oxigraph", {}).get("requests_per_s", math.nan))
            row["ratio_rdflib_endpoint"] = ratio(
                cpbkg, row["servers"].get("rdflib-endpoint", {}).get("requests_per_s", math.nan))
            rows.append(row)
            print_table([row])
    return rows


def store_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def run_size(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print(f"\n== {name}: building", flush=True)
    data = build_size(name, workdir)
    print(f"   {data.triples:,} triples, cpbkg build {data.build_seconds:.1f} s", flush=True)
    record: dict[str, Any] = {"size": name, "triples": data.triples, "build_seconds": data.build_seconds}
    store_dir = workdir / "store"
    # load the store once (cpbkg serve would do it on first start); then start-up is measured on it
    open_store(Settings().with_(dist_dir=data.dist, store_path=store_dir)).close()
    record["store_mb"] = store_size_mb(store_dir)
    servers: list[Server] = []
    try:
        servers.append(start_cpbkg(data.dist, store_dir, workdir,
                                   "--memory-store-triples", str(args.memory_store_triples)))
        servers.append(start_oxigraph(data.nquads, workdir))
        if data.triples <= args.rdflib_max:
            servers.append(start_rdflib_endpoint(data.nquads, workdir))
        else:
            print(f"   rdflib-endpoint skipped: {data.triples:,} triples > --rdflib-max {args.rdflib_max:,} "
                  "(it cannot finish these runs)", flush=True)
            record["rdflib_endpoint"] = "skipped above --rdflib-max"
        record["ready_seconds"] = {s.name: s.ready_seconds for s in servers}
        print("   ready in " + ", ".join(f"{s.name} {s.ready_seconds:.2f} s" for s in servers), flush=True)
        if data.triples <= args.memory_store_triples:
            # the workers answer from disk at once and from memory when their copy is made
            record["in_memory_seconds"] = servers[0].ready_seconds + wait_in_memory(servers[0])
            print(f"   cpbkg's workers query their in-memory copy after {record['in_memory_seconds']:.2f} s",
                  flush=True)
        record["aggregate"] = aggregate_figures(data, servers[0], store_dir)
        record["first_page_ms"] = first_page_ms(servers[0])
        record["rows"] = measure(data, servers, args)
        record["peak_rss_mb"] = {s.name: s.peak_rss_mb() for s in servers}
        print("   peak RSS " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in record["peak_rss_mb"].items()), flush=True)
    finally:
        for server in servers:
            server.stop()
    if data.triples > args.memory_store_triples:
        record["in_memory"] = in_memory_figures(data, store_dir, workdir, args)
    return record


def in_memory_figures(data: Dataset, store_dir: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Above ``--memory-store-triples`` CPB-KG queries the store on disk by default; this starts it
    once more with one worker holding an in-memory copy, for the aggregate, start-up and memory."""
    server = start_cpbkg(data.dist, store_dir, workdir, "--workers", "1",
                         "--memory-store-triples", str(data.triples + 1), name="cpbkg-in-memory")
    try:
        copied = wait_in_memory(server) + server.ready_seconds
        first, repeat = first_and_repeat_ms(server)
        figures = {"ready_seconds": server.ready_seconds, "in_memory_seconds": copied, "cpbkg_first_ms": first,
                   "cpbkg_repeat_ms": repeat, "peak_rss_mb": server.peak_rss_mb()}
    finally:
        server.stop()
    print(f"   in memory (--workers 1 --memory-store-triples {data.triples + 1}): ready "
          f"{figures['ready_seconds']:.2f} s (from disk), in memory after {copied:.1f} s, aggregate first "
          f"{first:.1f} ms, repeated {repeat:.2f} ms, peak RSS {figures['peak_rss_mb']:.0f} MB", flush=True)
    return figures


def wait_in_memory(server: Server, timeout: float = 300) -> float:
    """Seconds until every worker says (``/health``) it queries its in-memory copy; each poll sends a
    query no cache holds, so that the workers answer and say how they are."""
    start = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        n = 0
        while time.perf_counter() - start < timeout:
            n += 1
            client.get(server.sparql, params={"query": f"ASK {{ <urn:x-bench:{n}> ?p ?o }}"}).raise_for_status()
            workers = client.get(server.base + "/health").json()["query_workers"]["in_memory"]
            if workers and all(q for q in workers):
                return time.perf_counter() - start
            time.sleep(0.1)
    raise RuntimeError(f"the workers of {server.name} did not copy the store into memory in {timeout} s")


def aggregate_figures(data: Dataset, cpbkg: Server, store_dir: Path) -> dict[str, float]:
    first, repeat = first_and_repeat_ms(cpbkg)  # first: before anything else touches the store
    raw = raw_aggregate_ms(data.dist)
    disk = raw_disk_aggregate_ms(data.dist, store_dir)
    figures = {"raw_pyoxigraph_ms": raw, "raw_pyoxigraph_disk_ms": disk, "cpbkg_first_ms": first,
               "cpbkg_repeat_ms": repeat, "first_over_raw": ratio(first, raw), "first_over_raw_disk": ratio(first, disk)}
    print(f"   aggregate: pyoxigraph in memory {raw:.1f} ms, on disk {disk:.1f} ms; cpbkg first {first:.1f} ms "
          f"({figures['first_over_raw']:.2f}x memory, {figures['first_over_raw_disk']:.2f}x disk), "
          f"repeated {repeat:.2f} ms", flush=True)
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="published,100k,1m", help="comma-separated: " + ", ".join(SIZES))
    p.add_argument("--connections", default="1,16,64", help="comma-separated connection counts")
    p.add_argument("--seconds", type=int, default=10, help="duration of each wrk run (whole seconds)")
    p.add_argument("--memory-store-triples", type=int, default=500_000,
                   help="passed to `cpbkg serve` (its default: 500000); above it CPB-KG queries the store on disk, "
                   "and a second CPB-KG, in memory with one worker, is measured for the aggregate, "
                   "start-up and memory")
    p.add_argument("--rdflib-max", type=int, default=150_000, help="skip rdflib-endpoint above this many triples")
    p.add_argument("--workdir", type=Path, default=None, help="where data and stores go (default: a temp dir)")
    args = p.parse_args(argv)
    args.sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        p.error(f"unknown size(s) {unknown}; one of {list(SIZES)}")
    args.connections = [int(c) for c in args.connections.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tempfile

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record: dict[str, Any] = {"started": stamp, "machine": {"cpus": __import__("os").cpu_count(),
                                                             "platform": platform.platform(),
                                                             "python": platform.python_version()},
                              "args": {k: str(v) for k, v in vars(args).items()}, "sizes": []}
    base = args.workdir or Path(tempfile.mkdtemp(prefix="cpbkg-bench-"))
    try:
        for name in args.sizes:
            workdir = base / name
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            record["sizes"].append(run_size(name, args, workdir))
    finally:
        out = RESULTS / f"{stamp}.json"
        write_json(out, record)
        print(f"\nrecord: {out}")
        rows = [row for size in record["sizes"] for row in size.get("rows", [])]
        if plot_ratios(RESULTS / f"{stamp}.png", rows):
            print(f"plot:   {RESULTS / f'{stamp}.png'}")
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print_table([row for size in record["sizes"] for row in size.get("rows", [])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
