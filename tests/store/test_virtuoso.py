"""Virtuoso as the shared store: ``cpbkg publish --to virtuoso+URL`` and ``cpbkg serve --backend virtuoso+URL``
against a real ``virtuoso-t`` (Debian's ``virtuoso-opensource``; :mod:`support.virtuoso_server`).

* publish: staged, switched in one update, verified by counts (the store's graphs = release.json);
  a publication that fails verification leaves the graphs of the previous one, and no staging graph;
* serve: every named query through the backend gives the embedded store's rows (:data:`AGREE`;
  docs/remote-stores.md says how the queries meet Virtuoso's differences), a page, the SPARQL endpoint.

The server listens on 127.0.0.1 only (SQL and HTTP on free ports), with a database in tmp_path,
and is stopped by the module's fixture, also when a test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from support.conformance import RUNNER, run_conformance
from support.replicas import Replica, child_env, servable_dist
from support.virtuoso_server import AUTH, VirtuosoServer, virtuoso_executable
from support.web_server import web_settings, web_store  # noqa: F401  (fixtures)

import cpbkg.store.publish as publish_mod
from cpbkg.config import Settings
from cpbkg.store.embedded import LoadedStore
from cpbkg.store.remote import RemoteStore, endpoints

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    virtuoso_executable() is None and not os.environ.get("CI"),
    reason="virtuoso-t is not installed (apt-get install virtuoso-opensource; .ci/install --test installs it)")]

#: named queries whose rows through Virtuoso are those of the embedded store (compared as sets): every
#: query of the catalogue (queries/*.rq; docs/remote-stores.md says how they are written for Virtuoso 7.2)
AGREE = tuple(sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "queries").glob("*.rq")))


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    with VirtuosoServer(tmp_path_factory.mktemp("virtuoso") / "db") as server:
        yield server


@pytest.fixture(scope="module")
def dist(web_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    return servable_dist(web_settings.dist_dir, tmp_path_factory.mktemp("virtuoso-dist") / "dist")


def _admin(server: VirtuosoServer) -> RemoteStore:
    user, _, password = AUTH.partition(":")
    return RemoteStore.at(endpoints(server.url, "virtuoso", authenticated=True),
                          auth=httpx.DigestAuth(user, password), timeout=60)


def _expected(dist: Path) -> dict[str, int]:
    release = json.loads((dist / "release.json").read_text(encoding="utf-8"))
    return {release["base_uri"] + "graph/" + name: n for name, n in release["graphs"].items()}


def _ours(server: VirtuosoServer, base: str) -> dict[str, int]:
    with _admin(server) as store:
        return {g: n for g, n in store.graphs().items() if g.startswith(base + "graph/")}


@pytest.fixture(scope="module")
def published(virtuoso: VirtuosoServer, dist: Path) -> subprocess.CompletedProcess[str]:
    """``cpbkg publish --to virtuoso+URL`` of the session's build, as an operator runs it."""
    done = subprocess.run([sys.executable, "-m", "cpbkg", "publish", "--to", f"virtuoso+{virtuoso.url}",
                           "--dist", str(dist)], capture_output=True, text=True, timeout=600,
                          env={**child_env(), "CPBKG_REMOTE_AUTH": AUTH}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_publish_is_staged_switched_and_verified(virtuoso: VirtuosoServer, dist: Path,
                                                 published: subprocess.CompletedProcess[str]) -> None:
    err = published.stderr
    assert "staging graphs: triple counts match dist/" in err
    assert "in one update request" in err and "published and verified" in err
    base = json.loads((dist / "release.json").read_text())["base_uri"]
    found = _ours(virtuoso, base)
    assert not [g for g in found if "/staging/" in g]
    expected = _expected(dist)
    assert {g: n for g, n in found.items() if g in expected} == expected
    assert set(found) - set(expected) <= {base + "graph/dataset"}  # the VoID description, a graph of its own


def test_a_failed_publish_keeps_the_old_graphs(virtuoso: VirtuosoServer, dist: Path,
                                               published: subprocess.CompletedProcess[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Two triples of one graph lost on the way: verification fails, nothing is switched."""
    from cpbkg import cli

    base = json.loads((dist / "release.json").read_text())["base_uri"]
    before = _ours(virtuoso, base)
    real = publish_mod.graph_payload

    def lossy(store: ox.Store, iri: str) -> bytes:
        data = real(store, iri)
        return b"".join(data.splitlines(keepends=True)[:-2]) if iri.endswith("/graph/plan") else data

    monkeypatch.setattr(publish_mod, "graph_payload", lossy)
    monkeypatch.setenv("CPBKG_REMOTE_AUTH", AUTH)
    assert cli.main(["publish", "--to", f"virtuoso+{virtuoso.url}", "--dist", str(dist), "-q"]) == 2
    err = capsys.readouterr().err
    assert "verification failed" in err and "previous graphs are untouched" in err
    assert _ours(virtuoso, base) == before  # the published build, whole, and no staging graph left


@pytest.fixture(scope="module")
def served(virtuoso: VirtuosoServer, dist: Path, published: subprocess.CompletedProcess[str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    """``cpbkg serve --backend virtuoso+URL`` on the published build."""
    logs = tmp_path_factory.mktemp("virtuoso-serve")
    with Replica(dist, logs / "store", logs / "serve.log", workers=2,
                 extra=("--backend", f"virtuoso+{virtuoso.url}")) as replica:
        yield replica


def _rows(client: httpx.Client, url: str) -> object:
    r = client.get(url, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, (url, r.text[:500])
    answer = r.json()
    if "boolean" in answer:
        return answer["boolean"]
    return sorted(json.dumps(b, sort_keys=True) for b in answer["results"]["bindings"])


def test_serve_backend_virtuoso_answers_as_embedded(served: Replica, web_settings: Settings,  # noqa: F811
                                                    web_store: LoadedStore) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from cpbkg.web.app import create_app

    health = httpx.get(served.url + "/health", timeout=30).json()
    assert health["backend"] == "remote" and health["data_version"] == web_store.release.data_version
    embedded = create_app(web_settings.with_(query_timeout=120.0), store=web_store)  # a loaded machine: no 5 s limit
    with TestClient(embedded, base_url="http://testserver") as local, \
            httpx.Client(base_url=served.url, timeout=120) as remote:
        for name in AGREE:
            assert _rows(remote, f"/queries/{name}") == _rows(local, f"/queries/{name}"), name
        count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        assert _rows(remote, f"/sparql?query={count}") == _rows(local, f"/sparql?query={count}")


def test_a_page_through_virtuoso(served: Replica) -> None:
    with httpx.Client(base_url=served.url, timeout=120) as c:
        page = c.get("/id/treaty/cpb", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "Cartagena Protocol on Biosafety" in page.text
        turtle = c.get("/id/treaty/cpb", headers={"Accept": "text/turtle"})
        assert turtle.status_code == 200
        graph = ox.parse(turtle.content, format=ox.RdfFormat.TURTLE)
        assert any(t.subject == ox.NamedNode("https://w3id.org/cpbkg/id/treaty/cpb") for t in graph)
        again = c.get("/id/treaty/cpb", headers={"Accept": "text/turtle", "If-None-Match": turtle.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.skipif(not RUNNER.is_file(), reason="the W3C conformance runner (shared/conformance) is not here")
@pytest.mark.timeout(1800)
def test_w3c_protocol_conformance_through_virtuoso(served: Replica) -> None:
    """The external runner against ``cpbkg serve --backend virtuoso+URL``: no MUST failure but the
    known ones (docs/remote-stores.md).

    Known: syn-bad-26 (``<?a&&?b>``: pyoxigraph's parser lets it through, as on the embedded store,
    and Virtuoso refuses it: 422 here); and the runner's format checks, whose one SELECT binds eleven
    kinds of term (a blank node and an unbound variable among them), which Virtuoso 7.2 refuses with
    "SP031: SPARQL compiler: Internal error" (422 quoting it).
    """
    known = {"syntax/sparql10/syntax-sparql3/syn-bad-26", "format/json-raw-structure", "format/terms-csv",
             "format/tsv-no-raw-tab-newline-in-terms"} | {
        f"format/{check}-{name}" for check in ("terms", "vars-order")
        for name in ("json", "xml", "tab-separated-values", "csv")}
    run = run_conformance(served.url + "/sparql", timeout=1700)
    print(f"\nW3C runner through Virtuoso: {run.summary}\n{run.must_lines}")
    assert run.must_failed <= known, f"{run.summary}; MUST failures:\n{run.must_lines}"
