"""The benchmark: CPB-KG against Oxigraph's server and rdflib-endpoint, same data, one run.

    python bench/run.py                          # all sizes, 10 s per run, 1/16/64 connections, both modes
    python bench/run.py --sizes published --seconds 5 --connections 16
    python bench/run.py --sizes published --seconds 1 --connections 16 --mode distinct

For each size (the published graph; + synthetic answers, ~100k triples; ~1M triples) it
builds the data with ``cpbkg build`` (timed), starts the three servers on loopback
(start-up timed), drives each workload with wrk from a separate process, and prints
requests/s, p50/p99 latency, errors and peak RSS per server with the ratios
CPB-KG / Oxigraph and CPB-KG / rdflib-endpoint.

Every SPARQL workload runs in two modes (``--mode``, see bench/workloads.py): **repeated**, one
text sent again and again (CPB-KG answers it from its cache after the first request: a cache's
speed), and **distinct**, a text no server has seen in every request (the engine's speed). Both
tables are printed, side by side per server, with issue 14's targets against the distinct figures.

Also: the per-stage cost of one uncached request on CPB-KG (bench/stages.py), the raw pyoxigraph
time of the progress aggregate against CPB-KG's first and repeated answer to it, and the store's
size on disk. Writes ``bench/results/<timestamp>.json`` (both modes, the stage table) and a PNG
of the ratios (a panel per mode).

rdflib-endpoint is skipped above ``--rdflib-max`` triples (default 150k): it parses the
data into memory at start and answers a single aggregate in tens of seconds there, so a
run could not finish; the output says so.
"""

from __future__ import annotations

import argparse
import math
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads
from bench.data import ROOT, SIZES, Dataset, build_size, load_store
from bench.load import distinct_script, first_of_run, run_wrk
from bench.report import plot_ratios, print_tables, print_targets, progress_line, ratio, write_json
from bench.servers import Server, start_cpbkg, start_oxigraph, start_rdflib_endpoint, wait_in_memory
from bench.stages import measure_stages, print_stages
from cpbkg.config import Settings
from cpbkg.store.embedded import open_store

RESULTS = ROOT / "bench" / "results"
MODES = ("repeated", "distinct")


def url_for(server: Server, load: workloads.Workload) -> str | None:
    """The GET URL of a workload's repeated request on a server (None where the server has no equivalent)."""
    if load.path is not None:
        return server.base + load.path if server.name == "cpbkg" else None
    return server.sparql + "?" + urlencode({"query": load.text()}, quote_via=quote)


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
        list(store.query(workloads.AGGREGATE, use_default_graph_as_union=True))  # type: ignore[arg-type]
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


def measure(data: Dataset, servers: list[Server], args: argparse.Namespace, *,
            names: tuple[str, ...] | None = None, modes: tuple[str, ...] | None = None,
            first_run: int = 0) -> list[dict[str, Any]]:
    """Every workload (of ``names``, default all) at every connection count in every mode asked for
    (``modes``, default ``--mode``), on every server that has it; the two modes of one workload and
    count run one after the other, so that they meet the same machine. Distinct runs are numbered
    from ``first_run`` (:func:`~bench.load.first_of_run`): a later call sends no text an earlier one
    sent. The ratios are those of ``servers[0]``."""
    rows = []
    distinct_runs = first_run
    modes = modes or args.modes
    for load in workloads.WORKLOADS:
        if (names is not None and load.name not in names) or not any(m in modes for m in load.modes):
            continue
        answers = check_answers(servers, load)
        for connections in args.connections:
            for mode in (m for m in load.modes if m in modes):
                row: dict[str, Any] = {"size": data.name, "workload": load.name, "mode": mode,
                                       "connections": connections, "servers": {}, "answer_rows": answers}
                if mode == "distinct":
                    # every server gets the same texts; no run sends a text an earlier one sent
                    row["first_limit"] = first_of_run(distinct_runs)
                    distinct_runs += 1
                for server in servers:
                    url = url_for(server, load)
                    if url is None:
                        continue
                    if mode == "repeated":
                        result = run_wrk(url, connections=connections, seconds=args.seconds, accept=load.accept)
                    else:
                        script = distinct_script(urlsplit(server.sparql).path, load, data.values.get(load.name, []))
                        result = run_wrk(server.sparql, connections=connections, seconds=args.seconds,
                                         accept=load.accept, script=script, first=row["first_limit"])
                    row["servers"][server.name] = result.as_dict()
                cpbkg = row["servers"].get(servers[0].name, {}).get("requests_per_s", math.nan)
                row["ratio_oxigraph"] = ratio(cpbkg, row["servers"].get("oxigraph", {}).get("requests_per_s", math.nan))
                row["ratio_rdflib_endpoint"] = ratio(
                    cpbkg, row["servers"].get("rdflib-endpoint", {}).get("requests_per_s", math.nan))
                rows.append(row)
                print(progress_line(row), flush=True)
    return rows


