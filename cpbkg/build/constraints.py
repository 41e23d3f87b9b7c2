"""SHACL-SPARQL constraints (``sh:sparql``) evaluated by pyoxigraph instead of pySHACL.

pySHACL runs each SPARQL constraint once per focus node on rdflib's query engine: on the
published graph that was 10.8 s of the 12.9 s of validation (measured 2026-11-25, 2 cores).
pyoxigraph runs the same queries, with ``$this`` pre-bound by substitution (SEP-0007, the
pre-binding SHACL asks for), in a small fraction of that.

Only constraints this module can evaluate exactly are taken out of the shapes graph:
``sh:select`` constraints of node shapes (no ``$PATH``) targeted by ``sh:targetClass``,
``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf`` or an implicit class
target. Anything else (property shapes, SPARQL-based targets, ASK validators) stays in the
shapes graph for pySHACL, so a new kind of shape is still validated, only more slowly.
The results are written into pySHACL's report graph in the form pySHACL gives them, so the
rest of the build cannot tell who found them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from cpbkg.build.rdfio import from_ox_term, to_ox_term

SH = Namespace("http://www.w3.org/ns/shacl#")

#: target predicates of a shape -> the query that lists its focus nodes (``?target`` substituted)
_TARGET_QUERIES: dict[Node, str] = {
    SH.targetClass: "SELECT DISTINCT ?this ?target WHERE { ?this a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?target }",
    SH.targetSubjectsOf: "SELECT DISTINCT ?this ?target WHERE { ?this ?target ?any }",
    SH.targetObjectsOf: "SELECT DISTINCT ?this ?target WHERE { ?any ?target ?this }",
}
_SHAPE_KEYS = {SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode}
#: the projection of a SELECT: pyoxigraph substitutes only projected variables (SEP-0007)
_PROJECTION = re.compile(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?(.*?)\s*(?:\bFROM\b|\bWHERE\b|\{)",
                         re.IGNORECASE | re.DOTALL)
#: ``{?name}`` / ``{$name}`` in a message: the value the solution binds to ``name``
_TEMPLATE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SparqlConstraint:
    """One ``sh:sparql`` constraint of one node shape, ready to run."""

    shape: Node
    constraint: Node
    query: str
    messages: tuple[Literal, ...]
    severity: URIRef
    targets: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class Result:
    """One solution of a constraint: a validation result in the making."""

    constraint: SparqlConstraint
    focus: Node
    path: Node | None
    value: Node
    messages: tuple[Literal, ...]


def split(shapes: Graph) -> tuple[Graph, list[SparqlConstraint]]:
    """The shapes graph without the constraints run here, and those constraints."""
    lifted = [c for c in _candidates(shapes) if c is not None]
    rest = Graph()
    for prefix, namespace in shapes.namespaces():
        rest.bind(prefix, namespace)
    taken = {(c.shape, c.constraint) for c in lifted}
    for s, p, o in shapes:
        if p == SH.sparql and (s, o) in taken:
            continue
        rest.add((s, p, o))
    return rest, lifted


def _candidates(shapes: Graph) -> Iterator[SparqlConstraint | None]:
    for shape, constraint in shapes.subject_objects(SH.sparql):
        yield _lift(shapes, shape, constraint)


def _lift(shapes: Graph, shape: Node, constraint: Node) -> SparqlConstraint | None:
    """The constraint as a :class:`SparqlConstraint`, or None if pySHACL must keep it."""
    select = shapes.value(constraint, SH.select)
    if select is None or "$PATH" in str(select) or (shape, SH.path, None) in shapes:
        return None
    if not _projects_this(str(select)):
        return None
    if _deactivated(shapes, shape) or _deactivated(shapes, constraint):
        return None  # pySHACL skips it just the same; keeping it there keeps one rule for both
    if (shape, SH.target, None) in shapes:
        return None  # SPARQL-based targets: not evaluated here
    targets = tuple((p, o) for p, o in shapes.predicate_objects(shape) if p in _SHAPE_KEYS)
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
        targets += ((SH.targetClass, shape),)
    return SparqlConstraint(
        shape=shape,
        constraint=constraint,
        query=_prefixes(shapes, constraint) + str(select),
        messages=tuple(m for m in shapes.objects(constraint, SH.message) if isinstance(m, Literal)),
        severity=_severity(shapes, shape),
        targets=targets,
    )


def _severity(shapes: Graph, shape: Node) -> URIRef:
    severity = shapes.value(shape, SH.severity)
    return severity if isinstance(severity, URIRef) else SH.Violation


def _projects_this(select: str) -> bool:
    match = _PROJECTION.search(select)
    return match is not None and (match.group(1) == "*" or re.search(r"[?$]this\b", match.group(1)) is not None)


def _deactivated(shapes: Graph, node: Node) -> bool:
    value = shapes.value(node, SH.deactivated)
    return isinstance(value, Literal) and value.toPython() is True


def _prefixes(shapes: Graph, constraint: Node) -> str:
    """PREFIX lines for the ``sh:declare`` of every ``sh:prefixes`` (and what they ``owl:imports``)."""
    lines: dict[str, str] = {}
    seen: set[Node] = set()
    todo = list(shapes.objects(constraint, SH.prefixes))
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(shapes.objects(node, OWL.imports))
        for declaration in shapes.objects(node, SH.declare):
            prefix = shapes.value(declaration, SH.prefix)
            namespace = shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                lines[str(prefix)] = f"PREFIX {prefix}: <{namespace}>\n"
    return "".join(lines[p] for p in sorted(lines))


def run(constraints: list[SparqlConstraint], store: ox.Store) -> list[Result]:
    """Every result of ``constraints`` over the default graph of ``store``."""
    results: list[Result] = []
    for constraint in constraints:
        for focus in sorted(_focus_nodes(constraint, store), key=str):
            results.extend(_check(constraint, store, focus))
    return results


def _focus_nodes(constraint: SparqlConstraint, store: ox.Store) -> set[ox.NamedNode | ox.BlankNode | ox.Literal]:
    nodes: set[ox.NamedNode | ox.BlankNode | ox.Literal] = set()
    for kind, value in constraint.targets:
        term = to_ox_term(value)  # type: ignore[arg-type]
        if kind == SH.targetNode:
            nodes.add(term)
            continue
        for row in _select(store, _TARGET_QUERIES[kind], "target", term):
            nodes.add(row["this"])
    return nodes


def _check(constraint: SparqlConstraint, store: ox.Store, focus: ox.NamedNode | ox.BlankNode | ox.Literal) -> Iterator[Result]:
    solutions = _select(store, constraint.query, "this", focus)
    for row in solutions:
        bindings = {v.value: row[v] for v in solutions.variables if row[v] is not None}
        value = bindings.get("value", focus)
        path = bindings.get("path")
        given = bindings.get("message")
        messages = constraint.messages or ((from_ox_term(given),) if isinstance(given, ox.Literal) else ())
        yield Result(
            constraint=constraint,
            focus=from_ox_term(focus),
            path=from_ox_term(path) if path is not None else None,
            value=from_ox_term(value),
            messages=tuple(_fill(m, bindings, focus) for m in messages if isinstance(m, Literal)),
        )


def _select(store: ox.Store, query: str, name: str, value: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.QuerySolutions:
    """The solutions of a SELECT with ``?name`` pre-bound to ``value``."""
    solutions = store.query(query, substitutions={ox.Variable(name): value})
    if not isinstance(solutions, ox.QuerySolutions):
        raise TypeError(f"not a SELECT query: {query[:80]!r}")
    return solutions


def _fill(message: Literal, bindings: dict[str, object], focus: object) -> Literal:
    """``message`` with ``{?var}`` / ``{$var}`` replaced by the solution's values."""
    values = {**bindings, "this": focus}

    def value(match: re.Match[str]) -> str:
        term = values.get(match.group(1))
        return match.group(0) if term is None else str(term.value if hasattr(term, "value") else term)

    return Literal(_TEMPLATE.sub(value, str(message)), lang=message.language, datatype=message.datatype)


def add_to_report(report: Graph, results: list[Result]) -> None:
    """Write ``results`` into pySHACL's report graph; a violation makes it non-conforming."""
    top = report.value(predicate=RDF.type, object=SH.ValidationReport)
    if top is None:
        top = BNode()
        report.add((top, RDF.type, SH.ValidationReport))
        report.add((top, SH.conforms, Literal(True)))
    for result in results:
        node = BNode()
        report.add((top, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.focusNode, result.focus))
        report.add((node, SH.value, result.value))
        report.add((node, SH.resultSeverity, result.constraint.severity))
        report.add((node, SH.sourceShape, result.constraint.shape))
        report.add((node, SH.sourceConstraint, result.constraint.constraint))
        report.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        if result.path is not None:
            report.add((node, SH.resultPath, result.path))
        for message in result.messages:
            report.add((node, SH.resultMessage, message))
    if any(r.constraint.severity == SH.Violation for r in results):
        report.set((top, SH.conforms, Literal(False)))
