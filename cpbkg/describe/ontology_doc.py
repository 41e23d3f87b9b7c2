"""The ontology's documentation page, read from the ontology graph."""

from __future__ import annotations

import pyoxigraph as ox

from cpbkg.describe.lookups import Lookups
from cpbkg.describe.model import (
    CPB,
    DCTERMS,
    OWL,
    RDF,
    RDF_TYPE,
    RDFS,
    SKOS_DEFINITION,
    OntologyDoc,
    OntologyTerm,
    Ref,
    dedupe,
    local_name,
)
from cpbkg.vocab import ONTOLOGY_IRI


class OntologyDocs(Lookups):
    """The ontology's classes and properties as a page."""

    def ontology_triples(self) -> list[ox.Triple]:
        """The triples of the ontology graph (or, without one, of every term in the namespace)."""
        quads = list(self.quads(graph=self.ontology_graph)) if self.is_graph(self.ontology_graph) else []
        if quads:
            return sorted(dedupe(ox.Triple(q.subject, q.predicate, q.object) for q in quads), key=str)
        triples: list[ox.Triple] = []
        for q in self.store.quads_for_pattern(None, None, None):
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(ONTOLOGY_IRI) \
                    and q.graph_name != self.inferred_graph:
                triples.extend(self.cbd(q.subject))
        return sorted(dedupe(triples), key=str)

    @staticmethod
    def _individual(term: OntologyTerm) -> OntologyTerm:
        term.parents = [r for r in term.parents if not r.value.startswith(OWL)]
        return term

    def ontology_doc(self) -> OntologyDoc:
        """Every class, property and individual of the ontology, with labels, definitions, axioms."""
        graph = self.ontology_graph if self.is_graph(self.ontology_graph) else None

        def in_ontology(cls: str) -> list[ox.NamedNode]:
            return sorted({q.subject for q in self.quads(None, RDF_TYPE, ox.NamedNode(OWL + cls), graph)
                           if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(CPB)},
                          key=lambda n: n.value.lower())

        def named(subject: ox.NamedNode, prop: str) -> list[Ref]:
            return [self.ref(o) for o in dedupe(q.object for q in self.quads(subject, ox.NamedNode(prop), None, graph))
                    if isinstance(o, ox.NamedNode)]

        def lits(subject: ox.NamedNode, prop: ox.NamedNode) -> list[ox.Literal]:
            values = [o for o in dedupe(q.object for q in self.quads(subject, prop, None, graph))
                      if isinstance(o, ox.Literal)]
            return sorted(values, key=lambda lit: (lit.language != "en", lit.language or ""))

        def term(subject: ox.NamedNode, parent_prop: str, *, count: bool = False) -> OntologyTerm:
            kinds = [r for r in named(subject, RDF + "type") if r.value.startswith(OWL)]
            return OntologyTerm(
                ref=self.ref(subject), anchor=local_name(subject.value), kinds=kinds,
                definitions=lits(subject, SKOS_DEFINITION),
                comments=lits(subject, ox.NamedNode(RDFS + "comment")),
                parents=named(subject, parent_prop),
                domain=named(subject, RDFS + "domain"), range=named(subject, RDFS + "range"),
                inverse=named(subject, OWL + "inverseOf"),
                instances=self.count_instances(subject) if count else None,
            )

        onto = ox.NamedNode(ONTOLOGY_IRI)
        versions = lits(onto, ox.NamedNode(OWL + "versionInfo"))
        individuals = [n for n in in_ontology("NamedIndividual")]
        return OntologyDoc(
            ontology=self.ref(onto),
            descriptions=lits(onto, ox.NamedNode(DCTERMS + "description")),
            version=versions[0].value if versions else None,
            licence=named(onto, DCTERMS + "license"),
            classes=[term(c, RDFS + "subClassOf", count=True) for c in in_ontology("Class")],
            object_properties=[term(p, RDFS + "subPropertyOf") for p in in_ontology("ObjectProperty")],
            datatype_properties=[term(p, RDFS + "subPropertyOf") for p in in_ontology("DatatypeProperty")],
            individuals=[self._individual(term(i, RDF + "type")) for i in individuals],
        )
