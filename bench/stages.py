"""Where the time of one uncached ``/sparql`` request on CPB-KG goes, stage by stage.

    python bench/stages.py                                # builds the published graph, 300 queries
    python bench/stages.py --dist dist --queries 500      # on a finished build
    python bench/stages.py --dist dist --workloads lookup,scan

For each workload (by default the lookup, the linkage and the scan of bench/workloads.py) it sends
``--queries`` distinct texts (each new: nothing cached can answer it) through every stage in turn,
one at a time, and times each stage in this process with ``time.perf_counter``:

* **lexer**: ``cpbkg.sparql.lexer.check`` of the text (its scan is new, so it is computed);
* **prepare**: ``QueryService.prepare`` of the same text, right after (the lexer remembers the
  scan of a text it has just seen, so this is the rest: formats, dataset, the job, the cache key);
* **worker IPC round trip**: ``QueryPool.run_async`` of the prepared job on an event loop of
  uvloop's, as ``cpbkg serve`` runs it (one worker, holding the store as the server's workers do),
  minus the evaluation below, per query: the job and the answer through the pipes, JSON framing,
  checking a worker out and back in;
* **evaluation + serialisation**: ``cpbkg.sparql.execute.execute`` of the job in this process on
  the same data (in memory when ``cpbkg serve``'s workers copy it there, else the store on disk);
  the line under it splits off pyoxigraph's evaluation alone (the rows materialised);
* **HTTP layer**: the same text sent to ``cpbkg serve`` (defaults) as ``GET /sparql?query=``, one
  keep-alive connection from a minimal socket client, minus the stages above (per query): uvicorn,
  the middleware and the app's direct path of ``/sparql`` (the query string, negotiation, the cache
  and memo lookups, the query slot), the response. The line under it is its floor: the same
  request sent to uvicorn serving a fixed answer (bench/floor.py), what any Python front end costs.

One more line says why a stage costs more in the server than alone:

* **after 0.5 ms idle**: the evaluation + serialisation again, after this process slept 0.5 ms, as
  a worker does between jobs and the server between requests: code that runs right after a sleep
  finds the processor's caches cold (a lookup's, back to back in one process on the 2-core VM of
  the notes: 96 µs; after the sleep: 192 µs, measured 2026-12-07).

Median and p90 of each over the queries (the medians of the stages need not add up to the median
of the total: each is the median of its own differences). Run
alone, it starts its own ``cpbkg serve``; bench/run.py calls :func:`measure_stages` on the server it
measures. The machine should be quiet: every figure is a wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads
from bench.data import SIZES, Dataset, build_size, load_store, read_build
from bench.report import fmt, write_json
from bench.servers import QUERY_TIMEOUT, RESULT_CAP, Server, start_cpbkg, start_floor, wait_in_memory
from cpbkg.config import Settings
from cpbkg.sparql.execute import Answer, execute
from cpbkg.sparql.lexer import check
from cpbkg.sparql.service import QueryService, in_memory
from cpbkg.store.embedded import open_store

RESULTS = Path(__file__).resolve().parent / "results"
#: the first LIMIT of the texts sent here: far above those of bench/run.py's wrk runs (bench/load.py)
FIRST = 10**15
#: texts per workload run first and not counted (imports, first allocations, branch predictors)
WARM_UP = 20

STAGES = ("lexer", "prepare", "ipc", "execute", "http")
#: the lines under the stages: part of one, or the same work in other conditions
NOTES = ("evaluation", "idle", "floor")
#: what "after 0.5 ms idle" sleeps first
IDLE_SECONDS = 0.0005
LABELS = {
    "lexer": "lexer (lexer.check)",
    "prepare": "prepare (QueryService.prepare, rest)",
    "ipc": "worker IPC round trip (pool.py)",
    "execute": "evaluation + serialisation (execute)",
    "evaluation": "  of which: pyoxigraph evaluation",
    "idle": "  the same, after 0.5 ms idle",
    "http": "HTTP layer (total - the rest)",
    "floor": "  floor: uvicorn, a fixed answer",
    "total": "total over HTTP, 1 connection",
}


class _Http:
    """A minimal HTTP/1.1 client on one keep-alive connection, so that the client's own cost in the
    HTTP total stays small (tens of microseconds)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        if not (host.startswith("127.") or host == "localhost"):
            raise RuntimeError(f"requests are only ever sent to loopback, not {host}")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self, target: str, accept: str) -> tuple[int, bytes]:
        """The status and body of ``GET target``."""
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\nAccept: {accept}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return status, self._chunked()
        return status, self._exactly(int(headers.get("content-length", "0")))

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return body

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while b"\r\n" not in self.buffer:
                self._fill()
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            parts.append(self._exactly(size + 2)[:size])  # each chunk ends with CRLF
            if size == 0:
                return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def _summary(seconds: list[float]) -> dict[str, float]:
    """Median and p90, in microseconds."""
    ordered = sorted(seconds)
    return {"median_us": statistics.median(ordered) * 1e6,
            "p90_us": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1e6}


