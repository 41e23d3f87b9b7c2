"""Reading and validating national-report answers (CSV, BCH JSON), and their N-Triples."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph
from support.graph import TEST_DATA

from cpbkg.build.progress.answers import (
    AnswersInvalid,
    answer_triples,
    read_answers,
    value_mapping,
)
from cpbkg.build.progress.parties import ProgressIds
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import Ids

SETTINGS = Settings()
FIXTURES = TEST_DATA / "answers"
PIDS = ProgressIds(Ids())


def read(name: str, cycle: int = 5):
    return read_answers(FIXTURES / name, cycle, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)


def test_csv_format():
    answers = read("valid/nr5-small.csv")
    assert answers.parties == {"CHN", "BRA", "EU"}
    assert answers.answers[("CHN", "Q008")].values == ("instrument.nationalBiosafetyLaws",
                                                       "instrument.nationalBiosafetyRegulations")
    assert answers.answers[("CHN", "Q013")].values == ('Free text, with a comma and "quotes".',)
    assert answers.answers[("CHN", "Q026_adq")].values == ("3",)
    assert answers.answers[("CHN", "Q159")].values == ("false",)  # "cn" is China
    assert answers.answers[("EU", "Q007")].line == 9


def test_cycle_column_is_optional_and_crlf_is_fine():
    answers = read("valid/nr4-no-cycle-column-crlf.csv", 4)
    assert {a.question for a in answers} == {"Q014", "Q015", "Q018"}


def test_bch_json_single_document():
    answers = read("valid/nr5-document.json")
    got = {a.question: a.values for a in answers}
    assert got["Q007"] == ("implementation.fullInPlace",)
    assert got["Q008"] == ("instrument.nationalBiosafetyLaws", "instrument.biosafetyGuidelines")
    assert got["Q011"] == ("true",)
    assert got["Q013"] == ("Further details.",)
    assert got["Q026_adq"] == ("3",)
    assert got["Q057"] == ("42A3DCAE-5FD8-4218-941D-DF11D4AE65FA",)
    assert got["Q102_a"] == ("true.availableOnBch",)
    assert answers.parties == {"CHN"}


def test_bch_json_list_of_documents():
    answers = read("valid/nr4-documents.json", 4)
    assert answers.parties == {"KEN", "BRA"}
    assert answers.answers[("BRA", "Q015")].values == ("instrument.none",)


def test_bch_report_analyzer_records():
    """The report analyzer's shape: an array of records, ``government`` plus one field per question
    key; values ``{"value"}``, ``{"identifier"}``, a list, ``{"options": [...]}`` or a boolean."""
    answers = read("valid/nr5-report-analyzer.json")
    assert answers.parties == {"CHN", "KEN"}
    got = {(a.party, a.question): a.values for a in answers}
    assert got[("CHN", "Q008")] == ("instrument.nationalBiosafetyLaws", "instrument.nationalBiosafetyRegulations")
    assert got[("KEN", "Q008")] == ("instrument.biosafetyGuidelines",)
    assert got[("CHN", "Q011")] == ("true",) and got[("KEN", "Q011")] == ("false",)
    assert got[("CHN", "Q057")] == ("42A3DCAE-5FD8-4218-941D-DF11D4AE65FA",)
    assert got[("CHN", "Q102_a")] == ("true.availableOnBch",)
    assert answers.answers[("KEN", "Q007")].line == 9  # the line of the key, in the second record


INVALID = [
    # file, cycle, line, field, message fragment
    ("unknown-question.csv", 5, 3, "question", "'Q999' is not a question of the 5th national report"),
    ("printed-number.csv", 5, 2, "question", "question 7 has the key Q007"),
    ("bad-option.csv", 5, 3, "value", "'maybe' is not an option of Q011 (options: true, false)"),
    ("not-a-party.csv", 5, 3, "party", "'USA' is not a Party to the Cartagena Protocol"),
    ("duplicate-row.csv", 5, 4, "value", "duplicate row: CHN Q008 'instrument.nationalBiosafetyLaws' already on line 2"),
    ("two-answers-single-choice.csv", 5, 3, "value", "Q007 takes one answer; CHN gives 2 (lines 2, 3)"),
    ("heading-question.csv", 5, 2, "question", "Q102 is a heading (type sub-section) and takes no answer"),
    ("bad-number.csv", 5, 2, "value", "Q026_adq takes a whole number, not 'three'"),
    ("wrong-cycle.csv", 5, 2, "cycle", "cycle '4' in a file ingested as cycle 5"),
    ("bad-header.csv", 5, 1, "header", "the header must name the columns party, cycle, question, value"),
    ("truncated.csv", 5, 3, None, "unclosed quote"),
    ("truncated-row.csv", 5, 3, None, "3 fields where the header has 4"),
    ("empty.csv", 5, None, "file", "file is empty"),
    ("header-only.csv", 5, 2, None, "no answers"),
    ("latin1.csv", 5, 2, "encoding", "not UTF-8 (byte 41"),
    ("utf16.csv", 5, 1, "encoding", "not UTF-8 (it looks like UTF-16)"),
    ("wrong-schema.json", 5, 1, "header.schema", "schema 'cpbNationalReport4' in a file ingested as cycle 5"),
    ("bad-option.json", 5, 5, "Q011", "'sometimes' is not an option of Q011"),
    ("truncated.json", 5, 3, None, "JSON syntax error"),
    ("options-not-a-list.json", 5, 4, "Q008", "answer of an unknown shape"),
    ("analyzer-record-without-government.json", 5, 3, "[1].government.identifier", "no reporting Party"),
]


@pytest.mark.parametrize(("name", "cycle", "line", "field", "fragment"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_files_name_file_line_field(name, cycle, line, field, fragment):
    with pytest.raises(AnswersInvalid) as info:
        read(f"invalid/{name}", cycle)
    exc = info.value
    assert (exc.line, exc.field) == (line, field)
    assert fragment in exc.problems[0].message
    assert str(exc).startswith(str(FIXTURES / "invalid" / name))  # the message names the file
    assert "nothing loaded" in str(exc)
    assert exc.exit_code == 1


def test_every_problem_is_listed_and_repeats_are_counted(tmp_path):
    path = tmp_path / "many.csv"
    rows = ["party,cycle,question,value"] + [f"CHN,5,Q{n:03d}x,true" for n in range(10)] + ["USA,5,Q007,true"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(AnswersInvalid) as info:
        read_answers(path, 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    problems = info.value.problems
    assert sorted({p.line for p in problems}) == list(range(2, 13))
    # line 12 has two problems: the Party and the value
    assert {p.field for p in problems if p.line == 12} == {"party", "value"}


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(SourceError, match="unknown answers format 'xlsx'"):
        read_answers(tmp_path / "a.xlsx", 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)
    with pytest.raises(SourceError, match="file not found"):
        read_answers(tmp_path / "missing.csv", 5, sources_dir=SETTINGS.sources_dir, data_dir=SETTINGS.data_dir)


def test_answer_triples_are_valid_n_triples():
    answers = read("valid/nr5-small.csv")
    lines = list(answer_triples(answers, PIDS, sources_dir=SETTINGS.sources_dir, derived_from="x.csv"))
    store = ox.Store()
    store.bulk_load("\n".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == len(set(lines))
    q = store.query("""PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
        SELECT ?text WHERE { ?a cpb:answersQuestion ?q ; cpb:answerText ?text }""")
    assert [r["text"].value for r in q] == ['Free text, with a comma and "quotes".']
    chn = str(PIDS.report(5, "CHN"))
    assert any(line.startswith(f"<{chn}> <http://purl.org/dc/terms/isPartOf> <{PIDS.collection()}>") for line in lines)


def test_answer_sample_conforms_to_the_shapes():
    """The Answer/NationalReport shapes, on a small sample (large answer sets skip pyshacl)."""
    from cpbkg.build.ontology import load_ontology
    from cpbkg.build.progress.parties import build_graph as parties_graph
    from cpbkg.build.sources import questionnaires, treaties
    from cpbkg.build.validation import load_shapes, validate

    answers = read("valid/nr5-small.csv")
    data = Graph()
    data.parse(data="\n".join(answer_triples(answers, PIDS, sources_dir=SETTINGS.sources_dir)), format="nt")
    data += questionnaires.build_graph(SETTINGS.data_dir, SETTINGS.sources_dir, Ids())
    data += parties_graph(SETTINGS.data_dir, Ids())
    data += treaties.build_graph(SETTINGS.sources_dir, Ids())
    report = validate(data + load_ontology(SETTINGS.ontology_dir), load_shapes(SETTINGS.shapes_dir))
    assert not [f for f in report.violations if "/party/" in str(f.focus)], report.summary()


def test_value_mapping_is_inverted_to_5th_to_4th():
    mapping = value_mapping(SETTINGS.sources_dir)
    assert mapping["Q007"] == ("Q014", {})
    assert mapping["Q131"] == ("Q150", {"none": "0", "1+": "5-", "5+": "5+", "false.na": "na"})
