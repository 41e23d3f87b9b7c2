"""The GBF (vision, mission, goals, targets, the monitoring framework's indicators, Target 17 questions) and SDG 2/3 graphs,
built from the real sources; the Secretariat's KMGBF vocabulary is read here independently of the module."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from cpbkg.build.ontology import load_ontology
from cpbkg.build.reasoning import check_consistency, materialise
from cpbkg.build.sources import curated, gbf, sdg, zhtext
from cpbkg.build.sources.wording import TRANSLATION_NOTE, TRANSLATIONS_FILE
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
    """A private copy of data/sources (and the translations beside it) to break on purpose."""
    target = tmp_path / "sources"
    shutil.copytree(SOURCES, target)
    (tmp_path / TRANSLATIONS_FILE).parent.mkdir(parents=True)
    shutil.copy(SETTINGS.data_dir / TRANSLATIONS_FILE, tmp_path / TRANSLATIONS_FILE)
    return target


@pytest.fixture(scope="module")
def kmgbf() -> Graph:
    """The Secretariat's vocabulary, parsed here independently of the module."""
    return Graph().parse(SOURCES / gbf.KMGBF_FILE, format="turtle")


def by_lang(graph: Graph, subject: URIRef, prop: URIRef) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in graph.objects(subject, prop):
        assert isinstance(value, Literal) and value.language not in found, (subject, prop, value)
        found[value.language] = " ".join(str(value).split())
    return found


def translated_into_chinese(graph: Graph, uri: URIRef) -> bool:
    """The resource has one Chinese label, marked as the project's translation with its note."""
    return (len([l for l in graph.objects(uri, SKOS.prefLabel) if l.language == "zh"]) == 1
            and graph.value(uri, CPB.chineseWording) == CPB.ProjectTranslation
            and any("project's translation" in n for n in graph.objects(uri, SKOS.editorialNote)))


KMGBF_NS = "http://metadata.cbd.int/kmgbf/"


# --------------------------------------------------------------------------- goals and targets


def test_four_goals_from_the_secretariats_vocabulary(gbf_graph, kmgbf):
    goals = instances(gbf_graph, CPB.GBFGoal)
    assert goals == {IDS.gbf("goal", c) for c in "ABCD"}
    for code in "ABCD":
        goal, theirs = IDS.gbf("goal", code), URIRef(f"{KMGBF_NS}goal_{code}")
        assert gbf_graph.value(goal, SKOS.exactMatch) == theirs
        assert set(gbf_graph.objects(goal, SKOS.notation)) == {
            Literal(code), Literal(f"GBF-GOAL-{code}", datatype=CPB.CBDThesaurusCode)}
        assert str(gbf_graph.value(goal, CPB.cbdIdentifier)) == f"GBF-GOAL-{code}"
        # the official text of decision 15/4, as the vocabulary gives it, in its three languages
        assert by_lang(gbf_graph, goal, CPB.text) == by_lang(kmgbf, theirs, SKOS.definition)
        assert set(by_lang(gbf_graph, goal, CPB.text)) == {"en", "es", "fr"}
        assert gbf_graph.value(goal, DCTERMS.source) == gbf.KMGBF_SOURCE
        assert gbf_graph.value(goal, PROV.wasDerivedFrom) == theirs
        assert translated_into_chinese(gbf_graph, goal)
    assert by_lang(gbf_graph, IDS.gbf("goal", "B"), CPB.text)["en"].startswith("Biodiversity is sustainably used")
    assert by_lang(gbf_graph, IDS.gbf("goal", "A"), SKOS.prefLabel)["zh"] == "长期目标A"


