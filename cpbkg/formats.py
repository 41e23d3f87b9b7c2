"""The format registry: every answer, document and file format the service offers, in one table.

Each RDF and SPARQL-results format is built from pyoxigraph's ``RdfFormat`` or
``QueryResultsFormat``, which carries its media type, file extension, W3C format IRI and
name; this module adds only what pyoxigraph does not say: our short name (``format=ttl``),
the kind of answer, the other names and media types clients ask for it by, and our order of
preference. Everything else reads from here: :mod:`cpbkg.web.negotiation` (the offers of each
route), the routes (``/sparql``, ``/id/…`` suffixes, ``/dumps/`` file types, ``/static/``),
:mod:`cpbkg.build.dist` (the dump files and their DCAT media types) and
:mod:`cpbkg.build.rdfio` (which parser reads a source file).

Kinds: ``results`` (SELECT, ASK), ``graph`` (CONSTRUCT, DESCRIBE, RDF documents), ``page``
(:data:`HTML`) and ``document`` (:data:`JSON`, the listings of ``/dumps/`` and ``/queries/``).

**The one Content-Type rule** (:func:`content_type`): a ``text/*`` type says
``; charset=utf-8`` (everything we send is UTF-8, and a text type without a charset would be
read as US-ASCII or guessed); no other type carries a charset parameter: N-Triples, N-Quads,
JSON and JSON-LD are UTF-8 by their specifications, XML says its encoding inside.

>>> FORMATS["ttl"].content_type, FORMATS["nt"].content_type, FORMATS["csv"].content_type
('text/turtle; charset=utf-8', 'application/n-triples', 'text/csv; charset=utf-8')
>>> FORMATS["rdfxml"].extension, FORMATS["rdfxml"].w3c
('rdf', 'http://www.w3.org/ns/formats/RDF_XML')
>>> lookup("Turtle", GRAPHS).name, lookup("text/xml", RESULTS).name, lookup("png", GRAPHS) is None
('ttl', 'xml', True)
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat


def content_type(media_type: str) -> str:
    """The Content-Type header for a media type: text types say their charset (always UTF-8).

    >>> content_type("text/html"), content_type("application/ld+json"), content_type("text/csv; charset=utf-8")
    ('text/html; charset=utf-8', 'application/ld+json', 'text/csv; charset=utf-8')
    """
    media_type = media_type.partition(";")[0].strip()
    return media_type + "; charset=utf-8" if media_type.startswith("text/") else media_type


@dataclass(frozen=True)
class Format:
    """One serialisation the service offers."""

    #: our short name, the value of ``format=`` (``ttl``, ``rdfxml``, ``json``)
    name: str
    #: ``"results"`` (SELECT, ASK), ``"graph"`` (CONSTRUCT, DESCRIBE), ``"page"`` or ``"document"``
    kind: str
    #: the canonical media type, without parameters
    media_type: str
    #: the file extension (without the dot): also the suffix of an ``/id/…`` variant URL
    extension: str
    label: str
    #: the W3C format IRI (http://www.w3.org/ns/formats/) for the service description, or None
    w3c: str | None = None
    #: pyoxigraph's format (None for the page and the JSON document)
    ox: RdfFormat | QueryResultsFormat | None = None
    #: every ``format=`` value that means this format (its name and extension first)
    names: tuple[str, ...] = ()
    #: other media types clients ask for it by (matched only when named: see cpbkg.web.negotiation)
    aliases: tuple[str, ...] = ()
    #: every file extension of the format (its own first)
    extensions: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        """The Content-Type header of an answer in this format (:func:`content_type`)."""
        return content_type(self.media_type)

    @property
    def rdf(self) -> RdfFormat | None:
        """pyoxigraph's RDF format, for a graph format; None for any other."""
        return self.ox if isinstance(self.ox, RdfFormat) else None

    @property
    def media_types(self) -> tuple[str, ...]:
        """The media type and its aliases."""
        return (self.media_type, *self.aliases)


