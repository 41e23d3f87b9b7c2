"""Indicator observations as an RDF Data Cube, computed in plain Python from national-report answers.

The methodology (``data/methodology/indicator-sources.yaml``) says, per indicator and reporting
cycle, which answers count towards the numerator (:class:`Rule`). :func:`compute` applies it to
the answers of every Party and sums by area (each Party, each UN M49 region it is in, the world);
:func:`observation_triples` writes the result as N-Triples text::

    <.../observation/progress/A.1(a)/nr5/002> a qb:Observation ;
        qb:dataSet <.../dataset/progress> ;
        cpb:indicator <.../indicator/A.1(a)> ; cpb:reportingCycle 5 ;
        sdmx-dimension:refArea <.../region/m49/002> ;
        cpb:numerator 31 ; cpb:denominator 50 ; cpb:percentage 62.00 .

Numerator: the Parties of the denominator whose answers meet the rule (``all`` or ``any`` of its
conditions; a condition holds when the answer includes one of its values). Denominator: the
Parties that answered at least one of the rule's questions in that cycle (``scope: answered``) or
that submitted any answer (``reporting``), restricted to the Parties of a treaty (``party_of``)
and to those meeting its own conditions. Percentage: 100 x numerator / denominator, rounded half
up to two decimals; no observation where the denominator is 0.

:func:`methodology_graph` is the small, static part: the rules as data (``cpb:MeasurementRule``),
the Data Cube structure and which option of a 5th-report question
corresponds to which option of its 4th-report counterpart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from cpbkg.build.progress.answers import (
    CYCLES,
    Answer,
    load_questionnaire,
    value_mapping,
)
from cpbkg.build.progress.parties import PROG, SDMX_DIMENSION, PartyList, ProgressIds
from cpbkg.build.sources.links import add_link
from cpbkg.build.sources.questionnaires import METHODOLOGY_FILE, QUESTIONNAIRE_SOURCE
from cpbkg.build.sources.records import Record, read_records
from cpbkg.vocab import CPB, QB, Ids

MEASURED_FROM = ("national-reports", "bch-records", "bch-analytics", "other-records")
COMBINE = ("all", "any")
SCOPES = ("answered", "reporting")
#: a data set key for real answers; synthetic ones are "synthetic-progress", "synthetic-progress-r1" ...
REAL_DATASET = "progress"
SYNTHETIC_DATASET = "synthetic-progress"
SYNTHETIC_LABEL = "SYNTHETIC — not real national-report data"
SYNTHETIC_LABEL_ZH = "合成数据（SYNTHETIC）— 并非真实的国家报告数据"


@dataclass(frozen=True)
class Condition:
    """The answer to ``key`` includes one of ``values``."""

    key: str
    values: frozenset[str]

    def holds(self, answers: dict[str, frozenset[str]]) -> bool:
        return bool(answers.get(self.key, frozenset()) & self.values)


@dataclass(frozen=True)
class Rule:
    """How one indicator is measured in one reporting cycle."""

    indicator: str
    cycle: int
    combine: str
    conditions: tuple[Condition, ...]
    scope: str = "answered"
    party_of: str | None = None
    denominator_conditions: tuple[Condition, ...] = ()
    #: OfficialMapping when the Secretariat's table names the questions, else CuratedLink
    question_basis: str = "curated"
    justification: str = ""
    line: int = 0

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.conditions)

    def in_denominator(self, answers: dict[str, frozenset[str]], treaties: frozenset[str]) -> bool:
        if self.party_of and self.party_of not in treaties:
            return False
        if self.scope == "answered" and not any(k in answers for k in self.keys):
            return False
        return all(c.holds(answers) for c in self.denominator_conditions)

    def in_numerator(self, answers: dict[str, frozenset[str]]) -> bool:
        results = (c.holds(answers) for c in self.conditions)
        return all(results) if self.combine == "all" else any(results)


@dataclass(frozen=True)
class Methodology:
    """Every indicator's data source and, for those measured from national reports, its rules."""

    rules: dict[tuple[str, int], Rule]
    measured_from: dict[str, str]
    why: dict[str, str]
    curator: str
    date: str
    source: str
    #: (indicator, cycle) -> the question keys the Secretariat's table names (its printed numbers resolved)
    official_questions: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasurementLink:
    """One ``cpb:measuredBy`` link: an indicator, a question of one cycle, and why it holds."""

    indicator: str
    cycle: int
    key: str
    #: "official": the Secretariat's table names the question; "curated": a rule of the project reads it
    basis: str
    justification: str


