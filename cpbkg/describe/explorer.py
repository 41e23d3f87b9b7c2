"""The data of the linkage explorer: the Plan's goals against the GBF targets, the GBF goals and the SDGs
they are linked to, with the basis of each link.

:meth:`Explorer.link_matrix` is the matrix the explorer shows (and gives as CSV): one row per long-term
goal (its objectives and indicators counted with it), and a first row for the Plan as a whole when it is
linked itself (to the SDGs); one column per GBF target, then one per GBF goal and per SDG that a row is
linked to; each cell the number of link records (``cpb:Link``) joining them, of one basis or all; totals
per row and per column. :meth:`Explorer.matrix` is the goals x GBF targets part, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from cpbkg.describe.lookups import Lookups
from cpbkg.describe.model import (
    CPB,
    RDF_TYPE,
    LinkInfo,
    Matrix,
    MatrixCell,
    Ref,
    Resource,
    Term,
    cpb,
    dedupe,
    local_name,
    natural_key,
)

SDG_NS = "http://metadata.un.org/sdg/"
#: the bases a matrix can be limited to, by the key pages use (``?basis=curated``)
BASES = {"explicit": CPB + "ExplicitCitation", "official": CPB + "OfficialMapping", "curated": CPB + "CuratedLink"}


@dataclass
class Column:
    """A column of the matrix: a GBF target, a GBF goal or an SDG, with the key of its cell pages
    (``17``, ``goal-D``, ``sdg-2``) and the kind of column (``target``, ``gbf-goal``, ``sdg``)."""

    ref: Ref
    key: str
    group: str
    total: int = 0


@dataclass
class Row:
    """A row of the matrix: a long-term goal (or the Plan as a whole: ``key`` "plan"), its counts per column."""

    ref: Ref
    key: str
    counts: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class LinkMatrix:
    """Rows x columns of link counts, of one basis (None: all) -- see the module docstring."""

    rows: list[Row]
    columns: list[Column]
    basis: str | None

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    def groups(self) -> list[tuple[str, int]]:
        """(kind of column, how many) in the order of the columns: for the header's column groups."""
        out: list[tuple[str, int]] = []
        for column in self.columns:
            if out and out[-1][0] == column.group:
                out[-1] = (column.group, out[-1][1] + 1)
            else:
                out.append((column.group, 1))
        return out


class Explorer(Lookups):
    """The goal x GBF-target matrix and its cells."""

    def goal_elements(self, goal: ox.NamedNode) -> list[Resource]:
        """A goal with its objectives and indicators (the Plan: itself alone)."""
        out: list[Resource] = [goal]
        if goal.value == self.base + "id/plan":
            return out
        for prop in (cpb("hasObjective"), cpb("hasIndicator")):
            out.extend(o for o in self.objects(goal, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode)))
        return dedupe(out)

    def goal_target_links(self, goal: ox.NamedNode, target: ox.NamedNode, basis: str | None = None) -> list[LinkInfo]:
        """The link records joining a goal (or its objectives and indicators) to ``target``, of ``basis``
        (a key of :data:`BASES`; None: any)."""
        infos = []
        wanted = BASES.get(basis or "")
        for element in self.goal_elements(goal):
            for (_prop, obj), info in self.links_from(element).items():
                if obj == target and (wanted is None or (info.basis is not None and info.basis.value == wanted)):
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
            rows.append([MatrixCell(goal, target, n) for target, n in zip(targets, counts, strict=True)])
        return Matrix(goals, targets, rows)

    def column_node(self, key: str) -> ox.NamedNode | None:
        """The resource of a column key: ``17`` a GBF target, ``goal-D`` a GBF goal, ``sdg-2`` an SDG."""
        if key.startswith("sdg-"):
            node = ox.NamedNode(SDG_NS + key[4:]) if key[4:].isdigit() else None
        elif key.startswith("goal-"):
            node = ox.NamedNode(self.base + "id/gbf/goal/" + key[5:]) if key[5:].isalnum() else None
        else:
            return next((t.term for t in self.gbf_targets()
                         if isinstance(t.term, ox.NamedNode) and local_name(t.value) == key), None)
        return node if node is not None and self.is_subject(node) else None

    def link_matrix(self, basis: str | None = None) -> LinkMatrix:
        """The explorer's matrix (module docstring), counting the links of ``basis`` (a key of
        :data:`BASES`; None: every basis). Its columns are the same whatever the basis."""
        wanted = BASES.get(basis or "")
        plan = ox.NamedNode(self.base + "id/plan")
        goals = self.instances(cpb("Goal"))
        # (row key, ref, its link records by object)
        records: list[tuple[str, Ref, list[tuple[Term, LinkInfo]]]] = []
        for row_ref, key in ([(self.ref(plan), "plan")] if self.is_subject(plan) else []) + \
                [(g, g.notation or local_name(g.value)) for g in goals]:
            found: list[tuple[Term, LinkInfo]] = []
            for element in self.goal_elements(row_ref.term):  # type: ignore[arg-type]
                found.extend((obj, info) for (_prop, obj), info in self.links_from(element).items())
            records.append((key, row_ref, found))
        targets = self.gbf_targets()
        columns = [Column(t, local_name(t.value), "target") for t in targets]
        seen = {t.term for t in targets}
        extra: dict[str, list[Column]] = {"gbf-goal": [], "sdg": []}
        for _, _, found in records:
            for obj, _info in found:
                if obj in seen or not isinstance(obj, ox.NamedNode):
                    continue
                kind = self.kind(obj)
                if kind is not None and kind.value == CPB + "GBFGoal":
                    extra["gbf-goal"].append(Column(self.ref(obj), "goal-" + local_name(obj.value), "gbf-goal"))
                elif obj.value.startswith(SDG_NS) and obj.value[len(SDG_NS):].isdigit():
                    extra["sdg"].append(Column(self.ref(obj), "sdg-" + local_name(obj.value), "sdg"))
                else:
                    continue
                seen.add(obj)
        for group in ("gbf-goal", "sdg"):
            columns += sorted(extra[group], key=lambda c: natural_key(c.key))
        index: dict[Term, int] = {c.ref.term: i for i, c in enumerate(columns)}
        rows = []
        for key, row_ref, found in records:
            counts = [0] * len(columns)
            for obj, info in found:
                if obj in index and (wanted is None or (info.basis is not None and info.basis.value == wanted)):
                    counts[index[obj]] += 1
            if key == "plan" and not any(counts):
                continue  # the Plan as a whole shows only when it is linked itself
            rows.append(Row(row_ref, key, counts))
        for i, column in enumerate(columns):
            column.total = sum(row.counts[i] for row in rows)
        return LinkMatrix(rows, columns, basis if wanted else None)
