"""The data of the linkage explorer: goals x GBF targets."""

from __future__ import annotations

import pyoxigraph as ox

from cpbkg.describe.lookups import Lookups
from cpbkg.describe.model import (
    RDF_TYPE,
    LinkInfo,
    Matrix,
    MatrixCell,
    Ref,
    Resource,
    _dedupe,
    cpb,
    local_name,
    natural_key,
)


class Explorer(Lookups):
    """The goal x GBF-target matrix and its cells."""

    def goal_elements(self, goal: ox.NamedNode) -> list[Resource]:
        """A goal with its objectives and indicators."""
        out: list[Resource] = [goal]
        for prop in (cpb("hasObjective"), cpb("hasIndicator")):
            out.extend(o for o in self.objects(goal, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode)))
        return _dedupe(out)

    def goal_target_links(self, goal: ox.NamedNode, target: ox.NamedNode) -> list[LinkInfo]:
        """The link records joining a goal (or its objectives and indicators) to ``target``."""
        infos = []
        for element in self.goal_elements(goal):
            for (_prop, obj), info in self.links_from(element).items():
                if obj == target:
                    infos.append(info)
        return sorted(infos, key=lambda i: (self.ref(i.subject).sort_key if i.subject else (), i.link.value))

    def gbf_targets(self) -> list[Ref]:
        return sorted((self.ref(s) for s in self.subjects(RDF_TYPE, cpb("GBFTarget"))),
                      key=lambda r: natural_key(local_name(r.value)))

    def matrix(self) -> Matrix:
        """Goals x GBF targets: how many link records join each pair."""
        goals = self.instances(cpb("Goal"))
        targets = self.gbf_targets()
        index = {t.term: i for i, t in enumerate(targets)}
        rows = []
        for goal in goals:
            counts = [0] * len(targets)
            for element in self.goal_elements(goal.term):  # type: ignore[arg-type]
                for (_prop, obj) in self.links_from(element):
                    if obj in index:
                        counts[index[obj]] += 1  # type: ignore[index]
            rows.append([MatrixCell(goal, target, n) for target, n in zip(targets, counts)])
        return Matrix(goals, targets, rows)
