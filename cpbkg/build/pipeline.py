"""``cpbkg build``: sources -> graph parts -> reasoning -> SHACL -> ``dist/``.

Each step prints one progress line. Any error stops the build before ``dist/`` is
touched: the last good build stays in place (see :func:`cpbkg.build.dist.write_dist`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rdflib import Graph

from cpbkg.build.dist import Part, recover, write_dist
from cpbkg.build.ontology import load_ontology
from cpbkg.build.progress.parts import build_parts
from cpbkg.build.reasoning import check_consistency, materialise
from cpbkg.build.sources import (
    curated,
    decision,
    gbf,
    plan,
    questionnaires,
    sdg,
    treaties,
)
from cpbkg.build.sources.links import label_links
from cpbkg.build.validation import Report, load_shapes, validate
from cpbkg.config import Settings
from cpbkg.errors import ValidationFailed
from cpbkg.vocab import Ids, bind_prefixes


@dataclass
class BuildResult:
    """What a build produced."""

    dist_dir: Path
    parts: list[Part]
    report: Report
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def triples(self) -> int:
        """Triples in the union of the graphs, as release.json records them."""
        return int(json.loads((self.dist_dir / "release.json").read_text(encoding="utf-8"))["triples"])




class Progress:
    """One line per step on stderr, with its duration."""

    def __init__(self, out: TextIO | None = None, *, quiet: bool = False) -> None:
        self.out = out or sys.stderr
        self.quiet = quiet
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        if not self.quiet:
            print(f"  {name} ...", end="", file=self.out, flush=True)
        try:
            yield
        except BaseException:
            if not self.quiet:
                print(" failed", file=self.out, flush=True)
            raise
        elapsed = time.perf_counter() - start
        self.timings[name] = elapsed
        if not self.quiet:
            print(f" {elapsed:.2f} s", file=self.out, flush=True)


def source_parts(settings: Settings, ids: Ids) -> list[tuple[str, Callable[[], Graph]]]:
    """The named graphs built from sources, in build order."""
    src, data = settings.sources_dir, settings.data_dir
    return [
        ("plan", lambda: plan.build_graph(data, src, ids)),
        ("decision", lambda: decision.build_graph(data, ids, sources_dir=src)),
        ("treaties", lambda: treaties.build_graph(src, ids)),
        ("gbf", lambda: gbf.build_graph(src, ids)),
        ("sdg", lambda: sdg.build_graph(src, ids)),
        ("reports", lambda: questionnaires.build_graph(data, src, ids)),
    ]


def build(settings: Settings, *, reason: bool = True, progress: Progress | None = None, demo: bool = False,
          synthetic: Mapping[str, object] | None = None) -> BuildResult:
    """Run the whole pipeline and write ``settings.dist_dir``.

    Args:
        settings: where the sources are and where ``dist/`` goes.
        reason: run the HermiT consistency check (needs Java).
        progress: where progress lines go.
        demo: add the SYNTHETIC answers graph (loudly labelled; never in a normal build).
        synthetic: options of the synthetic generator (its size, for benchmarks).

    Raises:
        SourceError, CountDriftError: broken input.
        InconsistentOntology: HermiT found a contradiction.
        ValidationFailed: SHACL violations (the report is in the message).
    """
    with tempfile.TemporaryDirectory(prefix="cpbkg-build-") as workdir:
        return _pipeline(settings, Path(workdir), reason=reason, progress=progress or Progress(), demo=demo,
                         synthetic=synthetic)


def _pipeline(settings: Settings, workdir: Path, *, reason: bool, progress: Progress, demo: bool,
              synthetic: Mapping[str, object] | None) -> BuildResult:
    ids = Ids(settings.base_uri)
    recover(settings.dist_dir)
    with progress.step("ontology"):
        ontology = load_ontology(settings.ontology_dir)
    parts = [Part("ontology", ontology)]
    for name, make in source_parts(settings, ids):
        with progress.step(name):
            graph = make()
            bind_prefixes(graph)
            parts.append(Part(name, graph))
    union = Graph()
    for part in parts:
        if part.graph is not None:
            union += part.graph
    with progress.step("links"):
        # curated links are checked against everything else: a key naming an element
        # that no other part has (a typo, a renamed code) fails the build here
        links = curated.build_graph(settings.data_dir, ids, known=union)
        bind_prefixes(links)
        parts.append(Part("links", links))
        union += links
    large: list[Part] = []
    with progress.step("parties, methodology, answers" + (", SYNTHETIC demo data" if demo else "")):
        for name, made in build_parts(settings, ids, union, demo=demo, workdir=workdir, synthetic=synthetic):
            if isinstance(made, Graph):
                bind_prefixes(made)
                parts.append(Part(name, made))
                union += made
            else:
                # answers and observations: validated by cpbkg.build.progress.answers, too large for HermiT and pyshacl
                large.append(Part(name, ntriples=made))
    with progress.step("naming link records"):
        label_links([part.graph for part in parts if part.graph is not None], union)
    if reason:
        with progress.step("reasoning (HermiT consistency)"):
            check_consistency(ontology, union)
    with progress.step("materialising inferences"):
        inferred = materialise(union, ontology)
        parts.append(Part("inferred", inferred))
        union += inferred
    with progress.step("SHACL validation"):
        report = validate(union, load_shapes(settings.shapes_dir))
    if not report.conforms:
        raise ValidationFailed(f"{len(report.violations)} SHACL violations:\n{report.summary()}")
    with progress.step("writing dist/"):
        write_dist(settings.dist_dir, parts + large, ids, shacl_report=report.graph,
                   extra={"counts": plan_counts(union), "shacl_warnings": len(report.warnings), "synthetic": demo})
    return BuildResult(settings.dist_dir, parts + large, report, progress.timings)


def plan_counts(graph: Graph) -> dict[str, int]:
    """How many of each Plan element the graph holds (recorded in release.json)."""
    from rdflib import RDF

    from cpbkg.vocab import CPB

    return {
        name: len(set(graph.subjects(RDF.type, cls)))
        for name, cls in (("areas", CPB.Area), ("goals", CPB.Goal), ("objectives", CPB.Objective),
                          ("indicators", CPB.Indicator), ("outcomes", CPB.Outcome))
    }
