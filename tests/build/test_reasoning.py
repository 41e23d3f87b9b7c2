"""HermiT catches inconsistent data; materialisation adds what SPARQL needs."""

from __future__ import annotations

import pytest
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SKOS

from cpbkg.build.ontology import load_ontology
from cpbkg.build.reasoning import check_consistency, materialise
from cpbkg.config import Settings
from cpbkg.errors import InconsistentOntology
from cpbkg.vocab import CPB, Ids

IDS = Ids()


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology(Settings().ontology_dir)


def small_plan() -> Graph:
    g = Graph()
    g.add((IDS.goal("A.1"), RDF.type, CPB.Goal))
    g.add((IDS.objective("A.1.1"), RDF.type, CPB.Objective))
    g.add((IDS.goal("A.1"), CPB.hasObjective, IDS.objective("A.1.1")))
    return g


def test_consistent_data_passes(ontology):
    check_consistency(ontology, small_plan())


def test_disjoint_types_are_inconsistent(ontology):
    g = small_plan()
    g.add((IDS.goal("A.1"), RDF.type, CPB.Indicator))
    with pytest.raises(InconsistentOntology, match="disjoint") as info:
        check_consistency(ontology, g)
    assert str(IDS.goal("A.1")) in str(info.value)


def test_functional_property_with_disjoint_values_is_inconsistent(ontology):
    # an objective of two goals would make the goals the same individual;
    # one of them being an indicator contradicts the disjointness
    g = small_plan()
    other = URIRef(IDS.indicator("A.1(a)"))
    g.add((other, RDF.type, CPB.Indicator))
    g.add((IDS.objective("A.1.1"), CPB.objectiveOf, other))
    with pytest.raises(InconsistentOntology):
        check_consistency(ontology, g)


def test_materialise_adds_inverses_superproperties_and_superclasses(ontology):
    inferred = materialise(small_plan(), ontology)
    assert (IDS.objective("A.1.1"), CPB.objectiveOf, IDS.goal("A.1")) in inferred
    assert (IDS.objective("A.1.1"), SKOS.broader, IDS.goal("A.1")) in inferred
    assert (IDS.goal("A.1"), SKOS.narrower, IDS.objective("A.1.1")) in inferred
    assert (IDS.goal("A.1"), RDF.type, SKOS.Concept) in inferred
    assert (IDS.goal("A.1"), RDF.type, CPB.PlanElement) in inferred


def test_materialise_adds_nothing_already_there(ontology):
    g = small_plan()
    g += materialise(g, ontology)
    assert len(materialise(g, ontology)) == 0