def measurement_links(methodology: Methodology) -> list[MeasurementLink]:
    """Every question that measures an indicator: the official table's, and every question any rule
    reads (numerator or denominator), each once, official where the table names it.

    This is the one list the graph states as ``cpb:measuredBy`` (:func:`methodology_graph`); the
    catalogue query ``indicator-report-questions``, the pages and the shapes read those links.
    """
    links: dict[tuple[str, int, str], MeasurementLink] = {}
    for (code, cycle), keys in sorted(methodology.official_questions.items()):
        for key in keys:
            links[(code, cycle, key)] = MeasurementLink(code, cycle, key, "official", "")
    for (code, cycle), rule in sorted(methodology.rules.items()):
        for condition in rule.conditions + rule.denominator_conditions:
            if (code, cycle, condition.key) not in links:
                reading = methodology.why.get(code) or rule.justification
                links[(code, cycle, condition.key)] = MeasurementLink(
                    code, cycle, condition.key, "curated",
                    f"The project's reading: the rule for {code} in the {cycle}th report reads {condition.key}. {reading}".strip())
    return [links[k] for k in sorted(links, key=lambda k: (k[0], k[1], k[2]))]


def _conditions(record: Record, key: str, where: str, cycle: int, sources_dir: Path) -> tuple[Condition, ...]:
    questionnaire = load_questionnaire(sources_dir, cycle)
    out = []
    for item in record.get(key) or []:
        if not isinstance(item, dict):
            raise record.error(f"{where}: a condition is {{key: Q007, values: [...]}}", field=where)
        qkey = str(item.get("key") or "")
        question = questionnaire.questions.get(qkey)
        if question is None:
            raise record.error(f"{where}: the {cycle}th report has no question {qkey!r}", field=f"{where}.key")
        values = [str(v) for v in item.get("values") or []]
        if not values:
            raise record.error(f"{where}: condition on {qkey} lists no values", field=f"{where}.values")
        unknown = [v for v in values if v not in question.options]
        if unknown:
            raise record.error(f"{where}: {', '.join(unknown)} not an option of {qkey} in the {cycle}th report "
                               f"(options: {', '.join(question.options)})", field=f"{where}.values")
        out.append(Condition(qkey, frozenset(values)))
    return tuple(out)