def test_twenty_three_targets_with_exact_matches_and_thesaurus_codes(gbf_graph, kmgbf):
    targets = instances(gbf_graph, CPB.GBFTarget)
    assert targets == {IDS.gbf("target", str(n)) for n in range(1, 24)}
    for n in range(1, 24):
        target, theirs = IDS.gbf("target", str(n)), URIRef(f"{KMGBF_NS}target_{n}")
        assert gbf_graph.value(target, SKOS.exactMatch) == theirs
        assert set(gbf_graph.objects(target, SKOS.notation)) == {
            Literal(str(n)), Literal(f"GBF-TARGET-{n:02d}", datatype=CPB.CBDThesaurusCode)}
        assert gbf_graph.value(target, CPB.cbdIdentifier) == Literal(f"GBF-TARGET-{n:02d}")
        assert int(gbf_graph.value(target, CPB.order)) == n
        # title: the thesaurus title the vocabulary gives (dct:title); text: decision 15/4 (skos:definition)
        labels = by_lang(gbf_graph, target, SKOS.prefLabel)
        assert {k: v for k, v in labels.items() if k != "zh"} == by_lang(kmgbf, theirs, DCTERMS.title)
        assert by_lang(gbf_graph, target, CPB.text) == by_lang(kmgbf, theirs, SKOS.definition)
        assert Literal(f"Target {n}", lang="en") in set(gbf_graph.objects(target, SKOS.altLabel))
        assert translated_into_chinese(gbf_graph, target)
    t17 = IDS.gbf("target", "17")
    assert by_lang(gbf_graph, t17, SKOS.prefLabel)["en"] == "Strengthen biosafety and distribute benefits of biotechnology"
    assert by_lang(gbf_graph, t17, CPB.text)["en"].startswith("Establish, strengthen capacity for, and implement in all countries")


def test_no_target_cites_a_page_it_was_not_copied_from(gbf_graph):
    # the titles used to come from reference-facts.md, citing CBD pages they were not copied from
    for target in instances(gbf_graph, CPB.GBFTarget):
        assert set(gbf_graph.objects(target, DCTERMS.source)) == {gbf.KMGBF_SOURCE}
        assert not [n for n in gbf_graph.objects(target, SKOS.editorialNote) if "copied from" in n]


def test_the_vocabulary_is_attributed_as_its_licence_asks(gbf_graph):
    assert gbf_graph.value(gbf.KMGBF_SOURCE, DCTERMS.license) == gbf.KMGBF_LICENCE
    assert gbf.KMGBF_ATTRIBUTION in str(gbf_graph.value(gbf.KMGBF_SOURCE, DCTERMS.rights))
    assert str(gbf.KMGBF_LICENCE) in (SOURCES / "kmgbf" / "LICENSE").read_text(encoding="utf-8")


def test_uris_are_those_the_curated_links_resolve_to(gbf_graph):
    assert curated.resolve_to(IDS, "gbf:17")[1] in instances(gbf_graph, CPB.GBFTarget)
    assert curated.resolve_to(IDS, "gbfgoal:D")[1] in instances(gbf_graph, CPB.GBFGoal)


# --------------------------------------------------------------------------- vision and mission


def test_vision_is_quoted_from_the_decision_and_its_english_is_a_translation(gbf_graph):
    (vision,) = instances(gbf_graph, CPB.GBFVision)
    zh = [str(t) for t in gbf_graph.objects(vision, CPB.text) if t.language == "zh"]
    assert len(zh) == 1 and zh[0] in zhtext.clean((SOURCES / gbf.ZH_TEXT).read_text(encoding="utf-8"))
    assert zh[0].startswith("到2050年，生物多样性受到重视")
    # the English copy of the annex quotes the same words, but the project does not take it as official
    assert f"“{en(gbf_graph, vision, CPB.text)}”" in normalised(SOURCES / gbf.EN_TEXT)
    assert gbf_graph.value(vision, CPB.englishWording) == CPB.ProjectTranslation
    assert gbf_graph.value(vision, CPB.englishSource) is None
    assert any("the same words" in n for n in gbf_graph.objects(vision, SKOS.editorialNote))
    assert gbf_graph.value(vision, CPB.chineseSource) == IDS.decision_part("CP-10/3", "annex-para", "4")


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


# --------------------------------------------------------------------------- the monitoring framework


def test_all_204_indicators_with_their_identifiers(gbf_graph, kmgbf):
    entries = json.loads((SOURCES / gbf.INDICATORS_FILE).read_text(encoding="utf-8"))
    assert len(entries) == 204
    indicators = instances(gbf_graph, CPB.GBFIndicator)
    assert indicators == {IDS.gbf("indicator", e["code"]) for e in entries}
    for entry in entries:
        uri = IDS.gbf("indicator", entry["code"])
        theirs = URIRef(f"{KMGBF_NS}indicator_{entry['code']}")
        assert gbf_graph.value(uri, SKOS.exactMatch) == theirs
        assert gbf_graph.value(uri, CPB.cbdIdentifier) == Literal(entry["identifier"])
        assert Literal(entry["identifier"], datatype=CPB.CBDThesaurusCode) in set(gbf_graph.objects(uri, SKOS.notation))
        labels = by_lang(gbf_graph, uri, SKOS.prefLabel)
        assert {k: v for k, v in labels.items() if k != "zh"} == by_lang(kmgbf, theirs, SKOS.prefLabel)
        assert translated_into_chinese(gbf_graph, uri)
    assert gbf_graph.value(IDS.gbf("indicator", "17.b"), CPB.cbdIdentifier) == Literal("KMGBF-INDICATOR-BIN-17")


