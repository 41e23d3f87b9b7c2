"""The worker processes that run queries: timeout by kill, heap cap, no network; answers streamed back.

The server and a worker speak in frames (a 4-byte length, then the bytes) over the worker's
stdin and stdout. The server sends a job (JSON) and, to stop an answer it no longer wants, the
frame :data:`_CANCEL`. The worker answers each job with frames that start with a tag byte:
``H`` and the kind and format of the answer (JSON), sent with the first chunk of the answer or
at its end; ``D`` and a chunk of the answer (:data:`cpbkg.sparql.execute.CHUNK_BYTES`); ``E`` and
how it ended (JSON: ``ok``, or the error). An error before any chunk comes before ``H``: the
client still gets its status.

**Back-pressure.** The worker writes each chunk into its pipe and blocks while the pipe is full;
the server reads a chunk only when its client has taken the one before
(:class:`AnswerStream`). So a slow reader holds a socket, a worker and a pipe's worth of bytes,
never the answer; the timeout still counts, and stops the worker mid-stream. A pool with a spool
budget drains an answer longer than :data:`SPOOL_BYTES` to disk instead (:mod:`cpbkg.sparql.spool`),
so that a slow reader does not hold the worker either; back-pressure takes over past the budget.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from cpbkg import errors
from cpbkg.errors import (
    CpbkgError,
    EngineFailed,
    QueryTimeout,
    QueryTooComplex,
    ServerBusy,
    StoreError,
    WorkerCrashed,
)
from cpbkg.sparql.execute import (
    CHUNK_BYTES,
    Answer,
    BoundedWriter,
    Job,
    Stopped,
    answer_format,
    run_query,
    serialize_answer,
    write_answer,
)
from cpbkg.sparql.spool import Spool, SpoolBudget

log = logging.getLogger(__name__)

_FRAME = struct.Struct(">I")
#: seconds a worker gives itself past the job's timeout before it exits on its own
_SELF_KILL_GRACE = 5.0
_WORKER_BOOT = "from cpbkg.sparql.pool import worker_main; worker_main()"
#: the frame that tells a worker to stop the answer it is writing
_CANCEL = b"cancel"
#: bytes of an answer :meth:`QueryPool.run` reads before it hands the answer on with the rest to come
SPOOL_BYTES = 4 << 20
#: seconds a stopped answer may take to end before its worker is killed instead
DRAIN_SECONDS = 5.0
#: an answer, however slowly its client reads, is whole within this many times the job's timeout
STREAM_FACTOR = 10
#: bytes of frames a worker holds before it writes them (an answer's last ones go with its end)
_FLUSH_BYTES = 64 << 10
#: bytes of an answer :meth:`QueryPool.run_async` reads on the event loop; a longer one goes on in a thread
LOOP_BYTES = 256 << 10
#: what runs a blocking call in a thread for the event loop (the app's: anyio, with its thread limiter,
#: which waits for the call when cancelled: an answer read in a thread is returned, never dropped)
InThread = Callable[[Callable[[], Answer]], Awaitable[Answer]]
#: the longest job frame the event loop writes (an idle worker's empty pipe takes it without waiting)
_LOOP_JOB_BYTES = 16 << 10


def _write_frame(fd: int, data: bytes) -> None:
    _write_all(fd, _FRAME.pack(len(data)) + data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
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


def _data_mb() -> int:
    """This process's data segment in MiB (``VmData``: what RLIMIT_DATA counts); 0 where unknown."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) >> 10
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Heap:
    """A worker's heap cap: the ceiling (``memory_mb``), and within it the worker's share of the
    query budget (``query_mb``) above what it holds with its store open.

    The share is what bounds the workers together: two workers that each evaluate a 150 MB value
    (761 MB of peak RSS each, measured) would pass a budget of 1 GiB over idle. While the worker
    copies its store into memory (in a thread, answering from disk meanwhile) the cap leaves room
    for the copy too (``copy_mb``); between the first two jobs after the copy it is set again,
    from the size the worker has then.
    """

    def __init__(self, ceiling_mb: int, share_mb: int) -> None:
        self.ceiling_mb = ceiling_mb
        self.share_mb = share_mb
        self.final = False

    def limit(self, room_mb: int = 0, *, final: bool = True) -> None:
        """Cap the heap at its size now + the share + ``room_mb`` (and at most the ceiling)."""
        self.final = final
        size = _data_mb() if self.share_mb > 0 else 0
        if size <= 0:
            _limit_memory(self.ceiling_mb)
            return
        cap = size + self.share_mb + room_mb
        _limit_memory(min(cap, self.ceiling_mb) if self.ceiling_mb > 0 else cap)


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
        #: the copy is under way (the heap cap leaves room for it)
        self.copying = False

    def copy_into_memory(self) -> None:
        """Make the in-memory copy (run in a thread: the worker answers from disk meanwhile)."""
        try:
            memory = _into_memory(self.store)
        except Exception as exc:
            print(f"cpbkg query worker {os.getpid()}: no in-memory copy of the store ({exc}); "
                  "querying it on disk", file=sys.stderr)
            return
        finally:
            self.copying = False
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
    heap = _Heap(int(config.get("memory_mb") or 0), int(config.get("query_mb") or 0))
    _limit_memory(heap.ceiling_mb)
    deadline = [0.0]

    def watchdog() -> None:
        while True:
            time.sleep(0.25)
            if deadline[0] and time.monotonic() > deadline[0]:
                os._exit(70)

    threading.Thread(target=watchdog, daemon=True, name="cpbkg-watchdog").start()
    try:
        store = _WorkerStore(ox.Store.read_only(config["store"]))
    except Exception as exc:
        _write_frame(out, json.dumps({"ready": False, "error": f"{config['store']}: cannot open the store ({exc})"})
                     .encode())
        return
    prefixes = config.get("prefixes") or None
    if config.get("in_memory"):
        store.copying = True
        heap.limit(int(config.get("copy_mb") or 0), final=False)
        threading.Thread(target=store.copy_into_memory, daemon=True, name="cpbkg-memory-copy").start()
    else:
        heap.limit()
    _write_frame(out, json.dumps({"ready": True, "isolated": isolated, "pid": os.getpid()}).encode())
    while True:
        try:
            frame = _read_frame(inp)
        except EOFError:
            return  # the server is gone
        if frame == _CANCEL:
            continue  # for an answer that had ended when the server stopped it
        if not (heap.final or store.copying):
            heap.limit()  # between jobs: the worker's size is its store's (and the copy's, now whole)
        sink: _FrameSink | None = None
        try:
            job = Job.decode(frame)
            deadline[0] = time.monotonic() + job.timeout + _SELF_KILL_GRACE
            result = run_query(store.store, job)
            kind, fmt = answer_format(result, job)

            def writing(blocked: bool, timeout: float = job.timeout) -> None:
                # waiting on a full pipe is not computing (the server counts only that); a server
                # gone closes the pipe, and the write fails
                deadline[0] = 0.0 if blocked else time.monotonic() + timeout + _SELF_KILL_GRACE

            sink = _FrameSink(out, inp, {"kind": kind, "format": fmt}, writing)
            if job.cap:  # a row cap: counted on the whole answer, refused before any byte
                body = serialize_answer(result, job, prefixes).body
                for start in range(0, len(body), CHUNK_BYTES):
                    sink(body[start:start + CHUNK_BYTES])
            else:
                write_answer(result, fmt, BoundedWriter(sink, job.max_bytes), prefixes)
            del result
            sink.start()
            end: dict[str, object] = {"ok": True}
        except Stopped:
            end = {"ok": False, "error": "Stopped", "message": "the server stopped the answer"}
        except CpbkgError as exc:
            end = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
        except MemoryError as exc:  # a serialiser's own bound (a 17 MB value as Turtle): the answer's, not ours
            end = {"ok": False, "error": "QueryFailed", "message": f"the answer could not be serialised: {exc}"}
        except Exception as exc:
            end = {"ok": False, "error": "CpbkgError", "message": f"internal error: {type(exc).__name__}: {exc}"}
        except BaseException as exc:  # a panic the engine unwinds as pyo3's PanicException (not an Exception)
            if type(exc).__name__ != "PanicException":
                raise
            end = {"ok": False, "error": "EngineFailed", "message": _engine_failed(str(exc))}
        deadline[0] = 0.0
        end["memory_quads"] = store.memory_quads
        last = b"E" + json.dumps(end).encode()
        if sink is None:
            _write_frame(out, last)
        else:
            sink.end(last)


