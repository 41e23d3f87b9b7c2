"""The benchmark's data: one size built by ``cpbkg build``, as every server loads it.

Used by bench/run.py (every size) and bench/stages.py (one size, or a build given with ``--dist``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from bench import workloads
from cpbkg.config import Settings
from cpbkg.sparql import service
from cpbkg.store.embedded import open_store
from cpbkg.store.publish import load_dist

ROOT = Path(__file__).resolve().parent.parent
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
    #: the quads every server serves: ``cpbkg.trig`` and the VoID description (``void.ttl``, the graph
    #: ``{base}graph/dataset``), as cpbkg's store holds them -- the build's own count
    #: (``dist/release.json``: 55,939 for the published graph, 52,634 of them in cpbkg.trig), the one
    #: ``cpbkg serve`` holds against ``--memory-store-triples``
    triples: int
    build_seconds: float
    #: workload name -> the values of its distinct texts (N-Triples terms drawn from this data)
    values: dict[str, list[str]] = field(default_factory=dict)

    def in_memory(self, memory_store_triples: int) -> bool:
        """Whether ``cpbkg serve --memory-store-triples N`` has its workers copy this build into
        memory: cpbkg's own rule (:func:`cpbkg.sparql.service.in_memory`) on the build's own count."""
        return service.in_memory(Settings().with_(memory_store_triples=memory_store_triples), self.triples)


def build_size(name: str, workdir: Path) -> Dataset:
    """``cpbkg build`` for one size (``--demo`` with synthetic answers above the published graph)."""
    dist = workdir / "dist"
    cmd = [sys.executable, "-m", "cpbkg", "build", "-q", "--dist", str(dist), *SIZES[name]]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return read_build(name, dist, workdir, build_seconds=time.perf_counter() - start)


def read_build(name: str, dist: Path, workdir: Path, *, build_seconds: float = float("nan")) -> Dataset:
    """A finished build's data: its quads as N-Quads in ``workdir`` (what the other servers load
    fastest), its size, and the values the distinct workloads draw from it. A build outside
    ``workdir`` is copied into it first: the servers are only ever given the benchmark's own copy.

    The quads are those ``cpbkg publish`` sends a remote store (:func:`cpbkg.store.publish.load_dist`:
    ``cpbkg.trig`` and the VoID graph, counted against ``release.json``), so that every server holds
    what cpbkg's own store holds."""
    if not dist.resolve().is_relative_to(workdir.resolve()):
        copy = workdir / "dist"
        shutil.copytree(dist, copy)
        dist = copy
    nquads = workdir / "data.nq"
    release, store, _ = load_dist(dist)
    store.dump(output=str(nquads), format=ox.RdfFormat.N_QUADS)
    values = {}
    for load in workloads.WORKLOADS:
        if load.values is not None:
            found = [str(row["value"]) for row in store.query(load.values, use_default_graph_as_union=True)]  # type: ignore[union-attr]
            values[load.name] = found or [load.value or '""']
    return Dataset(name, dist, nquads, release.triples, build_seconds, values)


def load_store(data: Dataset, workdir: Path) -> Path:
    """CPB-KG's store of ``data`` in ``workdir/store``, loaded now (``cpbkg serve`` would load it on
    its first start), so that the start-up measured afterwards is that of a server on a loaded store."""
    store_dir = workdir / "store"
    open_store(Settings().with_(dist_dir=data.dist, store_path=store_dir)).close()
    return store_dir
