"""The W3C SPARQL 1.1 protocol runner of ``shared/conformance`` run against a live endpoint, for the
conformance tests of every backend (tests/web/test_sparql_endpoint.py, tests/store/test_virtuoso.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: the runner (``CPBKG_CONFORMANCE`` names another copy of its folder)
RUNNER = Path(os.environ.get("CPBKG_CONFORMANCE", "/work/shared/conformance")) / "run_protocol.py"


@dataclass
class Conformance:
    """What the runner printed: its summary line, and its MUST failures (ids, and whole lines)."""

    summary: str
    must_failed: set[str]
    must_lines: str


def run_conformance(endpoint: str, *, timeout: float = 600) -> Conformance:
    """Run the MUST checks of the runner against ``endpoint`` (its ``/sparql`` URL)."""
    out = subprocess.run([sys.executable, str(RUNNER), endpoint, "--must-only"], check=False,
                         capture_output=True, text=True, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.startswith("FAIL [MUST]")]
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
    return Conformance(summary, {line.split("] ", 1)[1].split(":", 1)[0] for line in lines}, "\n".join(lines))