class _FrameSink:
    """Sends an answer's chunks to the server (:class:`~cpbkg.sparql.execute.BoundedWriter`'s sink):
    the ``H`` frame before the first, and a look for a cancel frame before each (raising Stopped).

    Frames are held until they pass :data:`_FLUSH_BYTES` and written together, and the last ones with
    the ``E`` frame (:meth:`end`): a small answer reaches the server in one write, which wakes it
    once, not once a frame (issue 14: the round trip was 18 % of an uncached lookup).
    """

    def __init__(self, out: int, inp: int, header: dict[str, object], writing: Callable[[bool], None]) -> None:
        self.out = out
        self.inp = inp
        self.header = json.dumps(header).encode()
        self.started = False
        #: called with True before frames are written (the write may wait for the server), False after
        self.writing = writing
        self._held: list[bytes] = []
        self._size = 0

    def _frame(self, data: bytes) -> None:
        self._held += (_FRAME.pack(len(data)), data)
        self._size += len(data) + _FRAME.size

    def start(self) -> None:
        if not self.started:
            self.started = True
            self._frame(b"H" + self.header)

    def __call__(self, chunk: bytes) -> None:
        readable, _, _ = select.select([self.inp], [], [], 0)
        if readable and _read_frame(self.inp) == _CANCEL:
            raise Stopped()
        self.start()
        self._frame(b"D" + chunk)
        if self._size >= _FLUSH_BYTES:
            self.writing(True)
            self._flush()
            self.writing(False)

    def _flush(self) -> None:
        held, self._held, self._size = self._held, [], 0
        if held:
            _write_all(self.out, b"".join(held))

    def end(self, frame: bytes) -> None:
        """Write what is held and then the ``E`` frame."""
        self._frame(frame)
        self._flush()


