"""Load from a separate process: wrk (Debian package ``wrk``) at a given number of connections.

wrk is written in C and keeps 64 connections busy on one core, so the load generator
is not what limits a Python server here. Each run is bounded in time; only loopback
addresses are ever targeted.

A repeated workload is one URL. A distinct one is a wrk Lua script (:func:`distinct_script`)
that builds a new SPARQL text for every request: request ``k`` of thread ``t`` (of ``T``) sends
``Workload.distinct_text(first + k * T + t, values)``, so no two requests of a run, and no two
runs given ``first`` values far enough apart (:data:`DISTINCT_SPAN`), send the same text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from bench.workloads import REPEATED_LIMIT, Workload

#: distinct numbers (LIMITs) a run may use: far more requests than any run sends
DISTINCT_SPAN = 10**9

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class LoadResult:
    """What one wrk run measured."""

    #: requests sent and answered or failed (wrk's count)
    requests: int
    #: answered requests (2xx/3xx) per second: wrk's rate less its errors' share, so that a server
    #: that refuses quickly (429, 503) does not look fast
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
    (1200, 119.7, 1.2, 15.0, 3)
    """
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(output)}
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    if socket := _SOCKET.search(output):
        errors += sum(int(n) for n in socket.groups())
    rate = _RATE.search(output)
    total = _TOTAL.search(output)
    requests = int(total.group(1)) if total else 0
    answered = max(0, requests - errors) / requests if requests else 0.0
    # no answer within the run: wrk prints 0us percentiles, which are no latency at all
    return LoadResult(
        requests=requests,
        requests_per_s=round(float(rate.group(1)) * answered, 2) if rate else 0.0,
        p50_ms=percentiles.get(50, float("nan")) if requests else float("nan"),
        p99_ms=percentiles.get(99, float("nan")) if requests else float("nan"),
        errors=errors,
    )


def first_of_run(run: int) -> int:
    """The first number of distinct run ``run`` (0, 1, ...): above the repeated LIMIT, and
    :data:`DISTINCT_SPAN` apart from the other runs, so that no run sends a text an earlier one sent."""
    return REPEATED_LIMIT + 1 + run * DISTINCT_SPAN


_SLOT = re.compile(r"(%01|%02)")


def distinct_script(sparql_path: str, load: Workload, values: list[str]) -> str:
    """A wrk Lua script that GETs ``sparql_path?query=<a new text>`` per request (see the module's doc).

    The text is percent-encoded here, split where the value (``%01``) and the LIMIT (``%02``) go;
    the script only joins the pieces, so the load generator stays cheap.

    >>> print(distinct_script("/q", Workload("w", "x", template="ASK {} LIMIT {limit}"), []).splitlines()[-2])
      return wrk.format(nil, "/q?query=ASK%20%7B%7D%20LIMIT%20" .. string.format("%d", n))
    """
    encoded = quote(load.text(limit="\x02", value="\x01"), safe="")
    parts = []
    for i, piece in enumerate(_SLOT.split(encoded)):
        if piece == "%01":
            parts.append("value")
        elif piece == "%02":
            parts.append('string.format("%d", n)')
        elif piece or i == 0:
            parts.append(f'"{sparql_path}?query={piece}"' if i == 0 else f'"{piece}"')
    table = ", ".join(f'"{quote(v, safe="")}"' for v in values) or '""'
    return f"""-- written by bench/load.py: a SPARQL text no server has seen, per request
local values = {{{table}}}
local counter = 0
local made = 0

function setup(thread)
  thread:set("tid", made)
  made = made + 1
end

function init(args)
  first = tonumber(args[1])
  stride = tonumber(args[2])
end

function request()
  local n = first + counter * stride + tid
  counter = counter + 1
  local value = values[(n % #values) + 1]
  return wrk.format(nil, {" .. ".join(parts)})
end
"""


def run_wrk(url: str, *, connections: int, seconds: float, accept: str, timeout_s: int = 30,
            script: str | None = None, first: int = 0) -> LoadResult:
    """Drive ``url`` with GET requests from ``connections`` connections for ``seconds``.

    With ``script`` (from :func:`distinct_script`) every request is the one the script builds,
    numbered from ``first``; ``url`` then only says where to connect.

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
    cmd = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
           "--latency", "-H", f"Accept: {accept}"]
    with tempfile.TemporaryDirectory(prefix="cpbkg-wrk-") as tmp:
        if script is not None:
            lua = Path(tmp) / "distinct.lua"
            lua.write_text(script, encoding="utf-8")
            cmd += ["-s", str(lua), url, "--", str(first), str(threads)]
        else:
            cmd.append(url)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    return parse_wrk(done.stdout + done.stderr)
