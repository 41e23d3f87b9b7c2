"""Running SPARQL queries safely and fast: the checks, the formats, the worker pool, the cache.

The public endpoint (``/sparql``), the named-query API (``/queries/{name}``) and
``cpbkg query`` all go through :class:`QueryService`, so they share one set of rules:

**Read-only.** Only ``pyoxigraph.Store.query`` is ever called, so an update is never
executed; an update sent as a query, and any ``LOAD``, is refused with a clear message
(:class:`~cpbkg.errors.QueryRefused`) instead of a parser error.

**No outbound requests.** ``SERVICE`` makes pyoxigraph fetch the URL it names, so it is
refused unless ``Settings.allow_service`` is on. :func:`scan` blanks out what cannot hold a
keyword (string literals, IRIs, comments, variables, blank-node labels and the local part of
prefixed names: ``sd:Service`` is fine) and any ``service`` left is refused. The search is for
the *letters*, not a word: pyoxigraph reads ``1SERVICE<…>``, ``"x"SERVICE<…>`` and
``SERVICE:x`` as ``SERVICE`` (``tests/test_web_sparql.py`` keeps those cases). The one
false positive left is a prefix *label* containing ``service`` (``PREFIX myservice: <…>``):
rename the prefix. As a second wall, on Linux each worker moves itself into a network
namespace of its own with no interface before it opens the store, so even a ``SERVICE`` the
scan missed cannot reach any host. ``FROM``, ``FROM NAMED``, ``default-graph-uri`` and
``named-graph-uri`` only select graphs of the store: an IRI that is not one is an empty
graph, never fetched (pyoxigraph has no loader; ``file:`` IRIs are not read either).

**Timeout.** pyoxigraph cannot interrupt a query, so queries run in a small pool of worker
processes (``Settings.query_workers``, one per CPU by default), each with the store opened
read-only. A query still running at ``Settings.query_timeout`` has its worker killed and
replaced; the client gets :class:`~cpbkg.errors.QueryTimeout` (503) and the other workers
go on answering everyone else. Each worker also kills itself a little after the timeout in
case the server process is gone.

**In memory.** A store of at most ``Settings.memory_store_triples`` triples is copied by each
worker from RocksDB into an in-memory pyoxigraph store, in a thread, while the worker already
answers from RocksDB; once the copy is whole, the worker queries it instead. The progress
aggregate over 129k triples takes 93 ms on RocksDB and 18 ms in memory (bench/, 2026-11-25).
Larger stores are queried on disk, so memory stays bounded (~370 bytes per triple per worker).

**Memory.** Each worker's heap is capped (``Settings.worker_memory_mb``, RLIMIT_DATA): a query
that needs more (an ``ORDER BY`` over a cross product grows by ~350 MB/s) makes its worker
abort; the client gets :class:`~cpbkg.errors.WorkerCrashed` (503) and a new worker starts.

**Result cap.** A worker writes the answer as TSV (solutions) or N-Triples (triples), one
row per line, into a writer that counts lines and stops the query at ``Settings.result_cap``
+ 1: a query over the cap gets :class:`~cpbkg.errors.ResultTooLarge` (422) naming the cap.
We refuse rather than truncate: a truncated answer looks complete to a program that does
not read headers. Within the cap, pyoxigraph converts the TSV/N-Triples (a lossless form)
into the format asked for.

**Crashes.** A query nested too deep for pyoxigraph's recursive parser and evaluator (more
than :data:`MAX_DEPTH` levels of brackets) is refused before it runs; one that still
overflows the worker's stack (a chain of thousands of ``+``, ``UNION`` or ``OPTIONAL``) kills
only its worker (SIGSEGV), and the client gets :class:`~cpbkg.errors.QueryTooComplex` (422).
Such a query, and one that ran out of worker memory, is deterministic: it is then refused
without running for as long as the data does not change (:class:`QueryService`).

**Cache.** Successful answers are kept, as bytes, in an LRU with a byte budget
(``Settings.cache_bytes``), keyed on the normalised query text (comments dropped,
whitespace outside literals and IRIs collapsed), the dataset, the parameter values, both
negotiated formats and the store's ``data_version``; a repeated query costs a dictionary
look-up. Queries that use ``RAND``, ``NOW``, ``UUID`` or ``STRUUID`` are not cached.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import logging
import os
import queue
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import pyoxigraph as ox

from cpbkg import errors
from cpbkg.errors import (
    CpbkgError,
    NotAcceptable,
    QueryFailed,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooComplex,
    RequestError,
    ResultTooLarge,
    ServerBusy,
    StoreError,
    WorkerCrashed,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config and store import rdflib; a worker process needs neither
    from cpbkg.config import Settings
    from cpbkg.store import LoadedStore

__all__ = [
    "FORMATS",
    "Answer",
    "Format",
    "Job",
    "Prepared",
    "QueryPool",
    "QueryService",
    "ResponseCache",
    "Scan",
    "execute",
    "format_choice",
    "run_cli_query",
    "scan",
    "serialize_answer",
]

# --------------------------------------------------------------------------- formats


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


# --------------------------------------------------------------------------- the lexer

_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                  "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
#: the tokens that cannot hold a keyword, in the order SPARQL's grammar tries them. Deliberately
#: conservative where pyoxigraph could read less than we blank: a local name stops at '.'.
_TOKENS = re.compile(
    r"(?P<string>'''(?:'{0,2}(?:[^'\\]|\\.))*'''|\"\"\"(?:\"{0,2}(?:[^\"\\]|\\.))*\"\"\""
    r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\")"
    r"|(?P<iri><(?:[^<>\"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)"
    r"|(?P<comment>#[^\n\r]*)"
    rf"|(?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*)"
    rf"|(?P<bnode>_:[{_PN_CHARS_U}0-9][{_PN_CHARS}]*)"
    rf"|(?P<prefix>(?:[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)?:)"
    rf"(?P<local>(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:[{_PN_CHARS}:]|{_PLX})*)?"
    # a run of name characters that is not a prefixed name, consumed whole: without it the
    # search for a prefix would start again at each of its characters (quadratic time: a query
    # of 60,000 letters took 10 s of the server's CPU). Visible, like text between tokens.
    rf"|(?P<word>[{_PN_CHARS}.]+)"
    # a quote that starts no complete string: the rest cannot be a valid query (refused)
    r"|(?P<unterminated>['\"])"
    r"|(?P<escape>\\.)"
    r"|(?P<space>\s+)",
    re.DOTALL,
)
_MASK = {"string": '""', "iri": "<>", "comment": " ", "var": "?v", "bnode": "_:b", "escape": "  "}
_WORD = r"(?<![A-Za-z0-9_\-:?$])(?:{})(?![A-Za-z0-9_\-])"
_FORM = re.compile(_WORD.format("SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH"),
                   re.IGNORECASE)
_LOAD = re.compile(_WORD.format("LOAD") + r"(?!\s*:)", re.IGNORECASE)
_FROM = re.compile(_WORD.format("FROM"), re.IGNORECASE)
_PREFIX_DECL = re.compile(r"(?<![A-Za-z0-9_\-:?$])PREFIX\s*[^\s:<]{0,200}:", re.IGNORECASE)
_VOLATILE = re.compile(_WORD.format("RAND|NOW|UUID|STRUUID") + r"\s*\(", re.IGNORECASE)
_SERVICE = re.compile("service", re.IGNORECASE)
_BRACKETS = re.compile(r"[{}()\[\]]")
#: levels of nested brackets ({ ( [) a query may have: pyoxigraph's recursive-descent parser
#: overflows an 8 MB stack at about 2,000 (the worker dies); real queries use fewer than 10
MAX_DEPTH = 200
UPDATE_FORMS = {"insert", "delete", "load", "clear", "create", "drop", "copy", "move", "add", "with"}


@dataclass(frozen=True)
class Scan:
    """What the lexer saw in a query text."""

    #: the query form, lower case: select, ask, construct, describe; an update keyword; "" if none
    form: str
    has_service: bool
    has_load: bool
    #: a FROM / FROM NAMED clause: the query names its own dataset
    has_from: bool
    #: RAND(), NOW(), UUID(), STRUUID(): the answer changes from run to run
    volatile: bool
    #: comments dropped, whitespace outside literals and IRIs collapsed: the cache key
    normalised: str
    #: the deepest nesting of brackets outside literals, IRIs and comments
    depth: int = 0
    #: (line, column) of a quote that opens a string never closed, else None
    unterminated: tuple[int, int] | None = None

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_FORMS

    @property
    def kind(self) -> str | None:
        """``"results"`` for SELECT/ASK, ``"graph"`` for CONSTRUCT/DESCRIBE, None if unknown."""
        return {"select": "results", "ask": "results", "construct": "graph", "describe": "graph"}.get(self.form)


def scan(text: str) -> Scan:
    """Lex a query just enough to check it; never a parser, never run.

    >>> s = scan('PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> '
    ...          'SELECT ?s # SERVICE in a comment\\n WHERE { ?s a sd:Service ; ?p "SERVICE <x>" }')
    >>> s.form, s.has_service, s.normalised
    ('select', False, 'PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT ?s WHERE { ?s a sd:Service ; ?p "SERVICE <x>" }')
    >>> scan('SELECT * { ?s ?p 1SERVICE <http://example.org/> {} }').has_service
    True
    >>> scan('INSERT DATA { <a> <b> <c> }').is_update, scan('ASK FROM <g> {}').has_from
    (True, True)
    """
    masked: list[str] = []
    normal: list[str] = []
    pos = 0
    unterminated = None
    for match in _TOKENS.finditer(text):
        start = match.start()
        if start > pos:
            masked.append(text[pos:start])
            normal.append(text[pos:start])
        kind = match.lastgroup
        token = match.group()
        if kind == "unterminated":
            before = text[:start]
            unterminated = (before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1)
            masked.append(" ")
            normal.append(text[start:])
            pos = len(text)
            break
        if kind == "word":
            masked.append(token)
            normal.append(token)
        elif kind == "space" or kind == "comment":
            masked.append(token if kind == "space" else " ")
            if not normal or normal[-1] != " ":
                normal.append(" ")
        elif kind == "local" or kind == "prefix":
            # the prefix label stays visible (pyoxigraph reads "SERVICE:x" as SERVICE :x)
            masked.append(match.group("prefix") + ("l" if match.group("local") else ""))
            normal.append(token)
        else:
            masked.append(_MASK[kind])  # type: ignore[index]
            normal.append(token)
        pos = match.end()
    masked.append(text[pos:])
    normal.append(text[pos:])
    code = "".join(masked)
    normalised = "".join(normal).strip()
    unlabelled = _PREFIX_DECL.sub("PREFIX p:", code)
    form = _FORM.search(unlabelled)
    return Scan(
        form=form.group().lower() if form else "",
        has_service=bool(_SERVICE.search(code)),
        has_load=bool(_LOAD.search(unlabelled)),
        has_from=bool(form and _FROM.search(_dataset_clause(unlabelled, form))),
        volatile=bool(_VOLATILE.search(unlabelled)),
        normalised=normalised,
        depth=_depth(code),
        unterminated=unterminated,
    )


def _depth(code: str) -> int:
    """The deepest nesting of ``{ ( [`` in masked query text (unbalanced closers are the parser's business)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(code):
        if match.group() in "{([":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _dataset_clause(code: str, form: re.Match[str]) -> str:
    """The masked text where FROM may stand: after the query form (and a CONSTRUCT template),
    before the group pattern's ``{``."""
    start, brace = outer_group(code, form)
    return code[start:brace]


def outer_group(code: str, form: re.Match[str]) -> tuple[int, int]:
    """Where the text after the query form (and a CONSTRUCT template) starts in masked ``code``,
    and the index of the ``{`` that opens the query's outermost group (``len(code)`` if none);
    braces inside the projection's parentheses are skipped.

    ``code`` must have its strings, IRIs and comments masked: a brace inside them is not a group.
    """
    i, n = form.end(), len(code)
    if form.group().lower() == "construct":
        while i < n and code[i].isspace():
            i += 1
        if i < n and code[i] == "{":  # the template
            depth = 0
            while i < n:
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
                if depth == 0:
                    break
    start, depth = i, 0
    while i < n:
        c = code[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "{" and depth <= 0:
            break
        i += 1
    return start, i


_SCANS: collections.OrderedDict[str, Scan] = collections.OrderedDict()
_SCANS_LOCK = threading.Lock()


def scan_cached(text: str) -> Scan:
    """:func:`scan`, remembered for the last 1024 texts (the same queries come again and again)."""
    with _SCANS_LOCK:
        found = _SCANS.get(text)
        if found is not None:
            _SCANS.move_to_end(text)
            return found
    found = scan(text)
    with _SCANS_LOCK:
        _SCANS[text] = found
        while len(_SCANS) > 1024:
            _SCANS.popitem(last=False)
    return found


def check(text: str, *, allow_service: bool = False) -> Scan:
    """Refuse what the endpoint never runs; return the scan of what it will.

    Raises:
        QuerySyntaxError: an empty query.
        QueryRefused: an update, LOAD, or SERVICE when it is not allowed.
    """
    if not text.strip():
        raise QuerySyntaxError("the query is empty")
    found = scan_cached(text)
    if found.unterminated is not None:
        line, column = found.unterminated
        raise QuerySyntaxError(f"syntax error at line {line}, column {column}: a string starts here and is "
                               "never closed")
    if found.has_load or found.form == "load":
        raise QueryRefused("LOAD is refused: this endpoint is read-only and never fetches data")
    if found.is_update:
        raise QueryRefused(f"updates are not allowed on this endpoint (found {found.form.upper()}): "
                           "it is read-only; only SELECT, ASK, CONSTRUCT and DESCRIBE queries run")
    if found.depth > MAX_DEPTH:
        raise QueryTooComplex(f"the query nests brackets {found.depth} levels deep; this endpoint takes at most "
                              f"{MAX_DEPTH}: flatten it")
    if found.has_service and not allow_service:
        raise QueryRefused("SERVICE (federated query) is refused: this endpoint makes no outbound requests. "
                           "(A prefix label containing 'service' counts too: rename it.)")
    return found


# --------------------------------------------------------------------------- syntax errors

_ERROR_AT = re.compile(r"^error at (\d+):(\d+): (.*)$", re.DOTALL)


def describe_syntax_error(text: str, message: str) -> str:
    """pyoxigraph's parser message, readable: line, column, what was expected, the line and a caret.

    >>> print(describe_syntax_error("SELECT * WHERE { ?s nope:p ?o }", "error at 1:27: expected one of Prefix not found, ['%']"))
    syntax error at line 1, column 27: undefined prefix 'nope:' (declare it with PREFIX)
      SELECT * WHERE { ?s nope:p ?o }
                                ^
    """
    match = _ERROR_AT.match(message.strip())
    if not match:
        return f"syntax error: {message.strip()}"
    line, column, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    lines = text.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    if "Prefix not found" in rest:
        before = source[max(column - 201, 0): max(column - 1, 0)]  # bounded: the search below is quadratic
        name = re.search(r"([^\s{}()<>,;.]*):[^\s:]*\s*$", before)
        what = f"undefined prefix '{name.group(1)}:'" if name else "undefined prefix"
        what += " (declare it with PREFIX)"
    else:
        what = _shorten_expected(rest)
    snippet, caret = source, column - 1
    if len(snippet) > 120:
        start = max(0, caret - 60)
        snippet, caret = ("…" + snippet[start:start + 120] + "…"), caret - start + 1
    return f"syntax error at line {line}, column {column}: {what}\n  {snippet}\n  {' ' * max(caret, 0)}^"


def _shorten_expected(rest: str) -> str:
    rest = re.sub(r"\[[^\]]*\]", "", rest)  # character classes say nothing to a reader
    rest = " ".join(rest.split())
    head, sep, items = rest.partition("expected one of ")
    if not sep:
        return rest
    names = [i.strip() for i in items.split(", ") if i.strip() and i.strip() != "<unreported>"]
    more = len(names) > 12
    return f"{head}expected one of {', '.join(names[:12])}{', …' if more else ''}"


# --------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class Job:
    """One query to run, with everything the worker needs; plain data (crosses a pipe as JSON)."""

    text: str
    #: format for SELECT/ASK answers, None if the client accepts none
    results_format: str | None = DEFAULT_RESULTS
    #: format for CONSTRUCT/DESCRIBE answers, None if the client accepts none
    graph_format: str | None = DEFAULT_GRAPH
    #: default-graph-uri values (None: not given)
    default_graphs: tuple[str, ...] | None = None
    #: named-graph-uri values (None: not given)
    named_graphs: tuple[str, ...] | None = None
    #: the default graph is the union of the named graphs
    union: bool = True
    #: variable name -> initial value, as an N-Triples term
    substitutions: tuple[tuple[str, str], ...] = ()
    base_iri: str | None = None
    cap: int = 10000
    timeout: float = 10.0

    def encode(self) -> bytes:
        return json.dumps(self.__dict__).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Job:
        raw = json.loads(data)
        for name in ("default_graphs", "named_graphs"):
            if raw[name] is not None:
                raw[name] = tuple(raw[name])
        raw["substitutions"] = tuple(tuple(p) for p in raw["substitutions"])
        return cls(**raw)


class Answer:
    """A serialised answer: what kind of result, in which format, the bytes (and gzipped bytes once made)."""

    __slots__ = ("body", "format", "gzipped", "kind")

    def __init__(self, kind: str, format: str, body: bytes) -> None:
        #: "solutions", "boolean" or "graph"
        self.kind = kind
        self.format = format
        self.body = body
        self.gzipped: bytes | None = None

    @property
    def content_type(self) -> str:
        return FORMATS[self.format].content_type

    def __repr__(self) -> str:
        return f"<Answer {self.kind} {self.format} {len(self.body)} bytes>"


class _OverCap(Exception):
    pass


class _CappedWriter:
    """A file-like object for pyoxigraph's serialisers that stops them after ``limit`` lines."""

    __slots__ = ("chunks", "limit", "lines", "over")

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] = []
        self.lines = 0
        self.limit = limit
        self.over = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines > self.limit:
            self.over = True
            raise _OverCap()
        return len(chunk)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _capped(limit: int, write: Callable[[IO[bytes]], object]) -> bytes | None:
    """What ``write`` writes into a :class:`_CappedWriter` of ``limit`` lines; None past the limit."""
    writer = _CappedWriter(limit)
    try:
        write(cast(IO[bytes], writer))
    except _OverCap:
        return None
    except OSError:
        # pyoxigraph's serialisers report the writer's exception as an OSError
        if not writer.over:
            raise
    return None if writer.over else writer.value()


def _term(nt: str) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    quad = next(iter(ox.parse(f"<urn:x-cpbkg:s> <urn:x-cpbkg:p> {nt} .", format=ox.RdfFormat.N_TRIPLES)))
    return quad.object  # type: ignore[return-value]


def execute(store: ox.Store, job: Job, prefixes: dict[str, str] | None = None) -> Answer:
    """Run a job on a store and serialise the answer (what a worker does; also usable in-process).

    Raises:
        QuerySyntaxError: not SPARQL 1.1.
        ResultTooLarge: more rows or triples than ``job.cap``.
        NotAcceptable: no format fits the kind of answer.
        QueryFailed: pyoxigraph could not evaluate the query.
    """
    options: dict[str, object] = {}
    if job.base_iri:
        options["base_iri"] = job.base_iri
    if job.default_graphs is not None or job.named_graphs is not None:
        # a dataset given by the protocol replaces the query's FROM clauses (SPARQL 1.1 Protocol 2.1.4)
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs or ()]
        options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs or ()]
    elif job.union:
        options["use_default_graph_as_union"] = True
    if job.substitutions:
        options["substitutions"] = {ox.Variable(name): _term(value) for name, value in job.substitutions}
    try:
        result = store.query(job.text, **options)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise QuerySyntaxError(describe_syntax_error(job.text, str(exc))) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise _evaluation_error(exc) from None
    return serialize_answer(result, job, prefixes)


def serialize_answer(result: ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples | list[ox.Triple], job: Job,
                     prefixes: dict[str, str] | None = None) -> Answer:
    """An answer in ``job``'s format, under ``job.cap``: of a store's query, or of results a remote
    store sent (parsed by pyoxigraph; a graph as a list of triples), so both give the same bytes."""
    try:
        if isinstance(result, ox.QueryBoolean):
            fmt = _pick(job.results_format, "an ASK query", "json, xml, csv, tsv")
            return Answer("boolean", fmt, result.serialize(format=_RESULTS_FORMATS[fmt]) or b"")
        if isinstance(result, ox.QuerySolutions):
            fmt = _pick(job.results_format, "a SELECT query", "json, xml, csv, tsv")
            solutions = result
            tsv = _capped(job.cap + 1,  # + the header line
                          lambda out: solutions.serialize(out, format=ox.QueryResultsFormat.TSV))
            if tsv is None:
                raise ResultTooLarge(f"the query returns more than {job.cap} rows, the limit of this endpoint: "
                                     "add a LIMIT (and OFFSET to page), or make it more selective")
            if fmt == "tsv":
                return Answer("solutions", fmt, tsv)
            parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
            return Answer("solutions", fmt, parsed.serialize(format=_RESULTS_FORMATS[fmt]) or b"")
        fmt = _pick(job.graph_format, "a CONSTRUCT or DESCRIBE query", "ttl, nt, jsonld, rdfxml, trig, nq")
        triples = result

        def write_triples(out: IO[bytes]) -> None:
            if isinstance(triples, list):  # triples a remote store sent
                if len(triples) > job.cap:
                    raise _OverCap()
                out.write(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")
            else:
                triples.serialize(out, format=ox.RdfFormat.N_TRIPLES)

        nt = _capped(job.cap, write_triples)
        if nt is None:
            raise ResultTooLarge(f"the query returns more than {job.cap} triples, the limit of this endpoint: "
                                 "make it more selective (a LIMIT in the WHERE clause's subquery)")
        if fmt in ("nt", "nq"):  # N-Triples is N-Quads of the default graph
            return Answer("graph", fmt, nt)
        quads = list(ox.parse(nt, format=ox.RdfFormat.N_TRIPLES))
        use = prefixes if fmt in ("ttl", "trig", "rdfxml") else None
        return Answer("graph", fmt, ox.serialize(quads, format=_RDF_FORMATS[fmt], prefixes=use) or b"")
    except CpbkgError:
        raise
    except (OSError, ValueError, RuntimeError, SyntaxError) as exc:
        raise _evaluation_error(exc) from None


def _evaluation_error(exc: BaseException) -> CpbkgError:
    """QueryFailed for an error of the query; StoreError when RocksDB reports damage or an I/O error."""
    message = " ".join(str(exc).split())
    if message.startswith(("Corruption", "IO error")) or "MANIFEST" in message or ".sst" in message:
        return StoreError(f"the store cannot be read ({message[:300]}); the operator must reload it "
                          "(`cpbkg serve` loads it again from dist/)")
    return QueryFailed(f"the query could not be evaluated: {message}")


def _pick(name: str | None, what: str, offered: str) -> str:
    if name is None:
        raise NotAcceptable(f"none of the formats asked for fits the answer of {what}; it can be given as {offered}")
    return name


# --------------------------------------------------------------------------- worker processes

_FRAME = struct.Struct(">I")
#: seconds a worker gives itself past the job's timeout before it exits on its own
_SELF_KILL_GRACE = 5.0
_WORKER_BOOT = "from cpbkg.query import worker_main; worker_main()"


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    parts = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the worker closed its pipe")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _read_frame(fd: int) -> bytes:
    (size,) = _FRAME.unpack(_read_exact(fd, _FRAME.size))
    return _read_exact(fd, size)


def _isolate_network() -> bool:
    """Move this (single-threaded) process into new user + network namespaces: no interface, no route.

    Returns False where the kernel does not allow it (the lexer's refusal of SERVICE still holds).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newuser, clone_newnet = 0x10000000, 0x40000000
        return bool(libc.unshare(clone_newuser | clone_newnet) == 0)
    except (OSError, AttributeError):
        return False


def _limit_memory(mb: int) -> None:
    """Cap this process's heap (RLIMIT_DATA: brk and private anonymous mappings) at ``mb`` MiB.

    A query that needs more makes the allocator fail and the process abort; the server sees the
    worker die, answers 503 and starts another. Without it one runaway ``ORDER BY`` over a cross
    product grows by hundreds of MB a second until the timeout.
    """
    if mb <= 0:
        return
    try:
        import resource

        limit = mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


#: quads copied into the in-memory store per call (the GIL is released between calls)
_COPY_BATCH = 5000


def _into_memory(disk: ox.Store) -> ox.Store:
    """An in-memory copy of a read-only store (copied from the store itself, so it is the same build).

    Quad by quad, not through a dump: parsing a dump would give blank nodes new ids, and
    answers with blank nodes would then differ from worker to worker. In batches: pyoxigraph
    holds the GIL for a whole ``extend``, and the worker answers queries from disk meanwhile; one
    ``bulk_extend`` of 1.15M quads held it 7.5 s and peaked at 651 MB, batches of 5,000 hold it
    40 ms at most and peak at 465 MB, for 9.2 s in all (measured 2026-11-25).
    """
    memory = ox.Store()
    quads = disk.quads_for_pattern(None, None, None, None)
    while batch := list(itertools.islice(quads, _COPY_BATCH)):
        memory.extend(batch)
    return memory


class _WorkerStore:
    """The store a worker queries: the RocksDB store at first, its in-memory copy once it is whole."""

    def __init__(self, disk: ox.Store) -> None:
        self.store = disk
        #: quads of the in-memory copy, once made (None: the worker reads the disk)
        self.memory_quads: int | None = None

    def copy_into_memory(self) -> None:
        """Make the in-memory copy (run in a thread: the worker answers from disk meanwhile)."""
        try:
            memory = _into_memory(self.store)
        except Exception as exc:  # noqa: BLE001 -- the disk store still answers: say why, go on
            print(f"cpbkg query worker {os.getpid()}: no in-memory copy of the store ({exc}); "
                  "querying it on disk", file=sys.stderr)
            return
        self.memory_quads = len(memory)
        self.store = memory  # one assignment: a job runs on one store or the other, whole


def worker_main() -> None:
    """A query worker: read a config frame, open the store read-only, then answer job frames."""
    inp = sys.stdin.fileno()
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the protocol
    try:
        config = json.loads(_read_frame(inp))
    except (EOFError, ValueError):
        return
    isolated = _isolate_network() if config.get("isolate") else False
    _limit_memory(int(config.get("memory_mb") or 0))
    deadline = [0.0]

    def watchdog() -> None:
        while True:
            time.sleep(0.25)
            if deadline[0] and time.monotonic() > deadline[0]:
                os._exit(70)

    threading.Thread(target=watchdog, daemon=True, name="cpbkg-watchdog").start()
    try:
        store = _WorkerStore(ox.Store.read_only(config["store"]))
    except Exception as exc:  # noqa: BLE001 -- RocksDB reports damage as RuntimeError: say so, do not crash
        _write_frame(out, json.dumps({"ready": False, "error": f"{config['store']}: cannot open the store ({exc})"})
                     .encode())
        return
    prefixes = config.get("prefixes") or None
    if config.get("in_memory"):
        threading.Thread(target=store.copy_into_memory, daemon=True, name="cpbkg-memory-copy").start()
    _write_frame(out, json.dumps({"ready": True, "isolated": isolated, "pid": os.getpid()}).encode())
    while True:
        try:
            frame = _read_frame(inp)
        except EOFError:
            return  # the server is gone
        body = b""
        try:
            job = Job.decode(frame)
            deadline[0] = time.monotonic() + job.timeout + _SELF_KILL_GRACE
            answer = execute(store.store, job, prefixes)
            header: dict[str, object] = {"ok": True, "kind": answer.kind, "format": answer.format}
            body = answer.body
        except CpbkgError as exc:
            header = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 -- a bug of ours: report it, keep the worker
            header = {"ok": False, "error": "CpbkgError", "message": f"internal error: {type(exc).__name__}: {exc}"}
        deadline[0] = 0.0
        header["memory_quads"] = store.memory_quads
        _write_frame(out, json.dumps(header).encode())
        _write_frame(out, body)


class _Timeout(Exception):
    pass


class _Worker:
    """The server's side of one worker process."""

    def __init__(self, config: bytes) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0, close_fds=True, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.ready = False
        self.isolated = False
        #: quads of the worker's in-memory copy of the store, as of its last answer (None: on disk so far)
        self.memory_quads: int | None = None
        _write_frame(self.wfd, config)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _wait(self, timeout: float) -> None:
        readable, _, _ = select.select([self.rfd], [], [], max(timeout, 0))
        if not readable:
            raise _Timeout()

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        self._wait(timeout)
        header = json.loads(_read_frame(self.rfd))
        if not header.get("ready"):
            raise StoreError(header.get("error", "the query worker could not start"))
        self.ready = True
        self.isolated = bool(header.get("isolated"))

    def ask(self, job: bytes, timeout: float) -> tuple[dict[str, object], bytes]:
        _write_frame(self.wfd, job)
        self._wait(timeout)
        header = json.loads(_read_frame(self.rfd))
        body = _read_frame(self.rfd)
        self.memory_quads = header.get("memory_quads")
        return header, body

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


class PoolClosed(StoreError):
    """The pool was closed (shut down, or retired by a reload) before the job could start."""


#: exit signals of a worker that mean the query itself crashed the engine (a stack overflow)
_CRASH_SIGNALS = {-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGILL}


class QueryPool:
    """Worker processes that each hold the store open read-only and run one query at a time.

    Thread-safe: :meth:`run` blocks its calling thread (run it in a thread pool, never on the
    event loop) until a worker is free, the answer is in, or the timeout has passed.
    """

    def __init__(self, store_path: Path | str, *, size: int = 2, prefixes: dict[str, str] | None = None,
                 isolate_network: bool = True, memory_mb: int = 0, start_timeout: float = 60.0,
                 in_memory: bool = False) -> None:
        self.size = max(1, int(size))
        self.start_timeout = start_timeout
        self.memory_mb = int(memory_mb)
        self._config = json.dumps({"store": str(store_path), "prefixes": prefixes or {},
                                   "isolate": bool(isolate_network), "memory_mb": self.memory_mb,
                                   "in_memory": bool(in_memory)}).encode()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        #: workers killed at a timeout (for tests and logs)
        self.killed = 0
        #: jobs between their start and their end in :meth:`run` (a retiring pool waits for none)
        self._active = 0
        self._quiet = threading.Condition(self._lock)

    def start(self) -> QueryPool:
        """Start the workers (done by the first :meth:`run` if not before); they get ready in parallel."""
        with self._lock:
            if self._started or self._closed:
                return self
            self._started = True
        for _ in range(self.size):
            self._spawn()
        return self

    def _spawn(self) -> None:
        worker = _Worker(self._config)
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        self._idle.put(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
        if not closed:
            self._spawn()

    def _checkout(self, timeout: float) -> _Worker:
        deadline = time.monotonic() + timeout
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise ServerBusy(f"every query worker stayed busy for {timeout:g} s; try again later") from None
            if worker.alive:
                return worker
            self._discard(worker)  # died while idle (killed from outside): replace, take another

    def run(self, job: Job) -> Answer:
        """Run a job on a free worker.

        Raises:
            QueryTimeout: the job ran past ``job.timeout`` (its worker was killed and replaced).
            ServerBusy: no worker became free within ``job.timeout``.
            WorkerCrashed: the worker died while running the job.
            StoreError: a worker could not open the store.
            QueryError and subclasses: as :func:`execute`.
        """
        with self._lock:
            if self._closed:
                raise PoolClosed("the query service is shut down")
            self._active += 1
        try:
            return self._run(job)
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._quiet.notify_all()

    def _run(self, job: Job) -> Answer:
        self.start()
        worker = self._checkout(job.timeout)
        keep = False
        try:
            worker.wait_ready(self.start_timeout)
            header, body = worker.ask(job.encode(), job.timeout)
            keep = True
        except _Timeout:
            if worker.ready:
                self.killed += 1
                log.warning("query stopped at the %g s timeout (worker %d killed and replaced): %.300s",
                            job.timeout, worker.proc.pid, " ".join(job.text.split()))
                raise QueryTimeout(
                    f"the query ran longer than {job.timeout:g} s, the limit of this endpoint, and was stopped; "
                    "make it more selective (more specific patterns, a LIMIT) or run it on a copy of the dump"
                ) from None
            raise StoreError(f"a query worker did not start within {self.start_timeout:g} s") from None
        except (OSError, EOFError, ValueError) as exc:
            try:
                status = worker.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                status = None
            log.error("query worker %d died (status %s) running: %.300s", worker.proc.pid, status,
                      " ".join(job.text.split()))
            if not worker.ready:
                raise StoreError(f"a query worker could not start (exit status {status})") from None
            if status in _CRASH_SIGNALS:
                raise QueryTooComplex(
                    "the query crashed the query engine (its worker died of signal "
                    f"{signal.Signals(-status).name}): it is too deeply nested or has too long a chain of "
                    "operators, UNIONs or OPTIONALs for this endpoint; simplify it") from None
            limit = f" (at most {self.memory_mb} MiB)" if self.memory_mb else ""
            crashed = WorkerCrashed(f"the worker running the query stopped ({exc}, exit status {status}); the query "
                                    f"probably needs more memory than this endpoint gives a query{limit}: make it "
                                    "more selective")
            # an allocation over the worker's own limit aborts it: the same query will do it again
            crashed.repeatable = status == -signal.SIGABRT  # type: ignore[attr-defined]
            raise crashed from None
        finally:
            if keep:
                self._idle.put(worker)
            else:
                self._discard(worker)
        if header.get("ok"):
            return Answer(str(header["kind"]), str(header["format"]), body)
        raise _rebuild_error(str(header.get("error")), str(header.get("message")))

    def warm(self, timeout: float | None = None) -> None:
        """Start the workers and wait until every one has opened the store (before it takes traffic).

        Raises:
            StoreError: a worker could not open the store, or was not ready in time.
        """
        self.start()
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        taken: list[_Worker] = []
        try:
            while len(taken) < self.size:
                try:
                    worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    raise StoreError(f"the query workers were not ready within {timeout:g} s") from None
                taken.append(worker)
                try:
                    worker.wait_ready(max(deadline - time.monotonic(), 0))
                except _Timeout:
                    raise StoreError("a query worker did not open the store in time") from None
                except (OSError, EOFError, ValueError) as exc:
                    raise StoreError(f"a query worker could not start ({exc})") from None
        finally:
            for worker in taken:
                self._idle.put(worker)

    def retire(self, timeout: float) -> bool:
        """Close the pool once no job is running (at most ``timeout`` seconds from now).

        For a reload: the pool's service is no longer handed out, the jobs it is running
        finish, then its workers stop. Returns False if jobs were still running at the timeout
        (their workers are killed: their clients get 503).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._active and time.monotonic() < deadline:
                self._quiet.wait(timeout=max(min(deadline - time.monotonic(), 0.5), 0))
            drained = self._active == 0
        self.close()
        return drained

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return sorted(w.proc.pid for w in self._workers)

    @property
    def isolated(self) -> bool | None:
        """Whether the ready workers run without network (None until one is ready)."""
        with self._lock:
            ready = [w for w in self._workers if w.ready]
        return all(w.isolated for w in ready) if ready else None

    @property
    def memory_quads(self) -> list[int | None]:
        """Per ready worker, as of its last answer: the quads of its in-memory copy of the store,
        or None while it reads the disk (not copied yet, or not to be)."""
        with self._lock:
            return [w.memory_quads for w in self._workers if w.ready]


def _rebuild_error(name: str, message: str) -> CpbkgError:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, CpbkgError):
        return cls(message)
    return CpbkgError(message)


# --------------------------------------------------------------------------- cache


class ResponseCache:
    """An LRU of answers with a byte budget; thread-safe. Keys are tuples; values :class:`Answer`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: collections.OrderedDict[tuple[object, ...], Answer] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _size(answer: Answer) -> int:
        return len(answer.body) + len(answer.gzipped or b"") + 256

    def get(self, key: tuple[object, ...]) -> Answer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: tuple[object, ...], answer: Answer) -> None:
        size = self._size(answer)
        if size > self.max_bytes // 4:
            return  # one answer may not push out everything else
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old)
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= self._size(evicted)

    def grew(self, key: tuple[object, ...], before: int, answer: Answer) -> None:
        """Account for bytes added to a cached answer (its gzipped form)."""
        with self._lock:
            if self._entries.get(key) is answer:
                self._bytes += self._size(answer) - before

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class Prepared:
    """A checked query ready to run: the job, its cache key, and what the lexer saw."""

    job: Job
    scan: Scan
    key: tuple[object, ...]
    cacheable: bool

    @property
    def etag(self) -> str:
        """A weak validator of the answer: same data version and same request -> same answer."""
        digest = hashlib.sha1(repr(self.key).encode("utf-8")).hexdigest()[:20]
        return f'W/"{self.key[-1]}-{digest}"'


def _prefixes() -> dict[str, str]:
    try:
        from cpbkg.dist import prefixes
    except ImportError:  # pragma: no cover
        return {}
    return prefixes()


#: bytes an in-memory pyoxigraph store takes per triple, rounded up (measured: 420 MB for 1.15M quads)
MEMORY_PER_TRIPLE = 400


def in_memory(settings: Settings, triples: int) -> bool:
    """Whether query workers copy a store of ``triples`` into memory: it is within
    ``memory_store_triples``, and the copy takes at most half a worker's heap cap (an
    allocation over the cap aborts the worker, which would then copy again, and abort again)."""
    if not 0 < triples <= settings.memory_store_triples:
        return False
    cap = settings.worker_memory_mb * 2**20
    if cap and triples * MEMORY_PER_TRIPLE > cap // 2:
        log.warning("the store (%d triples) is queried on disk: an in-memory copy (~%d MiB) would take more than "
                    "half of --worker-memory (%d MiB)", triples, triples * MEMORY_PER_TRIPLE >> 20,
                    settings.worker_memory_mb)
        return False
    return True


class QueryService:
    """Runs queries on one store under the settings' limits: checks, pool, cache."""

    def __init__(self, settings: Settings, loaded: LoadedStore, *, pool: QueryPool | None = None,
                 cache: ResponseCache | None = None) -> None:
        self.settings = settings
        self.loaded = loaded
        self.data_version = loaded.data_version
        self.pool = pool or QueryPool(loaded.path, size=settings.query_workers, prefixes=_prefixes(),
                                      isolate_network=not settings.allow_service,
                                      memory_mb=settings.worker_memory_mb,
                                      start_timeout=max(60.0, settings.query_timeout),
                                      in_memory=in_memory(settings, loaded.release.triples))
        self.cache = cache if cache is not None else ResponseCache(settings.cache_bytes)
        #: queries that crashed a worker (deterministically) on this data: refused without running
        self._refused: collections.OrderedDict[tuple[object, ...], CpbkgError] = collections.OrderedDict()
        self._refused_lock = threading.Lock()

    def prepare(self, text: str, *, results_format: str | None = DEFAULT_RESULTS,
                graph_format: str | None = DEFAULT_GRAPH, default_graphs: list[str] | None = None,
                named_graphs: list[str] | None = None,
                substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
                union: bool | None = None) -> Prepared:
        """Check a query and the request around it; nothing runs yet.

        ``union`` overrides ``Settings.union_default_graph`` (the named queries always read the
        union); a FROM clause or a protocol dataset still takes precedence.

        Raises:
            QuerySyntaxError, QueryRefused: see :func:`check`.
            NotAcceptable: the query's form has no acceptable format.
            RequestError: a graph IRI that is not an absolute IRI.
        """
        found = check(text, allow_service=self.settings.allow_service)
        if found.kind == "results" and results_format is None:
            raise NotAcceptable(f"a {found.form.upper()} query answers in json, xml, csv or tsv "
                                "(application/sparql-results+json, application/sparql-results+xml, text/csv, "
                                "text/tab-separated-values); none of them was acceptable")
        if found.kind == "graph" and graph_format is None:
            raise NotAcceptable(f"a {found.form.upper()} query answers in ttl, nt, jsonld, rdfxml, trig or nq "
                                "(text/turtle, application/n-triples, application/ld+json, application/rdf+xml, "
                                "application/trig, application/n-quads); none of them was acceptable")
        given = default_graphs is not None or named_graphs is not None
        dg = tuple(_graph_iri(g, "default-graph-uri") for g in default_graphs) if default_graphs is not None else None
        ng = tuple(_graph_iri(g, "named-graph-uri") for g in named_graphs) if named_graphs is not None else None
        subs = tuple(sorted((v.value, str(t)) for v, t in (substitutions or {}).items()))
        job = Job(
            text=text,
            results_format=results_format if found.kind != "graph" else None,
            graph_format=graph_format if found.kind != "results" else None,
            default_graphs=dg if given else None,
            named_graphs=ng if given else None,
            union=(self.settings.union_default_graph if union is None else union) and not found.has_from and not given,
            substitutions=subs,
            base_iri=self.settings.base_uri,
            cap=self.settings.result_cap,
            timeout=self.settings.query_timeout,
        )
        key = (found.normalised, job.results_format, job.graph_format, job.default_graphs, job.named_graphs,
               job.union, subs, job.base_iri, job.cap, self.data_version)
        return Prepared(job, found, key, cacheable=not found.volatile and self.cache.max_bytes > 0)

    def cached(self, prepared: Prepared) -> Answer | None:
        """The cached answer, if any (never blocks: safe on the event loop)."""
        return self.cache.get(prepared.key) if prepared.cacheable else None

    def run(self, prepared: Prepared) -> Answer:
        """The answer, from the cache or a worker (blocks: call it from a thread)."""
        answer = self.cached(prepared)
        if answer is not None:
            return answer
        crash_key = (prepared.key[0],) + prepared.key[3:]
        with self._refused_lock:
            known = self._refused.get(crash_key)
        if known is not None:
            raise type(known)(f"refused without running: this query crashed a query worker before. {known}")
        try:
            answer = self.pool.run(prepared.job)
        except (QueryTooComplex, WorkerCrashed) as exc:
            if isinstance(exc, QueryTooComplex) or getattr(exc, "repeatable", False):
                with self._refused_lock:
                    self._refused[crash_key] = exc
                    while len(self._refused) > 256:
                        self._refused.popitem(last=False)
            raise
        if prepared.cacheable:
            self.cache.put(prepared.key, answer)
        return answer

    def query(self, text: str, **options: object) -> Answer:
        """Prepare and run in one call (blocking)."""
        return self.run(self.prepare(text, **options))  # type: ignore[arg-type]

    def close(self) -> None:
        self.pool.close()


def _graph_iri(value: str, param: str) -> str:
    try:
        return ox.NamedNode(value.strip()).value
    except ValueError:
        raise RequestError(f"{param} must be an absolute IRI, not {value!r}") from None


# --------------------------------------------------------------------------- the CLI


def run_cli_query(settings: Settings, text: str, fmt: str | None = None) -> bytes:
    """``cpbkg query``: run a query on the local store with the endpoint's rules; the answer's bytes.

    ``fmt`` is a ``--format`` value (json, xml, csv, tsv, ttl, nt, jsonld, rdfxml, trig, nq);
    None gives TSV for SELECT/ASK and Turtle for CONSTRUCT/DESCRIBE.

    Raises:
        RequestError: an unknown format.
        StoreError, QueryError and subclasses: as the endpoint.
    """
    from cpbkg.store import open_store

    results: str | None = "tsv"
    graph: str | None = "ttl"
    if fmt is not None:
        choice = format_choice(fmt)
        if choice is None:
            raise RequestError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        results, graph = choice
    try:
        loaded = open_store(settings, read_only=True)
    except StoreError:
        loaded = open_store(settings)  # not loaded yet: load it (needs a build in dist/)
    service = QueryService(settings, loaded, pool=QueryPool(loaded.path, size=1, prefixes=_prefixes(),
                                                            isolate_network=not settings.allow_service,
                                                            memory_mb=settings.worker_memory_mb),
                           cache=ResponseCache(0))
    try:
        return service.query(text, results_format=results, graph_format=graph).body
    finally:
        service.close()