class _Timeout(Exception):
    pass


class _StderrRelay:
    """Copies a worker's stderr to the server's, line by line, and keeps an engine panic's message.

    A Rust panic in the engine aborts the worker (SIGABRT, as an allocation over its heap cap
    does); only the panic message on stderr tells the two apart (:meth:`panic`).
    """

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        #: the panic's first lines ("thread ... panicked at FILE:", then the message)
        self._panic: list[str] = []
        self._thread = threading.Thread(target=self._relay, daemon=True, name="cpbkg-worker-stderr")
        self._thread.start()

    def _relay(self) -> None:
        for raw in iter(self._pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            if 0 < len(self._panic) < 2 or " panicked at " in line:
                self._panic.append(line.strip())
            try:
                sys.stderr.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):  # the server's stderr is closed
                pass

    def panic(self, wait: float = 2.0) -> str | None:
        """The engine's panic message, once the dead worker's stderr is read to its end (else None)."""
        self._thread.join(wait)
        lines = self._panic[1:] or self._panic
        return lines[0] if lines else None


def child_env() -> dict[str, str]:
    """The environment of a child process of the server: this one's, with this package first on
    ``PYTHONPATH`` (the child runs ``python -c``, and must import the same ``cpbkg``)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class _Worker:
    """The server's side of one worker process."""

    def __init__(self, config: bytes) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                     close_fds=True, env=child_env())
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.stderr = _StderrRelay(self.proc.stderr)
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.ready = False
        self.isolated = False
        #: quads of the worker's in-memory copy of the store, as of its last answer (None: on disk so far)
        self.memory_quads: int | None = None
        #: frames the event loop read (:class:`_LoopRead`) and the bytes after them: read before the pipe
        self.frames: collections.deque[bytes] = collections.deque()
        self.pending = b""
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

    def send(self, frame: bytes) -> None:
        _write_frame(self.wfd, frame)

    def read(self, timeout: float) -> bytes:
        """The next frame, waiting at most ``timeout`` seconds for it to start (else _Timeout)."""
        if self.frames:
            return self.frames.popleft()
        if not self.pending:
            self._wait(timeout)
        (size,) = _FRAME.unpack(self._take(_FRAME.size))
        return self._take(size)

    def _take(self, size: int) -> bytes:
        if not self.pending:
            return _read_exact(self.rfd, size)
        part, self.pending = self.pending[:size], self.pending[size:]
        return part if len(part) == size else part + _read_exact(self.rfd, size - len(part))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):  # stderr: its relay reads it to the end
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


