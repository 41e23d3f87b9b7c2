"""Other people's clients and parsers against a running server (the app of ``cpbkg serve`` in a process
of its own, default settings: no row cap), on the session's build.

* SPARQLWrapper and rdflib's SPARQLStore query ``/sparql``, whole answers included (``SELECT *``
  over the whole graph, once refused with 422 over a cap of 10,000 rows);
* rdflib (``Graph.parse`` of a URL, as a user would) and PyLD read every RDF format of ``/id/...``
  -- JSON-LD compacted against ``/context.jsonld``, fetched over HTTP by each;
* N3.js and rdflib.js (npm, ``tests/interop/``: ``npm ci`` there, as ``.ci/install --test`` does)
  parse the Turtle (and TriG, N-Triples, N-Quads, RDF/XML) of ``/id/...``, ``/store`` and ``/dumps/``;
* Comunica queries ``/sparql``, alone and with a dump as a second source;
* ``SELECT *`` and ``CONSTRUCT`` of everything come back whole (counted), with the server's memory
  measured while it streams them (printed: ``pytest -s`` shows the figures); the same over the
  1M-triple demo build (``cpbkg build --demo --synthetic-replicates 3``) in the slowest test.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from cpbkg.config import Settings

pytestmark = pytest.mark.slow

BASE = Settings().base_uri
INTEROP = Path(__file__).resolve().parents[1] / "interop"
COUNT_ROWS = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
#: resources of each kind, and the pages whose RDF other tools read
RESOURCES = ["/id/area/A", "/id/goal/A.1", "/id/objective/A.1.1", "/id/indicator/A.1(a)", "/id/outcome/A.1",
             "/id/treaty/cpb/article/17", "/id/gbf/target/17", "/id/plan", "/ontology", "/dataset", "/graph/plan"]
SUFFIXES = {"ttl": "turtle", "nt": "nt", "rdf": "xml", "jsonld": "json-ld", "trig": "trig", "nq": "nquads"}


class Server:
    """The app of ``cpbkg serve`` (:func:`cpbkg.web.app.create_app`, settings from ``CPBKG_*``) under uvicorn,
    in a process of its own on a free loopback port; its RSS measurable. Not ``cpbkg serve`` itself:
    that rebuilds a dist/ older than its sources, and this one is the session's build."""

    def __init__(self, dist: Path, store: Path, **settings: str) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPBKG_")}
        env.update({"CPBKG_DIST": str(dist), "CPBKG_STORE": str(store), "CPBKG_RESULT_CAP": "0",
                    **{f"CPBKG_{k.upper()}": v for k, v in settings.items()}})
        self.log = store.parent / "server.log"
        with self.log.open("w") as log:  # a file, not a pipe: a pipe nobody reads would stop the server
            self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "cpbkg.web.app:create_app", "--factory",
                                          "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                                         env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600  # a hang guard: loading 1M triples takes a while on a busy machine
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/sparql", params={"query": "ASK {}"}, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not answer in time")

    def rss(self) -> int:
        """Resident memory of the server process (not its query workers), in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server(web_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(web_settings.dist_dir, tmp_path_factory.mktemp("interop") / "store")
    yield running
    running.stop()


def count(url: str, query: str = COUNT_ROWS) -> int:
    r = httpx.get(url + "/sparql", params={"query": query}, timeout=120)
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def node(script: str, *args: str) -> Any:
    """Run one of the tests/interop/ scripts with Node; its JSON output."""
    if shutil.which("node") is None or not (INTEROP / "node_modules").is_dir():
        if os.environ.get("CI"):
            raise RuntimeError("node and tests/interop/node_modules are needed in CI: run `bash .ci/install --test`")
        pytest.skip("node or tests/interop/node_modules missing: `cd tests/interop && npm ci`")
    out = subprocess.run(["node", str(INTEROP / script), *args], capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.stdout, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def triples_in(data: bytes, fmt: ox.RdfFormat) -> int:
    """The distinct triples of a document, by pyoxigraph (the count the other parsers must match)."""
    return len({(q.subject, q.predicate, q.object) for q in ox.parse(data, format=fmt)})


# --------------------------------------------------------------------------- SPARQL clients


def test_sparqlwrapper_gets_whole_answers(server: Server) -> None:
    from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

    rows = count(server.url)
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery("SELECT * WHERE { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    assert len(client.query().convert()["results"]["bindings"]) == rows  # type: ignore[index,call-overload]
    client.setReturnFormat(XML)
    assert len(client.query().convert().getElementsByTagName("result")) == rows  # type: ignore[union-attr]
    client.setReturnFormat(CSV)
    assert len(client.query().convert().decode("utf-8").strip().split("\r\n")) - 1 <= rows  # type: ignore[union-attr]
    client.setQuery("CONSTRUCT WHERE { ?s ?p ?o }")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")  # type: ignore[arg-type]
    assert len(graph) == count(server.url, COUNT_TRIPLES)


def test_rdflib_sparqlstore_reads_the_endpoint(server: Server) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(server.url + "/sparql", returnFormat="json")
    graph = rdflib.Graph(store)
    rows = list(graph.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))
    assert len(rows) == count(server.url)  # a broad pattern, once refused over the cap
    goals = list(graph.query("PREFIX cpb: <https://w3id.org/cpbkg/ontology#> SELECT ?g WHERE { ?g a cpb:Goal }"))
    assert len(goals) == 14
    assert (rdflib.URIRef(BASE + "id/goal/A.1"), rdflib.RDF.type, rdflib.URIRef(
        "https://w3id.org/cpbkg/ontology#Goal")) in graph
    assert len(list(graph.triples((None, None, None)))) == len(rows)


def test_comunica_queries_the_endpoint_alone_and_with_a_dump(server: Server) -> None:
    got = node("comunica.mjs", "SELECT * WHERE { ?s ?p ?o }", server.url + "/sparql")
    assert got == {"rows": count(server.url)}, got
    # the dump repeats what the endpoint holds of the GBF: DISTINCT, or each row comes from both sources.
    # IRIs only: Comunica 4 reads the language tags of an endpoint's JSON literals as none (Oxigraph's own
    # server too), so a literal from the endpoint and the same from the file would be two rows
    query = ("PREFIX cpb: <https://w3id.org/cpbkg/ontology#> "
             "SELECT DISTINCT ?element ?target ?type WHERE { ?element cpb:contributesTo ?target . ?target a ?type }")
    expected = httpx.get(server.url + "/sparql", params={"query": query}, timeout=60).json()["results"]["bindings"]
    assert len(expected) > 10
    got = node("comunica.mjs", query, server.url + "/sparql", server.url + "/dumps/graph-gbf.ttl")
    assert got == {"rows": len(expected)}, got


# --------------------------------------------------------------------------- RDF parsers


@pytest.mark.parametrize("path", RESOURCES)
def test_rdflib_parses_every_resource_format(server: Server, path: str) -> None:
    reference = rdflib.Graph().parse(server.url + path + ".ttl", format="turtle")
    assert len(reference) > 0
    for suffix, fmt in SUFFIXES.items():
        if fmt in ("trig", "nquads"):
            dataset = rdflib.Dataset()
            dataset.parse(server.url + path + "." + suffix, format=fmt)
            graph = rdflib.Graph()
            for s, p, o, _ in dataset.quads():
                graph.add((s, p, o))
        else:
            graph = rdflib.Graph().parse(server.url + path + "." + suffix, format=fmt)  # JSON-LD: fetches the context
        assert isomorphic(graph, reference), (path, suffix)
    negotiated = rdflib.Graph().parse(server.url + path)  # rdflib's own Accept header
    assert isomorphic(negotiated, reference)


@pytest.mark.parametrize("path", RESOURCES)
def test_pyld_expands_the_compacted_json_ld(server: Server, path: str) -> None:
    from pyld import jsonld

    doc = httpx.get(server.url + path + ".jsonld").json()
    assert doc["@context"] == server.url + "/context.jsonld"
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads"})  # pyld's own loader fetches the context
    from_pyld = rdflib.Graph().parse(data=nquads, format="nquads")
    assert isomorphic(from_pyld, rdflib.Graph().parse(server.url + path + ".ttl", format="turtle"))
    # (jsonld.expand(URL) is not tried: PyLD 3.3's requests loader fails on a Link header with several
    # rel="alternate" links, which every resource sends, one per variant -- an AttributeError in PyLD)


def _documents(server: Server) -> dict[str, ox.RdfFormat]:
    """Every RDF document other people's parsers read: resources in each format, graphs, dumps."""
    docs: dict[str, ox.RdfFormat] = {}
    formats = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "trig": ox.RdfFormat.TRIG,
               "nq": ox.RdfFormat.N_QUADS, "rdf": ox.RdfFormat.RDF_XML}
    for path in RESOURCES:
        for suffix, fmt in formats.items():
            docs[server.url + path + "." + suffix] = fmt
    listing = httpx.get(server.url + "/dumps/", headers={"Accept": "application/json"}).json()
    for entry in listing["files"]:
        if entry["name"].endswith(".ttl"):
            docs[server.url + entry["url"]] = ox.RdfFormat.TURTLE
        if entry["name"].startswith("graph-"):
            name = entry["name"][len("graph-"):-len(".ttl")]
            docs[f"{server.url}/store?graph={BASE}graph/{name}"] = ox.RdfFormat.TURTLE
    docs[server.url + "/store?default"] = ox.RdfFormat.TURTLE
    docs[server.url + "/.well-known/void"] = ox.RdfFormat.TURTLE
    return docs


