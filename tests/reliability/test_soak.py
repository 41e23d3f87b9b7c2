"""The soak, shortened for CI: ``cpbkg serve`` (a process of its own, two query workers) under a
mixed workload from 64 keep-alive connections for ~12 s (``CPBKG_SOAK_SECONDS``), loopback only.
Zero 5xx, zero dropped connections, every answer the status its kind must get, memory flat.
The full-length run is ``python bench/soak.py`` (60 s by default).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from support.reliability import FIGURES, ROOT
from support.web_server import web_settings  # noqa: F401  (fixture)

from cpbkg.config import Settings

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.soak import Served, soak

SECONDS = float(os.environ.get("CPBKG_SOAK_SECONDS", "12"))
CONNECTIONS = int(os.environ.get("CPBKG_SOAK_CONNECTIONS", "64"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_soak_mixed_load_at_64_connections(web_settings: Settings) -> None:  # noqa: F811
    with tempfile.TemporaryDirectory(prefix="cpbkg-soak-") as work:
        served = Served(web_settings.dist_dir, Path(work), workers=2)
        try:
            record = soak(served.url, seconds=SECONDS, connections=CONNECTIONS, pid=served.pid, max_growth_mb=40)
            alive = served.proc.poll() is None
        finally:
            served.stop()
        log = (Path(work) / "serve.log").read_text(errors="replace")
    FIGURES.request(record.requests)
    print(record.summary())
    assert alive, "the server died during the soak"
    assert record.server_errors == 0, (record.statuses, record.examples)
    assert record.transport_errors == 0, record.examples
    assert record.unexpected == 0, record.examples
    assert record.requests >= 200 * SECONDS / 12, record.summary()
    assert record.rss_growth_mb <= 40, record.rss_mb
    assert "Traceback" not in log, log[-3000:]
    if record.server_errors or record.transport_errors:
        FIGURES.lost("requests during the soak", record.server_errors + record.transport_errors)
