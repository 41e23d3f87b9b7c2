"""Writing ``dist/``: the dumps, their VoID/DCAT description, checksums and release record.

Everything is written into a fresh sibling folder and swapped in only when complete,
so a failed or killed build never leaves a half-written ``dist/`` behind.

What is written, in this order (each file may describe only those before it):

1. ``cpbkg.trig``: every part of the build in its named graph (``release.json``'s ``data_hash``
   is its checksum, so it changes exactly when the data does);
2. ``graph-{part}.ttl``: each part alone, in Turtle (what ``GET /store?graph=`` also serves);
3. the CSV tables of :mod:`cpbkg.build.tables`;
4. ``void.ttl``: the VoID + DCAT description of the dataset -- its graphs, classes, every file
   above as a distribution with its size and checksum. It is the graph ``{base}graph/dataset``
   (the store loads it as that graph beside ``cpbkg.trig``), and it counts itself: its
   ``void:triples``, class partitions and graph sizes include its own triples
   (:func:`describe_dataset` repeats until they no longer change);
5. the union dumps ``cpbkg.ttl``, ``cpbkg.nt.gz``, ``cpbkg.jsonld`` and ``graph-dataset.ttl``:
   every graph, the ``dataset`` one included, as the endpoint serves them. They contain the
   description, so it gives them as distributions without size or checksum (a file cannot hold
   its own checksum): those are in ``SHA256SUMS``;
6. ``shacl-report.ttl``, ``release.json``, ``SHA256SUMS``.

Turtle is written for people and parsers (:mod:`cpbkg.sparql.rdfdoc`): only the prefixes it
uses, of the one map :data:`cpbkg.vocab.PREFIXES`, and no prefixed name that needs an escape.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDFS, VOID, XSD

from cpbkg import __version__
from cpbkg.build.labels import label_statistics
from cpbkg.build.rdfio import to_ox_quads
from cpbkg.build.tables import write_tables
from cpbkg.formats import FORMATS, Format, file_type
from cpbkg.sparql.rdfdoc import used_prefixes
from cpbkg.vocab import CPB, PREFIXES, SD, Ids, bind_prefixes

LICENCE = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPDX = "http://spdx.org/rdf/terms#"


@dataclass(frozen=True)
class Dump:
    """One dump file of ``dist/``: the graph in one format of the registry (:mod:`cpbkg.formats`)."""

    format: Format
    #: gzip-compressed (``.gz`` after the format's extension)
    compressed: bool = False

    @property
    def name(self) -> str:
        """``cpbkg.`` and the format's extension: ``cpbkg.trig``, ``cpbkg.nt.gz``."""
        return f"cpbkg.{self.format.extension}" + (".gz" if self.compressed else "")

    @property
    def rdf(self) -> ox.RdfFormat:
        assert self.format.rdf is not None, f"{self.format.name} is not an RDF format"
        return self.format.rdf


#: the dump files: TriG (the first) keeps the named graphs of the parts, the others hold the union of every graph
DUMPS: tuple[Dump, ...] = (Dump(FORMATS["trig"]), Dump(FORMATS["ttl"]), Dump(FORMATS["nt"], compressed=True),
                           Dump(FORMATS["jsonld"]))
#: the graph of the dataset's own description (void.ttl), beside the parts
DATASET_GRAPH = "dataset"
#: the name of the file of one graph
GRAPH_FILE = "graph-{}.ttl"


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
    """The prefixes the files of ``dist/`` may declare (each declares those it uses)."""
    return dict(PREFIXES)


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


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    """The solutions of a SELECT query (pyoxigraph's type says any of its three kinds of answer)."""
    rows = store.query(query)
    assert isinstance(rows, ox.QuerySolutions)
    return rows


def union_triples(store: ox.Store) -> list[ox.Triple]:
    """The union of all named graphs, each triple once, sorted: the same build gives the same bytes."""
    rows = _select(store, "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    return sorted((ox.Triple(r["s"], r["p"], r["o"]) for r in rows), key=str)


def serialize(items: list[ox.Triple] | list[ox.Quad], fmt: ox.RdfFormat) -> bytes:
    """A dump's bytes: Turtle and TriG with the prefixes they use (:func:`cpbkg.sparql.rdfdoc.used_prefixes`)."""
    use = None
    if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML):
        use = used_prefixes((ox.Triple(i.subject, i.predicate, i.object) for i in items), PREFIXES)
    return ox.serialize(items, format=fmt, prefixes=use) or b""


def write_dump(folder: Path, dump: Dump, items: list[ox.Triple] | list[ox.Quad]) -> None:
    data = serialize(items, dump.rdf)
    if dump.compressed:
        # mtime=0: the same data gives the same bytes and checksum
        data = gzip.compress(data, mtime=0)
    (folder / dump.name).write_bytes(data)


