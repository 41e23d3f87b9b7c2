"""Several HTTP processes on one port: ``cpbkg serve --processes N`` (issue 14).

One Python process answers HTTP on one core; a query nobody asked before costs the HTTP layer
most of its time (docs/decisions/0011-speed.md). With ``--processes N`` the ``cpbkg serve`` the
operator started becomes a supervisor: it checks the port, builds and loads the store as one
server would, then starts N server processes. Each is a whole ``cpbkg serve`` (its own query
workers, answer cache, response memo and admission) listening on the same address with
``SO_REUSEPORT``, so the kernel spreads connections over them. The budgets that are the
machine's (``query_memory_mb``, ``spool_mb``, ``cache_bytes``) are split among them
(:func:`share`); per-client limits (``client_queries``) hold per process.

The supervisor waits for signals (``sigtimedwait``: it learns who sent one) and:

* SIGTERM / SIGINT: passes it on (each process drains as a single server does), waits for all
  of them, and exits 0 when they all did;
* SIGUSR2 from a process: it listens and answers (:func:`tell_ready`, once uvicorn has started);
* a process that ends on its own (a crash, SIGKILL) after it was ready is started again; one that
  ends before it was ready failed to start: the others are stopped, and the supervisor exits with
  its code (no crash loop). A process started again opens the build ``dist/`` holds then, which
  may be newer than the others' (``cpbkg build`` without a reload): once it is ready the others
  are told to follow, as after a reload, and those that serve that very store already do nothing;
* SIGUSR1 from a process: it has just served a new build (``POST /admin/reload``); the others get
  SIGUSR1 and follow (:func:`cpbkg.web.routes.admin.follow_build`: they open the build now current
  in the store, which that reload loaded, and swap to it as a reload does). Until each has
  swapped, two builds are served, as by replicas in a rollout (docs/operations.md): every answer
  is of the build its ETag names. A process takes SIGUSR1 once it can follow
  (:func:`follow_when_told`): one sent while it starts waits until then.

A server process dies with its supervisor (``PR_SET_PDEATHSIG``): none is left holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cpbkg.config import QUEUE_PER_WORKER, Settings

#: the environment variable that makes a ``cpbkg serve`` one of a supervisor's processes (its pid)
SUPERVISOR_ENV = "CPBKG_SUPERVISOR"
#: seconds between a crash and the new process (a crash loop stays slow)
RESTART_PAUSE = 1.0
#: what the supervisor waits for; blocked in the supervisor, unblocked in its processes
SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD})
#: "serve the store's current build": a process takes it once it can (:func:`follow_when_told`)
FOLLOW = signal.SIGUSR1
_PR_SET_PDEATHSIG = 1


def supervisor_pid() -> int | None:
    """The supervisor's pid when this process is one of its server processes, else None."""
    value = os.environ.get(SUPERVISOR_ENV, "")
    return int(value) if value.isdigit() else None


def share(settings: Settings) -> Settings:
    """The settings of one of ``settings.processes`` server processes: the machine's budgets split
    among them (each process holds its own workers, spool and cache), and the default admission
    queue the whole server's (8 per worker of every process), not 8 per worker of this one.

    The kernel hashes each new connection to a process, so one process can get most of a client's
    connections: measured at ~1M triples with two processes of one worker, wrk's 16 connections met
    queues of 8, and 8,531 of 10,101 distinct linkage queries got an error answer (2026-12-07).
    A waiting query holds a coroutine and its text, not a worker.

    >>> one = share(Settings(processes=2, query_workers=1, query_queue=0))
    >>> one.query_queue, share(Settings(processes=2, query_workers=1, query_queue=5)).query_queue
    (16, 5)
    """
    n = max(1, settings.processes)
    if n == 1:
        return settings
    return settings.with_(query_memory_mb=settings.query_memory_mb // n, spool_mb=settings.spool_mb // n,
                          cache_bytes=settings.cache_bytes // n,
                          query_queue=settings.query_queue or QUEUE_PER_WORKER * max(1, settings.query_workers) * n)


def _tell(sig: int) -> bool:
    pid = supervisor_pid()
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    return True


def tell_others() -> bool:
    """This process now serves a new build: tell the supervisor, which tells the other processes.
    False when it is not a supervised process (nobody to tell)."""
    return _tell(signal.SIGUSR1)


def tell_ready() -> bool:
    """This process listens and answers: tell the supervisor (a crash from now on is restarted)."""
    return _tell(signal.SIGUSR2)


