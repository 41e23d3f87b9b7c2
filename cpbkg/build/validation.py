"""SHACL validation against ``shapes/``: core constraints by pySHACL, SPARQL ones by pyoxigraph.

Violations fail the build; warnings and infos are reported. The data is validated
after materialisation (cpbkg.build.reasoning), so shapes can rely on inverse properties.
The ``sh:sparql`` constraints run on pyoxigraph (:mod:`cpbkg.build.constraints`): on rdflib
they were four fifths of the build's time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from pyshacl import validate as shacl_validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from cpbkg.build import constraints
from cpbkg.build.rdfio import parse_file, to_ox_quads
from cpbkg.errors import CpbkgError

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass
class Finding:
    """One result of the SHACL report, readable on its own."""

    severity: str
    focus: str
    path: str
    value: str
    message: str
    #: what exactly is wrong, in plain words, when the shape's message covers several checks
    #: (``needs exactly one skos:notation`` is said of a missing, a second and a non-string code)
    detail: str = ""

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        value = f" = {self.value}" if self.value and self.value != self.focus else ""
        detail = f"; here {self.detail}" if self.detail else ""
        return f"{self.severity}: <{self.focus}>{where}{value}: {self.message}{detail}"


@dataclass
class Report:
    """What validation found; ``conforms`` is False only for violations."""

    graph: Graph
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def summary(self, limit: int = 20) -> str:
        lines = [str(f) for f in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more violations")
        return "\n".join(lines)


def load_shapes(shapes_dir: Path) -> Graph:
    """All ``*.ttl`` files of the shapes folder as one graph."""
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        parse_file(path, shapes)
    return shapes


def validate(data: Graph, shapes: Graph, ontology: Graph | None = None) -> Report:
    """Validate ``data`` (already materialised) against ``shapes``."""
    core, lifted = constraints.split(shapes)
    _, report_graph, text = shacl_validate(
        data,
        shacl_graph=core,
        ont_graph=ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    if not isinstance(report_graph, Graph):
        # pyshacl returns a failure object instead of a report when the shapes themselves are broken
        raise CpbkgError(f"the SHACL shapes could not be applied: {text}")
    if lifted:
        constraints.add_to_report(report_graph, constraints.run(lifted, _store(data, ontology)))
    findings = _findings(report_graph, shapes=shapes, data=data)
    return Report(report_graph, sorted(findings, key=lambda f: (f.severity, f.focus, f.path)))


def _store(data: Graph, ontology: Graph | None) -> ox.Store:
    """``data`` (and ``ontology``, as pySHACL mixes it in) in an in-memory pyoxigraph store."""
    store = ox.Store()
    store.bulk_extend(to_ox_quads(data, None))
    if ontology is not None:
        store.bulk_extend(to_ox_quads(ontology, None))
    return store


def _findings(report: Graph, *, shapes: Graph | None = None, data: Graph | None = None) -> list[Finding]:
    """The results of ``report``; with the ``shapes`` and the ``data``, each says what exactly is wrong."""
    out = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        finding = Finding(
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            focus=str(report.value(result, SH.focusNode) or ""),
            path=_short(report.value(result, SH.resultPath)),
            value=str(report.value(result, SH.value) or ""),
            message=str(report.value(result, SH.resultMessage) or report.value(result, SH.sourceConstraintComponent) or ""),
        )
        if shapes is not None and data is not None:
            finding.detail = _detail(report, result, shapes, data)
        out.append(finding)
    return out


def _term(node: object, names: Graph) -> str:
    """A node as a person reads it: ``cpb:Goal``, ``<https://…>``, ``"A.1"``, ``"目标"@zh``, ``42 (xsd:integer)``."""
    if isinstance(node, Literal):
        if node.language:
            return f'"{node}"@{node.language}'
        if node.datatype is None or node.datatype == XSD.string:
            return f'"{node}"'
        return f"{node} ({_term(node.datatype, names)})"
    if isinstance(node, URIRef):
        return node.n3(names.namespace_manager)
    return "a blank node" if isinstance(node, BNode) else str(node)


def _kind(node: object, names: Graph) -> str:
    """What kind of value ``node`` is: ``an xsd:integer``, ``a language-tagged string``, ``an IRI``."""
    if isinstance(node, Literal):
        if node.language:
            return "a language-tagged string (rdf:langString)"
        datatype = _term(node.datatype or XSD.string, names)
        return f"an {datatype}" if datatype[:1] in "aeiouAEIOU" or datatype.startswith("xsd:") else f"a {datatype}"
    return "an IRI" if isinstance(node, URIRef) else "a blank node"


def _detail(report: Graph, result: Node, shapes: Graph, data: Graph) -> str:
    """What exactly fails in ``result``, from the constraint that failed and the data (``""``: the
    shape's message says it already)."""
    component = str(report.value(result, SH.sourceConstraintComponent) or "").rsplit("#", 1)[-1]
    shape = report.value(result, SH.sourceShape)
    focus, path, value = (report.value(result, p) for p in (SH.focusNode, SH.resultPath, SH.value))
    if shape is None or focus is None:
        return ""
    wanted = {"DatatypeConstraintComponent": SH.datatype, "ClassConstraintComponent": SH["class"],
              "MinCountConstraintComponent": SH.minCount, "MaxCountConstraintComponent": SH.maxCount,
              "PatternConstraintComponent": SH.pattern}.get(component)
    expected = shapes.value(shape, wanted) if wanted is not None else None
    if expected is None:
        return ""
    name = _term(path, shapes) if isinstance(path, URIRef) else "values"
    values = sorted(data.objects(focus, path), key=str) if isinstance(path, URIRef) else []
    shown = ", ".join(_term(v, shapes) for v in values[:3]) + (", ..." if len(values) > 3 else "")
    if component == "DatatypeConstraintComponent" and value is not None:
        shown_value = str(value) if isinstance(value, Literal) and not value.language else _term(value, shapes)
        return f"{shown_value} is {_kind(value, shapes)}, not {_kind(Literal('', datatype=URIRef(str(expected))), shapes)}"
    if component == "ClassConstraintComponent" and value is not None:
        return f"{_term(value, shapes)} is not a {_term(expected, shapes)}"
    if component == "PatternConstraintComponent" and value is not None:
        return f"{_term(value, shapes)} does not match the pattern {expected}"
    if component == "MinCountConstraintComponent":
        return f"it has no {name}" if not values else f"it has {len(values)} ({shown}), at least {expected} needed"
    if component == "MaxCountConstraintComponent":
        return f"it has {len(values)} {name} values ({shown}), at most {expected} allowed"
    return ""


def _short(path: object) -> str:
    if isinstance(path, URIRef):
        text = str(path)
        return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]
    return "" if path is None else str(path)
