"""A real Oxigraph server process on a free loopback port, for tests that need a remote SPARQL store.

``oxigraph serve --location DIR --bind 127.0.0.1:PORT`` (the ``oxigraph`` executable comes with
``pip install oxigraph``, in the ``test`` extra). The server is started, polled until it answers
a query, and stopped at teardown; it binds to 127.0.0.1 only.

Use in a test module (or import the ``oxigraph_server`` fixture into a conftest.py)::

    from support.oxigraph_server import OxigraphServer, running_oxigraph

    @pytest.fixture
    def oxigraph_server(tmp_path: Path) -> Iterator[OxigraphServer]:
        yield from running_oxigraph(tmp_path / "oxigraph")

    def test_something(oxigraph_server: OxigraphServer) -> None:
        httpx.get(oxigraph_server.url + "/query", params={"query": "ASK {}"})
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cpbkg.config import console_command

STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def oxigraph_executable() -> str | None:
    """The ``oxigraph`` command of the pip package: beside this Python (CI runs ``.venv/bin/python``
    without activating the venv, so it is not on PATH there), else on PATH."""
    return console_command("oxigraph")


class OxigraphServer:
    """One ``oxigraph serve`` process; ``url`` is its base (``/query``, ``/update``, ``/store`` below it)."""

    def __init__(self, location: Path, *, executable: str | None = None) -> None:
        exe = executable or oxigraph_executable()
        if exe is None:
            raise RuntimeError("the `oxigraph` executable is not installed (pip install oxigraph)")
        self.executable = exe
        self.location = location
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log = location.with_name(location.name + ".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OxigraphServer:
        """Start the server on a free port and wait until it answers; retried if the port was taken."""
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            with self._log.open("wb") as log:
                self.process = subprocess.Popen(
                    [self.executable, "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            last = self._log.read_text(errors="replace")
            self.stop()
        raise RuntimeError(f"oxigraph serve did not start: {last[-2000:]}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                r = httpx.get(self.url + "/query", params={"query": "ASK {}"},
                              headers={"Accept": "application/sparql-results+json"}, timeout=2.0)
                if r.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s); the data stays in ``location``."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> OxigraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_oxigraph(location: Path) -> Iterator[OxigraphServer]:
    """Body of a fixture: a fresh server on ``location``, stopped afterwards; skips if ``oxigraph`` is missing."""
    if oxigraph_executable() is None:
        pytest.skip("the `oxigraph` executable is not installed (pip install -e '.[test]')")
    with OxigraphServer(location) as server:
        yield server


@pytest.fixture
def oxigraph_server(tmp_path: Path) -> Iterator[OxigraphServer]:
    """A fresh, empty Oxigraph server for one test (skipped if ``oxigraph`` is not installed)."""
    yield from running_oxigraph(tmp_path / "oxigraph")
