"""``cpbkg nginx-conf``: the nginx configuration in front of replicas (cpbkg/web/proxy.py).

It is the configuration the replica test runs (tests/store/test_replicas.py) and the bench measures;
here: docs/operations.md shows exactly what the command prints, and Debian's nginx accepts it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.replicas import child_env, nginx_executable

from cpbkg.web.proxy import nginx_conf

ROOT = Path(__file__).resolve().parents[2]
DOC_COMMAND = ["nginx-conf", "--listen", "127.0.0.1:8080", "--upstream", "127.0.0.1:8001",
               "--upstream", "127.0.0.1:8002", "--prefix", "PREFIX"]


def _cpbkg(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cpbkg", *argv], capture_output=True, text=True, timeout=120,
                          env=child_env(), check=False)


def test_the_operations_page_shows_what_the_command_prints() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "cpbkg " + " ".join(DOC_COMMAND) in page
    shown = re.search(r"```nginx\n(.*?)```", page, re.S)
    assert shown is not None, "docs/operations.md has no nginx block"
    done = _cpbkg(*DOC_COMMAND)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.removeprefix("user root;\n")  # the page shows it as an operator (not root) runs it
    assert shown.group(1) == printed


def test_the_command_needs_an_upstream() -> None:
    done = _cpbkg("nginx-conf")
    assert done.returncode == 2 and "--upstream" in done.stderr
    with pytest.raises(ValueError, match="at least one upstream"):
        nginx_conf("127.0.0.1:8080", [], "/tmp/x")


@pytest.mark.parametrize("flag, value", [("--upstream", "127.0.0.1"), ("--upstream", "127.0.0.1:0"),
                                         ("--upstream", "a b:8001"), ("--listen", "127.0.0.1:http")])
def test_an_address_that_is_not_host_port_is_refused_by_name(flag: str, value: str) -> None:
    """A bad address is refused before anything is printed: nginx would refuse the whole file later."""
    argv = ["nginx-conf", "--upstream", "127.0.0.1:8001", flag, value]
    done = _cpbkg(*argv)
    assert done.returncode == 2 and done.stdout == ""
    assert f"argument {flag}: {value!r} is not HOST:PORT" in done.stderr, done.stderr


@pytest.mark.skipif(nginx_executable() is None and not os.environ.get("CI"),
                    reason="nginx is not installed (apt-get install nginx; .ci/install --test installs it)")
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    exe = nginx_executable()
    assert exe is not None, "nginx is missing in CI (.ci/install --test installs it)"
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf("127.0.0.1:1", ["127.0.0.1:2", "127.0.0.1:3"], tmp_path, read_timeout=70),
                    encoding="utf-8")
    checked = subprocess.run([exe, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "proxy_read_timeout 70s;" in conf.read_text(encoding="utf-8")