def _from_ox(name: str, kind: str, fmt: RdfFormat | QueryResultsFormat, *, names: tuple[str, ...] = (),
             aliases: tuple[str, ...] = (), extensions: tuple[str, ...] = (), w3c: str | None = None) -> Format:
    """A format with what pyoxigraph knows of it: media type, extension, W3C IRI and name."""
    return Format(name, kind, fmt.media_type.partition(";")[0].strip(), fmt.file_extension, fmt.name, w3c or fmt.iri, fmt,
                  names=tuple(dict.fromkeys((name, fmt.file_extension, *names))), aliases=aliases,
                  extensions=(fmt.file_extension, *extensions))


#: SELECT/ASK answers, in our order of preference (JSON first). ``json`` and ``xml`` also name
#: the graph formats JSON-LD and RDF/XML (as SPARQLWrapper expects): :func:`format_choice`.
RESULTS: tuple[Format, ...] = (
    _from_ox("json", "results", QueryResultsFormat.JSON, names=("sparql-results+json",),
             aliases=("application/json",)),
    _from_ox("xml", "results", QueryResultsFormat.XML, names=("sparql-results+xml",),
             aliases=("application/xml", "text/xml")),
    _from_ox("csv", "results", QueryResultsFormat.CSV),
    _from_ox("tsv", "results", QueryResultsFormat.TSV),
)
#: CONSTRUCT/DESCRIBE answers and RDF documents, in our order of preference (Turtle first).
#: ``text/n3`` is answered with Turtle (every Turtle document is N3); ``text/plain`` with
#: N-Triples, as pyoxigraph's ``RdfFormat.from_media_type`` reads it.
GRAPHS: tuple[Format, ...] = (
    _from_ox("ttl", "graph", RdfFormat.TURTLE, names=("turtle", "n3"),
             aliases=("application/x-turtle", "application/turtle", "text/n3")),
    _from_ox("nt", "graph", RdfFormat.N_TRIPLES, names=("ntriples", "n-triples"), aliases=("text/plain",)),
    # pyoxigraph 0.5 says https://www.w3.org/ns/formats/data/JSON-LD; the service description keeps
    # the IRI it has always given, the one of the W3C list https://www.w3.org/ns/formats/
    _from_ox("jsonld", "graph", RdfFormat.JSON_LD, names=("json-ld", "json"), aliases=("application/json",),
             w3c="http://www.w3.org/ns/formats/JSON-LD"),
    _from_ox("rdfxml", "graph", RdfFormat.RDF_XML, names=("rdf+xml", "xml"), aliases=("application/xml", "text/xml"),
             extensions=("owl", "xml")),
    _from_ox("trig", "graph", RdfFormat.TRIG),
    _from_ox("nq", "graph", RdfFormat.N_QUADS, names=("nquads", "n-quads")),
)
#: every answer format of the SPARQL endpoint, by name
FORMATS: dict[str, Format] = {f.name: f for f in RESULTS + GRAPHS}
DEFAULT_RESULTS = "json"
DEFAULT_GRAPH = "ttl"

#: the pages of the site
HTML = Format("html", "page", "text/html", "html", "HTML", names=("html",), aliases=("application/xhtml+xml",),
              extensions=("html", "htm"))
#: plain JSON: the listings of ``/dumps/`` and ``/queries/``, ``release.json``
JSON = Format("json", "document", "application/json", "json", "JSON", names=("json",), extensions=("json", "map"))
#: the text of a query (``/queries/{name}.rq``)
SPARQL_QUERY = Format("rq", "document", "application/sparql-query", "rq", "SPARQL query", names=("rq", "sparql"),
                      extensions=("rq", "sparql"))