def _say(line: str) -> None:
    """A line of the supervisor's on standard error (where ``cpbkg serve`` says what it does)."""
    print(f"cpbkg serve: {line}", file=sys.stderr, flush=True)


def follow_when_told(follow: Callable[[], None]) -> None:
    """In a server process: on :data:`FOLLOW` from the supervisor, ``follow`` (run it in a thread:
    the signal handler must return). Until this is called the signal waits, blocked since the process
    started: its default action would end a process told to follow while it opened the store."""
    signal.signal(FOLLOW, lambda sig, frame: follow())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {FOLLOW})


def _in_child() -> None:
    """Run in a new server process before it executes: it takes signals again (:data:`FOLLOW` once it
    can follow), and it dies with the supervisor."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS - {FOLLOW})
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Process:
    number: int
    popen: subprocess.Popen[bytes]
    ready: bool = False
    #: started in place of one that crashed (it may have opened a newer build than the others)
    again: bool = False


class Supervisor:
    """``processes`` copies of ``command`` (a ``cpbkg serve`` of the same arguments), kept running."""

    def __init__(self, command: Sequence[str], processes: int, *, stop_seconds: float) -> None:
        self.command = list(command)
        self.processes = processes
        self.stop_seconds = stop_seconds
        self.running: dict[int, _Process] = {}
        self.stopping = False

    def _start(self, number: int, *, again: bool = False) -> None:
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
        # preexec_fn is safe here: the supervisor runs no other thread
        popen = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL, preexec_fn=_in_child)
        self.running[number] = _Process(number, popen, again=again)
        _say(f"server process {number + 1} of {self.processes}: pid {popen.pid}")

    def run(self) -> int:
        """Start the processes and supervise them until they have all ended; the exit code."""
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            for number in range(self.processes):
                self._start(number)
            return self._loop()
        finally:
            self._kill_all()

    def _loop(self) -> int:
        code = 0
        deadline = float("inf")
        while self.running:
            info = signal.sigtimedwait(SIGNALS, 0.5)
            if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT) and not self.stopping:
                # a terminal's Ctrl-C (sent by the kernel, si_pid 0) reached the processes already
                self._stop(info.si_signo, relay=info.si_pid != 0)
                deadline = time.monotonic() + self.stop_seconds
            elif info is not None and info.si_signo == FOLLOW:
                self._relay(info.si_pid, "serves a new build")
            elif info is not None and info.si_signo == signal.SIGUSR2:
                self._ready(info.si_pid)
            failed = self._reap()
            if failed is not None and not self.stopping:
                code = failed
                self._stop(signal.SIGTERM)
                deadline = time.monotonic() + self.stop_seconds
            if time.monotonic() > deadline:
                _say(f"server processes still running {self.stop_seconds:g} s after the stop: killed")
                self._kill_all()
                code = code or 1
        return code

    def _ready(self, pid: int) -> None:
        """``pid`` listens and answers; if it was started again after a crash, the others follow it."""
        for process in self.running.values():
            if process.popen.pid == pid and not process.ready:
                process.ready = True
                if process.again:
                    self._relay(pid, "was started again and serves the build now in the store")

    def _relay(self, sender: int, why: str) -> None:
        """``sender`` serves the store's current build: the other processes follow."""
        for process in self.running.values():
            if process.popen.pid != sender and process.popen.poll() is None:
                _say(f"server process pid {sender} {why}: pid {process.popen.pid} follows")
                process.popen.send_signal(FOLLOW)

    def _reap(self) -> int | None:
        """Forget the processes that ended; start again those that crashed. The exit code of one that
        failed at start-up (the server then stops), else None."""
        for number, process in list(self.running.items()):
            code = process.popen.poll()
            if code is None:
                continue
            del self.running[number]
            if self.stopping:
                continue
            if not process.ready:
                _say(f"error: server process {number + 1} (pid {process.popen.pid}) ended at start-up with code "
                     f"{code} (its messages are above); stopping")
                return code or 1
            _say(f"server process pid {process.popen.pid} ended with code {code}: starting another")
            time.sleep(RESTART_PAUSE)
            self._start(number, again=True)
        return None

    def _stop(self, sig: int, *, relay: bool = True) -> None:
        self.stopping = True
        for process in self.running.values() if relay else ():
            with contextlib.suppress(ProcessLookupError):
                process.popen.send_signal(sig)

    def _kill_all(self) -> None:
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                process.popen.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=10)
        self.running.clear()
