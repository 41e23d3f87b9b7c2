"""Running one query on a store and writing its answer within the result cap."""


from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

import pyoxigraph as ox

from cpbkg.errors import (
    CpbkgError,
    NotAcceptable,
    QueryFailed,
    QuerySyntaxError,
    ResultTooLarge,
    StoreError,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config and store import rdflib; a worker process needs neither
    pass
from cpbkg.sparql.formats import (
    _RDF_FORMATS,
    _RESULTS_FORMATS,
    DEFAULT_GRAPH,
    DEFAULT_RESULTS,
    FORMATS,
)
from cpbkg.sparql.lexer import describe_syntax_error


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
