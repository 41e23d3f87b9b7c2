"""``cpbkg ingest``: validate everything first, then write atomically; on any failure the target
folder is byte-for-byte unchanged and the input file untouched."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from support.graph import TEST_DATA

from cpbkg.build.progress import ingest as ingest_module
from cpbkg.build.progress.answers import read_csv, write_csv
from cpbkg.build.progress.ingest import add_ingest_parser
from cpbkg.build.progress.parties import load_parties
from cpbkg.build.progress.synthetic import add_synthetic_parser, generate
from cpbkg.config import Settings

SETTINGS = Settings()
FIXTURES = TEST_DATA / "answers"


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cpbkg")
    sub = parser.add_subparsers(dest="command", required=True)
    add_ingest_parser(sub)
    add_synthetic_parser(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (hidden ones too), by relative path, with its bytes."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def synthetic_csv(tmp_path_factory) -> Path:
    """A synthetic 5th-cycle answer set for all 173 Parties, written by `cpbkg synthetic`."""
    path = tmp_path_factory.mktemp("synthetic") / "synthetic-nr5.csv"
    assert cli("synthetic", "--out", str(path), "--cycle", "5", "--seed", "7") == 0
    return path


@pytest.fixture
def reports(tmp_path, synthetic_csv) -> Path:
    """A reports folder that already holds a previous ingest (the synthetic set, as 'previous')."""
    folder = tmp_path / "reports"
    assert cli("ingest", str(synthetic_csv), "--cycle", "5", "--to", str(folder), "--name", "previous") == 0
    return folder


def test_synthetic_set_for_all_parties_is_ingested(tmp_path, synthetic_csv, capsys):
    before = synthetic_csv.read_bytes()
    folder = tmp_path / "reports"
    assert cli("ingest", str(synthetic_csv), "--cycle", "5", "--to", str(folder)) == 0
    target = folder / "nr5" / "synthetic-nr5.csv"
    assert target.exists()
    assert synthetic_csv.read_bytes() == before  # the input is never written to
    stored = read_csv(target, 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    original = read_csv(synthetic_csv, 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    assert stored.parties == set(load_parties(SETTINGS.data_dir).parties) and len(stored.parties) == 173
    assert {k: a.values for k, a in stored.answers.items()} == {k: a.values for k, a in original.answers.items()}
    assert snapshot(folder).keys() == {"nr5/synthetic-nr5.csv"}  # no temporary file left
    assert "173 Parties" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "invalid").iterdir()))
def test_invalid_file_leaves_the_target_unchanged(reports, name, capsys):
    source = FIXTURES / "invalid" / name
    source_before, target_before = source.read_bytes(), snapshot(reports)
    assert cli("ingest", str(source), "--cycle", "5", "--to", str(reports), "--name", "previous", "--replace") == 1
    assert snapshot(reports) == target_before
    assert source.read_bytes() == source_before
    err = capsys.readouterr().err
    assert "invalid answers, nothing written" in err and str(source) in err


def test_error_message_names_file_line_and_field(reports, capsys):
    source = FIXTURES / "invalid" / "bad-option.csv"
    assert cli("ingest", str(source), "--cycle", "5", "--to", str(reports)) == 1
    assert f"{source}:3 [value]: 'maybe' is not an option of Q011" in capsys.readouterr().err


def test_existing_target_needs_replace(reports, synthetic_csv, capsys):
    before = snapshot(reports)
    assert cli("ingest", str(synthetic_csv), "--cycle", "5", "--to", str(reports), "--name", "previous") == 2
    assert snapshot(reports) == before
    assert "already exists: give --replace" in capsys.readouterr().err


def test_answers_already_in_another_file_are_refused(reports, capsys):
    before = snapshot(reports)
    source = FIXTURES / "valid" / "nr5-small.csv"  # CHN Q007 is answered in "previous" too
    assert cli("ingest", str(source), "--cycle", "5", "--to", str(reports)) == 2
    assert snapshot(reports) == before
    err = capsys.readouterr().err
    assert "is already answered in" in err and "previous.csv" in err


def test_replace_swaps_the_file(reports, tmp_path):
    source = tmp_path / "small.csv"
    source.write_bytes((FIXTURES / "valid" / "nr5-small.csv").read_bytes())
    assert cli("ingest", str(source), "--cycle", "5", "--to", str(reports), "--name", "previous", "--replace") == 0
    stored = read_csv(reports / "nr5" / "previous.csv", 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    assert stored.parties == {"CHN", "BRA", "EU"}
    assert snapshot(reports).keys() == {"nr5/previous.csv"}


def test_json_ingest_into_another_cycle(reports):
    source = FIXTURES / "valid" / "nr4-documents.json"
    assert cli("ingest", str(source), "--cycle", "4", "--to", str(reports)) == 0
    text = (reports / "nr4" / "nr4-documents.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "party,cycle,question,value"
    assert "BRA,4,Q015,instrument.none" in text and "KEN,4,Q018,true" in text


def test_report_analyzer_json_is_ingested_beside_the_csv(tmp_path):
    folder = tmp_path / "reports"
    small = tmp_path / "small.csv"
    small.write_bytes((FIXTURES / "valid" / "nr4-no-cycle-column-crlf.csv").read_bytes())
    assert cli("ingest", str(small), "--cycle", "4", "--to", str(folder)) == 0
    source = FIXTURES / "valid" / "nr5-report-analyzer.json"
    assert cli("ingest", str(source), "--cycle", "5", "--to", str(folder), "--name", "analyzer") == 0
    assert snapshot(folder).keys() == {"nr4/small.csv", "nr5/analyzer.csv"}
    stored = read_csv(folder / "nr5" / "analyzer.csv", 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    assert stored.parties == {"CHN", "KEN"}
    assert stored.answers[("CHN", "Q008")].values == ("instrument.nationalBiosafetyLaws",
                                                      "instrument.nationalBiosafetyRegulations")


def test_dry_run_writes_nothing(reports, tmp_path):
    before = snapshot(reports)
    source = FIXTURES / "valid" / "nr4-documents.json"
    assert cli("ingest", str(source), "--cycle", "4", "--to", str(reports), "--dry-run") == 0
    assert snapshot(reports) == before


def test_a_failure_while_writing_leaves_everything_as_it_was(reports, tmp_path, monkeypatch):
    before = snapshot(reports)
    source = tmp_path / "small.csv"
    source.write_bytes((FIXTURES / "valid" / "nr5-small.csv").read_bytes())

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ingest_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        ingest_module.ingest(source, 5, settings=SETTINGS, to=reports, name="previous", replace=True)
    assert snapshot(reports) == before  # neither the old file changed nor a temporary file left


def test_missing_input_is_an_error_not_a_crash(tmp_path, capsys):
    assert cli("ingest", str(tmp_path / "nope.csv"), "--cycle", "5", "--to", str(tmp_path / "r")) == 2
    assert "file not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_write_csv_round_trip(tmp_path):
    answers = generate(load_parties(SETTINGS.data_dir), sources_dir=SETTINGS.sources_dir, cycles=[4], n_parties=5,
                       include_text=True)
    path = tmp_path / "a.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        write_csv(answers, f)
    back = read_csv(path, 4, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    assert {(a.party, a.question): a.values for a in answers} == {k: a.values for k, a in back.answers.items()}
    assert os.path.getsize(path) > 0
