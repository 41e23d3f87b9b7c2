"""Running one query on a store and writing its answer: streamed in the negotiated format, under a byte bound.

A worker (:mod:`cpbkg.sparql.pool`) runs :func:`run_query`, then :func:`write_answer` into a
:class:`BoundedWriter` that hands chunks on as pyoxigraph's serialiser writes them: the answer is
never held whole, whatever its size. Past ``Job.max_bytes`` the writer stops the serialiser
(:class:`~cpbkg.errors.ResultTooLarge`): what was sent by then is cut with a signal every client
sees (docs/decisions/0014-streaming.md).

A job with a row cap (``Job.cap`` > 0, ``Settings.result_cap``) is answered the way every answer
was before streaming (:func:`serialize_answer`): written as TSV (solutions) or N-Triples
(triples), one row per line, counted, refused past the cap before any byte is sent, then converted.
Answers a remote store sent (:mod:`cpbkg.store.backend`) are converted by the same function.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
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
from cpbkg.formats import (
    _RDF_FORMATS,
    _RESULTS_FORMATS,
    DEFAULT_GRAPH,
    DEFAULT_RESULTS,
    FORMATS,
)
from cpbkg.sparql.lexer import describe_syntax_error
from cpbkg.sparql.rdfdoc import reading_order, used_prefixes

if TYPE_CHECKING:
    from cpbkg.sparql.pool import AnswerStream
    from cpbkg.sparql.spool import Spool

#: bytes an answer may have by default (``Settings.result_bytes``)
DEFAULT_MAX_BYTES = 4 << 30
#: bytes a worker gathers before it hands them on (one IPC frame)
CHUNK_BYTES = 256 << 10
#: triples of a graph answer read before its Turtle, TriG or RDF/XML starts: the prefixes it
#: declares are those these use, and an answer of at most this many is written subject by subject
PREFIX_SAMPLE = 10000

Result = ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples


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
    #: rows or triples at most, the answer held whole and refused past it; 0: no row cap, streamed
    cap: int = 0
    #: bytes at most (a streamed answer is cut past it)
    max_bytes: int = DEFAULT_MAX_BYTES
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
    """A serialised answer: what kind of result, in which format, the bytes (and gzipped bytes once made).

    ``rest`` is set when the answer goes on past ``body`` (a streamed answer larger than what a
    worker pool reads ahead): its other bytes are read from that stream, which must be closed.
    """

    __slots__ = ("body", "format", "gzipped", "kind", "rest")

    def __init__(self, kind: str, format: str, body: bytes, rest: AnswerStream | Spool | None = None) -> None:
        #: "solutions", "boolean" or "graph"
        self.kind = kind
        self.format = format
        self.body = body
        self.gzipped: bytes | None = None
        self.rest = rest

    @property
    def content_type(self) -> str:
        return FORMATS[self.format].content_type

    def read_all(self) -> bytes:
        """The whole answer (reading and closing ``rest``, if any)."""
        if self.rest is None:
            return self.body
        parts = [self.body]
        try:
            while (chunk := self.rest.read()) is not None:
                parts.append(chunk)
        finally:
            self.rest.close()
            self.rest = None
        self.body = b"".join(parts)
        return self.body

    def __repr__(self) -> str:
        more = " and more" if self.rest is not None else ""
        return f"<Answer {self.kind} {self.format} {len(self.body)} bytes{more}>"


class Stopped(Exception):
    """Raised by a :class:`BoundedWriter`'s sink to stop the serialiser (e.g. the client is gone)."""


