"""SPARQL constraints run on pyoxigraph find exactly what pySHACL finds with every shape.

The reference is pySHACL itself, given the whole shapes graph (its own SPARQL evaluation);
the subject is :func:`cpbkg.build.validation.validate`, which hands the ``sh:sparql`` constraints to
:mod:`cpbkg.build.constraints`. Each case is a fixture, or a fixture broken one way on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF
from support.graph import TEST_DATA

from cpbkg.build import constraints
from cpbkg.build.ontology import load_ontology
from cpbkg.build.rdfio import parse_file
from cpbkg.build.reasoning import materialise
from cpbkg.build.validation import Report, _findings, load_shapes, validate
from cpbkg.config import Settings

FIXTURES = TEST_DATA / "shapes"
SETTINGS = Settings()
ID = "https://w3id.org/cpbkg/id/"
#: a plain namespace: cpbkg.vocab.CPB holds only the core ontology's terms
CPB = Namespace("https://w3id.org/cpbkg/ontology#")
GOAL = URIRef(ID + "goal/A.1")
LINK = URIRef(ID + "link/1")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes(SETTINGS.shapes_dir)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology(SETTINGS.ontology_dir)


def reference(data: Graph, shapes: Graph) -> Report:
    """pySHACL alone, every shape included: what the build used before cpbkg.build.constraints."""
    _, report, _ = pyshacl_validate(data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True)
    return Report(report, _findings(report))


def keys(report: Report) -> set[tuple[str, str, str, str, str]]:
    return {(f.severity, f.focus, f.path, f.value, f.message) for f in report.findings}


def materialised(path: Path, ontology: Graph) -> Graph:
    data = parse_file(path)
    data += materialise(data, ontology)
    return data


def _no_direct_triple(g: Graph) -> None:
    # the link resource says goal -> target 19, and the goal no longer says so itself
    g.remove((GOAL, CPB.contributesTo, None))


def _direct_triple_without_link(g: Graph) -> None:
    g.add((GOAL, CPB.cites, URIRef(ID + "treaty/cpb/article/23")))


def _curated_link_without_creator(g: Graph) -> None:
    g.remove((LINK, DCTERMS.creator, None))


def _objective_code_under_another_goal(g: Graph) -> None:
    objective = URIRef(ID + "objective/A.1.1")
    g.set((objective, URIRef("http://www.w3.org/2004/02/skos/core#notation"), Literal("A.2.1")))


def _translation_claiming_a_source(g: Graph) -> None:
    g.add((GOAL, CPB.englishSource, URIRef("https://example.org/official")))


def _answer_with_a_foreign_option(g: Graph) -> None:
    answer, question, option = URIRef(ID + "answer/x"), URIRef(ID + "question/q1"), URIRef(ID + "option/o9")
    g.add((answer, RDF.type, CPB.Answer))
    g.add((answer, CPB.answersQuestion, question))
    g.add((answer, CPB.selectedOption, option))
    g.add((question, CPB.hasOption, URIRef(ID + "option/o1")))


MUTATIONS = {f.__name__.strip("_"): f for f in (
    _no_direct_triple, _direct_triple_without_link, _curated_link_without_creator,
    _objective_code_under_another_goal, _translation_claiming_a_source, _answer_with_a_foreign_option)}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.ttl")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_findings_equal_pyshacl_alone(path, shapes, ontology):
    data = materialised(path, ontology)
    assert keys(validate(data, shapes)) == keys(reference(data, shapes))


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_broken_data_findings_equal_pyshacl_alone(name, shapes, ontology):
    data = materialised(FIXTURES / "invalid" / "direct-link-without-basis.ttl", ontology)
    data.add((GOAL, CPB.contributesTo, URIRef(ID + "gbf/target/19")))  # repair it: start from a valid graph
    data.remove((GOAL, CPB.contributesTo, URIRef(ID + "gbf/target/17")))
    assert validate(data, shapes).conforms, validate(data, shapes).summary()
    MUTATIONS[name](data)
    ours, theirs = validate(data, shapes), reference(data, shapes)
    assert not ours.conforms
    sparql = {k for k in keys(ours) if k[0] == "Violation"} - {k for k in keys(validate(data, constraints.split(shapes)[0]))}
    assert sparql, "the mutation must break a SPARQL constraint, or this case tests nothing of cpbkg.build.constraints"
    assert keys(ours) == keys(theirs)


def test_every_sparql_constraint_of_the_project_is_lifted(shapes):
    rest, lifted = constraints.split(shapes)
    assert len(lifted) == len(list(shapes.subject_objects(constraints.SH.sparql))) >= 8
    assert not list(rest.subject_objects(constraints.SH.sparql))


SHAPES_WITH_PATH = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex: sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^<http://www.w3.org/2001/XMLSchema#anyURI> ] .
ex:Named a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:name ;
        sh:sparql [ sh:prefixes ex: ; sh:message "name {?value} is too short" ;
            sh:select "SELECT $this ?value WHERE { $this $PATH ?value FILTER(STRLEN(?value) < 3) }" ] ] .
ex:Counted a sh:NodeShape ; sh:targetNode ex:b ; sh:severity sh:Warning ;
    sh:sparql [ sh:prefixes ex: ; sh:message "{$this} has {?n} names" ;
        sh:select "SELECT $this (COUNT(?v) AS ?n) WHERE { $this ex:name ?v } GROUP BY $this HAVING (COUNT(?v) > 1)" ] .
ex:Orphan a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:sparql [ sh:prefixes ex: ; sh:message "not projected" ; sh:select "SELECT ?x WHERE { $this ex:name ?x }" ] .
"""

DATA = """
@prefix ex: <http://example.org/> .
ex:a a ex:Thing ; ex:name "ab" .
ex:b a ex:Thing ; ex:name "long", "longer" .
"""


def test_what_cannot_run_exactly_stays_with_pyshacl_and_templates_are_filled():
    shapes = Graph().parse(data=SHAPES_WITH_PATH, format="turtle")
    data = Graph().parse(data=DATA, format="turtle")
    rest, lifted = constraints.split(shapes)
    assert [str(c.shape) for c in lifted] == ["http://example.org/Counted"]  # $PATH and no $this: kept
    assert len(list(rest.subject_objects(constraints.SH.sparql))) == 2
    ours = validate(data, shapes)
    assert keys(ours) == keys(reference(data, shapes))
    assert ("Warning", "http://example.org/b", "", "http://example.org/b",
            "http://example.org/b has 2 names") in keys(ours)
    assert any(f.message == "name ab is too short" for f in ours.violations)
