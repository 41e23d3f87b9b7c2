"""The 4th and 5th national-report questionnaires, their cross-cycle mapping, and which
questions measure which indicator.

Sources (copies in ``data/sources/bch/``): the BCH report-analyzer definitions of
scbd/absch.cbd.int at commit ddbb08b, with titles in the six UN languages; the
Secretariat's 5th->4th question mapping; and ``data/methodology/indicator-sources.yaml``
(the Secretariat's indicator table, official mapping).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS, SKOS, XSD

from cpbkg.build.sources.links import add_link
from cpbkg.build.sources.records import read_records
from cpbkg.errors import SourceError, not_utf8
from cpbkg.vocab import CPB, Ids

REPO = "https://github.com/scbd/absch.cbd.int/blob/ddbb08b00a72277a4bc6e83cf88e572b3cf4f966/"
QUESTIONNAIRE_SOURCE = REPO + "app/app-data/bch/report-analyzer/cpbNationalReport{cycle}.js"
MAPPING_SOURCE = REPO + "app/app-data/bch/report-analyzer/mapping/cpbNationalReport5-4.json"
CYCLES = (4, 5)
METHODOLOGY_FILE = Path("methodology") / "indicator-sources.yaml"
TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Title text without the HTML the BCH front-end keeps in it.

    >>> plain("available <sup>6</sup>  and <i>whether</i>")
    'available 6 and whether'
    """
    return " ".join(TAG.sub("", text).split())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"JSON syntax error: {exc.msg}", line=exc.lineno) from exc


def section_articles(key: str) -> list[str]:
    """The Protocol articles a section key names.

    >>> section_articles("Articles7-10"), section_articles("Article2"), section_articles("Nagoya")
    (['7', '8', '9', '10'], ['2'], [])
    """
    match = re.fullmatch(r"Articles?(\d+)(?:-(\d+))?", key)
    if not match:
        return []
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return [str(n) for n in range(first, last + 1)]


class QuestionnaireBuilder:
    """One questionnaire's triples."""

    def __init__(self, graph: Graph, ids: Ids, cycle: int, path: Path) -> None:
        self.graph, self.ids, self.cycle, self.path = graph, ids, cycle, path
        self.source = URIRef(QUESTIONNAIRE_SOURCE.format(cycle=cycle))
        self.uri = ids.questionnaire(cycle)
        #: printed number ("7", "102(a)") -> question URI, for the methodology table
        self.by_number: dict[str, URIRef] = {}
        self.keys: set[str] = set()

    def questionnaire(self, data: dict[str, Any]) -> None:
        g, uri = self.graph, self.uri
        ordinal = {4: "fourth", 5: "fifth"}[self.cycle]
        g.add((uri, RDF.type, CPB.Questionnaire))
        g.add((uri, SKOS.notation, Literal(f"{self.cycle}NR")))
        g.add((uri, SKOS.prefLabel, Literal(f"Cartagena Protocol {ordinal} national report questionnaire", lang="en")))
        g.add((uri, SKOS.prefLabel, Literal(f"卡塔赫纳议定书第{'四五'[self.cycle - 4]}次国家报告问卷", lang="zh")))
        g.add((uri, CPB.reportingCycle, Literal(self.cycle, datatype=XSD.integer)))
        g.add((uri, DCTERMS.identifier, Literal(str(data.get("schema", "")))))
        g.add((uri, DCTERMS.source, self.source))
        g.add((uri, PROV.wasDerivedFrom, self.source))
        for order, section in enumerate(data.get("sections") or [], start=1):
            self.section(section, order)

    def section(self, section: dict[str, Any], order: int) -> None:
        key = self._need(section, "key", "sections")
        uri = self.ids.report_section(self.cycle, key)
        g = self.graph
        g.add((uri, RDF.type, CPB.QuestionnaireSection))
        g.add((uri, SKOS.notation, Literal(key)))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, self.source))
        g.add((self.uri, CPB.hasSection, uri))
        self.titles(uri, section.get("title") or {})
        for article in section_articles(key):
            g.add((uri, CPB.sectionArticle, self.ids.article("cpb", article)))
        for q_order, question in enumerate(section.get("questions") or [], start=1):
            self.question(question, uri, q_order, parent_number=None)

    def question(self, question: dict[str, Any], parent: URIRef, order: int, parent_number: str | None) -> None:
        key = self._need(question, "key", "questions")
        if key in self.keys:
            raise SourceError(self.path, f"duplicate question key {key}", field="questions.key")
        self.keys.add(key)
        uri = self.ids.question(self.cycle, key)
        number = str(question.get("number") or "")
        printed = f"{parent_number}({number})" if parent_number and number else number
        g = self.graph
        g.add((uri, RDF.type, CPB.ReportQuestion))
        g.add((uri, CPB.questionKey, Literal(key)))
        # the code the questionnaire prints ("Q18", "Q102(a)"); an unnumbered follow-up keeps its key
        g.add((uri, SKOS.notation, Literal(f"Q{printed}" if printed else key)))
        g.add((uri, CPB.reportingCycle, Literal(self.cycle, datatype=XSD.integer)))
        g.add((uri, CPB.questionType, Literal(str(question.get("type", "")))))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, self.source))
        g.add((parent, CPB.hasQuestion, uri))
        if "multiple" in question:
            g.add((uri, CPB.multipleChoice, Literal(bool(question["multiple"]))))
        if "mandatory" in question:
            g.add((uri, CPB.mandatory, Literal(bool(question["mandatory"]))))
        self.titles(uri, question.get("title") or {})
        code = f"Q{printed}" if printed else key
        ordinal = {4: "4th", 5: "5th"}[self.cycle]
        g.add((uri, RDFS.label, Literal(f"{ordinal} national report (Cartagena Protocol), {code}", lang="en")))
        g.add((uri, RDFS.label, Literal(f"卡塔赫纳议定书第{'四五'[self.cycle - 4]}次国家报告 {code}", lang="zh")))
        if printed:
            if printed in self.by_number:
                raise SourceError(self.path, f"question number {printed} is printed twice ({key} and another question)",
                                  field=f"questions.{key}.number")
            self.by_number[printed] = uri
        for o_order, option in enumerate(question.get("options") or [], start=1):
            self.option(uri, key, option, o_order)
        for s_order, sub in enumerate(question.get("questions") or [], start=1):
            self.question(sub, uri, s_order, parent_number=printed or None)

    def option(self, question: URIRef, key: str, option: dict[str, Any], order: int) -> None:
        value = self._need(option, "value", f"questions.{key}.options")
        uri = self.ids.answer_option(self.cycle, key, value)
        g = self.graph
        g.add((uri, RDF.type, CPB.AnswerOption))
        g.add((uri, CPB.valueCode, Literal(value)))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, self.source))
        g.add((question, CPB.hasOption, uri))
        self.titles(uri, option.get("title") or {})

    def titles(self, uri: URIRef, titles: dict[str, str]) -> None:
        for lang, text in sorted(titles.items()):
            if text and plain(text):
                self.graph.add((uri, SKOS.prefLabel, Literal(plain(text), lang=lang)))

    def _need(self, node: dict[str, Any], key: str, where: str) -> str:
        value = node.get(key)
        if not value:
            raise SourceError(self.path, f"an entry has no {key!r}", field=f"{where}.{key}")
        return str(value)