def check_answers(servers: list[Server], load: workloads.Workload) -> dict[str, int]:
    """Send a workload's repeated request once to every server that has it (also a warm-up: the runs
    then measure the repeated case, not a first rendering) and check that it answers 200 and, for
    SPARQL, that all servers give the same number of rows; the rows per server (-1: not SPARQL)."""
    rows = {}
    with httpx.Client(timeout=300) as client:
        for server in servers:
            url = url_for(server, load)
            if url is None:
                continue
            answer = client.get(url, headers={"Accept": load.accept})
            if answer.status_code != 200:
                raise RuntimeError(f"{server.name} answered {answer.status_code} to {load.name}: {answer.text[:300]}")
            rows[server.name] = len(answer.json()["results"]["bindings"]) if load.template is not None else -1
    if len(set(rows.values())) > 1:
        print(f"   WARNING: the servers do not agree on {load.name}: rows {rows}; its ratios compare different "
              "answers", flush=True)
    return rows


def store_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def run_size(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print(f"\n== {name}: building", flush=True)
    data = build_size(name, workdir)
    print(f"   {data.triples:,} triples, cpbkg build {data.build_seconds:.1f} s", flush=True)
    record: dict[str, Any] = {"size": name, "triples": data.triples, "build_seconds": data.build_seconds}
    store_dir = load_store(data, workdir)
    record["store_mb"] = store_size_mb(store_dir)
    servers: list[Server] = []
    try:
        # a queue for every connection: the other servers queue whatever comes, and the default
        # queue (8 per worker) sheds load past it with 503s by design (docs/security.md), which is
        # not the engine's speed; each process may be handed every connection (SO_REUSEPORT)
        queue = str(max(args.connections))
        servers.append(start_cpbkg(data.dist, store_dir, workdir, "--memory-store-triples",
                                   str(args.memory_store_triples), "--processes", str(args.processes),
                                   "--query-queue", queue, own_dist=True))
        print(f"   CPB-KG: cpbkg serve --processes {args.processes} --query-queue {queue} (server processes on "
              "the port; a place in the queue for every connection)", flush=True)
        servers.append(start_oxigraph(data.nquads, workdir))
        if data.triples <= args.rdflib_max:
            servers.append(start_rdflib_endpoint(data.nquads, workdir))
        else:
            print(f"   rdflib-endpoint skipped: {data.triples:,} triples > --rdflib-max {args.rdflib_max:,} "
                  "(it cannot finish these runs)", flush=True)
            record["rdflib_endpoint"] = "skipped above --rdflib-max"
        record["ready_seconds"] = {s.name: s.ready_seconds for s in servers}
        print("   ready in " + ", ".join(f"{s.name} {s.ready_seconds:.2f} s" for s in servers), flush=True)
        if data.in_memory(args.memory_store_triples):
            # the workers answer from disk at once and from memory when their copy is made
            record["in_memory_seconds"] = servers[0].ready_seconds + wait_in_memory(servers[0])
            print(f"   cpbkg's workers query their in-memory copy after {record['in_memory_seconds']:.2f} s",
                  flush=True)
        record["aggregate"] = aggregate_figures(data, servers[0], store_dir)
        record["first_page_ms"] = first_page_ms(servers[0])
        if args.stage_queries > 0:
            record["stages"] = measure_stages(data, store_dir, servers[0], queries=args.stage_queries,
                                              memory_store_triples=args.memory_store_triples)
            print_stages(record["stages"])
        record["rows"] = measure(data, servers, args)
        print_tables(record["rows"])
        record["peak_rss_mb"] = {s.name: s.peak_rss_mb() for s in servers}
        print("   peak RSS " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in record["peak_rss_mb"].items()), flush=True)
    finally:
        for server in servers:
            server.stop()
    if not data.in_memory(args.memory_store_triples):
        record["in_memory"] = in_memory_figures(data, store_dir, workdir, args, record["rows"])
    return record


#: the workloads the in-memory variant runs, distinct: where the store on disk costs evaluation time
IN_MEMORY_WORKLOADS = ("lookup", "linkage")


