"""``cpbkg query``: a query on the local store, in every format, with the endpoint's rules
(refusals, syntax errors with line and column, the result cap, the timeout), exit codes 0 / 2.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from cpbkg.cli import main
from cpbkg.config import Settings

GOALS = ("PREFIX cpb: <https://w3id.org/cpbkg/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
         "SELECT ?goal ?code WHERE { ?goal a cpb:Goal ; skos:notation ?code } ORDER BY ?code")
GOAL_A1 = "https://w3id.org/cpbkg/id/goal/A.1"
DESCRIBE_A1 = f"CONSTRUCT {{ <{GOAL_A1}> ?p ?o }} WHERE {{ <{GOAL_A1}> ?p ?o }}"


@pytest.fixture(scope="module")
def argv(web_settings: Settings, web_store: object) -> list[str]:
    """The flags pointing at the session's build and (already loaded) store."""
    return ["--dist", str(web_settings.dist_dir), "--store", str(web_settings.store_path)]


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    code = main(["query", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode("utf-8")


def test_default_tsv_and_each_results_format(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str]) -> None:
    code, out, _ = run(capsysbinary, GOALS, *argv)
    assert code == 0
    lines = out.decode().rstrip("\n").split("\n")
    assert lines[0] == "?goal\t?code" and len(lines) == 15
    code, out, _ = run(capsysbinary, GOALS, "--format", "json", *argv)
    assert len(json.loads(out)["results"]["bindings"]) == 14
    code, out, _ = run(capsysbinary, GOALS, "--format", "csv", *argv)
    assert len(list(csv.DictReader(io.StringIO(out.decode())))) == 14
    code, out, _ = run(capsysbinary, GOALS, "--format", "xml", *argv)
    assert len(list(ox.parse_query_results(out, format=ox.QueryResultsFormat.XML))) == 14
    code, out, _ = run(capsysbinary, "ASK { ?s ?p ?o }", "--format", "json", *argv)
    assert json.loads(out)["boolean"] is True


@pytest.mark.parametrize("name, fmt", [
    (None, ox.RdfFormat.TURTLE), ("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES),
    ("jsonld", ox.RdfFormat.JSON_LD), ("rdfxml", ox.RdfFormat.RDF_XML), ("trig", ox.RdfFormat.TRIG),
    ("nq", ox.RdfFormat.N_QUADS),
])
def test_graph_formats(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str], name: str | None,
                       fmt: ox.RdfFormat) -> None:
    code, out, _ = run(capsysbinary, DESCRIBE_A1, *(["--format", name] if name else []), *argv)
    assert code == 0
    triples = list(ox.parse(out, format=fmt))
    assert len(triples) > 5 and all(t.subject.value == GOAL_A1 for t in triples)


def test_query_from_a_file(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str], tmp_path: Path) -> None:
    path = tmp_path / "goals.rq"
    path.write_text(GOALS, encoding="utf-8")
    code, out, _ = run(capsysbinary, f"@{path}", "--format", "json", *argv)
    assert code == 0 and len(json.loads(out)["results"]["bindings"]) == 14


@pytest.mark.parametrize("query, message", [
    ("INSERT DATA { <http://a> <http://b> <http://c> }", "updates are not allowed"),
    ("LOAD <http://example.org/x.ttl>", "LOAD is refused"),
    ("SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE (federated query) is refused"),
    ("SELECT * WHERE {\n  ?s ?p", "syntax error at line 2, column"),
])
def test_refusals_and_errors_exit_2(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str], query: str,
                                    message: str) -> None:
    code, out, err = run(capsysbinary, query, *argv)
    assert code == 2 and out == b""
    assert err.startswith("cpbkg query: error: ") and message in err


def test_format_must_fit_the_query(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str]) -> None:
    code, _, err = run(capsysbinary, GOALS, "--format", "ttl", *argv)
    assert code == 2 and "json, xml, csv or tsv" in err
    code, _, err = run(capsysbinary, GOALS, "--format", "yaml", *argv)
    assert code == 2 and "unknown format 'yaml'" in err


def test_cap_and_timeout(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str]) -> None:
    code, _, err = run(capsysbinary, "SELECT * { ?s ?p ?o }", "--result-cap", "10", *argv)
    assert code == 2 and "more than 10 rows" in err
    code, out, _ = run(capsysbinary, "SELECT * { ?s ?p ?o } LIMIT 10", "--result-cap", "10", *argv)
    assert code == 0 and len(out.decode().rstrip("\n").split("\n")) == 11
    start = time.monotonic()
    code, _, err = run(capsysbinary, "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                       "--timeout", "1", *argv)
    # the message proves the query was stopped at its 1 s timeout (its worker killed); the bound
    # below only guards against a hang (starting a worker on a loaded machine takes seconds)
    assert code == 2 and "ran longer than 1 s" in err
    assert time.monotonic() - start < 120


def test_no_build_is_a_clear_error(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    code, _, err = run(capsysbinary, "ASK {}", "--dist", str(tmp_path / "dist"), "--store", str(tmp_path / "store"))
    assert code == 2 and "no build found" in err


@pytest.mark.parametrize("name,value,says", [
    ("CPBKG_MEMORY_STORE_TRIPLES", "lots", "CPBKG_MEMORY_STORE_TRIPLES='lots' is not a whole number"),
    ("CPBKG_QUERY_TIMEOUT", "soon", "CPBKG_QUERY_TIMEOUT='soon' is not a number"),
    # a queue of -1 would refuse every query that has to wait
    ("CPBKG_QUERY_QUEUE", "-1", "query_queue is -1: it counts or sizes something and cannot be negative"),
    ("CPBKG_CACHE_BYTES", "-5", "cache_bytes is -5"),
])
def test_a_bad_setting_in_the_environment_is_a_clear_error(name: str, value: str, says: str,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(name, value)
    assert main(["query", "ASK {}"]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_negative_flag_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "ASK {}", "--result-cap", "-3"]) == 2
    err = capsys.readouterr().err
    assert "result_cap is -3" in err and "Traceback" not in err
