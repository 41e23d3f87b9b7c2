"""OWL reasoning: a HermiT consistency check, and materialising what plain SPARQL needs.

Two jobs, two tools (see docs/decisions/0002-reasoning.md):

* :func:`check_consistency` hands the ontology and the data's ABox to HermiT through
  owlready2; an inconsistency (e.g. a resource typed both goal and indicator, which
  the ontology declares disjoint) fails the build with the classes involved.
* :func:`materialise` adds the entailments queries rely on (inverse properties,
  super-properties, super-classes) as plain triples, so that a researcher's
  ``?x skos:broader ?goal`` or ``?x a skos:Concept`` works on any SPARQL store. It is a
  small fixed-point over those three rule kinds: deterministic and fast, where asking
  HermiT for all property values costs minutes on the full graph.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from cpbkg.errors import CpbkgError, InconsistentOntology

log = logging.getLogger(__name__)


def _schema(ontology: Graph) -> tuple[dict[URIRef, set[URIRef]], dict[URIRef, set[URIRef]], dict[URIRef, URIRef]]:
    """Super-classes and super-properties (transitively closed) and inverse pairs of named terms."""

    def closure(pred: URIRef) -> dict[URIRef, set[URIRef]]:
        direct: dict[URIRef, set[URIRef]] = {}
        for sub, sup in ontology.subject_objects(pred):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                direct.setdefault(sub, set()).add(sup)
        closed: dict[URIRef, set[URIRef]] = {}
        for start in direct:
            seen: set[URIRef] = set()
            todo = list(direct[start])
            while todo:
                node = todo.pop()
                if node not in seen:
                    seen.add(node)
                    todo.extend(direct.get(node, ()))
            closed[start] = seen
        return closed

    inverses: dict[URIRef, URIRef] = {}
    for a, b in ontology.subject_objects(OWL.inverseOf):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            inverses[a] = b
            inverses[b] = a
    return closure(RDFS.subClassOf), closure(RDFS.subPropertyOf), inverses


def materialise(data: Graph, ontology: Graph) -> Graph:
    """The triples entailed by inverses, sub-properties and sub-classes, not already in ``data``.

    >>> from rdflib import Namespace
    >>> ex = Namespace("http://ex.org/")
    >>> onto = Graph()
    >>> _ = onto.add((ex.hasPart, OWL.inverseOf, ex.partOf))
    >>> _ = onto.add((ex.partOf, RDFS.subPropertyOf, ex.within))
    >>> g = Graph(); _ = g.add((ex.a, ex.hasPart, ex.b))
    >>> sorted(str(p) for _, p, _ in materialise(g, onto))
    ['http://ex.org/partOf', 'http://ex.org/within']
    """
    super_classes, super_props, inverses = _schema(ontology)
    inferred = Graph()
    todo = list(data)
    known = set(data)
    while todo:
        s, p, o = todo.pop()
        new: list[tuple[Node, Node, Node]] = []
        if p == RDF.type and isinstance(o, URIRef) and o in super_classes:
            new += [(s, RDF.type, c) for c in super_classes[o]]
        if isinstance(p, URIRef) and p in super_props:
            new += [(s, q, o) for q in super_props[p]]
        if isinstance(p, URIRef) and p in inverses and not isinstance(o, Literal):
            new.append((o, inverses[p], s))
        for triple in new:
            if triple not in known:
                known.add(triple)
                inferred.add(triple)
                todo.append(triple)
    return inferred


def _abox_for_reasoner(ontology: Graph, data: Graph) -> Graph:
    """Ontology plus the data triples that can matter for consistency.

    Annotation text (labels, full texts of articles) cannot make the ontology
    inconsistent; leaving it out keeps HermiT's input small.
    """
    datatype_props = set(ontology.subjects(RDF.type, OWL.DatatypeProperty))
    merged = Graph()
    for triple in ontology:
        merged.add(triple)
    for s, p, o in data:
        if isinstance(o, Literal) and p not in datatype_props:
            continue
        if isinstance(s, BNode) or isinstance(o, BNode):
            continue
        merged.add((s, p, o))
    return merged


def check_consistency(ontology: Graph, data: Graph) -> None:
    """Run HermiT (via owlready2) over the ontology and the data.

    Raises:
        InconsistentOntology: HermiT found a contradiction; the message names what it could.
        CpbkgError: Java is missing, so the check cannot run.
    """
    if shutil.which("java") is None:
        raise CpbkgError("the OWL consistency check needs Java (HermiT); install a JRE, e.g. `apt-get install default-jre-headless`")
    import owlready2

    merged = _abox_for_reasoner(ontology, data)
    with tempfile.TemporaryDirectory(prefix="cpbkg-reason-") as tmp:
        path = Path(tmp) / "merged.nt"
        merged.serialize(path, format="nt", encoding="utf-8")
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load()
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            raise InconsistentOntology(_explain(data, ontology) or f"HermiT: the ontology and data are inconsistent ({exc})") from exc
        unsatisfiable = [str(c.iri) for c in world.inconsistent_classes()]
        if unsatisfiable:
            raise InconsistentOntology("unsatisfiable classes: " + ", ".join(sorted(unsatisfiable)))


def _explain(data: Graph, ontology: Graph) -> str:
    """Point at the most common cause, resources typed with two disjoint classes, when we can."""
    members: list[set[URIRef]] = []
    for node in ontology.subjects(RDF.type, OWL.AllDisjointClasses):
        for lst in ontology.objects(node, OWL.members):
            members.append({m for m in ontology.items(lst) if isinstance(m, URIRef)})
    for a, b in ontology.subject_objects(OWL.disjointWith):
        members.append({a, b})  # type: ignore[arg-type]
    super_classes, _, _ = _schema(ontology)
    problems = []
    for subject in set(data.subjects(RDF.type, None)):
        types = set(data.objects(subject, RDF.type))
        for t in list(types):
            if isinstance(t, URIRef):
                types |= super_classes.get(t, set())
        for group in members:
            clash = sorted(str(c) for c in group & types)
            if len(clash) > 1:
                problems.append(f"{subject} is typed with disjoint classes {', '.join(clash)}")
    return "HermiT: inconsistent; " + "; ".join(sorted(set(problems))[:10]) if problems else ""
