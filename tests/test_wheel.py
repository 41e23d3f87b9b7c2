"""The wheel runs anywhere: built from this tree, installed into an empty virtual environment,
it builds the graph and serves it from a folder outside the repository.

The package carries what the build reads (``cpbkg/_project/``: data, ontology, shapes, queries;
docs/decisions/0013-packaging.md) and writes ``dist/`` and ``var/store`` in the current folder.
Serving needs neither Java nor the ``[build]`` libraries: they are uninstalled, and Java is off
PATH, before ``cpbkg serve`` runs on the build. pip fetches the dependencies from the package
index (its cache makes a second run quick).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cpbkg import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: seconds after which a step is taken to hang (a hang guard, not a figure: pip may download)
HANG = 900


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG)
    assert result.returncode == 0, f"{argv}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT, cwd=out)
    (found,) = out.glob("cpbkg-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its ``[build]`` extra; its folder."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[build]",
        cwd=venv.parent)
    return venv


def test_the_wheel_holds_every_package_and_what_the_build_reads(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "cpbkg").rglob("*.py")
                if "__pycache__" not in p.parts and "static" not in p.parts}
    missing = sorted(p for p in packages if not any(n.startswith(p + "/") and n.endswith(".py") for n in names))
    assert not missing, f"not in the wheel (add them to [tool.setuptools] packages in pyproject.toml): {missing}"
    for folder, pattern in (("ontology", "*.ttl"), ("shapes", "*.ttl"), ("queries", "*.rq"), ("data", "**/*")):
        for path in (ROOT / folder).glob(pattern):
            if path.is_file():
                assert f"cpbkg/_project/{path.relative_to(ROOT).as_posix()}" in names, path
    licences = f"cpbkg-{__version__}.dist-info/licenses"
    assert {f"{licences}/LICENSE", f"{licences}/LICENSE-DATA.md"} <= names


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``cpbkg build`` in a folder outside the repository, then ``cpbkg serve`` there without the
    build libraries and without Java; (its URL, the folder, the environment)."""
    work = tmp_path_factory.mktemp("outside")
    bin_dir = installed / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPBKG_", "PYTHON", "VIRTUAL_ENV"))}
    built = run(bin_dir / "cpbkg", "build", cwd=work, env={**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"})
    assert "built" in built.stderr and (work / "dist" / "release.json").is_file(), built.stderr
    run(bin_dir / "python", "-m", "pip", "uninstall", "-q", "-y", "pyshacl", "owlready2", cwd=work)
    serve_env = {**env, "PATH": str(bin_dir)}  # no java, no system tools: serving needs neither
    port = free_port()
    log = work / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(bin_dir / "cpbkg"), "serve", "--port", str(port), "--workers", "1"], cwd=work,
                                env=serve_env, stdout=out, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + HANG
    try:
        while True:
            assert proc.poll() is None, f"cpbkg serve exited {proc.returncode}:\n{log.read_text()}"
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"hang guard: cpbkg serve did not answer\n{log.read_text()}"
            time.sleep(0.2)
        yield url, work, serve_env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_installed_wheel_builds_and_serves_outside_the_repository(served: tuple[str, Path, dict[str, str]]) -> None:
    url, work, _ = served
    assert ROOT not in work.parents and not (work / "ontology").exists()  # nothing of the repository here
    query = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX cpb: <https://w3id.org/cpbkg/ontology#> "
             'SELECT ?s WHERE { ?s a cpb:Goal ; skos:notation "A.1" }')
    r = httpx.get(url + "/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"},
                  timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert [b["s"]["value"] for b in r.json()["results"]["bindings"]] == ["https://w3id.org/cpbkg/id/goal/A.1"]
    page = httpx.get(url + "/id/goal/A.1", headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and "A.1" in page.text
    named = httpx.get(url + "/queries/", headers={"Accept": "application/json"}, timeout=60)
    assert named.status_code == 200 and "plan-outline" in named.text  # queries/ came with the wheel
    log = (work / "serve.log").read_text()
    assert "serving" in log and "building" not in log, log  # the build was current: served as it is


def test_serve_on_a_port_in_use_fails_before_it_says_serving(served: tuple[str, Path, dict[str, str]],
                                                             installed: Path) -> None:
    url, work, env = served
    port = url.rsplit(":", 1)[1]
    result = subprocess.run([str(installed / "bin" / "cpbkg"), "serve", "--port", port], cwd=work, env=env,
                            capture_output=True, text=True, timeout=HANG)
    assert result.returncode == 2, result.stderr
    assert f"port {port}" in result.stderr and "in use" in result.stderr, result.stderr
    assert "serving" not in result.stderr, result.stderr