def write_graph(folder: Path, store: ox.Store, name: str, ids: Ids) -> Path:
    """``graph-{name}.ttl``: one named graph of the store in Turtle, subject by subject (the store's order)."""
    triples = sorted((q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(ids.graph(name)))),
                     key=str)
    path = folder / GRAPH_FILE.format(name)
    path.write_bytes(serialize(triples, ox.RdfFormat.TURTLE))
    return path


def write_dumps(folder: Path, store: ox.Store) -> int:
    """The union dumps (every graph of ``store``, each triple once): Turtle, N-Triples.gz, JSON-LD.

    Returns:
        The number of triples in the union.
    """
    union = union_triples(store)
    for dump in DUMPS[1:]:
        write_dump(folder, dump, union)
    return len(union)


def graph_sizes(store: ox.Store, names: list[str], ids: Ids) -> dict[str, int]:
    """Triples per named graph, counted in the store (large parts are not rdflib graphs)."""
    counts = {row["g"].value: int(row["n"].value)
              for row in _select(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    return {name: counts.get(str(ids.graph(name)), 0) for name in names}


def union_size(store: ox.Store) -> int:
    """Triples of the union of the named graphs, each once."""
    rows = _select(store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }")
    return int(next(iter(rows))["n"].value)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Distribution:
    """A file of ``dist/`` as the VoID/DCAT description gives it."""

    path: Path
    media_type: str
    #: gzip-compressed
    compressed: bool = False
    #: the graph it holds alone (its ``void:dataDump``), if one
    graph: str | None = None
    #: its size and checksum are known when the description is written (not a file that holds it)
    measured: bool = True
    #: the CSVW metadata of a table
    metadata: str | None = None


def describe(store: ox.Store, sizes: Mapping[str, int], triples: int, ids: Ids, built: str,
             files: list[Distribution]) -> Graph:
    """The VoID + DCAT description of the dataset, its graphs and its distributions ``files``."""
    g = Graph(bind_namespaces="none")
    bind_prefixes(g)
    ds = ids.dataset()
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("CPB-KG: the Implementation Plan for the Cartagena Protocol on Biosafety as a knowledge graph", lang="en")))
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
        g.add((sub, DCTERMS.title, Literal(f"命名图 {name}", lang="zh")))
        g.add((sub, VOID.triples, Literal(size, datatype=XSD.integer)))
    for file in files:
        _distribution(g, ids.graph(file.graph) if file.graph else ds, ids, file, built)
    return g


def describe_dataset(store: ox.Store, names: list[str], ids: Ids, built: str, files: list[Distribution]) -> int:
    """Put the dataset's description into ``store`` as the graph ``dataset``, counting itself; its triples.

    The description gives the triples of the union and of each graph and the entities of each
    class, its own included; its own triples are known only once it is written. Their number
    does not depend on the figures it gives (literals), only on its structure (the graphs, the
    classes, the files), so it is written again with the figures of the last one until it no
    longer changes (twice, or three times when it brings classes of its own).
    """
    graph = ox.NamedNode(ids.graph(DATASET_GRAPH))
    previous: ox.Dataset | None = None
    printed = io.StringIO()
    for _ in range(6):
        sizes = graph_sizes(store, [*names, DATASET_GRAPH], ids)
        description = describe(store, sizes, union_size(store), ids, built, files)
        printed = io.StringIO()  # the label statistics of the last round only are printed
        label_statistics(description, ids, store, out=printed)
        quads = list(to_ox_quads(description, URIRef(graph.value)))
        canonical = ox.Dataset(quads)
        canonical.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)  # blank nodes get new ids each round
        if canonical == previous:
            sys.stderr.write(printed.getvalue())
            return len(quads)
        store.remove_graph(graph)
        store.extend(quads)
        previous = canonical
    raise AssertionError("the dataset's description does not settle on its own figures")


def _class_partitions(g: Graph, ds: URIRef, store: ox.Store) -> None:
    counts = {
        URIRef(row["cls"].value): int(row["n"].value)
        for row in _select(store, "SELECT ?cls (COUNT(DISTINCT ?x) AS ?n) WHERE { GRAPH ?g { ?x a ?cls } "
                                  "FILTER(isIRI(?cls)) } GROUP BY ?cls")
    }
    g.add((ds, VOID.classes, Literal(len(counts), datatype=XSD.integer)))
    for cls, n in sorted(counts.items()):
        node = URIRef(f"{ds}/class/{hashlib.sha1(str(cls).encode()).hexdigest()[:12]}")
        g.add((ds, VOID.classPartition, node))
        g.add((node, VOID["class"], cls))
        g.add((node, VOID.entities, Literal(n, datatype=XSD.integer)))


