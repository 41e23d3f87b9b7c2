"""``cpbkg validate`` exit codes: 0 conforms, 1 does not, 2 error (pySHACL's convention)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.graph import TEST_DATA

FIXTURES = TEST_DATA / "shapes"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cpbkg", "validate", *args], capture_output=True, text=True, timeout=120)


def test_conforming_file_exits_0() -> None:
    result = run(str(FIXTURES / "valid" / "goal.ttl"))
    assert result.returncode == 0, result.stderr
    assert "conforms" in result.stdout


def test_non_conforming_file_exits_1_and_names_the_problem() -> None:
    result = run(str(FIXTURES / "invalid" / "no-outcome.ttl"))
    assert result.returncode == 1
    assert "a goal has exactly one outcome" in result.stdout


def test_syntax_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://ex.org/> .\nex:a ex:b ex:c .\nex:d ex:e "unterminated .\n', encoding="utf-8")
    result = run(str(bad))
    assert result.returncode == 2
    assert f"{bad}:3" in result.stderr or f"{bad}:" in result.stderr
    assert "syntax" in result.stderr.lower()


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.ttl"))
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_wrong_encoding_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.ttl"
    bad.write_bytes('@prefix ex: <http://ex.org/> .\nex:a ex:b "caf\xe9" .\n'.encode("latin-1"))
    result = run(str(bad))
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr and ":2" in result.stderr


def test_a_wrong_value_is_named_with_what_is_wrong_with_it(tmp_path: Path) -> None:
    """The shape's message covers a missing, a second and a non-string code alike; the line says which."""
    data = (FIXTURES / "valid" / "goal.ttl").read_text(encoding="utf-8")
    goal = '<https://w3id.org/cpbkg/id/goal/A.1> a cpb:Goal ; skos:notation "A.1"'
    assert goal in data
    bad = tmp_path / "notation-42.ttl"
    bad.write_text(data.replace(goal, goal.replace('"A.1"', "42")), encoding="utf-8")
    result = run(str(bad))
    assert result.returncode == 1
    assert "needs exactly one skos:notation (its official code); here 42 is an xsd:integer, not an xsd:string" \
        in result.stdout, result.stdout
    assert "b'" not in result.stdout + result.stderr


def test_a_missing_value_is_named() -> None:
    result = run(str(FIXTURES / "invalid" / "no-outcome.ttl"))
    assert result.returncode == 1
    assert "a goal has exactly one outcome; here it has no cpb:hasOutcome" in result.stdout, result.stdout


def test_without_the_build_libraries_it_says_what_to_install(tmp_path: Path) -> None:
    """A serving-only install (no [build] extra): a clear message, no ImportError traceback."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['pyshacl'] = None\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "cpbkg", "validate", str(FIXTURES / "valid" / "goal.ttl")],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert "pip install 'cpbkg[build]'" in result.stderr and "Traceback" not in result.stderr, result.stderr
