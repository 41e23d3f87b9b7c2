"""``cpbkg publish`` against a real Oxigraph server process on 127.0.0.1.

The dist/ folders here are made by hand (a few triples in two or three named graphs, with the
``release.json`` that cpbkg/dist.py writes) so that each behaviour has a small, readable fixture;
``test_publish_real_build`` publishes the session's real build. Faults are injected into what
is sent (fewer triples, unparsable data) or by pointing an endpoint at a port where nothing
listens; the store itself is never mocked.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from support.oxigraph_server import OxigraphServer, free_port, running_oxigraph

import cpbkg.store.publish as publish_mod
from cpbkg.errors import CpbkgError
from cpbkg.store.publish import add_publish_parser, cmd_publish
from cpbkg.store.remote import RemoteStore, RemoteStoreError, check_iri, endpoints

BASE = "https://w3id.org/cpbkg/"
EX = "https://w3id.org/cpbkg/id/"
P = "https://w3id.org/cpbkg/ontology#"


# -- fixtures: hand-made builds ---------------------------------------------------------------------


def make_dist(folder: Path, graphs: dict[str, list[tuple[str, str, str]]], *, void: bool = True) -> Path:
    """A dist/ as cpbkg/dist.py writes it, reduced to what publish reads: cpbkg.trig, release.json, void.ttl.

    ``graphs``: part name -> triples (subject local name, property local name, literal value).
    """
    folder.mkdir(parents=True)
    quads = [
        ox.Quad(ox.NamedNode(EX + s), ox.NamedNode(P + p), ox.Literal(o), ox.NamedNode(BASE + "graph/" + name))
        for name, triples in graphs.items() for s, p, o in triples
    ]
    trig = folder / "cpbkg.trig"
    trig.write_bytes(ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.TRIG) or b"")
    if void:
        (folder / "void.ttl").write_text(
            f"<{BASE}dataset> a <http://rdfs.org/ns/void#Dataset> ;\n"
            f"  <http://rdfs.org/ns/void#triples> {len(quads)} .\n", encoding="utf-8")
    release = {
        "version": "0.1.0",
        "built": "2024-01-01T00:00:00+00:00",
        "base_uri": BASE,
        "data_hash": hashlib.sha256(trig.read_bytes()).hexdigest(),
        "triples": len(quads),
        "graphs": {name: len(set(triples)) for name, triples in graphs.items()},
    }
    (folder / "release.json").write_text(json.dumps(release, indent=2) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def oxigraph_server(tmp_path: Path) -> Iterator[OxigraphServer]:
    """A fresh ``oxigraph serve`` process on 127.0.0.1 for each test."""
    yield from running_oxigraph(tmp_path / "oxigraph")


def triples(prefix: str, n: int) -> list[tuple[str, str, str]]:
    return [(f"{prefix}/{i}", "label", f"{prefix} {i}") for i in range(n)]


@pytest.fixture
def first(tmp_path: Path) -> Path:
    """Build 1: plan (5 triples), decision (3), old (2)."""
    return make_dist(tmp_path / "dist1", {
        "plan": triples("goal", 5), "decision": triples("para", 3), "old": triples("old", 2)})


@pytest.fixture
def second(tmp_path: Path) -> Path:
    """Build 2: plan changed (7 other triples), decision unchanged, old gone, sdg new."""
    return make_dist(tmp_path / "dist2", {
        "plan": triples("objective", 7), "decision": triples("para", 3), "sdg": triples("sdg", 4)})


def expected_counts(dist: Path) -> dict[str, int]:
    release = json.loads((dist / "release.json").read_text())
    out = {BASE + "graph/" + name: n for name, n in release["graphs"].items()}
    if (dist / "void.ttl").is_file():
        out[BASE + "graph/dataset"] = 2
    return out


def run(*argv: str) -> int:
    """``cpbkg publish ARGV``: through cli.main once it is wired in, else the same way cli.main does it."""
    from cpbkg import cli

    if "publish" in getattr(cli, "COMMANDS", {}):
        return cli.main(["publish", *argv])
    root = argparse.ArgumentParser(prog="cpbkg")
    add_publish_parser(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["publish", *argv])
    try:
        return cmd_publish(args)
    except CpbkgError as exc:
        print(f"cpbkg publish: error: {exc}", file=__import__("sys").stderr)
        return exc.exit_code


def store_of(server: OxigraphServer) -> RemoteStore:
    ep = endpoints(server.url, "oxigraph")
    return RemoteStore.at(ep, timeout=30)


# -- publishing to a real server ------------------------------------------------------------------


def test_publish_counts_match_dist(oxigraph_server: OxigraphServer, first: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first)) == 0
    with store_of(oxigraph_server) as remote:
        assert remote.graphs() == expected_counts(first)
    err = capsys.readouterr().err
    # one progress line per graph, with its triples and seconds
    for name, n in (("plan", 5), ("decision", 3), ("old", 2), ("dataset", 2)):
        assert any(f" {name} " in line and f" {n} triples" in line and line.endswith(" s")
                   for line in err.splitlines()), err
    assert "published and verified 12 triples in 4 graphs" in err


def test_publish_twice_replaces_graphs_cleanly(oxigraph_server: OxigraphServer, first: Path, second: Path) -> None:
    with store_of(oxigraph_server) as remote:
        # a graph that is not ours must survive both publications
        remote.update('INSERT DATA { GRAPH <http://example.org/theirs> '
                      '{ <http://example.org/a> <http://example.org/b> "c" } }')
        assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
        assert run("--to", oxigraph_server.url, "--dist", str(second), "-q") == 0
        assert remote.graphs() == {**expected_counts(second), "http://example.org/theirs": 1}
        # the plan graph holds the second build's triples only
        rows = remote.select(f"SELECT ?s WHERE {{ GRAPH <{BASE}graph/plan> {{ ?s ?p ?o }} }}")
        assert {r["s"] for r in rows} == {f"{EX}objective/{i}" for i in range(7)}


def test_keep_other_graphs(oxigraph_server: OxigraphServer, first: Path, second: Path) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
    with store_of(oxigraph_server) as remote:
        # what a publication killed before its switch leaves behind: always dropped
        remote.update(f'INSERT DATA {{ GRAPH <{BASE}graph/staging/0123456789abcdef/plan> {{ <{EX}x> <{P}y> "z" }} }}')
        assert run("--to", oxigraph_server.url, "--dist", str(second), "-q", "--keep-other-graphs") == 0
        assert remote.graphs() == {**expected_counts(second), BASE + "graph/old": 2}


def test_direct_publish_replaces_graphs(oxigraph_server: OxigraphServer, first: Path, second: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first), "--direct", "-q") == 0
    assert run("--to", oxigraph_server.url, "--dist", str(second), "--direct") == 0
    with store_of(oxigraph_server) as remote:
        assert remote.graphs() == expected_counts(second)
    err = capsys.readouterr().err
    assert "directly, without staging graphs" in err and "deleted 1 graphs" in err


def test_direct_publish_still_verifies(oxigraph_server: OxigraphServer, second: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = publish_mod.graph_payload
    monkeypatch.setattr(publish_mod, "graph_payload",
                        lambda store, iri: real(store, iri).splitlines(keepends=True)[0] if iri.endswith("/sdg")
                        else real(store, iri))
    assert run("--to", oxigraph_server.url, "--dist", str(second), "--direct", "-q") == 2
    err = capsys.readouterr().err
    assert f"graph <{BASE}graph/sdg> holds 1 triples on the store, dist/ has 4" in err
    assert "run `cpbkg publish` again" in err


def test_incomplete_push_is_caught_and_old_graphs_stay(
        oxigraph_server: OxigraphServer, first: Path, second: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
    real = publish_mod.graph_payload

    def lossy(store: ox.Store, iri: str) -> bytes:
        data = real(store, iri)
        if iri == BASE + "graph/plan":
            data = b"".join(data.splitlines(keepends=True)[:-2])  # two triples lost on the way
        return data

    monkeypatch.setattr(publish_mod, "graph_payload", lossy)
    capsys.readouterr()
    assert run("--to", oxigraph_server.url, "--dist", str(second)) == 2
    err = capsys.readouterr().err
    assert f"graph <{BASE}graph/plan>" in err
    assert "holds 5 triples on the store, dist/ has 7" in err
    assert "previous graphs are untouched" in err
    with store_of(oxigraph_server) as remote:
        # the first build, exactly, and no staging graph
        assert remote.graphs() == expected_counts(first)


def test_store_rejecting_data_names_the_graph(oxigraph_server: OxigraphServer, first: Path, second: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
    real = publish_mod.graph_payload
    monkeypatch.setattr(publish_mod, "graph_payload",
                        lambda store, iri: b"not n-triples\n" if iri.endswith("/sdg") else real(store, iri))
    capsys.readouterr()
    assert run("--to", oxigraph_server.url, "--dist", str(second), "-q") == 2
    err = capsys.readouterr().err
    assert f"PUT of graph <{BASE}graph/staging/" in err and "/sdg>" in err
    assert "answered 400" in err
    with store_of(oxigraph_server) as remote:
        assert remote.graphs() == expected_counts(first)


def test_graph_store_unreachable_mid_publish(oxigraph_server: OxigraphServer, first: Path, second: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Query and update reach the server, the graph store endpoint is a port where nothing listens."""
    assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
    capsys.readouterr()
    dead = f"http://127.0.0.1:{free_port()}/store"
    assert run("--to", oxigraph_server.url, "--gsp", dead, "--dist", str(second), "-q") == 2
    err = capsys.readouterr().err
    assert "cannot connect to" in err and dead in err
    with store_of(oxigraph_server) as remote:
        assert remote.graphs() == expected_counts(first)


