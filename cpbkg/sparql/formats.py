"""The answer formats: names, media types and pyoxigraph's format for each."""


from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config and store import rdflib; a worker process needs neither
    pass


@dataclass(frozen=True)
class Format:
    """One serialisation an answer can be given in."""

    name: str
    #: ``"results"`` (SELECT, ASK) or ``"graph"`` (CONSTRUCT, DESCRIBE)
    kind: str
    media_type: str
    label: str
    #: the W3C format IRI (http://www.w3.org/ns/formats/) for the service description
    w3c: str

    @property
    def content_type(self) -> str:
        """The Content-Type header: text types say their charset (always UTF-8)."""
        return self.media_type + "; charset=utf-8" if self.media_type.startswith("text/") else self.media_type

    @property
    def ox(self) -> ox.QueryResultsFormat | ox.RdfFormat:
        return _OX_FORMATS[self.name]


_W3C = "http://www.w3.org/ns/formats/"
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("json", "results", "application/sparql-results+json", "SPARQL JSON", _W3C + "SPARQL_Results_JSON"),
    Format("xml", "results", "application/sparql-results+xml", "SPARQL XML", _W3C + "SPARQL_Results_XML"),
    Format("csv", "results", "text/csv", "CSV", _W3C + "SPARQL_Results_CSV"),
    Format("tsv", "results", "text/tab-separated-values", "TSV", _W3C + "SPARQL_Results_TSV"),
    Format("ttl", "graph", "text/turtle", "Turtle", _W3C + "Turtle"),
    Format("nt", "graph", "application/n-triples", "N-Triples", _W3C + "N-Triples"),
    Format("jsonld", "graph", "application/ld+json", "JSON-LD", _W3C + "JSON-LD"),
    Format("rdfxml", "graph", "application/rdf+xml", "RDF/XML", _W3C + "RDF_XML"),
    Format("trig", "graph", "application/trig", "TriG", _W3C + "TriG"),
    Format("nq", "graph", "application/n-quads", "N-Quads", _W3C + "N-Quads"),
)}
_RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV,
}
_RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS,
}
_OX_FORMATS: dict[str, ox.QueryResultsFormat | ox.RdfFormat] = {**_RESULTS_FORMATS, **_RDF_FORMATS}
DEFAULT_RESULTS = "json"
DEFAULT_GRAPH = "ttl"

#: what a ``format=`` value (or ``--format``) means: (format for SELECT/ASK, for CONSTRUCT/DESCRIBE).
#: ``json`` and ``xml`` mean JSON-LD and RDF/XML for a graph, as SPARQLWrapper expects.
_FORMAT_NAMES: dict[str, tuple[str | None, str | None]] = {}
for _names, _pair in (
    (("json", "application/json"), ("json", "jsonld")),
    (("srj", "sparql-results+json", "application/sparql-results+json"), ("json", None)),
    (("xml", "application/xml", "text/xml"), ("xml", "rdfxml")),
    (("srx", "sparql-results+xml", "application/sparql-results+xml"), ("xml", None)),
    (("csv", "text/csv"), ("csv", None)),
    (("tsv", "text/tab-separated-values"), ("tsv", None)),
    (("ttl", "turtle", "n3", "text/turtle", "application/x-turtle", "application/turtle", "text/n3"), (None, "ttl")),
    (("nt", "ntriples", "n-triples", "application/n-triples"), (None, "nt")),
    (("jsonld", "json-ld", "application/ld+json"), (None, "jsonld")),
    (("rdfxml", "rdf+xml", "rdf", "application/rdf+xml"), (None, "rdfxml")),
    (("trig", "application/trig"), (None, "trig")),
    (("nq", "nquads", "n-quads", "application/n-quads"), (None, "nq")),
):
    for _name in _names:
        _FORMAT_NAMES[_name] = _pair

FORMAT_VALUES = sorted(n for n in _FORMAT_NAMES if "/" not in n)


def format_choice(value: str) -> tuple[str | None, str | None] | None:
    """What a ``format`` value asks for: (results format, graph format), or None if unknown.

    >>> format_choice("json"), format_choice("ttl"), format_choice("text/csv"), format_choice("png")
    (('json', 'jsonld'), (None, 'ttl'), ('csv', None), None)
    """
    return _FORMAT_NAMES.get(value.strip().lower().split(";")[0].strip())