def add_mapping(graph: Graph, ids: Ids, path: Path, known: dict[int, set[str]]) -> int:
    """5th-report question -> the 4th-report question the Secretariat maps it to.

    The mapping also covers the 5th report's opening questions (Q001-Q006), which the analyzer's
    questionnaire leaves out; those pairs are skipped, since there is no 5th-report question to link.
    An entry may carry a ``valueMapping`` between the cycles' answer codes; only its question is kept.
    """
    mapping = read_json(path)
    count = 0
    for key5, target in mapping.items():
        if key5 == "schema":
            continue
        key4 = target.get("question") if isinstance(target, dict) else target
        if not isinstance(key4, str):
            raise SourceError(path, f"mapping of {key5} names no question", field=key5)
        if key5 not in known[5]:
            continue
        if key4 not in known[4]:
            raise SourceError(path, f"{key4} is not a question of the 4th report", field=key5)
        add_link(graph, ids, ids.question(5, key5), CPB.correspondsTo, ids.question(4, key4),
                 basis=CPB.OfficialMapping, source=URIRef(MAPPING_SOURCE))
        count += 1
    return count


def add_methodology(graph: Graph, ids: Ids, data_dir: Path, builders: dict[int, QuestionnaireBuilder]) -> None:
    """Indicator -> where its data comes from per cycle, in the words of the Secretariat's table
    (``cpb:dataSource``); the questions the table names are checked here.

    The ``cpb:measuredBy`` links themselves (the table's and those the project's rules read) are
    written in one place, :func:`cpbkg.build.progress.observations.methodology_graph`.
    """
    records = read_records(data_dir / METHODOLOGY_FILE)
    for entry in records.items_of("indicators"):
        code = entry.text("indicator", where="indicators.")
        indicator = ids.indicator(code)
        for cycle_entry in entry.items_of("cycles"):
            cycle = int(cycle_entry.need("cycle", where=f"indicators.{code}."))
            if cycle not in builders:
                raise cycle_entry.error(f"no questionnaire for cycle {cycle}", field=f"indicators.{code}.cycle")
            graph.add((indicator, CPB.dataSource, Literal(cycle_entry.text("text", where=f"indicators.{code}."), lang="en")))
            for number in cycle_entry.get("questions") or []:
                if str(number) not in builders[cycle].by_number:
                    raise cycle_entry.error(f"the {cycle}th report has no question {number}", field=f"indicators.{code}.questions")


def build_graph(data_dir: Path, sources_dir: Path, ids: Ids) -> Graph:
    """Both questionnaires, the 5->4 mapping and the indicator methodology as one graph.

    Raises:
        SourceError: a source file is missing or broken, or a mapping names an unknown question.
    """
    graph = Graph()
    builders: dict[int, QuestionnaireBuilder] = {}
    for cycle in CYCLES:
        path = sources_dir / "bch" / f"cpb-national-report-{cycle}.json"
        builder = QuestionnaireBuilder(graph, ids, cycle, path)
        builder.questionnaire(read_json(path))
        builders[cycle] = builder
    add_mapping(graph, ids, sources_dir / "bch" / "mapping" / "cpbNationalReport5-4.json",
                {c: b.keys for c, b in builders.items()})
    add_methodology(graph, ids, data_dir, builders)
    return graph