class BoundedWriter:
    """A file-like object for pyoxigraph's serialisers: passes what they write to ``sink`` in
    chunks of ``chunk`` bytes, and stops them past ``limit`` bytes.

    A serialiser reports an exception of ``write`` as an OSError: :attr:`stopped` keeps the one
    raised (:class:`~cpbkg.errors.ResultTooLarge` past the limit, or the sink's), for
    :func:`write_answer` to raise instead. No chunk is larger than ``chunk``, however much one
    ``write`` brings (a server reading the sink then holds a chunk, not a whole value):

    >>> got = []
    >>> out = BoundedWriter(got.append, limit=100, chunk=4)
    >>> out.write(b"0123456789"); out.close()
    10
    >>> got
    [b'0123', b'4567', b'89']
    """

    __slots__ = ("_buffer", "_size", "chunk", "limit", "sink", "size", "stopped")

    def __init__(self, sink: Callable[[bytes], None], limit: int, chunk: int = CHUNK_BYTES) -> None:
        self.sink = sink
        self.limit = limit
        self.chunk = chunk
        self._buffer: list[bytes] = []
        self._size = 0
        #: bytes written so far
        self.size = 0
        self.stopped: BaseException | None = None

    def write(self, data: bytes) -> int:
        if self.stopped is not None:
            raise self.stopped
        n = len(data)
        if self.size + n > self.limit:
            self.stopped = ResultTooLarge(
                f"the answer is larger than {self.limit} bytes, the most this endpoint sends for one query: "
                "add a LIMIT (and OFFSET to page), or download the dumps (/dumps/)")
            raise self.stopped
        self.size += n
        self._buffer.append(bytes(data))
        self._size += n
        if self._size >= self.chunk:
            self._flush()
        return n

    def _flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            try:
                # in chunks even when one write was larger (a 150 MB literal comes in one write):
                # the reader of the sink holds a chunk at a time, never the whole value
                for start in range(0, len(data), self.chunk):
                    self.sink(data[start:start + self.chunk])
            except BaseException as exc:
                self.stopped = exc
                raise

    def flush(self) -> None:
        pass  # pyoxigraph flushes at the end of every document: chunks are made by size only

    def close(self) -> None:
        """Hand on what is left."""
        self._flush()


def _term(nt: str) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    quad = next(iter(ox.parse(f"<urn:x-cpbkg:s> <urn:x-cpbkg:p> {nt} .", format=ox.RdfFormat.N_TRIPLES)))
    return quad.object


