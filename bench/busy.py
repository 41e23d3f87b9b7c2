"""Latency while the query workers are busy: what tests/reliability/test_expensive.py asserts by
order of events, measured here in seconds.

    python bench/busy.py                       # on ./dist, 2 workers, 20 requests per kind
    python bench/busy.py --dist /path/to/dist --requests 50 --json busy.json

It starts ``cpbkg serve`` (2 query workers) on a copy of the build and times, one request after
another, on a loopback port:

* pages, dumps, search and a repeated (cached) query with the workers idle, then with every
  worker held by a blocking query (a cartesian product that runs until the timeout);
* new (uncached) selective queries with the workers idle, then with one worker held.

Printed per kind and state: requests, p50 and the slowest, in milliseconds. A machine shared
with other work shows it in the slowest figures; the tests assert none of these numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import start_cpbkg

ROOT = Path(__file__).resolve().parent.parent
#: holds a worker until the server's timeout
BLOCKER = "SELECT (COUNT(*) AS ?n) {{ ?a ?b ?c . ?d ?e ?f FILTER(?a != <urn:{i}-{t}>) }}"
ORDINARY = ('PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?s ?label WHERE {{ ?s skos:notation "A.{n}" ; '
            'skos:prefLabel ?label FILTER(?label != "{tag}") }}')
CACHED = ORDINARY.format(n=1, tag="cached")
PAGES = {"page /id/goal/A.1": ("/id/goal/A.1", {}), "home /": ("/", {}), "dumps /dumps/": ("/dumps/", {"format": "json"}),
         "search /search": ("/search", {"q": "biosafety"}), "cached query": ("/sparql", {"query": CACHED})}
TIMEOUT = 20


def timed(client: httpx.Client, requests: int, make: Callable[[int], tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """``requests`` GETs one after another: p50 and the slowest in ms, and the statuses."""
    seconds, statuses = [], set()
    for n in range(requests):
        path, params = make(n)
        start = time.perf_counter()
        r = client.get(path, params=params)
        seconds.append(time.perf_counter() - start)
        statuses.add(r.status_code)
    return {"requests": requests, "p50_ms": statistics.median(seconds) * 1000, "max_ms": max(seconds) * 1000,
            "statuses": sorted(statuses)}


def same(path: str, params: dict[str, str]) -> Callable[[int], tuple[str, dict[str, str]]]:
    """The same request every time."""
    return lambda n: (path, params)


def new_queries(tag: str) -> Callable[[int], tuple[str, dict[str, str]]]:
    """A query never asked before each time (no cache)."""
    return lambda n: ("/sparql", {"query": ORDINARY.format(n=n % 10 + 1, tag=f"{tag}-{n}")})


def blockers(url: str, count: int) -> list[threading.Thread]:
    """``count`` blocking queries, each holding a worker until the timeout."""
    stamp = time.time()
    threads = [threading.Thread(target=lambda i=i: httpx.get(url + "/sparql", timeout=TIMEOUT + 30, params={
        "query": BLOCKER.format(i=i, t=stamp)})) for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let them reach their workers
    return threads


def measure(url: str, requests: int, workers: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=TIMEOUT + 30) as c:
        c.get("/sparql", params={"query": CACHED})  # now in the cache
        for state, busy in (("idle", 0), (f"{workers} of {workers} workers busy", workers)):
            held = blockers(url, busy)
            for kind, (path, params) in PAGES.items():
                rows.append({"kind": kind, "state": state, **timed(c, requests, same(path, params))})
            for thread in held:
                thread.join()
        for state, busy in (("idle", 0), (f"1 of {workers} workers busy", 1)):
            held = blockers(url, busy)
            rows.append({"kind": "new query", "state": state, **timed(c, requests, new_queries(f"{state}-{time.time()}"))})
            for thread in held:
                thread.join()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the build to serve (default: ./dist)")
    parser.add_argument("--requests", type=int, default=20, help="requests per kind and state (default: 20)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    workers = 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = start_cpbkg(args.dist, work / "store", work, "--workers", str(workers), "--timeout", str(TIMEOUT))
        try:
            rows = measure(server.base, args.requests, workers)
        finally:
            server.stop()
    print(f"{'kind':<20} {'state':<24} {'n':>4} {'p50 ms':>8} {'max ms':>8}  statuses")
    for row in rows:
        print(f"{row['kind']:<20} {row['state']:<24} {row['requests']:>4} {row['p50_ms']:>8.1f} {row['max_ms']:>8.1f}  "
              f"{row['statuses']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