#: dcat:version (DCAT 3; rdflib's DCAT namespace is DCAT 2 and warns on the name)
DCAT_VERSION = URIRef(str(DCAT) + "version")


def _distribution(g: Graph, of: URIRef, ids: Ids, file: Distribution, built: str) -> None:
    """A file as a DCAT distribution of this release: named by its stable address
    ``/dumps/{version}/{name}``, with its version and issue date; the current release's file is
    also at ``/dumps/latest/{name}`` (``rdfs:seeAlso``) and ``/dumps/{name}``."""
    name = file.path.name
    dist = ids.dump(name, __version__)
    g.add((of, DCAT.distribution, dist))
    if file.media_type != "text/csv":
        g.add((of, VOID.dataDump, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCAT.downloadURL, dist))
    g.add((dist, DCAT.accessURL, ids.dumps_page()))
    g.add((dist, DCAT_VERSION, Literal(__version__)))
    g.add((dist, DCTERMS.issued, Literal(built, datatype=XSD.dateTime)))
    g.add((dist, RDFS.seeAlso, ids.dump(name, "latest")))
    g.add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + file.media_type)))
    g.add((dist, DCTERMS.format, Literal(file.media_type)))
    g.add((dist, DCTERMS.license, LICENCE))
    if file.compressed:
        g.add((dist, DCAT.compressFormat, URIRef("https://www.iana.org/assignments/media-types/application/gzip")))
    if file.measured:
        g.add((dist, DCAT.byteSize, Literal(file.path.stat().st_size, datatype=XSD.nonNegativeInteger)))
        checksum = URIRef(f"{dist}#sha256")
        g.add((dist, URIRef(SPDX + "checksum"), checksum))
        g.add((checksum, URIRef(SPDX + "algorithm"), URIRef(SPDX + "checksumAlgorithm_sha256")))
        g.add((checksum, URIRef(SPDX + "checksumValue"), Literal(sha256(file.path), datatype=XSD.hexBinary)))
    else:
        g.add((dist, DCTERMS.description, Literal(
            "holds this description too, so its size and checksum are not given here: see SHA256SUMS", lang="en")))
    if file.metadata:
        g.add((dist, DCTERMS.conformsTo, URIRef("http://www.w3.org/ns/csvw")))
        g.add((dist, RDFS.seeAlso, ids.dump(file.metadata, __version__)))
    g.add((dist, RDFS.label, Literal(name)))
    what = file_type(name)[1]  # the format's own name (Turtle, TriG, CSV, ...), the same in both languages
    g.add((dist, DCTERMS.title, Literal(f"CPB-KG download {name} ({what})", lang="en")))
    g.add((dist, DCTERMS.title, Literal(f"CPB-KG 下载文件 {name}（{what}）", lang="zh")))
    g.add((dist, FOAF.page, ids.dumps_page()))


def write_dist(
    dist_dir: Path,
    parts: list[Part],
    ids: Ids,
    *,
    shacl_report: Graph,
    extra: Mapping[str, object],
) -> Path:
    """Write every file of a build, then swap the folder in for ``dist_dir``."""
    built = datetime.now(UTC).replace(microsecond=0).isoformat()
    tmp = dist_dir.with_name(f"{dist_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        store = load_parts(parts, ids)
        names = [p.name for p in parts]
        trig = DUMPS[0]
        write_dump(tmp, trig, sorted(store, key=str))  # the parts only: the store adds void.ttl as `dataset`
        files = [Distribution(tmp / trig.name, trig.format.media_type)]
        turtle = FORMATS["ttl"].media_type
        files += [Distribution(write_graph(tmp, store, name, ids), turtle, graph=name) for name in names]
        files += [Distribution(path, "text/csv", metadata=f"{path.stem.removesuffix('-excel')}.csv-metadata.json")
                  for path in write_tables(tmp, store, ids.base)]
        files += [Distribution(tmp / d.name, d.format.media_type, d.compressed, measured=False) for d in DUMPS[1:]]
        files.append(Distribution(tmp / GRAPH_FILE.format(DATASET_GRAPH), turtle, graph=DATASET_GRAPH, measured=False))
        describe_dataset(store, names, ids, built, files)
        shutil.copyfile(write_graph(tmp, store, DATASET_GRAPH, ids), tmp / "void.ttl")
        triples = write_dumps(tmp, store)
        sizes = graph_sizes(store, [*names, DATASET_GRAPH], ids)
        shacl_report.serialize(tmp / "shacl-report.ttl", format="turtle", encoding="utf-8")
        release = {
            "version": __version__,
            "built": built,
            "base_uri": ids.base,
            "data_hash": sha256(tmp / trig.name),
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
