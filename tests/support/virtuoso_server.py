"""A real Virtuoso (Debian's ``virtuoso-opensource``) on free loopback ports, with a throw-away database.

``virtuoso-t -f -c DIR/virtuoso.ini``: the database, its logs and the ini file all live in ``DIR``
(a ``tmp_path``); SQL and HTTP listen on 127.0.0.1 only, on free ports. The new database's
administrator is ``dba`` with password ``dba`` (:data:`AUTH`): fine for a database that lives as
long as a test. Started, polled until ``/sparql`` answers, stopped (SIGTERM, then SIGKILL) after.

    from support.virtuoso_server import VirtuosoServer, virtuoso_executable

    with VirtuosoServer(tmp_path / "virtuoso") as server:
        httpx.get(server.url + "/sparql", params={"query": "ASK {}"})
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
from support.oxigraph_server import free_port
from support.replicas import stop_session

from bench.servers import virtuoso_ini

STARTUP_SECONDS = 120.0
#: the administrator of a new database (user:password), for ``CPBKG_REMOTE_AUTH``
AUTH = "dba:dba"


def virtuoso_executable() -> str | None:
    return shutil.which("virtuoso-t")


class VirtuosoServer:
    """One ``virtuoso-t`` process; ``url`` is its HTTP base (``/sparql``, ``/sparql-auth``, ...)."""

    def __init__(self, folder: Path) -> None:
        exe = virtuoso_executable()
        if exe is None:
            raise RuntimeError("virtuoso-t is not installed (apt-get install virtuoso-opensource)")
        self.executable = exe
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VirtuosoServer:
        last = ""
        for _attempt in range(3):
            shutil.rmtree(self.folder, ignore_errors=True)
            (self.folder / "vsp").mkdir(parents=True)
            self.port = free_port()
            ini = self.folder / "virtuoso.ini"
            ini.write_text(virtuoso_ini(self.folder, free_port(), self.port), encoding="utf-8")
            with (self.folder / "stdout.log").open("wb") as out:
                self.process = subprocess.Popen([self.executable, "-f", "-c", str(ini)], cwd=self.folder,
                                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True)
            if self._wait_ready():
                return self
            last = self.log()
            self.stop()
        raise RuntimeError(f"virtuoso-t did not start: {last[-2000:]}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                r = httpx.get(self.url + "/sparql", params={"query": "ASK {}"}, timeout=5,
                              headers={"Accept": "application/sparql-results+json"})
                if r.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        return False

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.folder / "stdout.log", self.folder / "virtuoso.log")
                       if p.exists())

    def stop(self) -> None:
        stop_session(self.process, signal.SIGTERM, 30)

    def __enter__(self) -> VirtuosoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