def test_server_stopped_then_restarted_keeps_published_graphs(oxigraph_server: OxigraphServer, first: Path,
                                                              second: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", oxigraph_server.url, "--dist", str(first), "-q") == 0
    oxigraph_server.stop()
    capsys.readouterr()
    assert run("--to", oxigraph_server.url, "--dist", str(second), "-q") == 2
    assert "cannot connect to" in capsys.readouterr().err
    oxigraph_server.start()
    with store_of(oxigraph_server) as remote:
        assert remote.graphs() == expected_counts(first)


def test_connection_refused_is_a_clear_error(tmp_path: Path, first: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert run("--to", url, "--dist", str(first)) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to {url}/query" in err
    assert "Traceback" not in err


def test_missing_build_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--to", "http://127.0.0.1:9", "--dist", str(tmp_path / "nothing")) == 2
    assert "run `cpbkg build` first" in capsys.readouterr().err


def test_damaged_build_is_refused_before_any_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dist = make_dist(tmp_path / "dist", {"plan": triples("goal", 3)})
    release = json.loads((dist / "release.json").read_text())
    release["graphs"]["plan"] = 4
    (dist / "release.json").write_text(json.dumps(release))
    assert run("--to", "http://127.0.0.1:9", "--dist", str(dist)) == 2
    assert "release.json says 4" in capsys.readouterr().err


def test_publish_real_build(oxigraph_server: OxigraphServer, built, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """The session's real build, pushed and verified; counts on the server equal release.json's."""
    t0 = time.monotonic()
    assert run("--to", oxigraph_server.url, "--dist", str(built.dist_dir)) == 0
    seconds = time.monotonic() - t0
    release = json.loads((built.dist_dir / "release.json").read_text())
    with store_of(oxigraph_server) as remote:
        found = remote.graphs()
    base = release["base_uri"]
    for name, n in release["graphs"].items():
        assert found[base + "graph/" + name] == n, name
    assert base + "graph/dataset" in found
    assert not [g for g in found if "/staging/" in g]
    print(f"published {release['triples']} triples in {len(found)} graphs in {seconds:.2f} s")


# -- the client: auth, redirects, IRIs ------------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with an empty SPARQL result (or a redirect) and records its headers."""

    seen: list[dict[str, str]] = []
    redirect_to: str | None = None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        target = type(self).redirect_to
        if target:
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"head":{"vars":["g","n"]},"results":{"bindings":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.seen = []
    Recorder.redirect_to = None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_basic_auth_header_is_sent(recorder: str, first: Path) -> None:
    # the recorder holds no graph, so verification fails; every request must have carried the credentials
    assert run("--to", recorder, "--dist", str(first), "--auth", "alice:s3cret", "-q") == 2
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert len(Recorder.seen) >= 3  # list graphs, PUT, count
    assert all(h.get("authorization") == expected for h in Recorder.seen)


def test_bearer_token_from_environment(recorder: str, first: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPBKG_REMOTE_AUTH", raising=False)
    monkeypatch.setenv("CPBKG_REMOTE_TOKEN", "tok-123")
    assert run("--to", recorder, "--dist", str(first), "-q") == 2
    assert Recorder.seen and all(h.get("authorization") == "Bearer tok-123" for h in Recorder.seen)


def test_no_auth_header_without_credentials(recorder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPBKG_REMOTE_AUTH", raising=False)
    monkeypatch.delenv("CPBKG_REMOTE_TOKEN", raising=False)
    with RemoteStore(recorder + "/query") as remote:
        remote.ping()
    assert Recorder.seen and "authorization" not in Recorder.seen[0]


def test_redirect_to_another_host_is_not_followed(recorder: str) -> None:
    other_port = free_port()
    Recorder.redirect_to = f"http://127.0.0.2:{other_port}/query"
    with RemoteStore(recorder + "/query", auth=("alice", "s3cret")) as remote, \
            pytest.raises(RemoteStoreError, match="another host"):
        remote.ping()
    assert len(Recorder.seen) == 1


def test_same_host_redirect_is_followed(recorder: str) -> None:
    Recorder.redirect_to = recorder + "/elsewhere"
    with RemoteStore(recorder + "/query") as remote, pytest.raises(RemoteStoreError, match="more than 5 redirects"):
        remote.ping()
    assert len(Recorder.seen) == 6


@pytest.mark.parametrize("iri", [
    "https://w3id.org/cpbkg/graph/plan> } ; DROP ALL ; #",
    "https://example.org/a b",
    "urn:x:y",
    "file:///etc/passwd",
    "https://example.org/{x}",
    "relative/graph",
])
def test_unsafe_graph_iris_are_refused(iri: str) -> None:
    with pytest.raises(RemoteStoreError):
        check_iri(iri)


def test_endpoints_of_each_kind() -> None:
    assert endpoints("http://h:7878", "oxigraph") == endpoints("http://h:7878/")
    fuseki = endpoints("http://h:3030/cpbkg/", "fuseki")
    assert (fuseki.query, fuseki.update, fuseki.gsp) == (
        "http://h:3030/cpbkg/sparql", "http://h:3030/cpbkg/update", "http://h:3030/cpbkg/data")
    gdb = endpoints("http://h:7200/repositories/cpbkg", "graphdb")
    assert (gdb.query, gdb.update, gdb.gsp) == (
        "http://h:7200/repositories/cpbkg", "http://h:7200/repositories/cpbkg/statements",
        "http://h:7200/repositories/cpbkg/rdf-graphs/service")
    virt = endpoints("http://h:8890", "virtuoso", authenticated=True)
    assert (virt.query, virt.update, virt.gsp) == (
        "http://h:8890/sparql-auth", "http://h:8890/sparql-auth", "http://h:8890/sparql-graph-crud-auth")
    assert endpoints("http://h:1/x", "oxigraph", gsp="http://h:2/gsp").gsp == "http://h:2/gsp"
    with pytest.raises(RemoteStoreError, match="--to"):
        endpoints("ftp://h/x")


def test_every_call_has_a_timeout() -> None:
    with RemoteStore("http://127.0.0.1:9/query", timeout=3) as remote:
        timeout = remote._client.timeout
    assert timeout.read == 3 and timeout.write == 3 and timeout.connect == 3 and timeout.pool == 3


def test_remote_store_timeout_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with RemoteStore("http://127.0.0.1:9/query", timeout=1.5, transport=httpx.MockTransport(slow)) as remote, \
            pytest.raises(RemoteStoreError, match="did not answer within 1.5 s"):
        remote.ping()
