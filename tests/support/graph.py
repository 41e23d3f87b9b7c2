"""Helpers for tests that read the built graph, and where the tests' files are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox

from cpbkg.config import Settings

#: the tests folder, the repository, the fixtures of tests/data (provenance: tests/data/README.md)
TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
TEST_DATA = TESTS / "data"


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
    src = Settings()
    for name in ("ontology", "shapes", "data"):
        shutil.copytree(src.root / name, tmp_path / name)
    return Settings().with_(root=tmp_path, dist_dir=tmp_path / "dist", store_path=tmp_path / "store")
