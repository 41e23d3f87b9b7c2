"""The GBF (vision, mission, goals, targets, Target 17 monitoring) and SDG 2/3 graphs, built from the real sources."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from cpbkg.build.ontology import load_ontology
from cpbkg.build.reasoning import check_consistency, materialise
from cpbkg.build.sources import curated, gbf, sdg, zhtext
from cpbkg.build.sources.wording import TRANSLATION_NOTE
from cpbkg.build.validation import load_shapes, validate
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, SDG, SDGO, Ids

SETTINGS = Settings()
SOURCES = SETTINGS.sources_dir
IDS = Ids()
SIX = {"en", "zh", "fr", "es", "ru", "ar"}


@pytest.fixture(scope="module")
def gbf_graph() -> Graph:
    return gbf.build_graph(SOURCES, IDS)


@pytest.fixture(scope="module")
def sdg_graph() -> Graph:
    return sdg.build_graph(SOURCES, IDS)


def instances(graph: Graph, cls: URIRef) -> set[URIRef]:
    return set(graph.subjects(RDF.type, cls))


def normalised(path: Path) -> str:
    """A source file with every run of whitespace as one space (quoted texts wrap across lines)."""
    return " ".join(path.read_text(encoding="utf-8").split())


def en(graph: Graph, subject: URIRef, prop: URIRef = SKOS.prefLabel) -> str:
    values = [str(v) for v in graph.objects(subject, prop) if isinstance(v, Literal) and v.language == "en"]
    assert len(values) == 1, (subject, prop, values)
    return values[0]


def sources_copy(tmp_path: Path) -> Path:
    """A private copy of data/sources to break on purpose."""
    target = tmp_path / "sources"
    shutil.copytree(SOURCES, target)
    return target


# --------------------------------------------------------------------------- goals and targets


def test_four_goals_with_their_full_text(gbf_graph):
    goals = instances(gbf_graph, CPB.GBFGoal)
    assert goals == {IDS.gbf("goal", c) for c in "ABCD"}
    facts = normalised(SOURCES / gbf.FACTS_FILE)
    for goal in goals:
        code = str(gbf_graph.value(goal, SKOS.notation))
        assert str(gbf_graph.value(goal, CPB.cbdIdentifier)) == f"GBF-GOAL-{code}"
        text = en(gbf_graph, goal, CPB.text)
        assert f'**Goal {code}**: "{text}"' in facts
        assert all(isinstance(s, URIRef) and str(s).startswith("https://") for s in gbf_graph.objects(goal, DCTERMS.source))
    assert en(gbf_graph, IDS.gbf("goal", "B"), CPB.text).startswith("Biodiversity is sustainably used")


def test_twenty_three_targets_numbered_and_identified(gbf_graph):
    targets = instances(gbf_graph, CPB.GBFTarget)
    assert targets == {IDS.gbf("target", str(n)) for n in range(1, 24)}
    for n in range(1, 24):
        target = IDS.gbf("target", str(n))
        assert gbf_graph.value(target, SKOS.notation) == Literal(str(n))
        assert gbf_graph.value(target, CPB.cbdIdentifier) == Literal(f"GBF-TARGET-{n:02d}")
        assert int(gbf_graph.value(target, CPB.order)) == n
        assert URIRef(f"https://www.cbd.int/gbf/targets/{n}/") in set(gbf_graph.objects(target, DCTERMS.source))


def test_target_titles_and_texts_are_verbatim_from_the_sources(gbf_graph):
    facts = normalised(SOURCES / gbf.FACTS_FILE)
    t17 = IDS.gbf("target", "17")
    assert en(gbf_graph, t17) == "Strengthen Biosafety and Distribute the Benefits of Biotechnology"
    assert en(gbf_graph, t17, CPB.text).startswith("Establish, strengthen capacity for, and implement in all countries biosafety")
    for target in instances(gbf_graph, CPB.GBFTarget):
        assert en(gbf_graph, target) in facts
        for text in gbf_graph.objects(target, CPB.text):
            assert f'"{text}"' in facts
    with_text = {int(gbf_graph.value(t, SKOS.notation)) for t in gbf_graph.subjects(CPB.text, None)
                 if (t, RDF.type, CPB.GBFTarget) in gbf_graph}
    assert {2, 3, 5, 7, 8, 10, 13, 14, 15, 17, 18, 20, 21, 22, 23} == with_text


def test_a_cut_copy_is_not_published_as_the_target_text(gbf_graph):
    # the stored copy of Target 19 stops inside (f) ("[...]"): a partial text is no text
    assert "[...]" in (SOURCES / gbf.FACTS_FILE).read_text(encoding="utf-8")
    assert gbf_graph.value(IDS.gbf("target", "19"), CPB.text) is None


def test_normalised_identifiers_say_how_the_reporting_tool_spells_them(gbf_graph):
    notes = " ".join(gbf_graph.objects(IDS.gbf("target", "17"), SKOS.editorialNote))
    assert "GBF-TARGET-017" in notes
    # GBF-TARGET-22 is spelt that way on national CHM portals: nothing to say
    assert not any("two-digit" in n for n in gbf_graph.objects(IDS.gbf("target", "22"), SKOS.editorialNote))


def test_uris_are_those_the_curated_links_resolve_to(gbf_graph):
    assert curated.resolve_to(IDS, "gbf:17")[1] in instances(gbf_graph, CPB.GBFTarget)
    assert curated.resolve_to(IDS, "gbfgoal:D")[1] in instances(gbf_graph, CPB.GBFGoal)


# --------------------------------------------------------------------------- vision and mission


def test_vision_is_quoted_from_the_decision_with_its_official_english(gbf_graph):
    (vision,) = instances(gbf_graph, CPB.GBFVision)
    zh = [str(t) for t in gbf_graph.objects(vision, CPB.text) if t.language == "zh"]
    assert len(zh) == 1 and zh[0] in zhtext.clean((SOURCES / gbf.ZH_TEXT).read_text(encoding="utf-8"))
    assert zh[0].startswith("到2050年，生物多样性受到重视")
    assert f"“{en(gbf_graph, vision, CPB.text)}”" in normalised(SOURCES / gbf.EN_TEXT)
    assert gbf_graph.value(vision, CPB.englishWording) == CPB.OfficialWording
    assert gbf_graph.value(vision, CPB.englishSource) == gbf.ANNEX_EN_SOURCE


def test_mission_english_is_marked_as_the_projects_translation(gbf_graph):
    (mission,) = instances(gbf_graph, CPB.GBFMission)
    zh = [str(t) for t in gbf_graph.objects(mission, CPB.text) if t.language == "zh"]
    assert zh == [gbf.MISSION_ZH]
    assert gbf.MISSION_ZH in zhtext.clean((SOURCES / gbf.ZH_TEXT).read_text(encoding="utf-8"))
    # the English annex quotes the draft mission, which is not what the Chinese says
    english = en(gbf_graph, mission, CPB.text)
    assert english == gbf.MISSION_EN_TRANSLATION and english not in normalised(SOURCES / gbf.EN_TEXT)
    assert gbf_graph.value(mission, CPB.englishWording) == CPB.ProjectTranslation
    assert TRANSLATION_NOTE in set(gbf_graph.objects(mission, SKOS.editorialNote))
    assert gbf_graph.value(mission, CPB.englishSource) is None


def test_a_changed_chinese_mission_stops_a_stale_translation(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.ZH_TEXT
    path.write_text(path.read_text(encoding="utf-8").replace("造福人民和地球", "造福地球"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"cp-10-3-zh.txt \[mission\]: .*translat"):
        gbf.build_graph(sources, IDS)


# --------------------------------------------------------------------------- Target 17 monitoring


def test_target_17_indicators_are_those_of_the_monitoring_framework(gbf_graph):
    entries = json.loads((SOURCES / gbf.INDICATORS_FILE).read_text(encoding="utf-8"))
    expected = {e["code"]: e for e in entries if e["code"].startswith("17.")}
    assert set(expected) == {"17.b", "17.CY.1"}
    indicators = instances(gbf_graph, CPB.GBFIndicator)
    assert indicators == {IDS.gbf("indicator", code) for code in expected}
    for code, entry in expected.items():
        uri = IDS.gbf("indicator", code)
        assert gbf_graph.value(uri, CPB.cbdIdentifier) == Literal(entry["identifier"])
        assert en(gbf_graph, uri) == entry["title"]
        assert gbf_graph.value(uri, CPB.indicatorForTarget) == IDS.gbf("target", "17")
        assert gbf_graph.value(uri, DCTERMS.source) == gbf.INDICATORS_SOURCE
    assert gbf_graph.value(IDS.gbf("indicator", "17.b"), CPB.cbdIdentifier) == Literal("KMGBF-INDICATOR-BIN-17")


def test_six_binary_questions_in_six_languages(gbf_graph):
    blocks = json.loads((SOURCES / gbf.QUESTIONS_FILE).read_text(encoding="utf-8"))
    (block,) = [b for b in blocks if b["binaryIndicator"] == "KMGBF-INDICATOR-BIN-17"]
    questions = instances(gbf_graph, CPB.GBFQuestion)
    assert questions == {IDS.gbf("question", f"17.{n}") for n in range(1, 7)}
    for source in block["questions"]:
        uri = IDS.gbf("question", source["number"])
        labels = {l.language: str(l) for l in gbf_graph.objects(uri, SKOS.prefLabel)}
        assert set(labels) == SIX
        assert labels == {lang: " ".join(text.split()) for lang, text in source["title"].items()}
        assert gbf_graph.value(uri, CPB.questionForIndicator) == IDS.gbf("indicator", "17.b")
        assert gbf_graph.value(uri, CPB.mandatory) == Literal(True)
        options = list(gbf_graph.objects(uri, CPB.answerOption))
        assert len(options) == 4 * 6
        assert {str(o) for o in options if o.language == "en"} == {"No", "Under development", "Partially", "Fully"}


def test_questions_name_the_indicator_their_block_names(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.QUESTIONS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"binaryIndicator": "KMGBF-INDICATOR-BIN-17"', '"binaryIndicator": "KMGBF-INDICATOR-BIN-99"'),
                    encoding="utf-8")
    with pytest.raises(SourceError, match=r"gbf-binary-indicator-questions.json:\d+ .*KMGBF-INDICATOR-BIN-99"):
        gbf.build_graph(sources, IDS)


# --------------------------------------------------------------------------- broken sources


def test_a_missing_target_row_names_the_file_and_line(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.FACTS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("| 5 |")), encoding="utf-8")
    with pytest.raises(SourceError, match=r"reference-facts.md:\d+ \[Targets\]: .*missing 5\b"):
        gbf.build_graph(sources, IDS)


def test_a_missing_goal_names_the_file(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.FACTS_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("- **Goal C**:", "- Goal C:"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"reference-facts.md:\d+ \[Goals\]: goals missing: C"):
        gbf.build_graph(sources, IDS)


@pytest.mark.parametrize("relative", [gbf.INDICATORS_FILE, gbf.QUESTIONS_FILE])
def test_invalid_json_names_file_and_line(tmp_path, relative):
    sources = sources_copy(tmp_path)
    path = sources / relative
    path.write_text(path.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    with pytest.raises(SourceError, match=rf"{re.escape(relative.name)}:\d+: JSON syntax error"):
        gbf.build_graph(sources, IDS)


# --------------------------------------------------------------------------- SDGs


def test_sdg_goals_keep_the_uns_uris_and_labels(sdg_graph):
    goal2, goal3 = URIRef("http://metadata.un.org/sdg/2"), URIRef("http://metadata.un.org/sdg/3")
    assert en(sdg_graph, goal2).startswith("End hunger")
    assert en(sdg_graph, goal3) == "Ensure healthy lives and promote well-being for all at all ages"
    assert {l.language for l in sdg_graph.objects(goal2, SKOS.prefLabel)} == {"en", "es", "fr"}
    assert set(sdg_graph.subjects(SKOS.topConceptOf, sdg.SCHEME)) == {goal2, goal3}
    assert (goal2, RDF.type, SKOS.Concept) in sdg_graph
    assert Literal("2", datatype=SDGO.SDGCodeCompact) in set(sdg_graph.objects(goal2, SKOS.notation))
    # never our own URIs: everything described is the UN's
    assert all(str(s).startswith("http://metadata.un.org/sdg") for s in sdg_graph.subjects())


def test_sdg_targets_and_indicators_as_the_kos_gives_them(sdg_graph):
    kos = Graph().parse(SOURCES / sdg.KOS_FILE, format="turtle")
    for number, targets in ((2, 8), (3, 13)):
        goal = SDG[str(number)]
        expected = set(kos.objects(goal, SKOS.narrower))
        assert len(expected) == targets
        assert set(sdg_graph.objects(goal, SKOS.narrower)) == expected
        for target in expected:
            assert set(sdg_graph.predicate_objects(target)) >= set(
                (p, o) for p, o in kos.predicate_objects(target) if p in (SKOS.prefLabel, SKOS.broader, SKOS.narrower, SKOS.notation))
            for indicator in kos.objects(target, SKOS.narrower):
                assert (indicator, SKOS.broader, target) in sdg_graph
                assert (target, SDGO.hasIndicator, indicator) in sdg_graph
    assert (SDG["2.5"], SKOS.inScheme, sdg.SCHEME) in sdg_graph
    assert (SDG["C020501"], SKOS.notation, Literal("2.5.1", datatype=SDGO.SDGCodeCompact)) in sdg_graph
    assert not list(sdg_graph.triples((SDG["15"], None, None)))


def test_every_sdg_resource_names_the_kos_as_its_source(sdg_graph):
    subjects = set(sdg_graph.subjects())
    assert len(subjects) == 1 + 2 + 21 + 40  # scheme, goals, targets, indicators
    assert all((s, DCTERMS.source, sdg.KOS_SOURCE) in sdg_graph for s in subjects)


def test_a_missing_sdg_names_the_file(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / sdg.KOS_FILE
    kos = Graph().parse(path, format="turtle")
    kos.remove((SDG["3"], None, None))
    kos.serialize(path, format="turtle")
    with pytest.raises(SourceError, match=r"sdg-kos-goals-targets-indicators.ttl \[.*\]: SDG 3 "):
        sdg.build_graph(sources, IDS)


def test_broken_turtle_names_file_and_line(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / sdg.KOS_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\nsdg:2 skos:prefLabel \"unterminated .\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"sdg-kos-goals-targets-indicators.ttl:\d+: "):
        sdg.build_graph(sources, IDS)


# --------------------------------------------------------------------------- shapes and reasoner


@pytest.fixture(scope="module")
def union(gbf_graph, sdg_graph) -> tuple[Graph, Graph]:
    ontology = load_ontology(SETTINGS.ontology_dir)
    graph = Graph()
    for part in (ontology, gbf_graph, sdg_graph):
        graph += part
    graph += materialise(graph, ontology)
    return ontology, graph


def test_gbf_and_sdg_resources_conform_to_the_shapes(union, gbf_graph, sdg_graph):
    _, graph = union
    report = validate(graph, load_shapes(SETTINGS.shapes_dir))
    ours = {str(s) for s in set(gbf_graph.subjects()) | set(sdg_graph.subjects())}
    assert not [f for f in report.violations if f.focus in ours], report.summary()
    # the only warnings are the targets whose full text no source has
    warned = {f.focus for f in report.warnings}
    assert warned == {str(IDS.gbf("target", str(n))) for n in (1, 4, 6, 9, 11, 12, 16, 19)}


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")
def test_gbf_and_sdg_are_consistent_with_the_ontology(union):
    ontology, graph = union
    check_consistency(ontology, graph)