def test_indicator_roles_are_the_vocabularys(gbf_graph, kmgbf):
    ours = {gbf.KMGBFO.isHeadlineFor: CPB.headlineFor, gbf.KMGBFO.isBinaryFor: CPB.binaryFor,
            gbf.KMGBFO.isComponentFor: CPB.componentFor, gbf.KMGBFO.isComplementaryFor: CPB.complementaryFor}

    def local(uri: URIRef) -> str:
        return str(uri).rsplit("/", 1)[-1]

    expected = {(local(s), p, local(o)) for theirs, p in ours.items() for s, o in kmgbf.subject_objects(theirs)}
    found = {(local(s), p, local(o)) for p in ours.values() for s, o in gbf_graph.subject_objects(p)}
    # ours: .../gbf/indicator/7.1 -> "7.1", .../gbf/target/8 -> "8"; theirs: indicator_7.1, target_8
    expected = {(s.removeprefix("indicator_"), p, o.replace("target_", "").replace("goal_", "")) for s, p, o in expected}
    assert found == expected
    assert {p: len([1 for _, q, _ in found if q == p]) for p in ours.values()} == {
        CPB.headlineFor: 37, CPB.binaryFor: 16, CPB.componentFor: 59, CPB.complementaryFor: 162}
    # one indicator, two roles: 7.1 is headline for Target 7 and complementary for Target 8
    i71 = IDS.gbf("indicator", "7.1")
    assert gbf_graph.value(i71, CPB.headlineFor) == IDS.gbf("target", "7")
    assert gbf_graph.value(i71, CPB.complementaryFor) == IDS.gbf("target", "8")
    assert set(gbf_graph.objects(IDS.gbf("indicator", "17.b"), CPB.binaryFor)) == {IDS.gbf("target", "17")}


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


def test_a_target_missing_from_the_vocabulary_names_the_file(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.KMGBF_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("kmgbf:target_5 a", "kmgbf:target_5x a"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"kmgbf-all.ttl \[http://metadata.cbd.int/kmgbf/target_5\]: target 5 "):
        gbf.build_graph(sources, IDS)


def test_indicator_lists_that_disagree_are_refused(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.INDICATORS_FILE
    entries = [e for e in json.loads(path.read_text(encoding="utf-8")) if e["code"] != "17.CY.1"]
    path.write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(SourceError, match=r"gbf-indicators.json: .*only there: \['17.CY.1'\]"):
        gbf.build_graph(sources, IDS)


def test_a_stale_chinese_translation_is_refused(tmp_path):
    sources = sources_copy(tmp_path)
    path = sources / gbf.KMGBF_FILE
    old = 'dct:title "Strengthen biosafety and distribute benefits of biotechnology"@en'
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, 'dct:title "Biosafety is strengthened"@en'), encoding="utf-8")
    with pytest.raises(SourceError, match=r"zh.yaml:\d+ \[id/gbf/target/17.en\]: the translation of id/gbf/target/17 is of"):
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
    assert {l.language for l in sdg_graph.objects(goal2, SKOS.prefLabel)} == {"en", "es", "fr", "zh"}
    # the KOS has no Chinese: every SDG resource's Chinese label is the project's translation, marked
    for uri in set(sdg_graph.subjects(SKOS.inScheme, sdg.SCHEME)) | {sdg.SCHEME}:
        assert translated_into_chinese(sdg_graph, uri), uri
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
    # every target now has its full text: no warnings on GBF or SDG resources
    assert not [f for f in report.warnings if f.focus in ours]


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java")
def test_gbf_and_sdg_are_consistent_with_the_ontology(union):
    ontology, graph = union
    check_consistency(ontology, graph)