def in_memory_figures(data: Dataset, store_dir: Path, workdir: Path, args: argparse.Namespace,
                      rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Above ``--memory-store-triples`` CPB-KG queries the store on disk by default; this starts it
    once more, as the main run (``--processes``, a place in the queue for every connection) but with
    one worker per process holding an in-memory copy: start-up, memory, the aggregate, and the
    distinct lookup and linkage against Oxigraph's server of this run (``rows``: the main run's)."""
    above = data.triples + 1  # the count cpbkg holds against the bound (1,167,006 at 1m)
    server = start_cpbkg(data.dist, store_dir, workdir, "--workers", "1", "--processes", str(args.processes),
                         "--query-queue", str(max(args.connections)),
                         "--memory-store-triples", str(above), name="cpbkg-in-memory", own_dist=True)
    try:
        try:
            copied = wait_in_memory(server) + server.ready_seconds
        except RuntimeError as exc:  # the copy failed (the log says why): a figure of the run, not its end
            print(f"   in memory (--workers 1): {exc}", flush=True)
            return {"ready_seconds": server.ready_seconds, "error": str(exc).splitlines()[0],
                    "peak_rss_mb": server.peak_rss_mb()}
        first, repeat = first_and_repeat_ms(server)
        figures: dict[str, Any] = {"ready_seconds": server.ready_seconds, "in_memory_seconds": copied,
                                   "cpbkg_first_ms": first, "cpbkg_repeat_ms": repeat}
        print(f"   in memory (--processes {args.processes} --workers 1 --memory-store-triples {above}): ready "
              f"{figures['ready_seconds']:.2f} s (from disk), in memory after {copied:.1f} s, aggregate first "
              f"{first:.1f} ms, repeated {repeat:.2f} ms", flush=True)
        distinct_runs = sum(1 for r in rows if r["mode"] == "distinct")
        figures["rows"] = against_main_run(
            measure(data, [server], args, names=IN_MEMORY_WORKLOADS, modes=("distinct",), first_run=distinct_runs),
            rows, server.name)
        figures["peak_rss_mb"] = server.peak_rss_mb()
        print(f"   in memory: peak RSS {figures['peak_rss_mb']:.0f} MB", flush=True)
    finally:
        server.stop()
    return figures


def against_main_run(rows: list[dict[str, Any]], main: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """``rows`` (of the in-memory variant, the server ``name``) with the ratio to Oxigraph's server
    in the main run's row of the same workload, mode and connections, each printed."""
    for row in rows:
        same = next((r for r in main if (r["workload"], r["mode"], r["connections"])
                     == (row["workload"], row["mode"], row["connections"])), None)
        oxigraph = (same or {}).get("servers", {}).get("oxigraph", {}).get("requests_per_s", math.nan)
        mine = row["servers"][name].get("requests_per_s", math.nan)
        row["ratio_oxigraph"] = ratio(mine, oxigraph)
        on_disk = (same or {}).get("ratio_oxigraph", math.nan)
        print(f"   in memory, {row['workload']}, distinct, {row['connections']} conn: {mine:,.0f} r/s, "
              f"{row['ratio_oxigraph']:.2f}x Oxigraph's server in this run ({on_disk:.2f}x on disk)", flush=True)
    return rows


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
    p.add_argument("--mode", default="both", choices=[*MODES, "both"],
                   help="repeated: one query text per workload (CPB-KG's cache answers it); distinct: a new "
                   "text per request (no cache can); both (the default): each workload in both, side by side")
    p.add_argument("--stage-queries", type=int, default=300,
                   help="distinct queries per workload of the per-stage table (bench/stages.py; 0: no table)")
    p.add_argument("--memory-store-triples", type=int, default=500_000,
                   help="passed to `cpbkg serve` (its default: 500000); above it CPB-KG queries the store on disk, "
                   "and a second CPB-KG, in memory with one worker, is measured for the aggregate, "
                   "start-up and memory")
    p.add_argument("--processes", type=int, default=1,
                   help="passed to `cpbkg serve` (its default: 1): HTTP server processes sharing the port, each "
                   "with its own query workers")
    p.add_argument("--rdflib-max", type=int, default=150_000, help="skip rdflib-endpoint above this many triples")
    p.add_argument("--workdir", type=Path, default=None, help="where data and stores go (default: a temp dir)")
    args = p.parse_args(argv)
    args.sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        p.error(f"unknown size(s) {unknown}; one of {list(SIZES)}")
    args.connections = [int(c) for c in args.connections.split(",")]
    args.modes = MODES if args.mode == "both" else (args.mode,)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tempfile

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
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
        if plot_ratios(RESULTS / f"{stamp}.png", [row for size in record["sizes"] for row in size.get("rows", [])]):
            print(f"plot:   {RESULTS / f'{stamp}.png'}")
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    rows = [row for size in record["sizes"] for row in size.get("rows", [])]
    print("\n== all sizes")
    for size in record["sizes"]:
        if "stages" in size:
            print(f"\n{size['size']}:", end="")
            print_stages(size["stages"])
    print_tables(rows)
    print_targets(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
