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
``SERVICE:x`` as ``SERVICE`` (``tests/web/test_sparql.py`` keeps those cases). The one
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
A query may also take only its worker's share of ``Settings.query_memory_mb`` above the
worker's own size (the store open, its in-memory copy made): the cap is set again to that size
plus the share after every job.

**Whole answers, streamed.** A worker serialises the answer straight into the negotiated
format as pyoxigraph evaluates it, and sends it in chunks over its pipe; the server reads a
chunk only when the client has taken the one before (back-pressure), so memory stays flat
whatever the size, and the timeout counts to the last byte. Past the 4 MiB the pool reads ahead,
the rest is drained to a temporary file within ``Settings.spool_mb`` (:mod:`cpbkg.sparql.spool`):
the worker is free at the answer's end, however slowly its client reads. The bound is
``Settings.result_bytes`` per answer, far above the whole graph in any format: past it, an
answer not begun yet gets :class:`~cpbkg.errors.ResultTooLarge` (422); one already under way
is cut visibly -- the connection closes without the last chunk and the body ends in a line no
parser accepts -- never a silent partial 200 (docs/decisions/0014-streaming.md). An operator's
row cap (``Settings.result_cap``, off by default) keeps the old rule: the answer is written as
TSV or N-Triples, counted line by line, refused (422) past the cap, then converted.

**Crashes.** A query nested too deep for pyoxigraph's recursive parser and evaluator (more
than :data:`MAX_DEPTH` levels of brackets) is refused before it runs; one that still
overflows the worker's stack (a chain of thousands of ``+``, ``UNION`` or ``OPTIONAL``) kills
only its worker (SIGSEGV), and the client gets :class:`~cpbkg.errors.QueryTooComplex` (422).
A panic of the engine on a valid query (pyoxigraph 0.5.13 panics sorting numbers and strings
under one ``ORDER BY`` key) aborts its worker as an allocation over the heap cap does; the
panic message, read from the worker's stderr, tells them apart: the client gets
:class:`~cpbkg.errors.EngineFailed` (422) quoting the engine, not a word about memory.
Such a query, and one that ran out of worker memory, is deterministic: it is then refused
without running for as long as the data does not change (:class:`QueryService`).

**Cache.** Successful answers are kept, as bytes, in an LRU with a byte budget
(``Settings.cache_bytes``), keyed on the normalised query text (comments dropped,
whitespace outside literals and IRIs collapsed), the dataset, the parameter values, both
negotiated formats and the store's ``data_version``; a repeated query costs a dictionary
look-up. Queries that use ``RAND``, ``NOW``, ``UUID`` or ``STRUUID`` are not cached, nor are
answers that stream on past what the pool reads ahead (:data:`cpbkg.sparql.pool.SPOOL_BYTES`).
"""
