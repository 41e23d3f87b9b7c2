"""The soak, shortened for CI: ``cpbkg serve`` (a process of its own, two query workers) under a
mixed workload from 64 keep-alive connections for ~12 s (``CPBKG_SOAK_SECONDS``), loopback only.
Zero 5xx, zero dropped connections, every answer the status its kind must get, memory flat.
The full-length run is ``python bench/soak.py`` (60 s by default). Then two of its attacks (issue 20),
each on a server with the default admission: 16 clients searching without pause (``/health`` and new
queries of another client answered, no 5xx), and 20 slow readers of 150 MB and of 40 MB answers (the
memory budget, and another client still answered: docs/security.md).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from support.reliability import FIGURES
from support.web_server import web_settings  # noqa: F401  (fixture)

from bench.soak import Served, attack, soak
from cpbkg.config import Settings

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


def _attack(web_settings: Settings, kind: str, **options: Any) -> Any:  # noqa: F811
    with tempfile.TemporaryDirectory(prefix=f"cpbkg-{kind}-") as work:
        served = Served(web_settings.dist_dir, Path(work), workers=2, many_clients=False)
        try:
            record = attack(served.url, served.pid, kind=kind, seconds=SECONDS, **options)
        finally:
            served.stop()
        log = (Path(work) / "serve.log").read_text(errors="replace")
    print(record.summary())
    assert "Traceback" not in log, log[-3000:]
    return record


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_health_and_other_clients_are_answered_while_16_clients_search(web_settings: Settings) -> None:  # noqa: F811
    record = _attack(web_settings, "search", clients=16)
    FIGURES.request(sum(record.probe_statuses.values()) + sum(record.attacker_statuses.values()))
    assert record.probe_statuses and set(record.probe_statuses) == {"200"}, record.summary()
    assert record.passed, record.summary()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("megabytes", [150, 40])
def test_slow_readers_stay_within_the_memory_budget(web_settings: Settings, megabytes: int) -> None:  # noqa: F811
    """150 MB answers pass a worker's share of the heap (503 at once); 40 MB ones fit and are spooled
    to disk, so that the slow readers hold neither the answers nor the workers."""
    record = _attack(web_settings, "slow-reader", clients=20, megabytes=megabytes, max_growth_mb=1024)
    assert record.passed, record.summary()
