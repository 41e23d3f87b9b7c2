"""The worker processes that run queries: timeout by kill, heap cap, no network."""


from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cpbkg import errors
from cpbkg.errors import (
    CpbkgError,
    QueryTimeout,
    QueryTooComplex,
    ServerBusy,
    StoreError,
    WorkerCrashed,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config and store import rdflib; a worker process needs neither
    pass
from cpbkg.sparql.execute import Answer, Job, execute

_FRAME = struct.Struct(">I")
#: seconds a worker gives itself past the job's timeout before it exits on its own
_SELF_KILL_GRACE = 5.0
_WORKER_BOOT = "from cpbkg.sparql.pool import worker_main; worker_main()"


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
        root = str(Path(__file__).resolve().parents[2])
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
