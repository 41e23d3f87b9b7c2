"""The built graph, queried with SPARQL over dist/: counts, labels, decision, treaties, dumps."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from support.graph import ask, select


def count(kg, cls: str) -> int:
    return int(select(kg, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a {cls} }}")[0]["n"])


@pytest.mark.parametrize("cls,expected", [("cpb:Area", 2), ("cpb:Goal", 14), ("cpb:Objective", 36),
                                          ("cpb:Indicator", 48), ("cpb:Outcome", 14)])
def test_plan_counts(kg, cls, expected):
    assert count(kg, cls) == expected


def test_treaty_provision_counts(kg):
    rows = select(kg, """SELECT ?t (COUNT(?p) AS ?n) WHERE { ?p cpb:provisionOf ?t } GROUP BY ?t""")
    counts = {r["t"].rsplit("/", 1)[-1]: int(r["n"]) for r in rows}
    assert counts == {"cpb": 43, "nkl": 21, "cbd": 3}


def test_every_plan_element_has_one_zh_and_one_en_label(kg):
    rows = select(kg, """
        SELECT ?x WHERE {
          ?x a cpb:PlanElement .
          FILTER (NOT EXISTS { ?x skos:prefLabel ?zh FILTER(LANG(?zh) = "zh") }
               || NOT EXISTS { ?x skos:prefLabel ?en FILTER(LANG(?en) = "en") })
        }""")
    assert rows == []
    assert count(kg, "cpb:PlanElement") == 2 + 14 + 36 + 48 + 14


def test_official_english_is_marked_with_its_source(kg):
    rows = select(kg, """
        SELECT ?label ?src WHERE {
          ?x skos:notation "A.1(a)" ; a cpb:Indicator ; skos:prefLabel ?label ;
             cpb:englishWording cpb:OfficialWording ; cpb:englishSource ?src .
          FILTER (LANG(?label) = "en")
        }""")
    assert rows and rows[0]["label"].startswith("Percentage of Parties that have measures in place")
    assert rows[0]["src"] == "https://bch.cbd.int/protocol/issues/5ar.shtml"


def test_translated_english_says_so(kg):
    rows = select(kg, """
        SELECT ?x ?note WHERE {
          ?x a cpb:Goal ; skos:notation "A.5" ; cpb:englishWording cpb:ProjectTranslation ; skos:editorialNote ?note .
        }""")
    assert rows and "not official wording" in rows[0]["note"]
    # and no translation claims to be official
    assert not ask(kg, "ASK { ?x cpb:englishWording cpb:ProjectTranslation ; cpb:englishSource ?s }")


def test_hierarchy_navigable_both_ways(kg):
    assert ask(kg, 'ASK { ?g skos:notation "A.1" ; a cpb:Goal ; cpb:hasObjective ?o . ?o skos:notation "A.1.1" ; cpb:objectiveOf ?g ; skos:broader ?g }')
    assert ask(kg, 'ASK { ?g skos:notation "B.3" ; a cpb:Goal ; cpb:hasIndicator ?i ; cpb:hasOutcome ?out ; cpb:inArea ?a . ?i skos:notation "B.3(g)" ; cpb:indicatorOf ?g . ?out cpb:outcomeOf ?g . ?a cpb:hasGoal ?g ; skos:notation "B" }')


def test_explicit_citations_of_articles(kg):
    rows = select(kg, """
        SELECT DISTINCT ?n WHERE {
          ?x cpb:cites ?art . ?art cpb:provisionOf ?t ; cpb:number ?n . ?t skos:notation ?tn .
          ?link cpb:linkSubject ?x ; cpb:linkObject ?art ; cpb:basis cpb:ExplicitCitation .
          FILTER (CONTAINS(STR(?t), "/treaty/cpb"))
        }""")
    cited = {r["n"] for r in rows}
    assert {"17", "18", "15", "22", "23", "26", "28", "31", "III"} <= cited
    assert ask(kg, 'ASK { ?x cpb:cites ?a . ?a cpb:number "24" . FILTER(CONTAINS(STR(?a), "/treaty/cbd/")) }')


def test_decision_paragraphs_and_requests(kg):
    numbers = {r["n"] for r in select(kg, "SELECT ?n WHERE { ?p a cpb:OperativeParagraph ; cpb:number ?n }")}
    assert {str(i) for i in range(1, 10)} | {"7(a)", "7(b)"} <= numbers
    annex = {r["n"] for r in select(kg, "SELECT ?n WHERE { ?p a cpb:AnnexParagraph ; cpb:number ?n }")}
    assert annex == {str(i) for i in range(1, 19)}
    assert count(kg, "cpb:AnnexSection") == 7
    rows = select(kg, """
        SELECT ?who ?para ?deadline WHERE {
          ?a cpb:actionType ?t ; cpb:addressee ?actor ; cpb:actionOf ?p ; cpb:deadline ?deadline .
          ?t skos:prefLabel "requests"@en . ?actor skos:prefLabel ?who . ?p cpb:number ?para .
          FILTER (LANG(?who) = "en" && LANG(?deadline) = "en")
        }""")
    assert any(r["para"] == "9" and "12" in r["deadline"] for r in rows), rows


def test_cited_documents_are_resources(kg):
    symbols = {r["s"] for r in select(kg, "SELECT ?s WHERE { ?d a cpb:Document ; skos:notation ?s }")}
    assert {"CP-9/7", "CP-9/3", "CP-10/4", "CP-10/6", "BS-V/16", "BS-V/11", "15/4", "CBD/SBI/3/3/Add.1"} <= symbols


def test_gbf_and_sdgs(kg):
    assert count(kg, "cpb:GBFTarget") == 23
    assert count(kg, "cpb:GBFGoal") == 4
    assert ask(kg, 'ASK { <http://metadata.un.org/sdg/2> skos:prefLabel ?l . FILTER(STRSTARTS(STR(?l), "End hunger")) }')
    assert ask(kg, "ASK { ?plan cpb:supportsSDG <http://metadata.un.org/sdg/2> , <http://metadata.un.org/sdg/3> }")
    langs = {r["l"] for r in select(kg, 'SELECT DISTINCT (LANG(?t) AS ?l) WHERE { ?q a cpb:GBFQuestion ; skos:notation "17.1" ; skos:prefLabel ?t }')}
    assert langs == {"en", "zh", "fr", "es", "ru", "ar"}


def test_every_link_has_a_basis_and_a_source(kg):
    assert not ask(kg, "ASK { ?l a cpb:Link . FILTER (NOT EXISTS { ?l cpb:basis ?b } || NOT EXISTS { ?l dcterms:source ?s }) }")


def test_dist_files_and_checksums(built):
    dist = built.dist_dir
    names = {p.name for p in dist.iterdir()}
    assert {"cpbkg.trig", "cpbkg.ttl", "cpbkg.nt.gz", "cpbkg.jsonld", "void.ttl", "shacl-report.ttl",
            "SHA256SUMS", "release.json"} <= names
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name
    release = json.loads((dist / "release.json").read_text())
    assert release["counts"] == {"areas": 2, "goals": 14, "objectives": 36, "indicators": 48, "outcomes": 14}


@pytest.mark.slow  # rdflib parses every dump of the build: about 12 s here
def test_every_dump_parses_to_the_same_triples(built):
    dist = built.dist_dir
    ttl = Graph().parse(dist / "cpbkg.ttl", format="turtle")
    nt = Graph().parse(data=gzip.decompress((dist / "cpbkg.nt.gz").read_bytes()), format="nt")
    jsonld = list(ox.parse(path=str(dist / "cpbkg.jsonld"), format=ox.RdfFormat.JSON_LD))
    assert len(ttl) == len(nt) == len(jsonld) > 10_000
    ds = Dataset()
    ds.parse(dist / "cpbkg.trig", format="trig")
    graphs = {str(g.identifier).rsplit("/", 1)[-1] for g in ds.graphs() if len(g)}
    assert {"ontology", "plan", "decision", "treaties", "gbf", "sdg", "inferred"} <= graphs


def test_void_describes_distributions(built):
    void = Graph().parse(built.dist_dir / "void.ttl")
    q = """PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX void: <http://rdfs.org/ns/void#>
           SELECT ?d WHERE { ?ds a void:Dataset ; dcat:distribution ?d ; void:triples ?n }"""
    files = [f.name for f in built.dist_dir.iterdir()]
    # the four whole dumps, one Turtle dump per named graph, the CSV tables and their Excel variants
    graph_dumps = [n for n in files if n.startswith("graph-") and n.endswith(".ttl")]
    tables = [n for n in files if n.endswith(".csv")]
    assert graph_dumps and tables
    assert len(list(void.query(q))) == 4 + len(graph_dumps) + len(tables)
