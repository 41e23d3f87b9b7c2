"""The Implementation Plan (areas, goals, objectives, indicators, outcomes) as RDF.

Reads ``data/plan/implementation-plan.yaml`` (the project's curated copy of the
appendix table of CP-10/3) and checks it against the official Chinese text: the
element counts and codes must be those found in ``cp-10-3-zh.txt``, or the build
fails (:class:`~cpbkg.errors.CountDriftError`).
"""

from __future__ import annotations

from collections.abc import Callable
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
        #: (URI, row code as printed or None, zh label, URI of the goal whose row it is in): the cells to locate
        self.cells: list[tuple[str, str | None, str, str | None]] = []

    def element(self, uri: URIRef, cls: URIRef, code: str, record: Record, where: str, order: int,
                printed: str | None = None, row: URIRef | None = None) -> None:
        """The triples every Plan element has: type, code, labels, scheme, source, order.

        ``printed`` is the row code as the table prints it ("A.1.1.", "(a)"; None for an outcome),
        ``row`` the goal whose row an indicator or outcome is in: where to find the element's cell.
        """
        self.cells.append((str(uri), printed, record.text("zh", where=where), str(row) if row else None))
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, SKOS.notation, Literal(code)))
        g.add((uri, SKOS.inScheme, self.ids.plan()))
        g.add((uri, DCTERMS.source, self.source))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        add_wording(g, uri, record, where=where)
        if record.get("en_note"):
            g.add((uri, SKOS.editorialNote, Literal(record.text("en_note", where=where), lang="en")))
        for key in record.get("cites") or []:
            try:
                target = citation_target(self.ids, str(key))
            except ValueError as exc:
                raise record.error(str(exc), field=where + "cites") from exc
            add_link(g, self.ids, uri, CPB.cites, target, basis=CPB.ExplicitCitation, source=self.source)

    def area(self, record: Record, order: int) -> None:
        code = record.text("code", where="areas.")
        uri = self.ids.area(code)
        self.element(uri, CPB.Area, code, record, f"areas.{code}.", order, printed=f"{code}.")
        self.graph.add((self.ids.plan(), SKOS.hasTopConcept, uri))
        self.graph.add((uri, SKOS.topConceptOf, self.ids.plan()))
        self.codes["areas"].append(code)

    def goal(self, record: Record, order: int) -> None:
        code = record.text("code", where="goals.")
        where = f"goals.{code}."
        uri = self.ids.goal(code)
        self.element(uri, CPB.Goal, code, record, where, order, printed=f"{code}.")
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
        self.element(outcome_uri, CPB.Outcome, outcome_code(code), outcome, where + "outcome.", order, row=uri)
        self.graph.add((uri, CPB.hasOutcome, outcome_uri))
        self.codes["outcomes"].append(code)

    def children(self, record: Record, goal: URIRef, goal_code: str, key: str, cls: URIRef,
                 prop: URIRef, mint: Callable[[str], URIRef]) -> None:
        for order, child in enumerate(record.items_of(key), start=1):
            code = child.text("code", where=f"goals.{goal_code}.{key}.")
            if not code.startswith(goal_code):
                raise child.error(f"{code} is not under goal {goal_code}", field=f"goals.{goal_code}.{key}.code")
            uri = mint(code)
            if key == "indicators":
                self.element(uri, cls, code, child, f"{key}.{code}.", order, printed=code[len(goal_code):], row=goal)
            else:
                self.element(uri, cls, code, child, f"{key}.{code}.", order, printed=f"{code}.")
            self.graph.add((goal, prop, uri))
            self.codes[key].append(code)

    def official_texts(self, zh_path: Path) -> None:
        """Each element's cell as the official text prints it, with its pages and lines.

        ``cpb:officialText``@zh is the cell verbatim (line breaks joined, spacing and final
        punctuation kept); the zh ``skos:prefLabel`` beside it is its normalised form (the ontology
        says how they differ); ``cpb:page`` and ``cpb:locator`` say where it is.

        Raises:
            SourceError: a cell is not found or does not read as its label.
        """
        cells = zhtext.locate_cells(zh_path, self.cells)
        g = self.graph
        for key, _, _, _ in self.cells:
            uri, cell = URIRef(key), cells[key]
            g.add((uri, CPB.officialText, Literal(cell.text, lang="zh")))
            for page in cell.pages:
                g.add((uri, CPB.page, Literal(page, datatype=XSD.integer)))
            g.add((uri, CPB.locator, Literal(
                f"CBD/CP/MOP/DEC/10/3, appendix table, {_row(key, self.ids)}, "
                f"page{'s' if len(cell.pages) > 1 else ''} {', '.join(map(str, cell.pages))}; "
                + zhtext.line_locator(zh_path, cell.lines))))
            g.add((uri, CPB.chineseWording, CPB.OfficialWording))
            g.add((uri, CPB.chineseSource, self.source))

    def plan(self, record: Record) -> None:
        g, plan = self.graph, self.ids.plan()
        g.add((plan, RDF.type, CPB.ImplementationPlan))
        g.add((plan, SKOS.prefLabel, Literal("《卡塔赫纳生物安全议定书执行计划》", lang="zh")))
        g.add((plan, SKOS.prefLabel, Literal("Implementation Plan for the Cartagena Protocol on Biosafety", lang="en")))
        g.add((plan, CPB.englishWording, CPB.OfficialWording))
        g.add((plan, CPB.englishSource, URIRef("https://bch.cbd.int/protocol/post2020/Plan/text.shtml")))
        g.add((plan, DCTERMS.source, self.source))
        # the period as annex para. 1 words it; no start year is printed
        g.add((plan, DCTERMS.temporal, Literal("直至2030年期间", lang="zh")))
        g.add((plan, DCTERMS.temporal, Literal("the period up to 2030", lang="en")))
        g.add((plan, SKOS.editorialNote, Literal(
            "Period: annex paragraph 1 (“在直至 2030 年期间”; the official English reads “for the period up to "
            "2030”). The decision prints no start year.", lang="en")))
        g.add((plan, PROV.wasDerivedFrom, self.source))
        g.add((plan, CPB.chineseWording, CPB.OfficialWording))
        g.add((plan, CPB.chineseSource, self.source))


def _row(uri: str, ids: Ids) -> str:
    """Where in the table an element is, in words: "row A.1.1", "goal A.1, indicator (a)", ...

    >>> _row("https://w3id.org/cpbkg/id/indicator/A.1(a)", Ids())
    'goal A.1, indicator (a)'
    >>> _row("https://w3id.org/cpbkg/id/outcome/B.2", Ids())
    'goal B.2, outcome column'
    """
    kind, _, code = uri[len(ids.base) + len("id/"):].partition("/")
    if kind == "area":
        return f"heading {code}"
    if kind == "indicator":
        goal, _, letter = code.partition("(")
        return f"goal {goal}, indicator ({letter}"
    if kind == "outcome":
        return f"goal {code}, outcome column"
    return f"row {code}"


def outcome_code(goal_code: str) -> str:
    """The notation of a goal's outcome: the table numbers no outcome, so the project's code is the
    goal's with ``-O``, unique in the Plan scheme (the goal keeps ``A.1``).

    >>> outcome_code("A.1")
    'A.1-O'
    """
    return f"{goal_code}-O"


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
    builder.official_texts(sources_dir / ZH_TEXT)
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
