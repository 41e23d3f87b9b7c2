"""The 4th and 5th report questionnaires, their mapping and the indicator methodology as RDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from cpbkg.build.sources import questionnaires
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

SETTINGS = Settings()
IDS = Ids()


@pytest.fixture(scope="module")
def graph() -> Graph:
    return questionnaires.build_graph(SETTINGS.data_dir, SETTINGS.sources_dir, IDS)


def all_keys(path: Path) -> set[str]:
    keys: set[str] = set()

    def walk(questions):
        for q in questions:
            keys.add(q["key"])
            walk(q.get("questions", []))

    for section in json.loads(path.read_text(encoding="utf-8"))["sections"]:
        walk(section["questions"])
    return keys


@pytest.mark.parametrize("cycle", [4, 5])
def test_every_question_of_the_source_is_in_the_graph(graph, cycle):
    keys = all_keys(SETTINGS.sources_dir / "bch" / f"cpb-national-report-{cycle}.json")
    in_graph = {str(k) for q in graph.subjects(CPB.reportingCycle, Literal(cycle)) for k in graph.objects(q, CPB.questionKey)}
    assert keys == in_graph
    assert len(keys) > 180


def test_question_titles_and_options_in_six_languages(graph):
    q7 = IDS.question(5, "Q007")
    assert {l.language for l in graph.objects(q7, SKOS.prefLabel)} == {"en", "zh", "fr", "es", "ru", "ar"}
    assert graph.value(q7, SKOS.notation) == Literal("Q7")
    codes = {str(graph.value(o, CPB.valueCode)) for o in graph.objects(q7, CPB.hasOption)}
    assert "implementation.fullInPlace" in codes and len(codes) == 5


def test_sub_questions_are_numbered_as_printed(graph):
    sub = IDS.question(5, "Q102_a")
    assert graph.value(sub, SKOS.notation) == Literal("Q102(a)")
    assert (IDS.question(5, "Q102"), CPB.hasQuestion, sub) in graph


def test_sections_name_their_articles(graph):
    section = IDS.report_section(5, "Articles7-10")
    assert {str(a).rsplit("/", 1)[-1] for a in graph.objects(section, CPB.sectionArticle)} == {"7", "8", "9", "10"}


def test_cross_cycle_mapping_is_an_official_link(graph):
    q7, q14 = IDS.question(5, "Q007"), IDS.question(4, "Q014")
    assert (q7, CPB.correspondsTo, q14) in graph
    links = [l for l in graph.subjects(CPB.linkSubject, q7) if (l, CPB.linkObject, q14) in graph]
    assert links and graph.value(links[0], CPB.basis) == CPB.OfficialMapping


def test_indicator_methodology_matches_the_official_table(graph):
    # the measurement links are written with the methodology, in one place (issue 16); the
    # questionnaires graph keeps the table's data-source texts and the question checks
    from cpbkg.build.progress.observations import load_methodology, methodology_graph

    assert not list(graph.subject_objects(CPB.measuredBy))
    graph = graph + methodology_graph(load_methodology(SETTINGS.data_dir, SETTINGS.sources_dir), IDS,
                                      SETTINGS.sources_dir)
    a1a = IDS.indicator("A.1(a)")
    measured = {str(graph.value(q, SKOS.notation)) + f"@{graph.value(q, CPB.reportingCycle)}" for q in graph.objects(a1a, CPB.measuredBy)}
    assert measured == {"Q14@4", "Q15@4", "Q7@5", "Q8@5"}
    assert len(list(graph.objects(IDS.indicator("A.2(a)"), CPB.measuredBy))) == 24
    official = {o for link in graph.subjects(CPB.basis, CPB.OfficialMapping)
                if graph.value(link, CPB.linkPredicate) == CPB.measuredBy for o in graph.objects(link, CPB.linkObject)}
    assert {str(graph.value(q, SKOS.notation)) + f"@{graph.value(q, CPB.reportingCycle)}" for q in official} >= measured
    # A.1(b) comes from the BCH, not from report questions
    assert not list(graph.objects(IDS.indicator("A.1(b)"), CPB.measuredBy))
    assert Literal("Baseline: BCH on 31 December 2019", lang="en") in set(graph.objects(IDS.indicator("A.1(b)"), CPB.dataSource))


def test_methodology_texts_are_verbatim_from_the_official_table():
    import yaml

    official = " ".join((SETTINGS.sources_dir / "cp-10-3-en-partial.txt").read_text(encoding="utf-8").split())
    data = yaml.safe_load((SETTINGS.data_dir / questionnaires.METHODOLOGY_FILE).read_text(encoding="utf-8"))
    for entry in data["indicators"]:
        for cycle in entry["cycles"]:
            assert " ".join(cycle["text"].split()) in official, cycle["text"]


def test_unknown_question_in_methodology_names_file_and_line(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(SETTINGS.data_dir / "methodology", data / "methodology")
    path = data / questionnaires.METHODOLOGY_FILE
    path.write_text(path.read_text(encoding="utf-8").replace('questions: ["18"]', 'questions: ["999"]'), encoding="utf-8")
    with pytest.raises(SourceError, match=r"indicator-sources.yaml:\d+ .*no question 999"):
        questionnaires.build_graph(data, SETTINGS.sources_dir, IDS)


def test_broken_json_names_file_and_line(tmp_path):
    import shutil

    sources = tmp_path / "sources"
    shutil.copytree(SETTINGS.sources_dir / "bch", sources / "bch")
    path = sources / "bch" / "cpb-national-report-5.json"
    path.write_text(path.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    with pytest.raises(SourceError, match=r"cpb-national-report-5.json:\d+: JSON syntax error"):
        questionnaires.build_graph(SETTINGS.data_dir, sources, IDS)
