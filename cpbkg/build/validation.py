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
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

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

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        value = f" = {self.value}" if self.value else ""
        return f"{self.severity}: <{self.focus}>{where}{value}: {self.message}"


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
    return Report(report_graph, sorted(_findings(report_graph), key=lambda f: (f.severity, f.focus, f.path)))


def _store(data: Graph, ontology: Graph | None) -> ox.Store:
    """``data`` (and ``ontology``, as pySHACL mixes it in) in an in-memory pyoxigraph store."""
    store = ox.Store()
    store.bulk_extend(to_ox_quads(data, None))
    if ontology is not None:
        store.bulk_extend(to_ox_quads(ontology, None))
    return store


def _findings(report: Graph) -> list[Finding]:
    out = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        out.append(
            Finding(
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                focus=str(report.value(result, SH.focusNode) or ""),
                path=_short(report.value(result, SH.resultPath)),
                value=str(report.value(result, SH.value) or ""),
                message=str(report.value(result, SH.resultMessage) or report.value(result, SH.sourceConstraintComponent) or ""),
            )
        )
    return out


def _short(path: object) -> str:
    if isinstance(path, URIRef):
        text = str(path)
        return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]
    return "" if path is None else str(path)
