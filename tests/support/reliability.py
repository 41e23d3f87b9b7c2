"""Helpers of the reliability tests (``tests/test_reliability_*.py``): counting, raw HTTP,
servers of their own, builds made quickly, fingerprints.

**Figures.** Every test counts what it does into :data:`FIGURES`: requests sent, faults
injected (SIGKILLs, damaged stores, killed workers), bad inputs tried, and what was lost
(must stay 0). At exit they are written as JSON to ``$CPBKG_RELIABILITY_FIGURES`` (and
printed) when that variable names a file.

**A new build in a second.** ``python tests/reliability_support.py write-dist SRC DST MARKER``
writes a complete ``dist/`` into DST the way ``cpbkg build`` ends (:func:`cpbkg.build.dist.write_dist`:
dumps, VoID, checksums, swap), from the graphs of SRC plus one triple naming MARKER: a build
whose data differs, without the 30 s of parsing, reasoning and SHACL before that step. The
fault tests kill it (SIGKILL) at points through its run.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MARKER_PREDICATE = "https://w3id.org/cpbkg/ontology#reliabilityMarker"
MARKER_SUBJECT = "https://w3id.org/cpbkg/id/reliability-marker"

# pyoxigraph 0.5.13 panics on this sort ("does not correctly implement a total order", the family
# of oxigraph#1542): numbers compare by value, a number and a string by their lexical forms, so
# 9 < 10 < "5" < 9; the panic aborts the process, as an allocation over a heap cap does. It
# panics on an empty store too: the VALUES list is sorted as the query is parsed
_MIXED = " ".join(f'{i * 7 % 100} "{i * 13 % 100}"' for i in range(1, 41))
ENGINE_PANIC = f"SELECT ?o WHERE {{ VALUES ?o {{ {_MIXED} }} }} ORDER BY ?o"

# --------------------------------------------------------------------------- figures


class Figures:
    """Counters shared by the reliability tests of one session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    def request(self, n: int = 1) -> None:
        self.add("requests", n)

    def fault(self, what: str, n: int = 1) -> None:
        self.add("faults", n)
        self.add("fault:" + what, n)

    def bad_input(self, what: str, n: int = 1) -> None:
        self.add("bad_inputs", n)
        self.add("bad_input:" + what, n)

    def lost(self, what: str, n: int = 1) -> None:
        self.add("lost", n)
        self.add("lost:" + what, n)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.counts.items()))


FIGURES = Figures()


def _report() -> None:
    target = os.environ.get("CPBKG_RELIABILITY_FIGURES")
    if not target or not FIGURES.counts:
        return
    data = FIGURES.as_dict()
    path = Path(target)
    old: dict[str, int] = {}
    if path.is_file():  # several pytest runs add up
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    merged = dict(collections.Counter(old) + collections.Counter(data))
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print("\nreliability figures (this run): " + ", ".join(f"{k}={v}" for k, v in data.items()
                                                          if ":" not in k), file=sys.stderr)


atexit.register(_report)

# --------------------------------------------------------------------------- HTTP


def raw_http(port: int, data: bytes, *, timeout: float = 10.0, close_write: bool = False) -> bytes:
    """Send raw bytes to 127.0.0.1:port, return all bytes answered (until close, a full response or timeout)."""
    FIGURES.request()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if close_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        buf = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                head, sep, body = buf.partition(b"\r\n\r\n")
                if sep:
                    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                                   if line.lower().startswith(b"content-length:")), None)
                    if length is not None and len(body) >= length:
                        break
        except TimeoutError:
            buf += b"<timeout>"
        except OSError as exc:
            buf += f"<{exc}>".encode()
    return buf