def measure_stages(data: Dataset, store_dir: Path, server: Server, *, queries: int = 300,
                   names: tuple[str, ...] = workloads.STAGE_WORKLOADS,
                   memory_store_triples: int = 500_000) -> dict[str, Any]:
    """The per-stage cost of an uncached request for each workload in ``names``: ``queries``
    distinct texts through the lexer, prepare, the worker pool, ``execute`` and ``server`` (a
    running ``cpbkg serve`` of ``data`` on ``store_dir``)."""
    settings = Settings().with_(dist_dir=data.dist, store_path=store_dir, query_workers=1,
                                query_timeout=float(QUERY_TIMEOUT), result_cap=RESULT_CAP,
                                memory_store_triples=memory_store_triples)
    loaded = open_store(settings, read_only=True)
    service = QueryService(settings, loaded)
    client = _Http(server.base)
    floor_dir = Path(tempfile.mkdtemp(prefix="cpbkg-floor-"))
    floor = start_floor(floor_dir)
    floor_client = _Http(floor.base)
    try:
        memory = in_memory(settings, loaded.release.triples)
        if memory:  # what the server's workers query: a copy in memory, made once the worker is up
            local = ox.Store()
            local.bulk_load(path=str(data.dist / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
            _wait_worker_in_memory(service)
            wait_in_memory(server)
        else:
            local = loaded.store
        record: dict[str, Any] = {"queries": queries, "in_memory": memory, "workloads": {}}
        for number, name in enumerate(names):
            texts = (workloads.by_name(name).distinct_text(FIRST + number * 10**9 + i, data.values.get(name, []))
                     for i in range(WARM_UP + queries))
            # one event loop for all the texts, as the server's: entering a loop per call costs more
            # than the round trip itself (140-230 us a call with asyncio.Runner, measured 2026-12-07)
            times = uvloop.run(_time_texts(texts, service, local, (client, floor_client),
                                           urlsplit(server.sparql).path, name))
            record["workloads"][name] = {stage: _summary(seconds) for stage, seconds in times.items()}
        return record
    finally:
        client.close()
        floor_client.close()
        floor.stop()
        shutil.rmtree(floor_dir, ignore_errors=True)
        service.close()
        loaded.close()


async def _time_texts(texts: Iterable[str], service: QueryService, local: ox.Store, clients: tuple[_Http, _Http],
                      path: str, name: str) -> dict[str, list[float]]:
    """Each text through each stage in turn (the first :data:`WARM_UP` not counted): seconds per stage.

    ``clients``: one connected to ``cpbkg serve``, one to the floor (:func:`bench.servers.start_floor`)."""
    async def in_thread(call: Callable[[], Answer]) -> Answer:
        return await asyncio.get_running_loop().run_in_executor(None, call)
    client, floor = clients
    times: dict[str, list[float]] = {s: [] for s in (*STAGES, *NOTES, "total")}
    for i, text in enumerate(texts):
        clock = [time.perf_counter()]
        check(text, allow_service=service.settings.allow_service)
        clock.append(time.perf_counter())
        prepared = service.prepare(text, results_format="json", graph_format=None)
        clock.append(time.perf_counter())
        list(local.query(text, use_default_graph_as_union=True))  # type: ignore[arg-type]
        clock.append(time.perf_counter())
        execute(local, prepared.job)
        clock.append(time.perf_counter())
        await service.pool.run_async(prepared.job, in_thread)
        clock.append(time.perf_counter())
        target = f"{path}?query={quote(text, safe='')}"
        status, body = client.get(target, workloads.JSON)  # blocks the loop: alone here
        clock.append(time.perf_counter())
        if status != 200:
            raise RuntimeError(f"cpbkg answered {status} to the {name} query: {body[:300]!r}")
        floor.get(target, workloads.JSON)
        clock.append(time.perf_counter())
        time.sleep(IDLE_SECONDS)
        clock.append(time.perf_counter())
        execute(local, prepared.job)
        clock.append(time.perf_counter())
        if i < WARM_UP:
            continue
        lexer, prepare, evaluation, executed, pooled, total, floored, _, idle = (
            b - a for a, b in itertools.pairwise(clock))
        # the worker's evaluation is taken to cost what the same job costs here: the rest of
        # the pool's time is the round trip; the rest of the HTTP total is the HTTP layer
        for stage, seconds in (("lexer", lexer), ("prepare", prepare), ("ipc", pooled - executed),
                               ("execute", executed), ("evaluation", evaluation), ("idle", idle),
                               ("http", total - lexer - prepare - pooled), ("floor", floored), ("total", total)):
            times[stage].append(seconds)
    return times


def _wait_worker_in_memory(service: QueryService, timeout: float = 300) -> None:
    """Until the in-process pool's worker answers from its in-memory copy (as the server's do)."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n += 1
        service.pool.run(service.prepare(f"ASK {{ <urn:x-bench:stages-{n}> ?p ?o }}").job)
        if all(q is not None for q in service.pool.memory_quads):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the query worker did not copy the store into memory in {timeout} s")


def print_stages(record: dict[str, Any]) -> None:
    """The per-stage table: one column pair (median, p90 in microseconds) per workload."""
    names = list(record["workloads"])
    if not names:
        return
    where = "in memory" if record["in_memory"] else "on disk"
    print(f"\nper-stage cost of one uncached /sparql request on CPB-KG ({record['queries']} distinct queries "
          f"per workload, one at a time; store {where}; microseconds)")
    header = f"{'stage':<38}" + "".join(f" | {name + ' p50':>13} {'p90':>8} {'share':>5}" for name in names)
    print(header)
    print("-" * len(header))
    for stage in (*STAGES[:4], "evaluation", "idle", "http", "floor", "total"):
        cells = ""
        for name in names:
            figures = record["workloads"][name]
            if stage not in figures:  # a record of before the line was measured
                continue
            median, p90 = figures[stage]["median_us"], figures[stage]["p90_us"]
            share = median / figures["total"]["median_us"] * 100 if stage != "total" else 100.0
            cells += f" | {fmt(median, 0):>13} {fmt(p90, 0):>8} {share:>4.0f}%"
        print(f"{LABELS[stage]:<38}{cells}")
    print("(per query: IPC = pool run - execute here; HTTP layer = total - lexer - prepare - pool run; the\n"
          " evaluation line is part of the one above it, the idle line the same work after a sleep, the floor\n"
          " the same request to uvicorn serving a fixed answer; each median is its own, so they need not add up)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="published", choices=list(SIZES), help="the size to build (without --dist)")
    p.add_argument("--dist", type=Path, default=None,
                   help="a finished build to use (copied) instead of building --size")
    p.add_argument("--queries", type=int, default=300, help="distinct queries per workload")
    p.add_argument("--workloads", default=",".join(workloads.STAGE_WORKLOADS),
                   help="comma-separated SPARQL workloads of bench/workloads.py")
    p.add_argument("--memory-store-triples", type=int, default=500_000, help="passed to `cpbkg serve`")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    args.workloads = tuple(w for w in args.workloads.split(",") if w)
    for name in args.workloads:
        if workloads.by_name(name).template is None:
            p.error(f"{name} is not a SPARQL workload")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cpbkg-stages-"))
    server: Server | None = None
    try:
        if args.dist is not None:
            data = read_build(str(args.dist), args.dist, workdir)
        else:
            data = build_size(args.size, workdir)
        store_dir = load_store(data, workdir)
        server = start_cpbkg(data.dist, store_dir, workdir, "--memory-store-triples", str(args.memory_store_triples),
                             own_dist=True)
        record = measure_stages(data, store_dir, server, queries=args.queries, names=args.workloads,
                                memory_store_triples=args.memory_store_triples)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    record["size"] = data.name
    record["triples"] = data.triples
    print_stages(record)
    if args.json is not None:
        write_json(args.json, record)
        print(f"\nrecord: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
