"""The hand-written ontology in ``ontology/*.ttl``, read as one graph."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from cpbkg.build.rdfio import parse_file


def load_ontology(ontology_dir: Path) -> Graph:
    """All ``*.ttl`` files of the ontology folder (SourceError with file and line if one is broken)."""
    graph = Graph()
    for path in sorted(ontology_dir.glob("*.ttl")):
        parse_file(path, graph)
    return graph