def test_n3js_and_rdflibjs_parse_every_rdf_output(server: Server) -> None:
    """Every Turtle output of /id/..., /store and /dumps/ (and the other syntaxes the two read):
    both parsers read it without an error, and the triples pyoxigraph reads."""
    docs = _documents(server)
    got = node("parse.mjs", *docs)
    failures = []
    for url, fmt in docs.items():
        entry = got[url]
        expected = triples_in(httpx.get(url, timeout=120).content, fmt)
        for parser in ("n3", "rdflib"):
            if parser in entry and entry[parser] != expected:
                failures.append((url, parser, entry[parser], expected))
        if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES):
            assert "n3" in entry and "rdflib" in entry, (url, entry)
    assert not failures, failures[:10]


# --------------------------------------------------------------------------- whole answers, memory


def _streamed(server: Server, query: str, fmt: str, parse: Callable[[bytes], int]) -> tuple[int, int, int]:
    """(items parsed, bytes, peak server RSS - RSS before) of one answer read as a client reads it."""
    before = server.rss()
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], server.rss())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with httpx.stream("GET", server.url + "/sparql", params={"query": query, "format": fmt},
                          headers={"Accept-Encoding": "identity"}, timeout=600) as r:
            assert r.status_code == 200, r.read()[:500]
            body = b"".join(r.iter_raw())
    finally:
        done.set()
        watcher.join()
    return parse(body), len(body), peak[0] - before


