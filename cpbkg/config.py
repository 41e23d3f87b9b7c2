"""Settings shared by the build, the store and the server.

One frozen dataclass, built from CLI flags (or ``CPBKG_*`` environment variables)
and injected everywhere; tests build their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from cpbkg.errors import CpbkgError
from cpbkg.vocab import DEFAULT_BASE

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


@dataclass(frozen=True)
class Settings:
    """Where things are and what the server allows."""

    base_uri: str = field(default_factory=lambda: _env("BASE_URI", DEFAULT_BASE))
    root: Path = PROJECT_ROOT
    dist_dir: Path = field(default_factory=lambda: Path(_env("DIST", str(PROJECT_ROOT / "dist"))))
    store_path: Path = field(default_factory=lambda: Path(_env("STORE", str(PROJECT_ROOT / "var" / "store"))))
    #: seconds a query may run before it is stopped
    query_timeout: float = field(default_factory=lambda: _env_float("QUERY_TIMEOUT", 10))
    #: rows (SELECT) or triples (CONSTRUCT/DESCRIBE) returned at most
    result_cap: int = field(default_factory=lambda: _env_int("RESULT_CAP", 10000))
    #: largest request body accepted, in bytes
    max_body: int = field(default_factory=lambda: _env_int("MAX_BODY", 1 << 20))
    #: off by default: SERVICE makes the server fetch URLs
    allow_service: bool = field(default_factory=lambda: _env("ALLOW_SERVICE", "0") == "1")
    #: worker processes that run queries (each can be killed on timeout); default: one per CPU
    query_workers: int = field(default_factory=lambda: _env_int("QUERY_WORKERS", 0) or _cpus())
    #: MiB of heap each query worker may use; a query that needs more kills its worker (503) (0: no limit)
    worker_memory_mb: int = field(default_factory=lambda: _env_int("WORKER_MEMORY_MB", 2048))
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

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