def load_methodology(data_dir: Path, sources_dir: Path) -> Methodology:
    """The rules of ``indicator-sources.yaml``, checked against the questionnaires.

    Raises:
        SourceError: file, line and field of an unknown question or value, an unknown
            ``combine``/``scope``/``measured_from``, or an indicator listed twice.
    """
    path = data_dir / METHODOLOGY_FILE
    records = read_records(path)
    rules: dict[tuple[str, int], Rule] = {}
    measured: dict[str, str] = {}
    why: dict[str, str] = {}
    official_keys: dict[tuple[str, int], tuple[str, ...]] = {}
    for section, basis in (("indicators", "official"), ("curated", "curated"), ("other_sources", "curated")):
        for entry in records.items_of(section):
            code = entry.text("indicator", where=f"{section}.")
            if code in measured:
                raise entry.error(f"indicator {code} is listed twice", field=f"{section}.indicator")
            source = str(entry.get("measured_from") or "")
            if source not in MEASURED_FROM:
                raise entry.error(f"measured_from of {code} must be one of {', '.join(MEASURED_FROM)}, not {source!r}",
                                  field=f"{section}.{code}.measured_from")
            measured[code] = source
            numerator_info: dict[str, object] = entry["numerator"] if isinstance(entry.get("numerator"), dict) else {}
            why[code] = str(entry.get("why") or numerator_info.get("justification") or "").strip()
            for cycle_entry in entry.items_of("cycles"):
                printed = cycle_entry.get("questions") or []
                if printed and section == "indicators":
                    cycle = int(cycle_entry.need("cycle", where=f"{section}.{code}."))
                    official_keys[(code, cycle)] = _official_keys(cycle_entry, printed, code, cycle, sources_dir)
                numerator = cycle_entry.get("numerator")
                if numerator is None:
                    continue
                cycle = int(cycle_entry.need("cycle", where=f"{section}.{code}."))
                where = f"{section}.{code}.cycle{cycle}"
                if cycle not in CYCLES:
                    raise cycle_entry.error(f"no questionnaire for cycle {cycle}", field=f"{where}.cycle")
                if source != "national-reports":
                    raise cycle_entry.error(f"{code} is measured from {source}, so it cannot have a numerator rule",
                                            field=f"{where}.numerator")
                if not isinstance(numerator, Record):
                    raise cycle_entry.error("numerator must be a mapping", field=f"{where}.numerator")
                combine = str(numerator.get("combine") or "all")
                if combine not in COMBINE:
                    raise numerator.error(f"combine must be all or any, not {combine!r}", field=f"{where}.combine")
                conditions = _conditions(numerator, "conditions", f"{where}.numerator", cycle, sources_dir)
                if not conditions:
                    raise numerator.error("a numerator needs at least one condition", field=f"{where}.conditions")
                denominator = cycle_entry.get("denominator") or Record()
                if not isinstance(denominator, dict):
                    raise cycle_entry.error("denominator must be a mapping", field=f"{where}.denominator")
                if not isinstance(denominator, Record):
                    denominator = Record(denominator)
                    denominator.path, denominator.line = cycle_entry.path, cycle_entry.line
                scope = str(denominator.get("scope") or "answered")
                if scope not in SCOPES:
                    raise cycle_entry.error(f"denominator scope must be answered or reporting, not {scope!r}",
                                            field=f"{where}.denominator.scope")
                party_of = denominator.get("party_of")
                if party_of not in (None, "cpb", "nkl"):
                    raise cycle_entry.error(f"party_of must be cpb or nkl, not {party_of!r}",
                                            field=f"{where}.denominator.party_of")
                den_conditions = _conditions(denominator, "conditions", f"{where}.denominator", cycle, sources_dir)
                official = basis == "official" and bool(cycle_entry.get("questions"))
                rules[(code, cycle)] = Rule(code, cycle, combine, conditions, scope, party_of, den_conditions,
                                            "official" if official else "curated", why[code], cycle_entry.line)
    return Methodology(rules, measured, why, str(records.get("curator") or "CPB-KG project"),
                       str(records.get("curation_date") or ""), str(records.get("source") or ""), official_keys)


def _official_keys(record: Record, printed: list[object], code: str, cycle: int, sources_dir: Path) -> tuple[str, ...]:
    """The BCH keys of the questions the official table names by their printed numbers ("14", "112(a)")."""
    if cycle not in CYCLES:
        raise record.error(f"no questionnaire for cycle {cycle}", field=f"indicators.{code}.cycle")
    questionnaire = load_questionnaire(sources_dir, cycle)
    keys = []
    for number in printed:
        question = questionnaire.by_number.get(str(number))
        if question is None:
            raise record.error(f"the {cycle}th report has no question {number}", field=f"indicators.{code}.questions")
        keys.append(question.key)
    return tuple(keys)


# ----------------------------------------------------------------------------------- compute


@dataclass(frozen=True)
class Observation:
    """One cell of the cube."""

    indicator: str
    cycle: int
    area: str
    numerator: int
    denominator: int

    @property
    def percentage(self) -> Decimal | None:
        if not self.denominator:
            return None
        return percentage(self.numerator, self.denominator)