def _whole(server: Server, label: str) -> None:
    rows, triples = count(server.url), count(server.url, COUNT_TRIPLES)
    got, size, grew = _streamed(server, "SELECT * WHERE { ?s ?p ?o }", "tsv",
                                lambda body: body.count(b"\n") - 1)
    print(f"\n{label}: SELECT * -> {got} rows, {size / 2**20:.0f} MiB of TSV; server RSS "
          f"{server.rss() / 2**20:.0f} MiB, +{grew / 2**20:.1f} MiB at most while streaming")
    assert got == rows
    got, size, grew = _streamed(server, "CONSTRUCT WHERE { ?s ?p ?o }", "nt",
                                lambda body: len(set(body.splitlines())))
    print(f"{label}: CONSTRUCT -> {got} distinct triples, {size / 2**20:.0f} MiB of N-Triples; "
          f"+{grew / 2**20:.1f} MiB at most while streaming")
    assert got == triples
    # memory stays flat: what the server holds of an answer is a chunk and what it read ahead, not the answer
    assert grew < max(size / 4, 64 << 20), (grew, size)


def test_select_star_and_construct_everything_come_back_whole(server: Server) -> None:
    _whole(server, "published graph")
    got, _, _ = _streamed(server, "SELECT * WHERE { ?s ?p ?o }", "json",
                          lambda body: len(json.loads(body)["results"]["bindings"]))
    assert got == count(server.url)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The 1M-triple demo build (``cpbkg build --demo --synthetic-replicates 3``, as bench/ makes it; or the
    one in ``CPBKG_TEST_DEMO_DIST``) served with a timeout long enough for a busy machine."""
    dist = Path(os.environ["CPBKG_TEST_DEMO_DIST"]) if os.environ.get("CPBKG_TEST_DEMO_DIST") else None
    if dist is None:
        dist = tmp_path_factory.mktemp("demo") / "dist"
        built = subprocess.run([sys.executable, "-m", "cpbkg", "build", "--demo", "--synthetic-replicates", "3",
                                "--dist", str(dist)],
                               capture_output=True, text=True, timeout=1800, check=False)
        assert built.returncode == 0, built.stderr[-3000:]
    release = json.loads((dist / "release.json").read_text(encoding="utf-8"))
    assert release["triples"] > 1_000_000 and release["synthetic"]
    # a whole-graph CONSTRUCT at 1M triples takes ~560 MiB above its worker's size (Oxigraph keeps the
    # triples it has sent, to send each once; measured): more than the default share of query_memory_mb
    running = Server(dist, tmp_path_factory.mktemp("demo-store") / "store", query_timeout="600",
                     query_memory_mb="2048")
    yield running
    running.stop()


def test_the_1m_demo_comes_back_whole(demo: Server) -> None:
    _whole(demo, "1M demo")
    r = httpx.get(demo.url + "/dumps/cpbkg.nt.gz", timeout=600)
    assert len(gzip.decompress(r.content).splitlines()) == count(demo.url, COUNT_TRIPLES)
