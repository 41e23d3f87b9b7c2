"""Real processes for the scale-out tests: ``cpbkg serve`` replicas and Debian's nginx in front of them.

* :func:`servable_dist` -- a copy of a build that ``cpbkg serve`` serves as it is (never rebuilds);
* :class:`Replica` -- one ``cpbkg serve`` on a free loopback port, in a session of its own;
  :meth:`Replica.terminate` sends SIGTERM (a drain), :meth:`Replica.worker_pids` names its query
  workers (to kill them), :meth:`Replica.stop` stops it whatever state it is in;
* :class:`Nginx` -- ``nginx -c CONF -p PREFIX -g 'daemon off;'`` with the configuration of
  :func:`cpbkg.web.proxy.nginx_conf` (``cpbkg nginx-conf``, the one docs/operations.md shows), on a free loopback port.

Every process listens on 127.0.0.1 only and is stopped by the ``with`` block (or ``stop()``) that
started it, also when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.oxigraph_server import free_port

from bench.servers import children, nginx_executable
from cpbkg.web.proxy import nginx_conf

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120.0


def servable_dist(src: Path, dst: Path) -> Path:
    """Copy the build ``src`` to ``dst``, its release.json dated later than any source, so that
    ``cpbkg serve`` serves it as it is (other engineers edit the sources meanwhile: an older
    release.json would make ``serve`` build anew, minutes on this machine)."""
    shutil.copytree(src, dst)
    later = time.time() + 7 * 24 * 3600
    os.utime(dst / "release.json", (later, later))
    return dst


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def stop_session(process: subprocess.Popen[bytes] | None, first: signal.Signals, timeout: float) -> None:
    """Stop ``process`` (started with ``start_new_session``): ``first`` (its graceful stop), at most
    ``timeout`` s, then SIGKILL to its whole session (children it left behind included)."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=timeout)


class Replica:
    """One ``cpbkg serve`` process on ``dist``/``store`` (started by :meth:`start`, or use ``with``)."""

    def __init__(self, dist: Path, store: Path, log: Path, *, workers: int = 1, extra: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        self.dist, self.store, self.log = dist, store, log
        self.env = {**child_env(), **(env or {})}
        self.workers = workers
        self.extra = extra
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> Replica:
        """Start the process (without waiting for it: :meth:`wait_ready`); started again, on the same port."""
        self.port = self.port or free_port()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cpbkg", "serve", "--dist", str(self.dist), "--store", str(self.store),
                 "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers), *self.extra],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True)
        return self

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> Replica:
        """Wait until ``/health`` answers 200. Raises RuntimeError (with the log) if it exits or times out."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cpbkg serve exited with {self.process.returncode}: {self.tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"cpbkg serve not ready within {timeout:g} s: {self.tail()}")

    def start(self) -> Replica:
        return self.launch().wait_ready()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def worker_pids(self) -> list[int]:
        """The query workers' process ids (the children of the server process)."""
        assert self.process is not None
        return children(self.process.pid)

    def terminate(self) -> None:
        """SIGTERM to the server process only (its workers are its to stop): a drain."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop it and its workers, whatever state it is in (SIGTERM, then SIGKILL of its session)."""
        stop_session(self.process, signal.SIGTERM, 30)

    def __enter__(self) -> Replica:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Nginx:
    """Debian's nginx in front of ``upstreams``, on a free port of 127.0.0.1, files under ``prefix``."""

    def __init__(self, prefix: Path, upstreams: list[str]) -> None:
        exe = nginx_executable()
        if exe is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx; .ci/install --test does)")
        self.executable = exe
        self.prefix = prefix
        self.upstreams = upstreams
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            conf = self.prefix / "nginx.conf"
            conf.write_text(nginx_conf(f"127.0.0.1:{self.port}", self.upstreams, self.prefix), encoding="utf-8")
            with (self.prefix / "stderr.log").open("wb") as out:
                self.process = subprocess.Popen(
                    [self.executable, "-c", str(conf), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                     "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    httpx.get(self.url + "/health", timeout=5)
                    return self
                except httpx.HTTPError:
                    time.sleep(0.1)
            last = (self.prefix / "stderr.log").read_text(errors="replace") + self.error_log()
            self.stop()
        raise RuntimeError(f"nginx did not start: {last[-2000:]}")

    def answered_by(self, port: int) -> int:
        """How many requests the replica on ``port`` answered (its status was the final one)."""
        path = self.prefix / "access.log"
        if not path.exists():
            return 0
        lines = path.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if line.partition(" upstream=")[2].split(" ")[0].split(", ")[-1]
                   == f"127.0.0.1:{port}")

    def retried(self) -> int:
        """How many requests nginx passed to a second replica (``$upstream_status`` lists two or more)."""
        path = self.prefix / "access.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return sum(1 for line in text.splitlines() if ", " in line.partition(" statuses=")[2])

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_session(self.process, signal.SIGQUIT, 15)  # SIGQUIT: nginx's graceful stop; its workers follow

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