def status_of(raw: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 answer, or None."""
    if not raw.startswith(b"HTTP/1.1 "):
        return None
    return int(raw[9:12])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(folder: Path, *, hidden: bool = True) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative path."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and (hidden or not any(part.startswith(".") for part in p.relative_to(folder).parts))}


def check_sums(dist: Path) -> list[str]:
    """Problems of a dist/ against its own SHA256SUMS and release.json (empty: a complete, consistent build)."""
    problems = []
    try:
        listed = dict(reversed(line.split("  ", 1)) for line in
                      (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines() if line)
    except (OSError, ValueError) as exc:
        return [f"SHA256SUMS unreadable: {exc}"]
    files = {p.name for p in dist.iterdir() if p.is_file()}
    if files != set(listed) | {"SHA256SUMS"}:
        problems.append(f"files {sorted(files)} != listed {sorted(listed)}")
    for name, digest in listed.items():
        path = dist / name
        if not path.is_file() or sha256(path) != digest:
            problems.append(f"{name}: checksum differs")
    try:
        release = json.loads((dist / "release.json").read_text(encoding="utf-8"))
        if release["data_hash"] != listed.get("cpbkg.trig"):
            problems.append("release.json data_hash is not the checksum of cpbkg.trig")
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"release.json unreadable: {exc}")
    return problems


def inputs_fingerprint() -> dict[str, str]:
    """The files a build reads (ontology/, shapes/, data/, queries/) of the real repository."""
    out: dict[str, str] = {}
    for name in ("ontology", "shapes", "data", "queries"):
        out.update({f"{name}/{k}": v for k, v in fingerprint(ROOT / name).items()})
    return out


def copy_dist(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def write_dist_command(src: Path, dst: Path, marker: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "write-dist", str(src), str(dst), marker]


def write_new_build(src: Path, dst: Path, marker: str, *, timeout: float = 120) -> None:
    """A complete new build of ``src``'s graphs plus ``marker`` into ``dst`` (see the module docstring)."""
    done = subprocess.run(write_dist_command(src, dst, marker), capture_output=True, text=True, timeout=timeout,
                          env=child_env(), check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def kill_after(cmd: list[str], delay: float, *, cwd: Path | None = None, env: dict[str, str] | None = None,
               when: Callable[[], bool] | None = None, limit: float = 120) -> tuple[int | None, float]:
    """Start ``cmd``; SIGKILL it ``delay`` s later (or once ``when()`` is true, polled every 1 ms).

    Returns (its exit status, or None if it had finished before the kill; seconds it ran).
    """
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = start + (limit if when is not None else delay)
        while time.monotonic() < deadline and proc.poll() is None:
            if when is not None and when():
                break
            time.sleep(0.001 if when is not None else min(0.01, max(deadline - time.monotonic(), 0)))
        if proc.poll() is not None:
            return None, time.monotonic() - start
        os.killpg(proc.pid, signal.SIGKILL)
        FIGURES.fault("sigkill")
        proc.wait(timeout=30)
        return proc.returncode, time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@contextmanager
def running(cmd: list[str], *, ready: Callable[[], bool], timeout: float = 90,
            env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A process (in its own session) that is ready when ``ready()``; stopped (SIGTERM, then SIGKILL) after."""
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=env or child_env(), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited with {proc.returncode}"
                                   + (f": {log.read_text(errors='replace')[-2000:]}" if log else ""))
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:4]} was not ready within {timeout} s")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def http_ready(url: str) -> Callable[[], bool]:
    import httpx

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


# --------------------------------------------------------------------------- the quick build


def _write_dist_main(src: Path, dst: Path, marker: str) -> None:
    import tempfile

    import pyoxigraph as ox
    from rdflib import Graph

    from cpbkg.build.dist import Part, recover, write_dist
    from cpbkg.vocab import Ids

    recover(dst)  # as `cpbkg build` starts: clear what killed builds left
    release = json.loads((src / "release.json").read_text(encoding="utf-8"))
    ids = Ids(release["base_uri"])
    prefix = str(ids.graph(""))
    by_graph: dict[str, list[str]] = collections.defaultdict(list)
    for quad in ox.parse(path=str(src / "cpbkg.trig"), format=ox.RdfFormat.TRIG):
        name = quad.graph_name.value[len(prefix):] if isinstance(quad.graph_name, ox.NamedNode) else "default"
        by_graph[name].append(str(ox.Triple(quad.subject, quad.predicate, quad.object)) + " .\n")
    by_graph["reliability"].append(f'<{MARKER_SUBJECT}> <{MARKER_PREDICATE}> "{marker}" .\n')
    with tempfile.TemporaryDirectory(prefix="cpbkg-quick-") as work:
        parts = []
        for name, lines in sorted(by_graph.items()):
            path = Path(work) / f"{name}.nt"
            path.write_text("".join(lines), encoding="utf-8")
            parts.append(Part(name, ntriples=path))
        extra = {k: v for k, v in release.items() if k not in ("version", "built", "base_uri", "data_hash",
                                                                  "triples", "graphs")}
        write_dist(dst, parts, ids, shacl_report=Graph(), extra={**extra, "marker": marker})


def ask_marker(url: str, marker: str) -> Any:
    """Whether the server at ``url`` serves the build with ``marker``: ASK over /sparql."""
    import httpx

    FIGURES.request()
    r = httpx.get(url + "/sparql", params={"query": f'ASK {{ <{MARKER_SUBJECT}> <{MARKER_PREDICATE}> "{marker}" }}'},
                  headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "write-dist":
        _write_dist_main(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
