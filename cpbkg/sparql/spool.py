"""Answers of slow readers spooled to disk, so that a worker is free once its answer is written.

With back-pressure alone (:class:`cpbkg.sparql.pool.AnswerStream`), a client that reads slowly
holds its worker for as long as it reads: twenty clients that each read a 40 MB answer slowly
hold every worker, and everyone else waits (issue 20). So an answer that goes on past what the
pool reads ahead is drained from its worker at full speed into a temporary file (unlinked from
the start: nothing is left behind, whatever happens), and the client reads it from there; the
worker is free at the answer's end. The files of one pool together stay within a byte budget
(:class:`SpoolBudget`, ``Settings.spool_mb``); an answer that would pass it, or meet a full
disk, stops spooling and the rest goes on with back-pressure, as it did before.

The bytes on disk sit in the kernel's page cache, not in the server's heap: the server holds a
socket and a file per slow reader, never the answer.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cpbkg.errors import CpbkgError, QueryTimeout
from cpbkg.sparql.execute import CHUNK_BYTES, Job

if TYPE_CHECKING:
    from cpbkg.sparql.pool import AnswerStream

#: seconds past an answer's ``ends_by`` a reader waits for its drain before giving up on it
_GRACE = 10.0


class SpoolBudget:
    """Bytes that the spooled answers of one pool may hold on disk, all together (thread-safe)."""

    def __init__(self, total: int) -> None:
        self.total = max(0, int(total))
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (and nothing reserved) if that would pass the budget."""
        with self._lock:
            if self.used + size > self.total:
                return False
            self.used += size
            return True

    def give(self, size: int) -> None:
        """Return ``size`` reserved bytes (a spooled answer was closed)."""
        with self._lock:
            self.used = max(0, self.used - size)


class Spool:
    """The rest of an answer, drained from its worker into a file by a thread of its own, read by
    the client at its pace: :meth:`read` chunk by chunk, then :meth:`close` (as an AnswerStream).

    An error of the answer (a timeout, a crash, the byte cap) is raised at the reader's position,
    after the bytes that came before it. Once the budget is spent (or the disk is full), the drain
    hands the stream over: the reader takes what the file holds, then reads the worker itself.
    Not thread-safe for readers: one reader at a time (the drain thread is the only other party).
    """

    def __init__(self, source: AnswerStream, budget: SpoolBudget) -> None:
        self._source = source
        self._budget = budget
        self.job: Job = source.job
        self.ends_by = source.ends_by
        #: bytes handed to the reader so far
        self.size = source.size
        # closed by _dispose, when both the drain and the reader are done with it
        self._file = tempfile.TemporaryFile(prefix="cpbkg-answer-")  # noqa: SIM115
        self._written = 0
        self._offset = 0
        self._cond = threading.Condition()
        self._finished = False  # the drain read the whole answer
        self._error: CpbkgError | None = None
        self._handed: bytes | None = None  # the drain stopped: the chunk it could not write, the rest to read
        self._draining = True
        self._closed = False
        threading.Thread(target=self._drain, name="cpbkg-spool", daemon=True).start()

    # ------------------------------------------------------------------ the drain thread

    def _drain(self) -> None:
        source = self._source
        try:
            while not self._closed:
                chunk = source.read()
                if chunk is None:
                    self._settle(finished=True)
                    return
                if not self._write(chunk):
                    self._settle(handed=chunk)
                    return
        except CpbkgError as exc:
            self._settle(error=exc)
        except BaseException as exc:  # never leave the reader waiting
            self._settle(error=CpbkgError(f"the answer could not be spooled ({exc})"))
            raise
        finally:
            with self._cond:
                self._draining = False
                closed = self._closed
                self._cond.notify_all()
            if closed:
                if self._handed is not None or not (self._finished or self._error):
                    source.close()
                self._dispose()

    def _write(self, chunk: bytes) -> bool:
        """Append a chunk to the file; False if the budget (or the disk) has no room for it."""
        if not self._budget.take(len(chunk)):
            return False
        try:
            os.pwrite(self._file.fileno(), chunk, self._written)
        except OSError:  # the disk is full: back-pressure from here on
            self._budget.give(len(chunk))
            return False
        with self._cond:
            self._written += len(chunk)
            self._cond.notify_all()
        return True

    def _settle(self, *, finished: bool = False, error: CpbkgError | None = None, handed: bytes | None = None) -> None:
        with self._cond:
            self._finished = finished
            self._error = error
            self._handed = handed
            self._cond.notify_all()

    # ------------------------------------------------------------------ the reader

    def when_free(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the answer's worker is free (at once, here, if it already is)."""
        self._source.when_free(callback)

    def waited(self, seconds: float) -> None:
        """The reader kept the answer waiting: the worker's time only once it is the reader's to read."""
        if self._handed is not None and not self._draining:
            self._source.waited(seconds)

    def read(self) -> bytes | None:
        """The next chunk of the answer; None once it is whole.

        Raises:
            CpbkgError: the answer's error (as :meth:`AnswerStream.read`), after the bytes before it.
        """
        with self._cond:
            while True:
                if self._offset < self._written:
                    start, size = self._offset, min(CHUNK_BYTES, self._written - self._offset)
                    break
                if self._error is not None:
                    raise self._error
                if self._finished:
                    return None
                if self._handed is not None and not self._draining:
                    return self._read_source()
                left = self.ends_by + _GRACE - time.monotonic()
                if left <= 0:
                    raise QueryTimeout("the answer was not whole in time")
                self._cond.wait(left)
        chunk = os.pread(self._file.fileno(), size, start)
        self._offset += len(chunk)
        self.size += len(chunk)
        return chunk

    def _read_source(self) -> bytes | None:
        """After the hand-over: the chunk the drain could not write, then the worker's next ones."""
        chunk: bytes | None = self._handed
        if chunk:
            self._handed = b""
        else:
            chunk = self._source.read()
        if chunk is not None:
            self.size += len(chunk)
        return chunk

    def close(self) -> None:
        """Stop the answer if it is not whole yet, and free its file and budget (idempotent)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            draining = self._draining
        if draining:
            return  # the drain thread stops the answer and frees the file when it sees the flag
        if self._handed is not None:
            self._source.close()
        self._dispose()

    def _dispose(self) -> None:
        self._file.close()
        self._budget.give(self._written)