def run_query(store: ox.Store, job: Job) -> Result:
    """Start a job's query on a store (pyoxigraph evaluates it as the answer is read).

    Raises:
        QuerySyntaxError: not SPARQL 1.1.
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
        return store.query(job.text, **options)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise QuerySyntaxError(describe_syntax_error(job.text, str(exc))) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise _evaluation_error(exc) from None


def answer_format(result: Result | list[ox.Triple], job: Job) -> tuple[str, str]:
    """(kind, format name) of a result in ``job``'s formats.

    Raises:
        NotAcceptable: no format fits the kind of answer.
    """
    if isinstance(result, ox.QueryBoolean):
        return "boolean", _pick(job.results_format, "an ASK query", "json, xml, csv, tsv")
    if isinstance(result, ox.QuerySolutions):
        return "solutions", _pick(job.results_format, "a SELECT query", "json, xml, csv, tsv")
    return "graph", _pick(job.graph_format, "a CONSTRUCT or DESCRIBE query", "ttl, nt, jsonld, rdfxml, trig, nq")


def write_answer(result: Result | _Triples, fmt: str, out: BoundedWriter, prefixes: dict[str, str] | None = None) -> None:
    """Serialise a result into ``out`` in ``fmt`` as pyoxigraph evaluates it (the answer is never held whole).

    Turtle, TriG and RDF/XML declare the prefixes of ``prefixes`` that the first
    :data:`PREFIX_SAMPLE` triples use (:func:`cpbkg.sparql.rdfdoc.used_prefixes`); a graph of at
    most that many triples is written subject by subject.

    Raises:
        ResultTooLarge: more bytes than ``out`` takes.
        QueryFailed, StoreError: pyoxigraph could not evaluate the query.
        Stopped: ``out``'s sink stopped it.
    """
    try:
        if isinstance(result, ox.QueryBoolean):
            out.write(result.serialize(format=_RESULTS_FORMATS[fmt]) or b"")
        elif isinstance(result, ox.QuerySolutions):
            result.serialize(cast(IO[bytes], out), format=_RESULTS_FORMATS[fmt])
        elif fmt in ("nt", "nq"):  # N-Triples is N-Quads of the default graph
            result.serialize(cast(IO[bytes], out), format=ox.RdfFormat.N_TRIPLES)
        elif fmt == "jsonld":
            result.serialize(cast(IO[bytes], out), format=ox.RdfFormat.JSON_LD)
        else:
            head = list(itertools.islice(result, PREFIX_SAMPLE))
            use = used_prefixes(head, prefixes or {}, sample=len(head) == PREFIX_SAMPLE)
            triples: Iterable[ox.Triple] = (reading_order(head) if len(head) < PREFIX_SAMPLE
                                            else itertools.chain(head, result))
            items: Iterable[ox.Triple] | Iterable[ox.Quad] = (map(_in_default_graph, triples) if fmt == "trig"
                                                               else triples)
            ox.serialize(items, cast(IO[bytes], out), format=_RDF_FORMATS[fmt], prefixes=use)
        out.close()
    except OSError as exc:
        if out.stopped is not None:
            raise out.stopped from None
        raise _evaluation_error(exc) from None
    except (ValueError, RuntimeError, SyntaxError) as exc:
        raise _evaluation_error(exc) from None


def _in_default_graph(triple: ox.Triple) -> ox.Quad:
    return ox.Quad(triple.subject, triple.predicate, triple.object)


def execute(store: ox.Store, job: Job, prefixes: dict[str, str] | None = None) -> Answer:
    """Run a job on a store in this process and serialise the whole answer (tests, benchmarks).

    Raises:
        QuerySyntaxError: not SPARQL 1.1.
        ResultTooLarge: more rows or triples than ``job.cap``, or more bytes than ``job.max_bytes``.
        NotAcceptable: no format fits the kind of answer.
        QueryFailed: pyoxigraph could not evaluate the query.
    """
    result = run_query(store, job)
    if job.cap:
        return serialize_answer(result, job, prefixes)
    kind, fmt = answer_format(result, job)
    chunks: list[bytes] = []
    write_answer(result, fmt, BoundedWriter(chunks.append, job.max_bytes), prefixes)
    return Answer(kind, fmt, b"".join(chunks))


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
        if self.limit and self.lines > self.limit:
            self.over = True
            raise _OverCap()
        return len(chunk)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _capped(limit: int, write: Callable[[IO[bytes]], object]) -> bytes | None:
    """What ``write`` writes into a :class:`_CappedWriter` of ``limit`` lines (0: any); None past the limit."""
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


def serialize_answer(result: Result | list[ox.Triple], job: Job, prefixes: dict[str, str] | None = None) -> Answer:
    """The whole answer in ``job``'s format, under ``job.cap`` rows or triples (0: any) and
    ``job.max_bytes``: of a store's query, or of results a remote store sent (parsed by
    pyoxigraph; a graph as a list of triples), so both give the same bytes."""
    try:
        kind, fmt = answer_format(result, job)
        if isinstance(result, ox.QueryBoolean):
            return _bounded(Answer("boolean", fmt, result.serialize(format=_RESULTS_FORMATS[fmt]) or b""), job)
        if isinstance(result, ox.QuerySolutions):
            solutions = result
            tsv = _capped(job.cap + 1 if job.cap else 0,  # + the header line
                          lambda out: solutions.serialize(out, format=ox.QueryResultsFormat.TSV))
            if tsv is None:
                raise ResultTooLarge(f"the query returns more than {job.cap} rows, the limit of this endpoint: "
                                     "add a LIMIT (and OFFSET to page), or make it more selective")
            if fmt == "tsv":
                return _bounded(Answer(kind, fmt, tsv), job)
            parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
            return _bounded(Answer(kind, fmt, parsed.serialize(format=_RESULTS_FORMATS[fmt]) or b""), job)
        triples = result

        def write_triples(out: IO[bytes]) -> None:
            if isinstance(triples, list):  # triples a remote store sent
                if job.cap and len(triples) > job.cap:
                    raise _OverCap()
                out.write(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")
            else:
                triples.serialize(out, format=ox.RdfFormat.N_TRIPLES)

        nt = _capped(job.cap, write_triples)
        if nt is None:
            raise ResultTooLarge(f"the query returns more than {job.cap} triples, the limit of this endpoint: "
                                 "make it more selective (a LIMIT in the WHERE clause's subquery)")
        if fmt in ("nt", "nq"):
            return _bounded(Answer(kind, fmt, nt), job)
        graph = ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)
        chunks: list[bytes] = []
        write_answer(_Triples(q.triple for q in graph), fmt, BoundedWriter(chunks.append, job.max_bytes), prefixes)
        return Answer(kind, fmt, b"".join(chunks))
    except CpbkgError:
        raise
    except (OSError, ValueError, RuntimeError, SyntaxError) as exc:
        raise _evaluation_error(exc) from None


class _Triples:
    """Triples (parsed back from N-Triples) that :func:`write_answer` serialises like a query's triples."""

    def __init__(self, triples: Iterator[ox.Triple]) -> None:
        self._triples = triples

    def __iter__(self) -> Iterator[ox.Triple]:
        return self._triples

    def __next__(self) -> ox.Triple:
        return next(self._triples)

    def serialize(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        ox.serialize(self._triples, output, format=format)


def _bounded(answer: Answer, job: Job) -> Answer:
    if len(answer.body) > job.max_bytes:
        raise ResultTooLarge(f"the answer is larger than {job.max_bytes} bytes, the most this endpoint sends for "
                             "one query: add a LIMIT (and OFFSET to page)")
    return answer


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