class _LoopRead:
    """Reads a worker's frames on the event loop (no thread) into :attr:`_Worker.frames`, until the
    answer ends (its ``E`` frame), passes ``limit`` bytes, the pipe closes or ``seconds`` pass;
    then :attr:`over` is done. What follows is the thread's (:meth:`QueryPool.run_async`)."""

    def __init__(self, worker: _Worker, limit: int, seconds: float) -> None:
        self.worker = worker
        self.limit = limit
        self.size = 0
        #: True once the answer's E frame is in
        self.ended = False
        #: True once :meth:`stop` has run (not ``over.done()``: a cancelled task cancels ``over`` itself)
        self.stopped = False
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()
        self.over: asyncio.Future[None] = self._loop.create_future()
        self._timer = self._loop.call_later(max(seconds, 0.0), self.stop)
        self._loop.add_reader(worker.rfd, self._readable)

    def _readable(self) -> None:
        if self.stopped:
            return
        try:
            data = os.read(self.worker.rfd, 1 << 18)  # readable: does not block
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the worker died: the thread finds the end of the pipe again, and says why
            self.stop()
            return
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buffer)
            if len(buffer) < _FRAME.size + size:
                break
            frame = bytes(buffer[_FRAME.size:_FRAME.size + size])
            del buffer[:_FRAME.size + size]
            self.worker.frames.append(frame)
            self.size += size
            if frame[:1] == b"E":
                self.ended = True
                break
        if self.ended or self.size > self.limit:
            self.stop()

    def stop(self) -> None:
        """Stop reading (idempotent): the bytes of a frame begun go back to the worker.

        Also once ``over`` was cancelled (the task awaiting it was): a reader left on the pipe
        would take the frames of the answer that the thread stopping it waits for, then, once the
        worker is replaced and its descriptor reused, the new worker's (which then never seemed
        ready: "a query worker did not start within 60 s", bench/ 2026-12-07)."""
        if self.stopped:
            return
        self.stopped = True
        self._timer.cancel()
        with contextlib.suppress(OSError, ValueError):  # a pipe the pool closed meanwhile (shut down)
            self._loop.remove_reader(self.worker.rfd)
            # uvloop made the pipe non-blocking; the thread that reads on waits for its bytes
            os.set_blocking(self.worker.rfd, True)
        self.worker.pending = bytes(self._buffer)
        if not self.over.done():
            self.over.set_result(None)


