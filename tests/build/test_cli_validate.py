"""``cpbkg validate`` exit codes: 0 conforms, 1 does not, 2 error (pySHACL's convention)."""

from __future__ import annotations

import subprocess
import sys

from support.graph import TEST_DATA

FIXTURES = TEST_DATA / "shapes"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cpbkg", "validate", *args], capture_output=True, text=True, timeout=120)


def test_conforming_file_exits_0():
    result = run(str(FIXTURES / "valid" / "goal.ttl"))
    assert result.returncode == 0, result.stderr
    assert "conforms" in result.stdout


def test_non_conforming_file_exits_1_and_names_the_problem():
    result = run(str(FIXTURES / "invalid" / "no-outcome.ttl"))
    assert result.returncode == 1
    assert "a goal has exactly one outcome" in result.stdout


def test_syntax_error_exits_2_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://ex.org/> .\nex:a ex:b ex:c .\nex:d ex:e "unterminated .\n', encoding="utf-8")
    result = run(str(bad))
    assert result.returncode == 2
    assert f"{bad}:3" in result.stderr or f"{bad}:" in result.stderr
    assert "syntax" in result.stderr.lower()


def test_missing_file_exits_2(tmp_path):
    result = run(str(tmp_path / "nope.ttl"))
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_wrong_encoding_exits_2(tmp_path):
    bad = tmp_path / "latin1.ttl"
    bad.write_bytes('@prefix ex: <http://ex.org/> .\nex:a ex:b "caf\xe9" .\n'.encode("latin-1"))
    result = run(str(bad))
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr and ":2" in result.stderr