def percentage(numerator: int, denominator: int) -> Decimal:
    """100 x numerator / denominator, rounded half up to two decimals.

    >>> percentage(1, 3), percentage(2, 3), percentage(1, 8)
    (Decimal('33.33'), Decimal('66.67'), Decimal('12.50'))
    """
    return (Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def index_answers(answers: Iterable[Answer]) -> dict[tuple[int, str], dict[str, frozenset[str]]]:
    """(cycle, Party) -> question key -> the set of values given."""
    out: dict[tuple[int, str], dict[str, frozenset[str]]] = defaultdict(dict)
    for a in answers:
        out[(a.cycle, a.party)][a.question] = frozenset(a.values)
    return out


def compute(answers: Iterable[Answer], methodology: Methodology, parties: PartyList) -> list[Observation]:
    """Observations for every rule with answers in its cycle, for each Party, region and the world."""
    by_party = index_answers(answers)
    observations = []
    for (indicator, cycle), rule in sorted(methodology.rules.items()):
        num: dict[str, int] = defaultdict(int)
        den: dict[str, int] = defaultdict(int)
        for (c, iso3), given in by_party.items():
            if c != cycle:
                continue
            party = parties.parties[iso3]
            if not rule.in_denominator(given, party.treaties):
                continue
            counted = rule.in_numerator(given)
            for area in parties.areas(iso3):
                den[area] += 1
                if counted:
                    num[area] += 1
        for area in sorted(den):
            observations.append(Observation(indicator, cycle, area, num[area], den[area]))
    return observations


# ------------------------------------------------------------------------------------- output


def _lit_int(value: int) -> str:
    return f'"{value}"^^<http://www.w3.org/2001/XMLSchema#integer>'


def dataset_triples(pids: ProgressIds, key: str, *, synthetic: bool, cycles: Iterable[int] = ()) -> Iterator[str]:
    """The qb:DataSet resource of one set of observations (loudly labelled when synthetic)."""
    ds = f"<{pids.dataset(key)}>"
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    label, comment = "<http://www.w3.org/2000/01/rdf-schema#label>", "<http://www.w3.org/2000/01/rdf-schema#comment>"
    yield f"{ds} {rdf_type} <{QB.DataSet}> ."
    for prop, kind in ((PROG.indicator, QB.DimensionProperty), (CPB.reportingCycle, QB.DimensionProperty),
                       (SDMX_DIMENSION.refArea, QB.DimensionProperty), (PROG.numerator, QB.MeasureProperty),
                       (PROG.denominator, QB.MeasureProperty), (PROG.percentage, QB.MeasureProperty)):
        yield f"<{prop}> {rdf_type} <{kind}> ."
    yield f"{ds} <{QB.structure}> <{pids.dsd()}> ."
    yield f'{ds} <{PROG.synthetic}> "{str(synthetic).lower()}"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
    if synthetic:
        yield f'{ds} {label} "{SYNTHETIC_LABEL}: indicator observations ({key})"@en .'
        yield f'{ds} {label} "{SYNTHETIC_LABEL_ZH}：指标观测值（{key}）"@zh .'
        yield (f'{ds} {comment} "{SYNTHETIC_LABEL}. Computed from answers that cpbkg/synthetic.py generated at '
               'random for the real Parties and questionnaires, for tests, demonstrations and benchmarks. '
               'No number here says anything about any country."@en .')
        yield f"{ds} <http://purl.org/dc/terms/isPartOf> <{pids.synthetic_dataset()}> ."
    else:
        yield f'{ds} {label} "Implementation Plan indicator observations from national reports"@en .'
        yield f'{ds} {label} "根据国家报告计算的执行计划指标观测值"@zh .'
        yield (f'{ds} {comment} "Computed by cpbkg from the national-report answers ingested into data/reports/, '
               'with the numerator rules of data/methodology/indicator-sources.yaml."@en .')
    for cycle in sorted(set(cycles)):
        yield f"{ds} <{CPB.reportingCycle}> {_lit_int(cycle)} ."


def observation_triples(observations: Iterable[Observation], pids: ProgressIds, dataset: str) -> Iterator[str]:
    """N-Triples lines of observations (8 triples each), no rdflib graph in between."""
    ids = pids.ids
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    t_obs, p_ds = f"<{QB.Observation}>", f"<{QB.dataSet}>"
    p_ind, p_cycle, p_area = f"<{PROG.indicator}>", f"<{CPB.reportingCycle}>", f"<{SDMX_DIMENSION.refArea}>"
    p_num, p_den, p_pct = f"<{PROG.numerator}>", f"<{PROG.denominator}>", f"<{PROG.percentage}>"
    ds = f"<{pids.dataset(dataset)}>"
    ind_uri: dict[str, str] = {}
    area_uri: dict[str, str] = {}
    for o in observations:
        if o.indicator not in ind_uri:
            ind_uri[o.indicator] = f"<{ids.indicator(o.indicator)}>"
        if o.area not in area_uri:
            area_uri[o.area] = f"<{pids.area(o.area)}>"
        uri = f"<{pids.observation(dataset, o.indicator, o.cycle, o.area)}>"
        yield f"{uri} {rdf_type} {t_obs} ."
        yield f"{uri} {p_ds} {ds} ."
        yield f"{uri} {p_ind} {ind_uri[o.indicator]} ."
        yield f"{uri} {p_cycle} {_lit_int(o.cycle)} ."
        yield f"{uri} {p_area} {area_uri[o.area]} ."
        yield f"{uri} {p_num} {_lit_int(o.numerator)} ."
        yield f"{uri} {p_den} {_lit_int(o.denominator)} ."
        pct = o.percentage
        if pct is not None:
            yield f'{uri} {p_pct} "{pct}"^^<http://www.w3.org/2001/XMLSchema#decimal> .'


# --------------------------------------------------------------------------- methodology graph


BASIS = {"official": CPB.OfficialMapping, "curated": CPB.CuratedLink}


#: the methodology file's public identity, relative to the base URI (the source of curated measurement links)
METHODOLOGY_PATH = "data/methodology/indicator-sources.yaml"


def methodology_graph(methodology: Methodology, ids: Ids, sources_dir: Path) -> Graph:
    """Rules, measurement links, the cube's structure and the 5->4 option correspondence (small).

    Every indicator answers "what measures it" here, in one place: ``cpb:measurementSource``
    (national-reports, bch-records, bch-analytics, other-records) and, for those measured from
    national reports, one ``cpb:measuredBy`` link per question of :func:`measurement_links`, with
    its ``cpb:Link`` record: ``cpb:OfficialMapping`` (source: the Secretariat's table) where the
    table names the question, else ``cpb:CuratedLink`` (source: the methodology file; justification,
    creator, date). A rule names its questions with ``cpb:numeratorQuestion`` and says with
    ``cpb:questionBasis`` whether they are official or the project's choice (with the reason as
    ``skos:scopeNote``, ``dcterms:creator`` and ``dcterms:date``); the shapes check that every
    question a rule reads is a ``cpb:measuredBy`` of its indicator."""
    pids = ProgressIds(ids)
    g = Graph()
    _structure(g, pids)
    for code, source in sorted(methodology.measured_from.items()):
        g.add((ids.indicator(code), PROG.measurementSource, Literal(source)))
    official_source = URIRef(methodology.source) if methodology.source else URIRef(ids.base + METHODOLOGY_PATH)
    for link in measurement_links(methodology):
        if link.basis == "official":
            add_link(g, ids, ids.indicator(link.indicator), CPB.measuredBy, ids.question(link.cycle, link.key),
                     basis=CPB.OfficialMapping, source=official_source)
        else:
            add_link(g, ids, ids.indicator(link.indicator), CPB.measuredBy, ids.question(link.cycle, link.key),
                     basis=CPB.CuratedLink, source=URIRef(ids.base + METHODOLOGY_PATH),
                     justification=link.justification, creator=methodology.curator, date=methodology.date)
    for (code, cycle), rule in sorted(methodology.rules.items()):
        uri = pids.rule(code, cycle)
        g.add((uri, RDF.type, PROG.MeasurementRule))
        g.add((uri, PROG.ruleFor, ids.indicator(code)))
        g.add((uri, CPB.reportingCycle, Literal(cycle, datatype=XSD.integer)))
        g.add((uri, PROG.combination, Literal(rule.combine)))
        g.add((uri, PROG.denominatorScope, Literal(rule.scope)))
        g.add((uri, PROG.questionBasis, BASIS[rule.question_basis]))
        g.add((uri, PROG.valueBasis, CPB.CuratedLink))
        g.add((uri, RDFS.label, Literal(f"How {code} is measured in the {cycle}th national reports", lang="en")))
        g.add((uri, RDFS.label, Literal(f"{code} 在第{'四五'[cycle - 4]}次国家报告中的衡量方法", lang="zh")))
        if rule.justification:
            g.add((uri, SKOS.scopeNote, Literal(rule.justification, lang="en")))
        g.add((uri, DCTERMS.creator, Literal(methodology.curator)))
        if methodology.date:
            g.add((uri, DCTERMS.date, Literal(methodology.date, datatype=XSD.date)))
        g.add((uri, DCTERMS.source, URIRef(QUESTIONNAIRE_SOURCE.format(cycle=cycle))))
        if rule.party_of:
            g.add((uri, PROG.populationTreaty, ids.treaty(rule.party_of)))
        for condition in rule.conditions:
            g.add((uri, PROG.numeratorQuestion, ids.question(cycle, condition.key)))
            for value in sorted(condition.values):
                g.add((uri, PROG.numeratorOption, ids.answer_option(cycle, condition.key, value)))
        for condition in rule.denominator_conditions:
            g.add((uri, PROG.denominatorQuestion, ids.question(cycle, condition.key)))
            for value in sorted(condition.values):
                g.add((uri, PROG.denominatorOption, ids.answer_option(cycle, condition.key, value)))
    _option_correspondence(g, ids, sources_dir)
    return g


def _structure(g: Graph, pids: ProgressIds) -> None:
    dsd = pids.dsd()
    g.add((dsd, RDF.type, QB.DataStructureDefinition))
    g.add((dsd, RDFS.label, Literal("Implementation Plan indicator x reporting cycle x area", lang="en")))
    g.add((dsd, RDFS.label, Literal("执行计划指标 x 报告周期 x 地区", lang="zh")))
    components = [(QB.dimension, PROG.indicator, 1, "indicator", "指标"),
                  (QB.dimension, CPB.reportingCycle, 2, "reporting cycle", "报告周期"),
                  (QB.dimension, SDMX_DIMENSION.refArea, 3, "area", "地区"),
                  (QB.measure, PROG.numerator, None, "numerator", "分子"),
                  (QB.measure, PROG.denominator, None, "denominator", "分母"),
                  (QB.measure, PROG.percentage, None, "percentage", "百分比")]
    for kind, prop, order, en, zh in components:
        spec = URIRef(f"{dsd}/component/{str(prop).rsplit('#', 1)[-1]}")
        g.add((dsd, QB.component, spec))
        g.add((spec, RDF.type, QB.ComponentSpecification))
        role = ("dimension", "维度") if kind == QB.dimension else ("measure", "度量")
        g.add((spec, RDFS.label, Literal(f"{role[0]}: {en}", lang="en")))
        g.add((spec, RDFS.label, Literal(f"{role[1]}：{zh}", lang="zh")))
        g.add((spec, kind, prop))
        if order:
            g.add((spec, QB.order, Literal(order, datatype=XSD.integer)))


def _option_correspondence(g: Graph, ids: Ids, sources_dir: Path) -> None:
    """5th-report option -> the 4th-report option of the mapped question with the same (or mapped) code."""
    q5, q4 = load_questionnaire(sources_dir, 5), load_questionnaire(sources_dir, 4)
    for key5, (key4, mapping) in sorted(value_mapping(sources_dir).items()):
        a, b = q5.questions.get(key5), q4.questions.get(key4)
        if a is None or b is None:
            continue
        for value in a.options:
            target = mapping.get(value, value)
            if target in b.options:
                g.add((ids.answer_option(5, key5, value), PROG.correspondsToOption, ids.answer_option(4, key4, target)))

