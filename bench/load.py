"""Load from a separate process: wrk (Debian package ``wrk``) at a given number of connections.

wrk is written in C and keeps 64 connections busy on one core, so the load generator
is not what limits a Python server here. Each run is bounded in time; only loopback
addresses are ever targeted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class LoadResult:
    """What one wrk run measured."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def parse_wrk(output: str) -> LoadResult:
    """Read wrk's ``--latency`` report.

    >>> r = parse_wrk('''  Latency Distribution
    ...      50%  1.20ms
    ...      99%   15.00ms
    ...   1200 requests in 10.00s, 1.2MB read
    ...   Non-2xx or 3xx responses: 3
    ... Requests/sec:    120.00''')
    >>> (r.requests, r.requests_per_s, r.p50_ms, r.p99_ms, r.errors)
    (1200, 120.0, 1.2, 15.0, 3)
    """
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(output)}
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    if socket := _SOCKET.search(output):
        errors += sum(int(n) for n in socket.groups())
    rate = _RATE.search(output)
    total = _TOTAL.search(output)
    return LoadResult(
        requests=int(total.group(1)) if total else 0,
        requests_per_s=float(rate.group(1)) if rate else 0.0,
        p50_ms=percentiles.get(50, float("nan")),
        p99_ms=percentiles.get(99, float("nan")),
        errors=errors,
    )


def run_wrk(url: str, *, connections: int, seconds: float, accept: str, timeout_s: int = 30) -> LoadResult:
    """Drive ``url`` with GET requests from ``connections`` connections for ``seconds``.

    Raises:
        RuntimeError: wrk is missing, or the URL is not on loopback.
    """
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise RuntimeError(f"load is only ever sent to loopback, not {host}")
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    threads = max(1, min(2, connections))
    cmd = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s", "--latency",
           "-H", f"Accept: {accept}", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    return parse_wrk(done.stdout + done.stderr)
