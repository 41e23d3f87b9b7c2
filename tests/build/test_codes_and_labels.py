"""Codes and names on the built graph (issue 16): a notation identifies one concept in its scheme,
questions show the codes their questionnaire prints and keep their BCH key beside them, and
articles and questions have a label naming their treaty or questionnaire."""

from __future__ import annotations

from support.graph import ask, select

PLAN = "<https://w3id.org/cpbkg/id/plan>"


def test_a_plan_code_names_one_concept_of_the_plan_scheme(kg):
    rows = select(kg, f'SELECT ?x WHERE {{ ?x skos:notation "A.1" ; skos:inScheme {PLAN} }}')
    assert [r["x"] for r in rows] == ["https://w3id.org/cpbkg/id/goal/A.1"]
    rows = select(kg, f'SELECT ?x WHERE {{ ?x skos:notation "A.8" ; skos:inScheme {PLAN} }}')
    assert [r["x"] for r in rows] == ["https://w3id.org/cpbkg/id/goal/A.8"]
    assert not ask(kg, f"""ASK {{ ?a skos:inScheme {PLAN} ; skos:notation ?code .
                               ?b skos:inScheme {PLAN} ; skos:notation ?code . FILTER (?a != ?b) }}""")


def test_outcomes_have_their_own_code(kg):
    rows = select(kg, "SELECT ?code WHERE { <https://w3id.org/cpbkg/id/outcome/A.10> skos:notation ?code }")
    assert [r["code"] for r in rows] == ["A.10-O"]
    rows = select(kg, "SELECT (COUNT(?o) AS ?n) WHERE { ?o a cpb:Outcome ; skos:notation ?c FILTER(STRENDS(?c, '-O')) }")
    assert rows[0]["n"] == "14"


def test_question_codes_are_the_printed_ones_and_the_key_is_an_identifier(kg):
    rows = select(kg, """SELECT ?code ?key ?id WHERE {
        <https://w3id.org/cpbkg/id/report/nr4/question/Q012_party> skos:notation ?code ; cpb:questionKey ?key ;
            dcterms:identifier ?id }""")
    assert rows == [{"code": "Q11", "key": "Q012_party", "id": "Q012_party"}]
    rows = select(kg, "SELECT ?code WHERE { <https://w3id.org/cpbkg/id/report/nr4/question/Q018> skos:notation ?code }")
    assert [r["code"] for r in rows] == ["Q18"]
    # a sub-question the questionnaire does not number keeps its key, never "Q65()"
    assert not ask(kg, 'ASK { ?q a cpb:ReportQuestion ; skos:notation ?c FILTER(CONTAINS(?c, "()")) }')
    rows = select(kg, "SELECT ?code WHERE { <https://w3id.org/cpbkg/id/report/nr4/question/Q065_b_adq> skos:notation ?code }")
    assert [r["code"] for r in rows] == ["Q065_b_adq"]
    # unique within each questionnaire
    assert not ask(kg, """ASK { ?a a cpb:ReportQuestion ; cpb:reportingCycle ?c ; skos:notation ?code .
                               ?b a cpb:ReportQuestion ; cpb:reportingCycle ?c ; skos:notation ?code . FILTER (?a != ?b) }""")


def test_labels_say_which_questionnaire_and_which_treaty(kg):
    rows = select(kg, """SELECT ?q ?label WHERE { ?q a cpb:ReportQuestion ; skos:notation "Q11" ; rdfs:label ?label
                         FILTER(LANG(?label) = "en") } ORDER BY ?label""")
    assert [r["label"] for r in rows] == ["4th national report (Cartagena Protocol), Q11",
                                          "5th national report (Cartagena Protocol), Q11"]
    rows = select(kg, """SELECT ?label WHERE { ?a a cpb:Article ; skos:notation "Art. 19" ; rdfs:label ?label
                         FILTER(LANG(?label) = "en") } ORDER BY ?label""")
    assert [r["label"] for r in rows] == [
        "Cartagena Protocol, Article 19: Competent national authorities and national focal points",
        "Convention on Biological Diversity, Article 19: Handling of Biotechnology and Distribution of its Benefits",
        "Nagoya – Kuala Lumpur Supplementary Protocol, Article 19: Reservations"]


def test_gbf_targets_link_to_the_secretariats_vocabulary(kg):
    rows = select(kg, """SELECT ?n ?match ?code WHERE { ?t a cpb:GBFTarget ; cpb:number ?n ; skos:exactMatch ?match ;
                         skos:notation ?code FILTER(DATATYPE(?code) = cpb:CBDThesaurusCode) }""")
    assert len(rows) == 23
    for row in rows:
        assert row["match"] == f"http://metadata.cbd.int/kmgbf/target_{row['n']}"
        assert row["code"] == f"GBF-TARGET-{int(row['n']):02d}"


def test_void_gives_the_label_share_per_class_and_language(built):
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import DCTERMS, VOID

    from cpbkg.vocab import CPB

    void = Graph().parse(built.dist_dir / "void.ttl", format="turtle")
    dataset = URIRef("https://w3id.org/cpbkg/dataset")
    shares: dict[str, dict[str, float]] = {}
    for partition in void.objects(dataset, VOID.classPartition):
        cls = str(void.value(partition, VOID["class"]))
        for stat in void.objects(partition, CPB.labelStatistics):
            lang = str(void.value(stat, DCTERMS.language))
            shares.setdefault(cls, {})[lang] = float(void.value(stat, CPB.labelShare))
            assert isinstance(void.value(stat, VOID.entities), Literal)
    assert {"zh", "en", "fr", "es", "ru", "ar"} <= set(shares["https://w3id.org/cpbkg/ontology#GBFIndicator"])
    # every class, link records and the dataset's own description (graphs, files) included
    below = {cls: s for cls, s in shares.items() if s["zh"] < 1 or s["en"] < 1}
    assert below == {}
    assert shares["https://w3id.org/cpbkg/ontology#Article"]["fr"] == round(19 / 64, 4)


def test_a_link_record_is_named_by_its_ends_in_both_languages(kg):
    rows = select(kg, """SELECT ?zh ?en WHERE {
        ?link a cpb:Link ; cpb:linkSubject <https://w3id.org/cpbkg/id/goal/B.3> ; cpb:linkPredicate cpb:contributesTo ;
              cpb:linkObject <https://w3id.org/cpbkg/id/gbf/target/21> ; rdfs:label ?zh , ?en .
        FILTER(LANG(?zh) = "zh" && LANG(?en) = "en") }""")
    assert [(r["zh"], r["en"]) for r in rows] == [
        ("长期目标 B.3 有助于实现 全球生物多样性框架行动目标 21", "Long-term goal B.3 contributes to GBF target 21")]
    # composed, not official: the class says so in both languages
    assert ask(kg, """ASK { cpb:Link skos:editorialNote ?en , ?zh FILTER(LANG(?en) = "en" && LANG(?zh) = "zh") }""")


def test_no_translated_chinese_is_shown_as_official(kg):
    # pages badge the Chinese "official text" on resources with cpb:englishWording (docs/decisions/0016)
    assert not ask(kg, "ASK { ?x cpb:englishWording ?w ; cpb:chineseWording ?c FILTER(?c != cpb:OfficialWording) }")
    # every resource marked a project translation or paraphrase in Chinese says so in a note
    assert not ask(kg, """ASK { ?x cpb:chineseWording ?c FILTER(?c != cpb:OfficialWording)
                               FILTER NOT EXISTS { ?x skos:editorialNote ?n } }""")
