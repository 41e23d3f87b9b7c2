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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDFS, VOID, XSD

from cpbkg import __version__
from cpbkg.namespaces import CPB, SD, Ids, bind_prefixes
from cpbkg.rdfio import to_ox_quads

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
    """One named graph of the build."""

    name: str
    graph: Graph


def prefixes() -> dict[str, str]:
    g = Graph()
    bind_prefixes(g)
    return {p: str(ns) for p, ns in g.namespaces() if p}


def _sorted_quads(parts: list[Part], ids: Ids, *, named: bool) -> list[ox.Quad]:
    quads = []
    for part in parts:
        quads.extend(to_ox_quads(part.graph, ids.graph(part.name) if named else None))
    # sorted output: the same build gives byte-identical dumps
    quads.sort(key=str)
    if not named:
        seen: set[str] = set()
        unique = []
        for q in quads:
            key = str(q)
            if key not in seen:
                seen.add(key)
                unique.append(q)
        quads = unique
    return quads


def write_dumps(folder: Path, parts: list[Part], ids: Ids) -> None:
    """The graph in each dump format: TriG keeps the named graphs, the others the union."""
    named = _sorted_quads(parts, ids, named=True)
    union = [ox.Triple(q.subject, q.predicate, q.object) for q in _sorted_quads(parts, ids, named=False)]
    for name, (fmt, _media, zipped) in DUMPS.items():
        data = ox.serialize(named if fmt.supports_datasets else union, format=fmt,
                            prefixes=None if fmt == ox.RdfFormat.N_TRIPLES else prefixes())
        assert data is not None
        if zipped:
            # mtime=0: the same data gives the same bytes and checksum
            data = gzip.compress(data, mtime=0)
        (folder / name).write_bytes(data)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(parts: list[Part], ids: Ids, folder: Path, built: str, union: Graph) -> Graph:
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
    g.add((ds, VOID.triples, Literal(len(union), datatype=XSD.integer)))
    g.add((ds, PROV.wasGeneratedBy, Literal(f"cpbkg build {__version__}")))
    _class_partitions(g, ds, union)
    for part in parts:
        sub = ids.graph(part.name)
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, RDF.type, SD.NamedGraph))
        g.add((sub, SD.name, sub))
        g.add((sub, DCTERMS.title, Literal(f"graph {part.name}", lang="en")))
        g.add((sub, VOID.triples, Literal(len(part.graph), datatype=XSD.integer)))
    for name, (_fmt, media, zipped) in DUMPS.items():
        _distribution(g, ds, ids, folder / name, media, "gzip" if zipped else None)
    return g


def _class_partitions(g: Graph, ds: URIRef, union: Graph) -> None:
    counts: dict[URIRef, int] = {}
    for cls in union.objects(None, RDF.type):
        if isinstance(cls, URIRef):
            counts[cls] = counts.get(cls, 0) + 1
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
        write_dumps(tmp, parts, ids)
        union = Graph()
        for part in parts:
            union += part.graph
        void = describe(parts, ids, tmp, built, union)
        void.serialize(tmp / "void.ttl", format="turtle", encoding="utf-8")
        shacl_report.serialize(tmp / "shacl-report.ttl", format="turtle", encoding="utf-8")
        release = {
            "version": __version__,
            "built": built,
            "base_uri": ids.base,
            "data_hash": sha256(tmp / "cpbkg.trig"),
            "triples": len(union),
            "graphs": {p.name: len(p.graph) for p in parts},
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


def swap_in(new: Path, final: Path) -> None:
    """Replace ``final`` by ``new`` with two renames; the old folder is kept until the new one is in place."""
    old = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)


def recover(final: Path) -> None:
    """After a crash between the two renames of :func:`swap_in`, put the old folder back."""
    if final.exists():
        for stale in final.parent.glob(f"{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return
    olds = sorted(final.parent.glob(f"{final.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], final)
