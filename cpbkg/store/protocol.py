"""What the server needs of a store, whichever backend holds the graph.

Two stores serve a build: :class:`cpbkg.store.embedded.LoadedStore` (pyoxigraph on disk, queried
by worker processes) and :class:`cpbkg.store.backend.RemoteLoadedStore` (a SPARQL store that
``cpbkg publish`` filled). Both subclass :class:`ServedStore`, so the type checker holds each to
it, and the app (:mod:`cpbkg.web.state`), the routes and the describe layer type against it:

* :class:`ServedStore` -- the build it holds (:class:`Release`, ``data_version``), which
  ``backend`` it is, the :class:`GraphStore` the pages read, how the query workers of its
  queries are made (:meth:`ServedStore.make_pool`) and :meth:`ServedStore.close`;
* :class:`GraphStore` -- the part of :class:`pyoxigraph.Store` the pages read (``query``,
  ``quads_for_pattern``, ``contains_named_graph``, ``named_graphs``): a pyoxigraph ``Store`` is
  one as it is; :class:`cpbkg.store.backend.RemoteGraphStore` answers it over HTTP;
* :class:`QueryWorkers` -- what a :class:`~cpbkg.sparql.service.QueryService` runs its jobs on:
  :class:`cpbkg.sparql.pool.QueryPool` (worker processes) or
  :class:`cpbkg.store.backend.RemoteQueryPool` (requests to the remote store).

>>> import pyoxigraph as ox
>>> graphs: GraphStore = ox.Store()  # pyoxigraph's own Store is a GraphStore
>>> list(graphs.named_graphs())
[]
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import pyoxigraph as ox

from cpbkg.errors import StoreError

if TYPE_CHECKING:  # config imports rdflib, which the store module does not need to load
    from cpbkg.config import Settings
    from cpbkg.sparql.execute import Answer, Job
    from cpbkg.sparql.pool import InThread

#: in ``dist/``: what the build is (:class:`Release`)
RELEASE_FILE = "release.json"

#: a term pyoxigraph takes as a bound value (``substitutions``)
Bound = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
#: what names a graph in a pattern or a dataset
GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


@dataclass(frozen=True)
class Release:
    """What ``dist/release.json`` says of a build."""

    version: str
    data_hash: str
    built: str
    triples: int
    base_uri: str

    @property
    def data_version(self) -> str:
        """The build's short name: changes exactly when the data does (ETags, caches, store folders).

        >>> Release("0.1", "0123456789abcdef0123", "2026-01-01", 1, "https://x.org/").data_version
        '0123456789abcdef'
        """
        return self.data_hash[:16]

    @classmethod
    def read(cls, dist_dir: Path) -> Release:
        """The release record of the build in ``dist_dir``.

        Raises:
            StoreError: no build there, or an unreadable record.
        """
        path = dist_dir / RELEASE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["version"], raw["data_hash"], raw["built"], int(raw["triples"]), raw["base_uri"])
        except FileNotFoundError as exc:
            raise StoreError(f"{path}: no build found; run `cpbkg build` first") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: unreadable release description ({exc})") from exc


class GraphStore(Protocol):
    """The read-only part of :class:`pyoxigraph.Store` the pages use (:mod:`cpbkg.describe`)."""

    def query(self, query: str, *, base_iri: str | None = None, use_default_graph_as_union: bool = False,
              default_graph: GraphName | list[GraphName] | None = None,
              named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
              substitutions: dict[ox.Variable, Bound] | None = None,
              ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Evaluate a SPARQL query (bound values in ``substitutions``, never pasted into the text)."""
        ...

    def quads_for_pattern(self, subject: ox.NamedNode | ox.BlankNode | None,
                          predicate: ox.NamedNode | None,
                          object: ox.NamedNode | ox.BlankNode | ox.Literal | None,
                          graph_name: GraphName | None = None) -> Iterable[ox.Quad]:
        """The quads matching a pattern (None matches anything)."""
        ...

    def contains_named_graph(self, graph_name: ox.NamedNode | ox.BlankNode | ox.DefaultGraph) -> bool:
        ...

    def named_graphs(self) -> Iterable[ox.NamedNode | ox.BlankNode]:
        ...


class QueryWorkers(Protocol):
    """What a query service runs jobs on; thread-safe, :meth:`run` blocks (call it from a thread)."""

    #: jobs it runs at once (the app's query slots)
    size: int
    #: workers killed at a timeout so far
    killed: int

    @property
    def memory_quads(self) -> list[int | None] | None:
        """Per ready worker, the quads of its in-memory copy of the store (None in a place: it reads
        the disk); None for workers that hold no copy at all (a remote store)."""
        ...

    def start(self) -> QueryWorkers:
        """Get ready (idempotent); returns itself."""
        ...

    def run(self, job: Job) -> Answer:
        ...

    async def run_async(self, job: Job, in_thread: InThread) -> Answer:
        """:meth:`run` from the event loop; what blocks goes to ``in_thread``."""
        ...

    def retire(self, timeout: float) -> bool:
        """Stop once the jobs it is running are done (at most ``timeout`` seconds from now);
        False if some were still running then (they were stopped)."""
        ...

    def close(self) -> None:
        """Stop (idempotent)."""
        ...


class ServedStore(Protocol):
    """A store holding one build, as the server uses it (see the module docstring)."""

    #: ``"embedded"`` or ``"remote"`` (``GET /health`` says which; only an embedded store is reloaded)
    backend: ClassVar[str]
    #: the build the store holds
    release: Release
    #: what the pages read
    store: GraphStore
    #: where the store's files are (None: not on this machine)
    path: Path | None

    @property
    def data_version(self) -> str:
        """Changes exactly when the data changes: used for ETags and caches."""
        return self.release.data_version

    @abstractmethod
    def make_pool(self, settings: Settings) -> QueryWorkers | None:
        """The query workers that run the queries of ``/sparql`` and ``/queries/`` on this store, for
        a query service of its own (:func:`cpbkg.web.state.serve`); None: the query service's own
        worker processes, each opening the store's files at :attr:`path`."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the store (idempotent)."""
