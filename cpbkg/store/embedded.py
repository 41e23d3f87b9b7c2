"""The embedded on-disk pyoxigraph store, loaded from a build's ``dist/``.

Layout under ``settings.store_path``::

    CURRENT            name of the live store directory (replaced atomically)
    (the folder itself is flock-ed, exclusive, by the one process loading or checking a store)
    <version>/         a pyoxigraph store holding exactly one build, with two files of ours:
        cpbkg-load.json    what was loaded (data hash, number of quads): checked at every open
        cpbkg.lock         held (flock, shared) by every process that serves this store
    <version>.tmp-<pid>/  a load in progress (removed on failure, or later once <pid> is gone)
    <version>.old-<pid>-<n>/  a damaged store set aside by a reload (removed once no one serves it)

A store is loaded into a fresh directory and only then named in ``CURRENT``, so a
load that is killed half-way never replaces the store being served. Old stores are
removed by the next load, except those a process still serves (its lock is held): a
server reading build A goes on answering while ``cpbkg query`` or ``POST /admin/reload``
loads build B beside it.

Replicas: several ``cpbkg serve`` may start at the same moment on one build and one store path.
Whatever writes (a load, the writable check of a store nobody serves yet, naming it in ``CURRENT``)
happens under the exclusive loader lock, one process at a time; the others wait, then find the build
loaded. A store another process already serves is never opened writable again (RocksDB allows one
writer): it is checked read-only (its quad count), and loaded again beside it only if damaged.

A store that cannot be opened or whose quad count differs from what was loaded (files
deleted, truncated or overwritten) is a :class:`~cpbkg.errors.StoreError` with a clear
message; opened writable (``cpbkg serve``, ``cpbkg query``), it is loaded again from
``dist/`` instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

import pyoxigraph as ox

from cpbkg.config import Settings
from cpbkg.errors import StoreError
from cpbkg.store.protocol import RELEASE_FILE, Release, ServedStore

#: Release and RELEASE_FILE live in cpbkg.store.protocol (both backends serve a release) and are named here too
__all__ = ["DATASET_FILE", "LOAD_RECORD", "LOCK_FILE", "RELEASE_FILE", "LoadedStore", "Release", "dataset_hash", "load",
           "open_new_build", "open_store"]

DATASET_FILE = "cpbkg.trig"
#: inside a store directory: what was loaded into it
LOAD_RECORD = "cpbkg-load.json"
#: inside a store directory: shared-locked by every process serving it
LOCK_FILE = "cpbkg.lock"

log = logging.getLogger(__name__)


@dataclass
class LoadedStore(ServedStore):
    """An open store and the build it holds."""

    backend: ClassVar[str] = "embedded"

    store: ox.Store
    path: Path
    release: Release
    #: the shared lock on the store directory (None for stores not opened by :func:`open_store`)
    lock: IO[bytes] | None = field(default=None, repr=False, compare=False)

    def make_pool(self, settings: Settings) -> None:
        """None: the query service's own worker processes (:class:`cpbkg.sparql.pool.QueryPool`), each
        opening the store at :attr:`path` read-only, as ``settings`` say (how many, memory, network)."""
        return None

    def is_current(self) -> bool:
        """True if this is the store's current build, and the very directory this handle opened: not
        one loaded again in its place (``POST /admin/reload?force=1``) or another build made current."""
        if self.lock is None or _current_name(self.path.parent) != self.path.name:
            return False
        try:
            held, there = os.fstat(self.lock.fileno()), (self.path / LOCK_FILE).stat()
        except OSError:
            return False
        return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)

    def close(self) -> None:
        """Let go of the store: a later load may then remove its directory (idempotent)."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                self.lock.close()
            self.lock = None