class AnswerStream:
    """The answer of one job as its worker writes it: :meth:`read` it chunk by chunk, then :meth:`close`.

    Two clocks bound it. The job's timeout counts the time the worker computes: from the job's
    start, less the time the answer waited for its client to take a chunk (:meth:`waited`; the
    worker is blocked on its pipe meanwhile); a chunk not there in time has the worker killed
    (:class:`~cpbkg.errors.QueryTimeout`). And the whole answer ends within
    :data:`STREAM_FACTOR` times the timeout (:attr:`ends_by`), however slowly its client reads.
    :meth:`close` before the end stops the answer (the worker gets :data:`_CANCEL`, its last frames
    are drained) and keeps the worker; one that does not stop in time is killed. Not thread-safe:
    one caller at a time.
    """

    def __init__(self, pool: QueryPool, worker: _Worker, job: Job) -> None:
        self._pool = pool
        self._worker = worker
        self.job = job
        started = time.monotonic()
        #: when the worker's time is up (moved on by the time spent waiting for the client)
        self.deadline = started + job.timeout
        #: when the answer must be whole, whatever the client
        self.ends_by = started + STREAM_FACTOR * job.timeout
        #: "solutions", "boolean" or "graph", and the format name (from the worker's H frame)
        self.kind = ""
        self.format = ""
        #: bytes read so far
        self.size = 0
        self.done = False
        self._free_lock = threading.Lock()
        self._on_free: list[Callable[[], None]] = []

    def waited(self, seconds: float) -> None:
        """The answer waited ``seconds`` for its client (not counted as the worker's time)."""
        self.deadline += seconds

    def _frame(self) -> bytes:
        try:
            return self._worker.read(min(self.deadline, self.ends_by) - time.monotonic())
        except (_Timeout, OSError, EOFError, ValueError) as exc:
            raise self.failed(exc) from None

    def failed(self, exc: BaseException) -> CpbkgError:
        """End the job after its worker timed out or died (``exc``): the error for the client."""
        worker, job = self._worker, self.job
        if isinstance(exc, _Timeout):
            self._end(keep=False)
            self._pool.killed += 1
            log.warning("query stopped at the %g s timeout (worker %d killed and replaced): %.300s",
                        job.timeout, worker.proc.pid, " ".join(job.text.split()))
            return QueryTimeout(
                f"the query ran longer than {job.timeout:g} s, the limit of this endpoint, and was stopped; "
                "make it more selective (more specific patterns, a LIMIT) or run it on a copy of the dump")
        try:
            status = worker.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            status = None
        self._end(keep=False)
        log.error("query worker %d died (status %s) running: %.300s", worker.proc.pid, status,
                  " ".join(job.text.split()))
        panic = worker.stderr.panic() if status == -signal.SIGABRT else None
        if panic is not None:
            return EngineFailed(_engine_failed(panic))
        if status in _CRASH_SIGNALS:
            return QueryTooComplex(
                "the query crashed the query engine (its worker died of signal "
                f"{signal.Signals(-status).name}): it is too deeply nested or has too long a chain of "
                "operators, UNIONs or OPTIONALs for this endpoint; simplify it")
        pool = self._pool
        limit = (f" (at most {pool.query_mb} MiB above the worker's own size)" if pool.query_mb
                 else f" (at most {pool.memory_mb} MiB)" if pool.memory_mb else "")
        crashed = WorkerCrashed(f"the worker running the query stopped ({exc}, exit status {status}); the query "
                                f"probably needs more memory than this endpoint gives a query{limit}: make it "
                                "more selective")
        # an allocation over the worker's own limit aborts it: the same query will do it again
        crashed.repeatable = status == -signal.SIGABRT  # type: ignore[attr-defined]
        return crashed

    def _end(self, keep: bool) -> None:
        with self._free_lock:
            if self.done:
                return
            self.done = True
            callbacks, self._on_free = self._on_free, []
        try:
            self._pool._release(self._worker, keep)
        finally:
            for callback in callbacks:
                callback()

    def when_free(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the answer's worker is free (at once, here, if it already is; else
        in the thread that frees it)."""
        with self._free_lock:
            if not self.done:
                self._on_free.append(callback)
                return
        callback()

    def _ended(self, frame: bytes) -> None:
        """The worker's E frame: the job is done; raise its error, if any."""
        header = json.loads(frame[1:])
        self._worker.memory_quads = header.get("memory_quads")
        self._end(keep=True)
        if not header.get("ok"):
            raise _rebuild_error(str(header.get("error")), str(header.get("message")))

    def begin(self) -> None:
        """Wait for the answer's first frame (the kind and format), or its error."""
        frame = self._frame()
        if frame[:1] == b"H":
            header = json.loads(frame[1:])
            self.kind, self.format = str(header["kind"]), str(header["format"])
        elif frame[:1] == b"E":
            self._ended(frame)
            raise CpbkgError("the query worker ended the answer before it began")
        else:
            self._end(keep=False)
            raise CpbkgError(f"the query worker sent an unknown frame ({frame[:1]!r})")

    def read(self) -> bytes | None:
        """The next chunk of the answer; None once it is whole.

        Raises:
            QueryTimeout, WorkerCrashed, QueryTooComplex: as :meth:`QueryPool.run`.
            ResultTooLarge: the answer passed ``job.max_bytes``.
        """
        if self.done:
            return None
        frame = self._frame()
        tag = frame[:1]
        if tag == b"D":
            self.size += len(frame) - 1
            return frame[1:]
        if tag == b"E":
            self._ended(frame)
            return None
        self._end(keep=False)
        raise CpbkgError(f"the query worker sent an unknown frame ({tag!r})")

    def spool(self, limit: int, budget: SpoolBudget | None = None) -> Answer:
        """The answer, whole if it ends within ``limit`` bytes, else those with the rest to come: from
        a :class:`~cpbkg.sparql.spool.Spool` on disk if there is a ``budget``, else from this stream."""
        parts: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = self.read()
            if chunk is None:
                return Answer(self.kind, self.format, b"".join(parts))
            parts.append(chunk)
            size += len(chunk)
        rest = Spool(self, budget) if budget is not None and budget.total else self
        return Answer(self.kind, self.format, b"".join(parts), rest=rest)

    def close(self) -> None:
        """Stop the answer if it is not whole yet (idempotent; blocks up to :data:`DRAIN_SECONDS`)."""
        if self.done:
            return
        drain = min(self.deadline, self.ends_by, time.monotonic() + DRAIN_SECONDS)
        try:
            self._worker.send(_CANCEL)
            while True:
                frame = self._worker.read(drain - time.monotonic())
                if frame[:1] == b"E":
                    self._worker.memory_quads = json.loads(frame[1:]).get("memory_quads")
                    self._end(keep=True)
                    return
        except (_Timeout, OSError, EOFError, ValueError):
            self._end(keep=False)


