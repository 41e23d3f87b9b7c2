"""Session fixtures: one real build of the graph, shared by every test that needs it."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from cpbkg.build import BuildResult, Progress, build
from cpbkg.config import Settings


@pytest.fixture(scope="session")
def build_result(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The real pipeline (reasoner included) run once into a temporary dist/."""
    root = tmp_path_factory.mktemp("cpbkg")
    settings = Settings().with_(dist_dir=root / "dist", store_path=root / "store")
    return build(settings, progress=Progress(quiet=True))


@pytest.fixture(scope="session")
def built(build_result: BuildResult) -> Settings:
    """Settings pointing at the session's build."""
    root = build_result.dist_dir.parent
    return Settings().with_(dist_dir=build_result.dist_dir, store_path=root / "store")


@pytest.fixture(scope="session")
def kg(built: Settings) -> ox.Store:
    """The built TriG dump in an in-memory pyoxigraph store (what a user of the dump gets)."""
    store = ox.Store()
    store.bulk_load(path=str(built.dist_dir / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    return store


PREFIXES = """
PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX id: <https://w3id.org/cpbkg/id/>
"""


def select(store: ox.Store, query: str) -> list[dict[str, str]]:
    """Run a SELECT over the union of all graphs; rows as {var: value string}."""
    results = store.query(PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in results.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in results]


def ask(store: ox.Store, query: str) -> bool:
    return bool(store.query(PREFIXES + query, use_default_graph_as_union=True))


def repo_copy(tmp_path: Path) -> Settings:
    """A private copy of ontology/, shapes/ and data/ to break on purpose."""
    import shutil

    src = Settings()
    for name in ("ontology", "shapes", "data"):
        shutil.copytree(src.root / name, tmp_path / name)
    return Settings().with_(root=tmp_path, dist_dir=tmp_path / "dist", store_path=tmp_path / "store")
