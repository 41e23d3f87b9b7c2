"""The Implementation Plan (areas, goals, objectives, indicators, outcomes) as RDF.

Reads ``data/plan/implementation-plan.yaml`` (the project's curated copy of the
appendix table of CP-10/3) and checks it against the official Chinese text: the
element counts and codes must be those found in ``cp-10-3-zh.txt``, or the build
fails (:class:`~cpbkg.errors.CountDriftError`).
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS, XSD

from cpbkg.build.sources import zhtext
from cpbkg.build.sources.links import add_link, citation_target
from cpbkg.build.sources.records import Record, read_records
from cpbkg.build.sources.wording import add_wording
from cpbkg.errors import CountDriftError, SourceError
from cpbkg.vocab import CPB, Ids

PLAN_FILE = Path("plan") / "implementation-plan.yaml"
ZH_TEXT = "cp-10-3-zh.txt"
DECISION = "CP-10/3"
#: the counts decision CP-10/3 gives; any drift fails the build
EXPECTED_COUNTS = {"areas": 2, "goals": 14, "objectives": 36, "indicators": 48, "outcomes": 14}


class PlanBuilder:
    """Turns the curated Plan records into triples, one element at a time."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.graph = Graph()
        self.source = ids.document(DECISION)
        self.codes: dict[str, list[str]] = {key: [] for key in EXPECTED_COUNTS}

    def element(self, uri: URIRef, cls: URIRef, code: str, record: Record, where: str, order: int) -> None:
        """The triples every Plan element has: type, code, labels, scheme, source, order."""
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, SKOS.notation, Literal(code)))
        g.add((uri, SKOS.inScheme, self.ids.plan()))
        g.add((uri, DCTERMS.source, self.source))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        add_wording(g, uri, record, where=where)
        for key in record.get("cites") or []:
            try:
                target = citation_target(self.ids, str(key))
            except ValueError as exc:
                raise record.error(str(exc), field=where + "cites") from exc
            add_link(g, self.ids, uri, CPB.cites, target, basis=CPB.ExplicitCitation, source=self.source)

    def area(self, record: Record, order: int) -> None:
        code = record.text("code", where="areas.")
        uri = self.ids.area(code)
        self.element(uri, CPB.Area, code, record, f"areas.{code}.", order)
        self.graph.add((self.ids.plan(), SKOS.hasTopConcept, uri))
        self.graph.add((uri, SKOS.topConceptOf, self.ids.plan()))
        self.codes["areas"].append(code)

    def goal(self, record: Record, order: int) -> None:
        code = record.text("code", where="goals.")
        where = f"goals.{code}."
        uri = self.ids.goal(code)
        self.element(uri, CPB.Goal, code, record, where, order)
        area = record.text("area", where=where)
        if area not in self.codes["areas"]:
            raise record.error(f"unknown area {area!r}", field=where + "area")
        self.graph.add((self.ids.area(area), CPB.hasGoal, uri))
        self.codes["goals"].append(code)
        self.children(record, uri, code, "objectives", CPB.Objective, CPB.hasObjective, self.ids.objective)
        self.children(record, uri, code, "indicators", CPB.Indicator, CPB.hasIndicator, self.ids.indicator)
        outcome = record.get("outcome")
        if not isinstance(outcome, Record):
            raise record.error("each goal needs exactly one outcome mapping", field=where + "outcome")
        outcome_uri = self.ids.outcome(code)
        self.element(outcome_uri, CPB.Outcome, code, outcome, where + "outcome.", order)
        self.graph.add((uri, CPB.hasOutcome, outcome_uri))
        self.codes["outcomes"].append(code)

    def children(self, record: Record, goal: URIRef, goal_code: str, key: str, cls: URIRef,
                 prop: URIRef, mint: "callable") -> None:  # type: ignore[valid-type]
        for order, child in enumerate(record.items_of(key), start=1):
            code = child.text("code", where=f"goals.{goal_code}.{key}.")
            if not code.startswith(goal_code):
                raise child.error(f"{code} is not under goal {goal_code}", field=f"goals.{goal_code}.{key}.code")
            uri = mint(code)
            self.element(uri, cls, code, child, f"{key}.{code}.", order)
            self.graph.add((goal, prop, uri))
            self.codes[key].append(code)

    def plan(self, record: Record) -> None:
        g, plan = self.graph, self.ids.plan()
        g.add((plan, RDF.type, CPB.ImplementationPlan))
        g.add((plan, SKOS.prefLabel, Literal("《卡塔赫纳生物安全议定书执行计划》", lang="zh")))
        g.add((plan, SKOS.prefLabel, Literal("Implementation Plan for the Cartagena Protocol on Biosafety", lang="en")))
        g.add((plan, CPB.englishWording, CPB.OfficialWording))
        g.add((plan, CPB.englishSource, URIRef("https://bch.cbd.int/protocol/post2020/Plan/text.shtml")))
        g.add((plan, DCTERMS.source, self.source))
        g.add((plan, DCTERMS.temporal, Literal("2023-2030")))
        g.add((plan, PROV.wasDerivedFrom, self.source))


def build_graph(data_dir: Path, sources_dir: Path, ids: Ids) -> Graph:
    """The Plan graph, checked against the counts and codes of the official Chinese text.

    Raises:
        SourceError: the curated file is broken (file, line, field).
        CountDriftError: counts or codes differ from the official text.
    """
    path = data_dir / PLAN_FILE
    records = read_records(path)
    builder = PlanBuilder(ids)
    builder.plan(records)
    for order, area in enumerate(records.items_of("areas"), start=1):
        builder.area(area, order)
    for order, goal in enumerate(records.items_of("goals"), start=1):
        builder.goal(goal, order)
    _check_unique(builder.codes, path)
    check_counts(builder.codes, zhtext.plan_codes(sources_dir / ZH_TEXT), path)
    return builder.graph


def _check_unique(codes: dict[str, list[str]], path: Path) -> None:
    for kind, found in codes.items():
        dupes = sorted({c for c in found if found.count(c) > 1})
        if dupes:
            raise SourceError(path, f"duplicate {kind} codes: {', '.join(dupes)}", field=kind)


def check_counts(curated: dict[str, list[str]], official: dict[str, list[str]], path: Path) -> None:
    """Fail unless the curated Plan has exactly the elements of the official text.

    Raises:
        CountDriftError: naming each kind whose count or codes differ.
    """
    problems = []
    for kind, expected in EXPECTED_COUNTS.items():
        have = curated.get(kind, [])
        if len(have) != expected:
            problems.append(f"{kind}: {len(have)} in {path.name}, the decision has {expected}")
        text_codes = official.get(kind)
        if text_codes is not None and kind != "outcomes" and sorted(have) != sorted(text_codes):
            missing = sorted(set(text_codes) - set(have))
            extra = sorted(set(have) - set(text_codes))
            problems.append(f"{kind}: missing {missing or '-'}, not in the official text {extra or '-'}")
    if problems:
        raise CountDriftError("Plan counts drifted from cp-10-3-zh.txt: " + "; ".join(problems))
