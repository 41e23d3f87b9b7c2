"""Writing ``dist/``: the dumps, their VoID/DCAT description, checksums and release record.

Everything is written into a fresh sibling folder and swapped in only when complete,
so a failed or killed build never leaves a half-written ``dist/`` behind.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDFS, VOID, XSD

from cpbkg import __version__
from cpbkg.build.rdfio import to_ox_quads
from cpbkg.vocab import CPB, SD, Ids, bind_prefixes

LICENCE = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPDX = "http://spdx.org/rdf/terms#"
#: file name -> (pyoxigraph format, media type, gzip?)
DUMPS: dict[str, tuple[ox.RdfFormat, str, bool]] = {
    "cpbkg.trig": (ox.RdfFormat.TRIG, "application/trig", False),
    "cpbkg.ttl": (ox.RdfFormat.TURTLE, "text/turtle", False),
    "cpbkg.nt.gz": (ox.RdfFormat.N_TRIPLES, "application/n-triples", True),
    "cpbkg.jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json", False),
}


@dataclass(frozen=True)
class Part:
    """One named graph of the build: an rdflib graph, or a large N-Triples file.

    Large parts (national-report answers, observations: up to millions of triples) never
    become rdflib graphs: they are checked by their own Python validation and bulk-loaded
    from the file by pyoxigraph, 20x faster than rdflib parses them.
    """

    name: str
    graph: Graph | None = None
    ntriples: Path | None = None

    def __post_init__(self) -> None:
        if (self.graph is None) == (self.ntriples is None):
            raise ValueError(f"part {self.name}: give either a graph or an N-Triples file")


def prefixes() -> dict[str, str]:
    g = Graph()
    bind_prefixes(g)
    return {p: str(ns) for p, ns in g.namespaces() if p}


def load_parts(parts: list[Part], ids: Ids) -> ox.Store:
    """Every part in an in-memory pyoxigraph store, each in its named graph."""
    store = ox.Store()
    for part in parts:
        name = ox.NamedNode(ids.graph(part.name))
        if part.graph is not None:
            store.bulk_extend(to_ox_quads(part.graph, ids.graph(part.name)))
        else:
            store.bulk_load(path=str(part.ntriples), format=ox.RdfFormat.N_TRIPLES, to_graph=name)
    return store


def union_triples(store: ox.Store) -> list[ox.Triple]:
    """The union of all named graphs, each triple once, sorted: the same build gives the same bytes."""
    rows = store.query("SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    return sorted((ox.Triple(r["s"], r["p"], r["o"]) for r in rows), key=str)


def write_dumps(folder: Path, store: ox.Store) -> int:
    """The graph in each dump format: TriG keeps the named graphs, the others the union.

    Returns:
        The number of triples in the union.
    """
    named = sorted(store, key=str)
    union = union_triples(store)
    for name, (fmt, _media, zipped) in DUMPS.items():
        data = ox.serialize(named if fmt.supports_datasets else union, format=fmt,
                            prefixes=None if fmt == ox.RdfFormat.N_TRIPLES else prefixes())
        assert data is not None
        if zipped:
            # mtime=0: the same data gives the same bytes and checksum
            data = gzip.compress(data, mtime=0)
        (folder / name).write_bytes(data)
    return len(union)


def graph_sizes(store: ox.Store, parts: list[Part], ids: Ids) -> dict[str, int]:
    """Triples per part, counted in the store (large parts are not rdflib graphs)."""
    counts = {row["g"].value: int(row["n"].value)
              for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    return {p.name: counts.get(str(ids.graph(p.name)), 0) for p in parts}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(store: ox.Store, sizes: Mapping[str, int], triples: int, ids: Ids, folder: Path, built: str) -> Graph:
    """The VoID + DCAT description of the dataset and its distributions."""
    g = Graph()
    bind_prefixes(g)
    ds = ids.dataset()
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("CPB-KG: the Cartagena Protocol Implementation Plan 2023-2030 as a knowledge graph", lang="en")))
    g.add((ds, DCTERMS.title, Literal("CPB-KG：《卡塔赫纳生物安全议定书执行计划》知识图谱", lang="zh")))
    g.add((ds, DCTERMS.description, Literal(
        "Decision CP-10/3 and its Implementation Plan (14 goals, 36 objectives, 48 indicators, 14 outcomes), the "
        "Cartagena Protocol, the Supplementary Protocol, CBD articles 8, 19 and 24, the Kunming-Montreal GBF goals "
        "and targets and SDGs 2 and 3, with the links between them. Chinese text official; English official where "
        "marked cpb:OfficialWording, otherwise the project's translation.", lang="en")))
    g.add((ds, DCTERMS.license, LICENCE))
    g.add((ds, DCTERMS.rights, Literal(
        "Compilation and translations by the CPB-KG project under CC BY 4.0. Official texts of CBD decisions and "
        "treaties and UN SDG KOS data remain subject to their publishers' terms; each resource names its source.", lang="en")))
    g.add((ds, DCTERMS.modified, Literal(built, datatype=XSD.dateTime)))
    g.add((ds, URIRef("http://www.w3.org/2002/07/owl#versionInfo"), Literal(__version__)))
    g.add((ds, VOID.uriSpace, Literal(ids.base + "id/")))
    g.add((ds, VOID.sparqlEndpoint, URIRef(ids.base + "sparql")))
    g.add((ds, VOID.vocabulary, URIRef(str(CPB._NS))))
    g.add((ds, VOID.triples, Literal(triples, datatype=XSD.integer)))
    g.add((ds, PROV.wasGeneratedBy, Literal(f"cpbkg build {__version__}")))
    _class_partitions(g, ds, store)
    for name, size in sizes.items():
        sub = ids.graph(name)
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, RDF.type, SD.NamedGraph))
        g.add((sub, SD.name, sub))
        g.add((sub, DCTERMS.title, Literal(f"graph {name}", lang="en")))
        g.add((sub, VOID.triples, Literal(size, datatype=XSD.integer)))
    for name, (_fmt, media, zipped) in DUMPS.items():
        _distribution(g, ds, ids, folder / name, media, "gzip" if zipped else None)
    return g


def _class_partitions(g: Graph, ds: URIRef, store: ox.Store) -> None:
    counts = {
        URIRef(row["cls"].value): int(row["n"].value)
        for row in store.query("SELECT ?cls (COUNT(DISTINCT ?x) AS ?n) WHERE { GRAPH ?g { ?x a ?cls } "
                               "FILTER(isIRI(?cls)) } GROUP BY ?cls")
    }
    g.add((ds, VOID.classes, Literal(len(counts), datatype=XSD.integer)))
    for cls, n in sorted(counts.items()):
        node = URIRef(f"{ds}/class/{hashlib.sha1(str(cls).encode()).hexdigest()[:12]}")
        g.add((ds, VOID.classPartition, node))
        g.add((node, VOID["class"], cls))
        g.add((node, VOID.entities, Literal(n, datatype=XSD.integer)))


def _distribution(g: Graph, ds: URIRef, ids: Ids, path: Path, media: str, compression: str | None) -> None:
    dist = URIRef(ids.base + "dumps/" + path.name)
    g.add((ds, DCAT.distribution, dist))
    g.add((ds, VOID.dataDump, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCAT.downloadURL, dist))
    g.add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + media)))
    g.add((dist, DCTERMS.format, Literal(media)))
    g.add((dist, DCAT.byteSize, Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)))
    g.add((dist, DCTERMS.license, LICENCE))
    if compression:
        g.add((dist, DCAT.compressFormat, URIRef("https://www.iana.org/assignments/media-types/application/" + compression)))
    checksum = URIRef(f"{dist}#sha256")
    g.add((dist, URIRef(SPDX + "checksum"), checksum))
    g.add((checksum, URIRef(SPDX + "algorithm"), URIRef(SPDX + "checksumAlgorithm_sha256")))
    g.add((checksum, URIRef(SPDX + "checksumValue"), Literal(sha256(path), datatype=XSD.hexBinary)))
    g.add((dist, RDFS.label, Literal(path.name)))
    g.add((dist, FOAF.page, URIRef(ids.base + "dumps/")))


def write_dist(
    dist_dir: Path,
    parts: list[Part],
    ids: Ids,
    *,
    shacl_report: Graph,
    extra: Mapping[str, object],
) -> Path:
    """Write every file of a build, then swap the folder in for ``dist_dir``."""
    built = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    tmp = dist_dir.with_name(f"{dist_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        store = load_parts(parts, ids)
        triples = write_dumps(tmp, store)
        sizes = graph_sizes(store, parts, ids)
        void = describe(store, sizes, triples, ids, tmp, built)
        void.serialize(tmp / "void.ttl", format="turtle", encoding="utf-8")
        shacl_report.serialize(tmp / "shacl-report.ttl", format="turtle", encoding="utf-8")
        release = {
            "version": __version__,
            "built": built,
            "base_uri": ids.base,
            "data_hash": sha256(tmp / "cpbkg.trig"),
            "triples": triples,
            "graphs": sizes,
            **extra,
        }
        (tmp / "release.json").write_text(json.dumps(release, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        sums = "".join(f"{sha256(f)}  {f.name}\n" for f in sorted(tmp.iterdir()) if f.is_file())
        (tmp / "SHA256SUMS").write_text(sums, encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, dist_dir)
    return dist_dir


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)


def swap_in(new: Path, final: Path) -> None:
    """Put ``new`` in place of ``final``.

    On Linux the two folders are exchanged in one step: a reader (``/dumps/``) sees the old
    build or the new one, never no ``dist/`` at all. Elsewhere two renames, the old folder kept
    until the new one is in place (:func:`recover` puts it back after a crash in between).
    """
    if final.exists() and _exchange(new, final):
        shutil.rmtree(new, ignore_errors=True)  # now the old build
        return
    old = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _pid_alive(name: str) -> bool:
    pid = name.rpartition("-")[2]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(final: Path) -> None:
    """After a crash: put the old folder back if the crash came between the two renames of
    :func:`swap_in`; remove what killed builds left (not the folder of a build still running)."""
    if final.exists():
        for stale in [*final.parent.glob(f"{final.name}.tmp-*"), *final.parent.glob(f"{final.name}.old-*")]:
            if not _pid_alive(stale.name):
                shutil.rmtree(stale, ignore_errors=True)
        return
    olds = sorted(final.parent.glob(f"{final.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], final)