#: pyoxigraph's format for each answer format (the worker process, cpbkg.sparql.execute, reads these)
_RESULTS_FORMATS: dict[str, QueryResultsFormat] = {f.name: f.ox for f in RESULTS if isinstance(f.ox, QueryResultsFormat)}
_RDF_FORMATS: dict[str, RdfFormat] = {f.name: f.rdf for f in GRAPHS if f.rdf is not None}

#: the ``format=`` values that are names (not media types), for messages and the API docs
FORMAT_VALUES = sorted({n for f in FORMATS.values() for n in f.names})


def lookup(value: str, formats: Iterable[Format]) -> Format | None:
    """The first of ``formats`` that ``value`` names: by a name (``ttl``, ``turtle``) or a media type
    (its own or an alias; parameters and case do not count), or None.

    >>> lookup("application/ld+json; profile=x", GRAPHS).name, lookup("rdf", GRAPHS).name
    ('jsonld', 'rdfxml')
    """
    key = value.partition(";")[0].strip().lower()
    for fmt in formats:
        if key in fmt.names or key in fmt.media_types:
            return fmt
    return None


def format_choice(value: str) -> tuple[str | None, str | None] | None:
    """What a ``format`` value (or ``cpbkg query --format``) asks for: (results format, graph
    format), or None if unknown.

    >>> format_choice("json"), format_choice("ttl"), format_choice("text/csv"), format_choice("png")
    (('json', 'jsonld'), (None, 'ttl'), ('csv', None), None)
    """
    results, graph = lookup(value, RESULTS), lookup(value, GRAPHS)
    if results is None and graph is None:
        return None
    return (results.name if results else None, graph.name if graph else None)


# --------------------------------------------------------------------------- files by name

#: file types that are not RDF: extension -> (media type, what it is)
_FILE_TYPES: dict[str, tuple[str, str]] = {
    **{ext: (f.media_type, f.label) for f in (HTML, JSON, SPARQL_QUERY) for ext in f.extensions},
    "csv": ("text/csv", "CSV"),
    "tsv": ("text/tab-separated-values", "TSV"),
    "md": ("text/markdown", "Markdown"),
    "txt": ("text/plain", "text"),
    "css": ("text/css", "CSS"),
    "js": ("text/javascript", "JavaScript"),
    "svg": ("image/svg+xml", "SVG image"),
}
#: files known by their whole name
_NAMED_FILES: dict[str, tuple[str, str]] = {"SHA256SUMS": ("text/plain", "SHA-256 checksums (sha256sum format)")}


def graph_format_of_file(name: str) -> Format | None:
    """The RDF format of a file by its extension (``.ttl``, ``.owl``, …), or None.

    >>> graph_format_of_file("ontology/cpb.owl").name, graph_format_of_file("x.txt") is None
    ('rdfxml', True)
    """
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return next((f for f in GRAPHS if ext in f.extensions), None)


def file_type(name: str) -> tuple[str, str]:
    """(media type, what it is) of a file served as it is (``dist/``, ``static/``), by its name.

    A ``.gz`` file is ``application/gzip``, whatever it holds: its bytes are the gzip file.

    >>> file_type("cpbkg.nt.gz"), file_type("cpbkg.trig"), file_type("release.json")
    (('application/gzip', 'N-Triples, gzip-compressed'), ('application/trig', 'TriG'), ('application/json', 'JSON'))
    >>> file_type("LICENSE")
    ('application/octet-stream', 'file')
    """
    if name in _NAMED_FILES:
        return _NAMED_FILES[name]
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or not stem:
        return "application/octet-stream", "file"
    if ext == "gz":
        inner = file_type(stem)[1]
        return "application/gzip", "gzip-compressed" if inner == "file" else f"{inner}, gzip-compressed"
    rdf = graph_format_of_file(name)
    if rdf is not None:
        return rdf.media_type, rdf.label
    if ext in _FILE_TYPES:
        return _FILE_TYPES[ext]
    guessed = mimetypes.guess_type(name, strict=True)[0]
    return (guessed, "file") if guessed else ("application/octet-stream", "file")

