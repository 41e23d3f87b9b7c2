"""The query service: the one way every route and ``cpbkg query`` runs a query."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cpbkg.errors import (
    CpbkgError,
    EngineFailed,
    NotAcceptable,
    QueryTooComplex,
    RequestError,
    StoreError,
    WorkerCrashed,
)
from cpbkg.formats import DEFAULT_GRAPH, DEFAULT_RESULTS, FORMATS, format_choice
from cpbkg.sparql.cache import ResponseCache
from cpbkg.sparql.execute import Answer, Job
from cpbkg.sparql.lexer import Scan, check
from cpbkg.sparql.pool import InThread, QueryPool

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config and store import rdflib; a worker process needs neither
    from cpbkg.config import Settings
    from cpbkg.store.embedded import LoadedStore


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
    """The prefixes answers may declare (the one map, :data:`cpbkg.vocab.PREFIXES`)."""
    from cpbkg.vocab import PREFIXES

    return dict(PREFIXES)


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


def query_pool(settings: Settings, loaded: LoadedStore, size: int | None = None) -> QueryPool:
    """The pool of query workers for ``loaded`` under the settings' limits: ``size`` workers (default
    ``query_workers``), each with its share of ``query_memory_mb`` (docs/security.md)."""
    size = size or settings.query_workers
    copy = in_memory(settings, loaded.release.triples)
    return QueryPool(loaded.path, size=size, prefixes=_prefixes(), isolate_network=not settings.allow_service,
                     memory_mb=settings.worker_memory_mb, query_mb=settings.query_memory_mb // max(1, size),
                     copy_mb=(loaded.release.triples * MEMORY_PER_TRIPLE) >> 20 if copy else 0,
                     start_timeout=max(60.0, settings.query_timeout), in_memory=copy,
                     spool_bytes=settings.spool_mb << 20)


class QueryService:
    """Runs queries on one store under the settings' limits: checks, pool, cache."""

    def __init__(self, settings: Settings, loaded: LoadedStore, *, pool: QueryPool | None = None,
                 cache: ResponseCache | None = None) -> None:
        self.settings = settings
        self.loaded = loaded
        self.data_version = loaded.data_version
        self.pool = pool or query_pool(settings, loaded)
        self.cache = cache if cache is not None else ResponseCache(settings.cache_bytes)
        #: queries that crashed a worker (deterministically) on this data: refused without running
        self._refused: collections.OrderedDict[tuple[object, ...], CpbkgError] = collections.OrderedDict()
        self._refused_lock = threading.Lock()

    def prepare(self, text: str, *, results_format: str | None = DEFAULT_RESULTS,
                graph_format: str | None = DEFAULT_GRAPH, default_graphs: list[str] | None = None,
                named_graphs: list[str] | None = None,
                substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
                union: bool | None = None, row_cap: int | None = None) -> Prepared:
        """Check a query and the request around it; nothing runs yet.

        ``union`` overrides ``Settings.union_default_graph`` (the named queries always read the
        union); a FROM clause or a protocol dataset still takes precedence. ``row_cap`` overrides
        ``Settings.result_cap`` (0: none; the Graph Store Protocol's whole graphs).

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
            cap=max(0, self.settings.result_cap if row_cap is None else row_cap),
            max_bytes=self.settings.result_bytes,
            timeout=self.settings.query_timeout,
        )
        key = (found.normalised, job.results_format, job.graph_format, job.default_graphs, job.named_graphs,
               job.union, subs, job.base_iri, job.cap, job.max_bytes, self.data_version)
        return Prepared(job, found, key, cacheable=not found.volatile and self.cache.max_bytes > 0)

    def cached(self, prepared: Prepared) -> Answer | None:
        """The cached answer, if any (never blocks: safe on the event loop)."""
        return self.cache.get(prepared.key) if prepared.cacheable else None

    def run(self, prepared: Prepared) -> Answer:
        """The answer, from the cache or a worker (blocks: call it from a thread).

        An answer larger than a worker pool reads ahead comes with ``rest`` (the stream of its other
        bytes, which the caller reads and closes; see :meth:`cpbkg.sparql.pool.QueryPool.run`): it is
        not cached. Every other answer is, unless the query is volatile or the cache too small.
        """
        answer = self._known(prepared)
        if answer is None:
            with self._remembering_crashes(prepared):
                answer = self.pool.run(prepared.job)
            self._keep(prepared, answer)
        return answer

    async def run_async(self, prepared: Prepared, in_thread: InThread) -> Answer:
        """:meth:`run` from the event loop (:meth:`cpbkg.sparql.pool.QueryPool.run_async`): a small
        answer is read there, anything longer in ``in_thread``."""
        answer = self._known(prepared)
        if answer is None:
            with self._remembering_crashes(prepared):
                answer = await self.pool.run_async(prepared.job, in_thread)
            self._keep(prepared, answer)
        return answer

    def _known(self, prepared: Prepared) -> Answer | None:
        """The cached answer, if any; raises the error of a query known to crash a worker."""
        answer = self.cached(prepared)
        if answer is not None:
            return answer
        with self._refused_lock:
            known = self._refused.get(self._crash_key(prepared))
        if known is not None:
            raise type(known)(f"refused without running: this query crashed a query worker before. {known}")
        return None

    @staticmethod
    def _crash_key(prepared: Prepared) -> tuple[object, ...]:
        return (prepared.key[0],) + prepared.key[3:]

    @contextlib.contextmanager
    def _remembering_crashes(self, prepared: Prepared) -> Iterator[None]:
        """Remember a query that crashed its worker in a way it will again: refused from then on."""
        try:
            yield
        except (QueryTooComplex, EngineFailed, WorkerCrashed) as exc:
            if isinstance(exc, (QueryTooComplex, EngineFailed)) or getattr(exc, "repeatable", False):
                with self._refused_lock:
                    self._refused[self._crash_key(prepared)] = exc
                    while len(self._refused) > 256:
                        self._refused.popitem(last=False)
            raise

    def _keep(self, prepared: Prepared, answer: Answer) -> None:
        if prepared.cacheable and answer.rest is None:
            self.cache.put(prepared.key, answer)

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
    from cpbkg.store.embedded import open_store

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
    service = QueryService(settings, loaded, pool=query_pool(settings, loaded, size=1), cache=ResponseCache(0))
    try:
        return service.query(text, results_format=results, graph_format=graph).read_all()
    finally:
        service.close()
