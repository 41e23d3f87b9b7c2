"""Reading RDF files with errors that name file and line, and handing graphs to pyoxigraph."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from cpbkg.errors import SourceError, check_text, not_utf8
from cpbkg.formats import GRAPHS, graph_format_of_file

#: the suffixes of the RDF files this reads (the registry's, cpbkg.formats)
SUFFIXES = sorted("." + ext for f in GRAPHS for ext in f.extensions)


def parse_file(path: Path, graph: Graph | None = None) -> Graph:
    """Parse one RDF file (format from its suffix: :data:`SUFFIXES`) into ``graph``.

    Raises:
        SourceError: missing, empty, not UTF-8, or a syntax error (with its line).
    """
    graph = graph if graph is not None else Graph()
    fmt = graph_format_of_file(path.name)
    if fmt is None or fmt.rdf is None:
        raise SourceError(path, f"unknown RDF file type {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise SourceError(path, "is a directory, not a file") from exc
    if not raw.strip():
        raise SourceError(path, "file is empty")
    try:
        check_text(path, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    try:
        # rdflib names its parsers by media type too
        graph.parse(data=raw, format=fmt.media_type, publicID=path.resolve().as_uri())
    except Exception as exc:  # rdflib raises many types for syntax errors
        line = _line_of(exc)
        message = _first_line(exc)
        if line is None:  # rdflib did not say where (e.g. "string index out of range"): ask pyoxigraph
            line, message = _locate(raw, fmt.rdf, message)
        raise SourceError(path, f"RDF syntax error: {message}", line=line) from exc
    return graph


def _locate(raw: bytes, fmt: ox.RdfFormat, message: str) -> tuple[int | None, str]:
    """The line of a syntax error by pyoxigraph's parser, and its message (for files rdflib does not place)."""
    try:
        for _ in ox.parse(raw, format=fmt):
            pass
    except SyntaxError as exc:
        found = re.search(r"line (\d+)", str(exc))
        if found:
            return int(found.group(1)), f"{message} ({' '.join(str(exc).split())[:200]})"
    except (ValueError, OSError):
        pass
    return None, message


#: a Python bytes literal (rdflib's syntax errors quote the input as ``b'...'``)
_BYTES_REPR = re.compile(r"""\bb'((?:[^'\\]|\\.)*)'""")


def _as_text(match: re.Match[str]) -> str:
    """A bytes literal of an error message as the text it holds, for a person to read."""
    try:
        return repr(ast.literal_eval("b'" + match.group(1) + "'").decode("utf-8", "replace"))
    except (ValueError, SyntaxError):
        return match.group(0)


def _first_line(exc: Exception) -> str:
    r"""The message of a parser's exception on one line, its quotes of the input as text.

    >>> _first_line(ValueError("bad at: " + repr("ex:a 中".encode())))
    "bad at: 'ex:a 中'"
    """
    text = str(exc).strip() or type(exc).__name__
    return " ".join(_BYTES_REPR.sub(_as_text, text).split())[:300]


def _line_of(exc: Exception) -> int | None:
    line = getattr(exc, "lines", None)
    if isinstance(line, int):
        return line + 1  # rdflib's notation3 parser counts from 0
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def to_ox_term(term: URIRef | BNode | Literal) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def from_ox_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> URIRef | BNode | Literal:
    """A pyoxigraph term as an rdflib term: the inverse of :func:`to_ox_term` (blank nodes keep their id)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_ox_quads(graph: Graph, graph_name: URIRef | None) -> Iterator[ox.Quad]:
    """The triples of ``graph`` as pyoxigraph quads in ``graph_name`` (default graph if None)."""
    name = ox.NamedNode(str(graph_name)) if graph_name is not None else ox.DefaultGraph()
    for s, p, o in graph:
        yield ox.Quad(to_ox_term(s), to_ox_term(p), to_ox_term(o), name)  # type: ignore[arg-type]


def to_ox_triples(graphs: Iterable[Graph]) -> Iterator[ox.Triple]:
    for graph in graphs:
        for s, p, o in graph:
            yield ox.Triple(to_ox_term(s), to_ox_term(p), to_ox_term(o))  # type: ignore[arg-type]