class PoolClosed(StoreError):
    """The pool was closed (shut down, or retired by a reload) before the job could start."""


#: exit signals of a worker that mean the query itself crashed the engine (a stack overflow)
_CRASH_SIGNALS = {-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGILL}


class QueryPool:
    """Worker processes that each hold the store open read-only and run one query at a time.

    Thread-safe: :meth:`run` blocks its calling thread (run it in a thread pool, never on the
    event loop) until a worker is free, the answer is in, or the timeout has passed;
    :meth:`run_async` is the event loop's way in (the server's), which takes a thread only for
    what would block.
    """

    def __init__(self, store_path: Path | str, *, size: int = 2, prefixes: dict[str, str] | None = None,
                 isolate_network: bool = True, memory_mb: int = 0, query_mb: int = 0, copy_mb: int = 0,
                 start_timeout: float = 60.0, in_memory: bool = False, spool_bytes: int = 0) -> None:
        self.size = max(1, int(size))
        self.start_timeout = start_timeout
        #: each worker's heap ceiling, and the share a query may take above the worker's size (MiB, 0: none)
        self.memory_mb = int(memory_mb)
        self.query_mb = int(query_mb)
        #: bytes on disk for the answers of slow readers, all together (0: no spooling, back-pressure only)
        self.spool_budget = SpoolBudget(spool_bytes)
        self._config = json.dumps({"store": str(store_path), "prefixes": prefixes or {},
                                   "isolate": bool(isolate_network), "memory_mb": self.memory_mb,
                                   "query_mb": self.query_mb, "copy_mb": int(copy_mb),
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
        """Run a job on a free worker: its answer, whole, or its first :data:`SPOOL_BYTES` with
        the rest to come (``Answer.rest``, an :class:`AnswerStream` or a
        :class:`~cpbkg.sparql.spool.Spool` the caller reads and must close; the worker is busy until
        the answer is whole or closed: ``Answer.rest.when_free`` tells when).

        Raises:
            QueryTimeout: the job ran past ``job.timeout`` (its worker was killed and replaced).
            ServerBusy: no worker became free within ``job.timeout``.
            WorkerCrashed: the worker died while running the job.
            StoreError: a worker could not open the store.
            QueryError and subclasses: as :func:`~cpbkg.sparql.execute.run_query` and
                :func:`~cpbkg.sparql.execute.write_answer`.
        """
        with self._lock:
            if self._closed:
                raise PoolClosed("the query service is shut down")
            self._active += 1
        try:
            stream = self._open(job)
        except BaseException:
            self._job_done()
            raise
        return stream.spool(SPOOL_BYTES, self.spool_budget)

    async def run_async(self, job: Job, in_thread: InThread) -> Answer:
        """:meth:`run` from the event loop: the same answer and errors, and the same guarantees.

        On an idle worker the event loop itself sends the job and reads the answer (issue 14: the
        hop to a thread and back, and the thread's wait for the GIL, were most of a small answer's
        round trip). Whatever takes longer -- no worker idle yet, an answer over
        :data:`LOOP_BYTES`, the timeout, a worker that dies -- goes on in ``in_thread`` (which runs
        a blocking call in a thread) exactly as :meth:`run` does: the thread kills at the
        timeout, reports a crash, streams or spools a long answer.

        Cancelled (its client went away): an answer the event loop reads is stopped at once
        (:meth:`AnswerStream.close`, in a thread). One a thread reads goes on: anyio's thread is
        waited for, and its answer returned, for the caller to send or close.
        """
        frame = job.encode()
        worker = self._idle_worker() if len(frame) <= _LOOP_JOB_BYTES else None
        if worker is None:
            return await in_thread(lambda: self.run(job))
        stream = AnswerStream(self, worker, job)
        try:
            worker.send(frame)
        except OSError as exc:
            failure = exc
            return await in_thread(lambda: _raise(stream.failed(failure)))
        reading = _LoopRead(worker, LOOP_BYTES, stream.deadline - time.monotonic())
        try:
            await reading.over
        except BaseException:  # cancelled: stop the answer in a thread, which frees the worker
            reading.stop()
            threading.Thread(target=stream.close, daemon=True, name="cpbkg-stop-answer").start()
            raise

        def finish() -> Answer:
            stream.begin()
            return stream.spool(SPOOL_BYTES, self.spool_budget)
        return finish() if reading.ended else await in_thread(finish)

    def _idle_worker(self) -> _Worker | None:
        """An idle, ready, live worker, with its job counted as running (the job's end, as in
        :meth:`run`, counts it done); None if there is none now."""
        with self._lock:
            if self._closed:
                raise PoolClosed("the query service is shut down")
            if not self._started:
                return None
            self._active += 1  # before the worker is taken: a retiring pool waits for this job
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            self._job_done()
            return None
        if not (worker.ready and worker.alive):
            self._idle.put(worker)  # run() waits for it to start, or replaces it
            self._job_done()
            return None
        return worker

    def _job_done(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self._quiet.notify_all()

    def _open(self, job: Job) -> AnswerStream:
        """Send a job to a ready worker; the stream of its answer, once its first frame is in."""
        self.start()
        worker = self._checkout(job.timeout)
        try:
            worker.wait_ready(self.start_timeout)
        except _Timeout:
            self._discard(worker)
            raise StoreError(f"a query worker did not start within {self.start_timeout:g} s") from None
        except (OSError, EOFError, ValueError):
            status = worker.proc.poll()
            self._discard(worker)
            raise StoreError(f"a query worker could not start (exit status {status})") from None
        except BaseException:
            self._discard(worker)
            raise
        stream = AnswerStream(self, worker, job)
        try:
            worker.send(job.encode())
        except OSError as exc:
            raise stream.failed(exc) from None
        stream.begin()
        return stream

    def _release(self, worker: _Worker, keep: bool) -> None:
        """A job's worker is done with it: back to the idle ones, or killed and replaced."""
        try:
            if keep:
                self._idle.put(worker)
            else:
                self._discard(worker)
        finally:
            self._job_done()

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


def _raise(exc: BaseException) -> Answer:
    raise exc


def _engine_failed(panic: str) -> str:
    """What a client is told of a valid query the engine panicked on (its message ``panic``)."""
    return (f"the query engine (Oxigraph {ox.__version__}) failed on this valid query: {panic!r}. "
            "This is a fault of the engine, not of the query: an ORDER BY key that mixes numbers and "
            "strings can do it; sort by ORDER BY STR(?x), or one kind at a time (FILTER(isNumeric(?x)))")


def _rebuild_error(name: str, message: str) -> CpbkgError:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, CpbkgError):
        return cls(message)
    return CpbkgError(message)
