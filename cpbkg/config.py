"""Settings shared by the build, the store and the server.

One frozen dataclass, built from CLI flags (or ``CPBKG_*`` environment variables)
and injected everywhere; tests build their own.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from cpbkg.errors import CpbkgError
from cpbkg.vocab import DEFAULT_BASE

#: the package's own folder
PACKAGE_DIR = Path(__file__).resolve().parent


def _project_root() -> Path:
    """Where the build's inputs are (``ontology/``, ``shapes/``, ``data/``, ``queries/``).

    The source tree the package runs from (a checkout, or an editable install of one), else the
    copy of those folders an installed wheel carries in ``cpbkg/_project/``
    (docs/decisions/0013-packaging.md).
    """
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "ontology").is_dir():
        return checkout
    return PACKAGE_DIR / "_project"


PROJECT_ROOT = _project_root()
#: True when the package runs from its source tree, False when it runs from an installed wheel
IN_SOURCE_TREE = PACKAGE_DIR.parent == PROJECT_ROOT


def work_dir() -> Path:
    """Where the outputs go by default (``dist/``, ``var/store``): the source tree, or, for an
    installed package (whose files are not to be written), the current directory."""
    return PROJECT_ROOT if IN_SOURCE_TREE else Path.cwd()


def console_command(name: str) -> str | None:
    """The path of a console script installed beside the running Python (``oxigraph``,
    ``rdflib-endpoint`` of the venv), else one on PATH, else None.

    CI and the README run ``.venv/bin/python`` without activating the venv, so its scripts are
    not on PATH there; the bench and the test fixtures find them here, in one way.
    """
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def _env(name: str, default: str) -> str:
    return os.environ.get("CPBKG_" + name, default)


def _env_int(name: str, default: int) -> int:
    """An integer setting; a value that is not one is an error naming the variable, not a traceback."""
    value = _env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise CpbkgError(f"CPBKG_{name}={value!r} is not a whole number") from None


def _env_float(name: str, default: float) -> float:
    """A number setting (seconds); a value that is not one is an error naming the variable."""
    value = _env(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise CpbkgError(f"CPBKG_{name}={value!r} is not a number") from None


def _cpus() -> int:
    return max(1, os.cpu_count() or 1)


#: queries that may wait per query worker when ``query_queue`` is 0 (cpbkg.web.admission)
QUEUE_PER_WORKER = 8


def workers_per_process(processes: int) -> int:
    """The default query workers of each of ``processes`` server processes: the CPUs shared among
    them, at least one (measured on 2 CPUs: two processes of one worker each answered distinct
    lookups and linkage queries 1.5x-2.3x as fast as two of two workers; docs/decisions/0011-speed.md)."""
    return max(1, _cpus() // max(1, processes))


@dataclass(frozen=True)
class Settings:
    """Where things are and what the server allows."""

    base_uri: str = field(default_factory=lambda: _env("BASE_URI", DEFAULT_BASE))
    #: the build's inputs: ontology/, shapes/, data/, queries/ (see :func:`_project_root`)
    root: Path = PROJECT_ROOT
    dist_dir: Path = field(default_factory=lambda: Path(_env("DIST", str(work_dir() / "dist"))))
    store_path: Path = field(default_factory=lambda: Path(_env("STORE", str(work_dir() / "var" / "store"))))
    #: seconds a query may run before it is stopped
    query_timeout: float = field(default_factory=lambda: _env_float("QUERY_TIMEOUT", 10))
    #: rows (SELECT) or triples (CONSTRUCT/DESCRIBE) an answer may have, counted on the whole answer,
    #: which is then held in memory and refused (422) past the cap; 0 (the default): no row cap, answers
    #: stream (docs/decisions/0014-streaming.md)
    result_cap: int = field(default_factory=lambda: _env_int("RESULT_CAP", 0))
    #: bytes an answer may have (the safety bound of streamed answers, far above a whole dump of the
    #: data in any format): past it the answer is refused if nothing was sent yet, else cut (0014)
    result_bytes: int = field(default_factory=lambda: _env_int("RESULT_BYTES", 4 << 30))
    #: largest request body accepted, in bytes
    max_body: int = field(default_factory=lambda: _env_int("MAX_BODY", 1 << 20))
    #: off by default: SERVICE makes the server fetch URLs
    allow_service: bool = field(default_factory=lambda: _env("ALLOW_SERVICE", "0") == "1")
    #: HTTP server processes sharing the port (SO_REUSEPORT), each with its own query workers, caches
    #: and admission; the budgets below (query memory, spool, cache) are split among them
    #: (:mod:`cpbkg.web.supervisor`); 1 (the default): one process, no supervisor
    processes: int = field(default_factory=lambda: _env_int("PROCESSES", 1))
    #: worker processes that run queries, per HTTP process (each can be killed on timeout); default: one per
    #: CPU (``cpbkg serve --processes N`` shares the CPUs among the processes: :func:`workers_per_process`)
    query_workers: int = field(default_factory=lambda: _env_int("QUERY_WORKERS", 0) or _cpus())
    #: MiB of heap each query worker may use; a query that needs more kills its worker (503) (0: no limit)
    worker_memory_mb: int = field(default_factory=lambda: _env_int("WORKER_MEMORY_MB", 2048))
    #: MiB the query workers together may take for the queries they run, above their size with the
    #: store open (and copied into memory): each worker gets an equal share; a query over its share
    #: ends its worker (503, and the query is refused when sent again) (0: only ``worker_memory_mb``)
    query_memory_mb: int = field(default_factory=lambda: _env_int("QUERY_MEMORY_MB", 1024))
    #: MiB on disk (temporary files, unlinked) for the answers of slow readers, all together: an answer
    #: longer than the 4 MiB a pool reads ahead is drained from its worker into a file, so that a client
    #: that reads slowly holds a socket and a file, not a worker; past the budget answers stream with
    #: back-pressure (the worker waits for the client) (0: never spool)
    spool_mb: int = field(default_factory=lambda: _env_int("SPOOL_MB", 2048))
    #: query workers copy the store into memory when it holds at most this many triples (0: never):
    #: queries run ~5x faster there than on RocksDB, and each worker holds ~370 bytes per triple
    memory_store_triples: int = field(default_factory=lambda: _env_int("MEMORY_STORE_TRIPLES", 500000))
    #: bytes of query answers kept in memory for repeated queries (0: no cache)
    cache_bytes: int = field(default_factory=lambda: _env_int("CACHE_BYTES", 64 << 20))
    #: SPARQL's default graph is the union of all named graphs (unless FROM or default-graph-uri say otherwise)
    union_default_graph: bool = field(default_factory=lambda: _env("UNION_DEFAULT_GRAPH", "1") == "1")
    #: where the graph is read from: "" (the embedded store) or a remote SPARQL store that
    #: ``cpbkg publish`` filled: ``URL`` (an Oxigraph server) or ``KIND+URL`` (see cpbkg.store.backend)
    backend: str = field(default_factory=lambda: _env("BACKEND", ""))
    #: origins allowed to read GET answers from a browser ("*": any, "": CORS off); never with credentials
    cors_origins: str = field(default_factory=lambda: _env("CORS_ORIGINS", "*"))
    #: seconds a client has to send a request body (POST /sparql) before it is answered 408
    body_timeout: float = field(default_factory=lambda: _env_float("BODY_TIMEOUT", 30))
    #: bearer token of the operator actions (POST /admin/reload); "" (the default): they do not exist (404)
    admin_token: str = field(default_factory=lambda: _env("ADMIN_TOKEN", ""), repr=False)
    #: the server's public URL (``https://kg.example.org``): the base of redirects and of generated absolute
    #: links (``sd:endpoint``); "" (the default): redirects are relative and links use the address the
    #: server listens on -- never the request's ``Host`` (docs/security.md)
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL", ""))
    #: comma-separated ``Host`` names accepted (``*.example.org`` allowed); "" (the default): any -- a
    #: request naming another host is answered 400
    trusted_hosts: str = field(default_factory=lambda: _env("TRUSTED_HOSTS", ""))
    #: comma-separated addresses of reverse proxies whose ``X-Forwarded-For`` names the client; "" (the
    #: default): none, the client is the peer of the connection
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    #: bytes a query text may have (413 past it), checked before the query is lexed
    max_query_bytes: int = field(default_factory=lambda: _env_int("MAX_QUERY_BYTES", 256 << 10))
    #: bytes of a request's path and query string (414 past it; httptools refuses 64 KiB and more with 400)
    max_url_bytes: int = field(default_factory=lambda: _env_int("MAX_URL_BYTES", 60 << 10))
    #: bytes of a request's header set, names and values (431 past it)
    max_header_bytes: int = field(default_factory=lambda: _env_int("MAX_HEADER_BYTES", 64 << 10))
    #: queries one client (address) may have running or waiting at once (429 past it); 0: every worker (a public endpoint sets one less)
    client_queries: int = field(default_factory=lambda: _env_int("CLIENT_QUERIES", 0))
    #: queries that may wait for a worker, all clients together (503 past it); 0: 8 per worker (with
    #: several server processes, 8 per worker of them all, in each: cpbkg.web.supervisor.share)
    query_queue: int = field(default_factory=lambda: _env_int("QUERY_QUEUE", 0))
    #: pages and searches rendered at once, in threads (the others wait); 0: one per CPU
    page_threads: int = field(default_factory=lambda: _env_int("PAGE_THREADS", 0))

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    def __post_init__(self) -> None:
        # every whole-number setting counts or sizes something (0: none, or the default): a
        # negative one would be taken at face value (a queue of -1 refuses every waiting query)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int" and value < 0:
                raise CpbkgError(f"{f.name} is {value}: it counts or sizes something and cannot be negative "
                                 f"(its flag, or CPBKG_{f.name.upper()})")

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