def _current_name(root: Path) -> str | None:
    try:
        return (root / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _write_current(root: Path, name: str) -> None:
    tmp = root / f"CURRENT.tmp-{os.getpid()}"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, root / "CURRENT")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _in_use(folder: Path) -> bool:
    """True if a process serves the store in ``folder`` (holds its lock)."""
    try:
        with (folder / LOCK_FILE).open("rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except OSError:
        return False  # no lock file: nobody locked it


def _prune(root: Path, keep: str) -> None:
    """Remove stale loads and old stores; never the live one, one a process still serves, or a
    load another live process is writing."""
    for child in root.iterdir():
        if not child.is_dir() or child.name == keep:
            continue
        _, sep, pid = child.name.rpartition(".tmp-")
        if sep and pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue  # another process is loading right now
        if _in_use(child):
            continue
        shutil.rmtree(child, ignore_errors=True)


def _lock(path: Path) -> IO[bytes] | None:
    """A shared lock on a store directory for as long as the returned file stays open."""
    try:
        f = (path / LOCK_FILE).open("ab")
    except OSError:
        return None  # a read-only file system: nothing will prune it either
    try:
        fcntl.flock(f, fcntl.LOCK_SH)
    except OSError:
        f.close()
        return None
    return f


#: the loader lock is taken once per process (flock conflicts between two open files of one process too);
#: a load inside :func:`open_store` runs within the lock that call already holds
_loader_guard = threading.RLock()
_loader_depth = 0


@contextlib.contextmanager
def _loader_lock(root: Path) -> Iterator[None]:
    """The exclusive loader lock of the store path ``root`` (a flock of the folder), waited for."""
    global _loader_depth
    with _loader_guard:
        if _loader_depth:
            _loader_depth += 1
            try:
                yield
            finally:
                _loader_depth -= 1
            return
        root.mkdir(parents=True, exist_ok=True)
        # the folder itself is locked (flock works on a directory): no file of ours beside the stores
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd is closed, also if this process dies
            _loader_depth = 1
            try:
                yield
            finally:
                _loader_depth = 0
        finally:
            os.close(fd)


def _expected_quads(path: Path) -> int | None:
    try:
        return int(json.loads((path / LOAD_RECORD).read_text(encoding="utf-8"))["quads"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _open(path: Path, release: Release, *, read_only: bool) -> LoadedStore:
    """Open and check one store directory.

    Raises:
        StoreError: it cannot be opened, or it does not hold what was loaded into it.
    """
    if not (path / "CURRENT").is_file():  # RocksDB's own: without it, a writable open would make an empty store
        raise StoreError(f"{path}: the store is damaged (its CURRENT file is missing); `cpbkg serve` loads it "
                         "again from dist/ (or remove the folder)")
    lock = _lock(path)
    try:
        store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
        count = len(store)  # reads every quad of one index: a damaged file shows up here
    except (OSError, RuntimeError, ValueError) as exc:
        if lock is not None:
            lock.close()
        raise StoreError(f"{path}: the store cannot be read ({' '.join(str(exc).split())[:300]}); "
                         "`cpbkg serve` loads it again from dist/ (or remove the folder)") from exc
    expected = _expected_quads(path)
    if (expected is None and count == 0) or (expected is not None and count != expected):
        if lock is not None:
            lock.close()
        raise StoreError(f"{path}: the store is damaged: it holds {count} quads where {expected or 'some'} were loaded; "
                         "`cpbkg serve` loads it again from dist/ (or remove the folder)")
    return LoadedStore(store, path, release, lock=lock)


def _bulk_load(target: Path, dataset: Path, void: Path, void_graph: str) -> None:
    store = ox.Store(str(target))
    try:
        store.bulk_load(path=str(dataset), format=ox.RdfFormat.TRIG)
        if void.is_file():
            # the VoID description is written after the dumps (it holds their checksums),
            # so it is not inside cpbkg.trig; the store serves it as a graph of its own
            store.bulk_load(path=str(void), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(void_graph))
        store.optimize()
        quads = len(store)
    finally:
        del store
    (target / LOAD_RECORD).write_text(json.dumps({"data_hash": dataset_hash(dataset.parent), "quads": quads}) + "\n",
                                      encoding="utf-8")


def dataset_hash(dist_dir: Path) -> str | None:
    try:
        return str(json.loads((dist_dir / RELEASE_FILE).read_text(encoding="utf-8"))["data_hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def open_store(settings: Settings, *, read_only: bool = False) -> LoadedStore:
    """Open the store for the build in ``settings.dist_dir``; unless ``read_only``, load it first
    if it is missing or damaged.

    The store is always handed out opened read-only: nothing writes through it, and a writable
    RocksDB handle goes on compacting in the background, so that a read-only open elsewhere (a
    query worker) could find a file of the store gone (seen in test_reliability_faults).

    Raises:
        StoreError: no build, or the store cannot be opened or loaded.
    """
    release = Release.read(settings.dist_dir)
    root = settings.store_path
    name = release.data_version
    if read_only:
        if _current_name(root) != name or not (root / name).is_dir():
            raise StoreError(f"{root}: no store loaded for build {name}; `cpbkg serve` or `cpbkg query` loads it")
        return _open(root / name, release, read_only=True)
    with _loader_lock(root):  # one loader at a time: replicas started together wait here, then find it loaded
        if _current_name(root) != name or not (root / name).is_dir():
            load(settings, release)
        _check_or_reload(settings, release, root / name)
        # opened (and its shared lock taken) before the loader lock is let go: no load between can prune it
        return _open(root / name, release, read_only=True)


def _check_or_reload(settings: Settings, release: Release, path: Path) -> None:
    """Check the store (under the loader lock) and load it again if damaged: opened writable once when no
    process serves it (RocksDB recovers what it can), read-only when one does (it holds the writer's
    place for nobody, but a writable open would compact files its query workers read)."""
    try:
        if _in_use(path):
            _open(path, release, read_only=True).close()
        else:
            _open(path, release, read_only=False).close()
        return
    except StoreError as exc:
        if "lock" in str(exc).lower():  # in use by another writer: not damage
            raise
        log.warning("%s; loading it again from %s", exc, settings.dist_dir)
    load(settings, release)


def open_new_build(settings: Settings, release: Release, *, force: bool = False) -> LoadedStore:
    """The store of ``release`` (the build now in ``dist/``) for a server that goes on serving another
    one meanwhile (``POST /admin/reload``): loaded into a new directory unless it is the current one
    already (``force``: load it anyway), opened read-only, and loaded once more if it is damaged.

    Raises:
        StoreError: it could not be loaded or opened (the store being served is not touched).
    """
    root = settings.store_path
    name = release.data_version
    if force or _current_name(root) != name or not (root / name).is_dir():
        load(settings, release)
    try:
        return open_store(settings, read_only=True)
    except StoreError as exc:
        log.warning("%s; loading it again", exc)
        load(settings, release)
        return open_store(settings, read_only=True)


def load(settings: Settings, release: Release | None = None) -> Path:
    """Load ``dist/cpbkg.trig`` into a new store directory and make it current (under the loader lock)."""
    release = release or Release.read(settings.dist_dir)
    dataset = settings.dist_dir / DATASET_FILE
    if not dataset.is_file():
        raise StoreError(f"{dataset}: missing; run `cpbkg build`")
    with _loader_lock(settings.store_path):
        return _load(settings, release, dataset)


def _load(settings: Settings, release: Release, dataset: Path) -> Path:
    root = settings.store_path
    name = release.data_version
    tmp = root / f"{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _bulk_load(tmp, dataset, settings.dist_dir / "void.ttl", release.base_uri + "graph/dataset")
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StoreError(f"{dataset}: cannot load into the store ({exc})") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = root / name
    if final.exists():
        # a damaged store of the same build, maybe still open somewhere: set it aside (pruned below once free)
        os.replace(final, root / f"{name}.old-{os.getpid()}-{time.monotonic_ns()}")
    os.replace(tmp, final)
    _write_current(root, name)
    _prune(root, keep=name)
    return final
