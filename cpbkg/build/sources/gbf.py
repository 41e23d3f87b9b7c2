"""The Kunming-Montreal Global Biodiversity Framework (KMGBF) as far as the Plan needs it.

What is built, and from where (copies in ``data/sources/``):

* the 2050 vision and the mission, as decision CP-10/3 (annex, para. 4) quotes them:
  Chinese from ``cp-10-3-zh.txt``; English from the official annex text
  (``cp-10-3-en-partial.txt``) where it says the same thing. The English annex quotes
  the *draft* mission while the Chinese quotes the adopted one, so the mission's
  English is the project's translation of the Chinese, marked as such;
* goals A-D (full English text) and targets 1-23 (English title, and the full text
  where a copy was found) from ``reference-facts.md``, section 4;
* the monitoring-framework indicators of Target 17 (``gbf/gbf-indicators.json``) and
  the binary-indicator questions 17.1-17.6 that feed indicator 17.b
  (``gbf/gbf-binary-indicator-questions.json``), titled in the six UN languages.

``cpb:indicatorForTarget`` and ``cpb:questionForIndicator`` are stated by the sources
(the indicator's code, the question block's ``binaryIndicator``); they are written as
direct triples only: the shapes ask for link resources on the Plan's link properties
(``cites``, ``contributesTo`` ...), not on these structural ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from cpbkg.build.sources import zhtext
from cpbkg.build.sources.questionnaires import plain
from cpbkg.build.sources.wording import TRANSLATION_NOTE
from cpbkg.errors import SourceError, check_text, not_utf8
from cpbkg.vocab import CPB, Ids

FACTS_FILE = "reference-facts.md"
ZH_TEXT = "cp-10-3-zh.txt"
EN_TEXT = "cp-10-3-en-partial.txt"
INDICATORS_FILE = Path("gbf") / "gbf-indicators.json"
QUESTIONS_FILE = Path("gbf") / "gbf-binary-indicator-questions.json"

DECISION = "CP-10/3"
#: the official English annex text of CP-10/3 (paras 1-4), where cp-10-3-en-partial.txt was copied from
ANNEX_EN_SOURCE = URIRef("https://bch.cbd.int/protocol/post2020/Plan/text.shtml")
REPORTING_TOOL = "https://github.com/scbd/online-reporting-tool/blob/06b5c70696174eb9283119f9eef54928d046d36b/"
INDICATORS_SOURCE = URIRef(REPORTING_TOOL + "app-data/indicators.ts")
QUESTIONS_SOURCE = URIRef(REPORTING_TOOL + "app-data/binary-indicator-questions.ts")
#: the CBD's page of each target (the address pattern of the Secretariat's own code, reference-facts.md s. 6)
TARGET_PAGE = "https://www.cbd.int/gbf/targets/{n}/"

GOAL_CODES = ("A", "B", "C", "D")
TARGET_NUMBERS = tuple(range(1, 24))
#: the targets whose monitoring indicators and binary questions are built (the Plan's target)
MONITORED_TARGETS = (17,)
#: languages a binary-indicator question must have: the shapes ask for en and zh labels
REQUIRED_LANGUAGES = ("en", "zh")

#: The mission as the Chinese text of CP-10/3 quotes it, and the project's English translation of
#: exactly that text. If the Chinese source changes, the build stops rather than publish a stale translation.
MISSION_ZH = ("采取紧急行动停止和扭转生物多样性的丧失，使自然走上恢复之路，造福人民和地球，为此保护和可持续利用"
              "生物多样性，确保公正公平地分享利用遗传资源所产生的惠益，同时提供必要的执行手段。")
MISSION_EN_TRANSLATION = (
    "To take urgent action to halt and reverse the loss of biodiversity and put nature on a path to recovery "
    "for the benefit of people and planet, by conserving and sustainably using biodiversity, ensuring the fair "
    "and equitable sharing of the benefits arising from the use of genetic resources, and providing the "
    "necessary means of implementation."
)

_URL = re.compile(r"https?://[^\s;,()]+")
_GOAL = re.compile(r'^\*\*Goal ([A-D])\*\*: "([^"]+)"\s*Source: (\S+)')
_GOAL_ID = re.compile(r"\bGBF-GOAL-([A-D])\b")
_TABLE_ROW = re.compile(r"^\|\s*(\d{1,2})\s*\|(.*?)\|(.*?)\|\s*$")
_TITLE_CELL = re.compile(r'^\**"?(?P<title>[^"*(]+?)"?\**\s*\((?P<where>[^)]*)\)')
_FULL_TEXT = re.compile(r'^\*\*(?:Target |T)(\d{1,2})\*\* \((.*?)\): "([^"]+)"')
_TARGET_ID = re.compile(r"\bGBF-TARGET-(\d+)\b")
# not inside an address: reference-facts.md's only such case is an API path it says was "inferred, not seen"
_SEEN_TARGET_ID = re.compile(r"(?<!/)\bGBF-TARGET-(\d+)\b")
_INDICATOR_TARGET = re.compile(r"^(\d{1,2})\.")


@dataclass
class Bullet:
    """One top-level Markdown list item: its first line number and its text, lines joined."""

    line: int
    text: str


@dataclass
class Section:
    """The lines of one ``###`` sub-section of reference-facts.md, with their line numbers."""

    heading: str
    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)

    def bullets(self) -> list[Bullet]:
        """Top-level ``- `` items with their continuation lines; nested items are left out.

        Nested items (``  - ...``) are remarks on the item above (other copies, typos seen),
        not part of the quoted text.
        """
        out: list[Bullet] = []
        collecting = False
        for number, line in self.lines:
            if line.startswith("- "):
                out.append(Bullet(number, line[2:].strip()))
                collecting = True
            elif not line.strip() or line.lstrip().startswith("- "):
                collecting = False
            elif collecting and line.startswith(" "):
                out[-1].text += " " + line.strip()
            else:
                collecting = False
        return out


def read_facts(path: Path) -> dict[str, Section]:
    """The ``###`` sub-sections of section 4 (KMGBF) of reference-facts.md, by heading.

    Raises:
        SourceError: the file is missing or has no section 4.
    """
    lines = _read_text(path).splitlines()
    sections: dict[str, Section] = {}
    inside = False
    current: Section | None = None
    for number, line in enumerate(lines, start=1):
        if line.startswith("## "):
            inside = line.startswith("## 4.")
            current = None
        elif inside and line.startswith("### "):
            current = Section(line[4:].strip(), number)
            sections[current.heading] = current
        elif inside and current is not None:
            current.lines.append((number, line))
    if not sections:
        raise SourceError(path, "no section '## 4.' (KMGBF) with sub-sections", field="## 4.")
    return sections


def section(sections: dict[str, Section], prefix: str, path: Path) -> Section:
    """The sub-section whose heading starts with ``prefix``."""
    for heading, found in sections.items():
        if heading.startswith(prefix):
            return found
    raise SourceError(path, f"no sub-section '### {prefix}...' in section 4", field="### " + prefix)


def title_cell(cell: str) -> tuple[str, str] | None:
    """The first title in a cell of the targets table, and where it was copied from.

    >>> title_cell('**Strengthen Biosafety** (www.cbd.int/gbf/targets/17/)')
    ('Strengthen Biosafety', 'www.cbd.int/gbf/targets/17/')
    >>> title_cell('"Plan and manage" (cbd.int/gbf/targets/notes.shtml); "Plan and Manage" (x.org)')
    ('Plan and manage', 'cbd.int/gbf/targets/notes.shtml')
    >>> title_cell('-') is None
    True
    """
    match = _TITLE_CELL.match(cell.strip())
    if not match:
        return None
    return match.group("title").strip(), match.group("where").strip()


def full_url(where: str) -> URIRef | None:
    """The first address written out in full (with its scheme) in a source note, if any.

    Bare host names in the notes stay text: adding a scheme would be a guess.

    >>> full_url("https://www.cbd.int/gbf/targets/19; the stored copy stops inside (f)")
    rdflib.term.URIRef('https://www.cbd.int/gbf/targets/19')
    >>> full_url("cbd.int/gbf/targets/2/") is None
    True
    """
    match = _URL.search(where)
    return URIRef(match.group(0).rstrip(".")) if match else None


def target_identifier(number: int) -> str:
    """The CBD thesaurus identifier of a target, in the two-digit form the thesaurus shows.

    >>> target_identifier(3), target_identifier(17)
    ('GBF-TARGET-03', 'GBF-TARGET-17')
    """
    return f"GBF-TARGET-{number:02d}"


class GBFBuilder:
    """The GBF graph, one kind of element at a time."""

    def __init__(self, sources_dir: Path, ids: Ids) -> None:
        self.dir = sources_dir
        self.ids = ids
        self.graph = Graph()
        self.facts_path = sources_dir / FACTS_FILE
        self.facts = read_facts(self.facts_path)
        #: identifier spellings seen in the sources, for the note on normalised identifiers
        self.seen_ids: set[str] = set()

    # ------------------------------------------------------------ vision and mission

    def vision_and_mission(self) -> None:
        """The 2050 vision and the mission as the decision's annex (para. 4) quotes them.

        Raises:
            SourceError: a quote is not found, or the Chinese mission is no longer the text
                :data:`MISSION_EN_TRANSLATION` translates.
        """
        zh_path, en_path = self.dir / ZH_TEXT, self.dir / EN_TEXT
        zh = zhtext.clean(_read_text(zh_path))
        en = " ".join(_read_text(en_path).split())
        vision_zh = _quote(zh, r"2050年愿景：“([^”]+)”", zh_path, "2050 vision")
        mission_zh = _quote(zh, r"使命：“([^”]+)”", zh_path, "mission")
        vision_en = _quote(en, r"2050 vision — “([^”]+)”", en_path, "2050 vision")
        draft_mission_en = _quote(en, r"mission — “([^”]+)”", en_path, "mission")
        if mission_zh != MISSION_ZH:
            raise SourceError(zh_path, "the mission quoted in annex para. 4 is not the text MISSION_EN_TRANSLATION "
                              "translates; revise the translation in cpbkg/sources/gbf.py", field="mission")
        g = self.graph
        vision = self._quoted(self.ids.gbf("vision", "2050"), CPB.GBFVision, ("2050 vision", "2050年愿景"),
                              vision_zh, vision_en)
        g.add((vision, CPB.englishWording, CPB.OfficialWording))
        g.add((vision, CPB.englishSource, ANNEX_EN_SOURCE))
        mission = self._quoted(self.ids.gbf("mission", "2030"), CPB.GBFMission, ("2030 mission", "2030年使命"),
                               mission_zh, MISSION_EN_TRANSLATION)
        g.add((mission, CPB.englishWording, CPB.ProjectTranslation))
        g.add((mission, SKOS.editorialNote, TRANSLATION_NOTE))
        g.add((mission, SKOS.editorialNote, Literal(
            "The English annex text of CP-10/3 at " + str(ANNEX_EN_SOURCE) + " quotes the draft mission instead, "
            f"which differs from the Chinese text: “{draft_mission_en}”.", lang="en")))

    def _quoted(self, uri: URIRef, cls: URIRef, labels: tuple[str, str], zh: str, en: str) -> URIRef:
        """The triples vision and mission share: labels (en, zh), both texts, the decision as source."""
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, SKOS.prefLabel, Literal(labels[0], lang="en")))
        g.add((uri, SKOS.prefLabel, Literal(labels[1], lang="zh")))
        g.add((uri, CPB.text, Literal(zh, lang="zh")))
        g.add((uri, CPB.text, Literal(en, lang="en")))
        g.add((uri, DCTERMS.source, self.ids.document(DECISION)))
        return uri

    # ------------------------------------------------------------ goals

    def goals(self) -> None:
        """Goals A-D with their full English text and thesaurus identifier.

        Raises:
            SourceError: a goal is missing or given twice, or its identifier is not listed.
        """
        found = section(self.facts, "Goals", self.facts_path)
        ids_listed: set[str] = set()
        seen: dict[str, int] = {}
        for bullet in found.bullets():
            ids_listed |= set(_GOAL_ID.findall(bullet.text))
            match = _GOAL.match(bullet.text)
            if not match:
                continue
            code, text, where = match.groups()
            if code in seen:
                raise SourceError(self.facts_path, f"goal {code} is given twice (first on line {seen[code]})",
                                  line=bullet.line, field="Goal " + code)
            seen[code] = bullet.line
            self.goal(code, " ".join(text.split()), URIRef(where.rstrip(".")), len(seen))
        missing = [c for c in GOAL_CODES if c not in seen]
        if missing:
            raise SourceError(self.facts_path, f"goals missing: {', '.join(missing)}", line=found.line, field="Goals")
        unlisted = [c for c in GOAL_CODES if c not in ids_listed]
        if unlisted:
            raise SourceError(self.facts_path, f"no GBF-GOAL identifier listed for {', '.join(unlisted)}",
                              line=found.line, field="Identifiers")

    def goal(self, code: str, text: str, source: URIRef, order: int) -> None:
        uri = self.ids.gbf("goal", code)
        g = self.graph
        g.add((uri, RDF.type, CPB.GBFGoal))
        g.add((uri, SKOS.notation, Literal(code)))
        g.add((uri, SKOS.prefLabel, Literal(f"Goal {code}", lang="en")))
        g.add((uri, CPB.text, Literal(text, lang="en")))
        g.add((uri, CPB.cbdIdentifier, Literal(f"GBF-GOAL-{code}")))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, source))

    # ------------------------------------------------------------ targets

    def targets(self) -> None:
        """Targets 1-23: title from the table, full text where a copy was found.

        Raises:
            SourceError: a target row is missing, repeated or has no title.
        """
        table = section(self.facts, "Targets", self.facts_path)
        rows: dict[int, tuple[int, str, str]] = {}
        for number, line in table.lines:
            match = _TABLE_ROW.match(line)
            if not match:
                continue
            n = int(match.group(1))
            if n in rows:
                raise SourceError(self.facts_path, f"target {n} is given twice (first on line {rows[n][0]})",
                                  line=number, field=f"target {n}")
            cell = title_cell(match.group(2))
            if cell is None:
                raise SourceError(self.facts_path, f"target {n} has no title in column A", line=number,
                                  field=f"target {n}")
            rows[n] = (number, *cell)
        missing = [str(n) for n in TARGET_NUMBERS if n not in rows]
        extra = sorted(set(rows) - set(TARGET_NUMBERS))
        if missing or extra:
            raise SourceError(self.facts_path, f"the targets table must list targets 1-23: missing "
                              f"{', '.join(missing) or '-'}, unknown {', '.join(map(str, extra)) or '-'}",
                              line=table.line, field="Targets")
        texts = self.full_texts()
        for n in TARGET_NUMBERS:
            _, title, where = rows[n]
            self.target(n, title, where, texts.get(n))

    def full_texts(self) -> dict[int, tuple[str, str]]:
        """Target number -> (full English text, where it was copied from); incomplete copies left out."""
        texts: dict[int, tuple[str, str]] = {}
        for prefix in ("Full target texts", "Other target texts"):
            for bullet in section(self.facts, prefix, self.facts_path).bullets():
                match = _FULL_TEXT.match(bullet.text)
                if not match:
                    continue
                n, where, text = int(match.group(1)), match.group(2), " ".join(match.group(3).split())
                if n not in TARGET_NUMBERS:
                    raise SourceError(self.facts_path, f"there is no target {n}", line=bullet.line,
                                      field=f"target {n}")
                # "[...]" marks where the stored copy stops: a cut text is not the target's text
                if "[...]" not in text:
                    texts[n] = (text, where)
        return texts

    def target(self, n: int, title: str, title_where: str, text: tuple[str, str] | None) -> None:
        uri = self.ids.gbf("target", str(n))
        g = self.graph
        g.add((uri, RDF.type, CPB.GBFTarget))
        g.add((uri, SKOS.notation, Literal(str(n))))
        g.add((uri, CPB.number, Literal(str(n))))
        g.add((uri, CPB.order, Literal(n, datatype=XSD.integer)))
        g.add((uri, CPB.cbdIdentifier, Literal(target_identifier(n))))
        g.add((uri, SKOS.prefLabel, Literal(title, lang="en")))
        g.add((uri, DCTERMS.source, URIRef(TARGET_PAGE.format(n=n))))
        g.add((uri, SKOS.editorialNote, Literal(f"English title copied from {title_where}.", lang="en")))
        if text is not None:
            body, where = text
            g.add((uri, CPB.text, Literal(body, lang="en")))
            g.add((uri, SKOS.editorialNote, Literal(f"Full text copied from {where}.", lang="en")))
            url = full_url(where)
            if url is not None:
                g.add((uri, DCTERMS.source, url))
        self._identifier_note(uri, n)

    def _identifier_note(self, uri: URIRef, n: int) -> None:
        """Say so when the two-digit identifier is not spelt that way in any source."""
        wanted = target_identifier(n)
        if wanted in self.seen_ids:
            return
        others = sorted(i for i in self.seen_ids if _TARGET_ID.match(i) and int(i.rsplit("-", 1)[1]) == n)
        note = (f"{wanted} follows the two-digit pattern the CBD thesaurus shows (e.g. GBF-TARGET-03, GBF-TARGET-22); "
                "this target's identifier was not seen in that form in the sources")
        if others:
            note += f"; the Secretariat's online reporting tool writes {', '.join(others)}"
        self.graph.add((uri, SKOS.editorialNote, Literal(note + ".", lang="en")))

    def collect_identifiers(self, questions_text: str) -> None:
        """Identifier spellings in the questions file and in reference-facts.md."""
        for text in (questions_text, _read_text(self.facts_path)):
            self.seen_ids |= {m.group(0) for m in _SEEN_TARGET_ID.finditer(text)}

    # ------------------------------------------------------------ monitoring framework

    def indicators(self, entries: Any, path: Path) -> dict[str, URIRef]:
        """The indicators of the monitored targets.

        The target an indicator monitors is the number its code starts with ("17.b", "17.CY.1").

        Args:
            entries: the parsed indicator list.
            path: the file it was read from, for errors.

        Returns:
            CBD identifier -> indicator URI, for the question blocks to resolve.

        Raises:
            SourceError: an entry lacks its code, identifier or title, or a monitored target has none.
        """
        if not isinstance(entries, list):
            raise SourceError(path, "top level must be a list of indicators", line=1)
        by_identifier: dict[str, URIRef] = {}
        order: dict[int, int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise SourceError(path, f"entry {index} is not an object", field=f"[{index}]")
            code = _field(entry, "code", path, index)
            match = _INDICATOR_TARGET.match(code)
            if not match or int(match.group(1)) not in MONITORED_TARGETS:
                continue
            identifier = _field(entry, "identifier", path, index)
            title = _field(entry, "title", path, index)
            target = int(match.group(1))
            order[target] = order.get(target, 0) + 1
            by_identifier[identifier] = self.indicator(code, identifier, title, target, order[target])
        missing = [str(t) for t in MONITORED_TARGETS if t not in order]
        if missing:
            raise SourceError(path, f"no indicator for target {', '.join(missing)}", field="code")
        return by_identifier

    def indicator(self, code: str, identifier: str, title: str, target: int, order: int) -> URIRef:
        uri = self.ids.gbf("indicator", code)
        g = self.graph
        g.add((uri, RDF.type, CPB.GBFIndicator))
        g.add((uri, SKOS.notation, Literal(code)))
        g.add((uri, CPB.cbdIdentifier, Literal(identifier)))
        g.add((uri, SKOS.prefLabel, Literal(plain(title), lang="en")))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, CPB.indicatorForTarget, self.ids.gbf("target", str(target))))
        g.add((uri, DCTERMS.source, INDICATORS_SOURCE))
        return uri

    def questions(self, blocks: Any, path: Path, indicators: dict[str, URIRef]) -> None:
        """The binary-indicator questions of the monitored targets, with their options.

        Raises:
            SourceError: a monitored target has no question block, or a block names an
                indicator the indicator list does not have, or a question lacks a number or title.
        """
        if not isinstance(blocks, list):
            raise SourceError(path, "top level must be a list of question blocks", line=1)
        done: set[int] = set()
        for index, block in enumerate(blocks):
            if not isinstance(block, dict):
                raise SourceError(path, f"block {index} is not an object", field=f"[{index}]")
            target = _block_target(block)
            if target not in MONITORED_TARGETS:
                continue
            identifier = _field(block, "binaryIndicator", path, index)
            indicator = indicators.get(identifier)
            if indicator is None:
                raise SourceError(path, f"binary indicator {identifier} is not in {INDICATORS_FILE.name}",
                                  line=_line_of(path, identifier), field=f"[{index}].binaryIndicator")
            for order, question in enumerate(block.get("questions") or [], start=1):
                self.question(question, indicator, order, path, f"[{index}].questions[{order - 1}]")
            done.add(target)
        missing = [str(t) for t in MONITORED_TARGETS if t not in done]
        if missing:
            raise SourceError(path, f"no binary-indicator questions for target {', '.join(missing)}", field="target")

    def question(self, question: Any, indicator: URIRef, order: int, path: Path, where: str) -> None:
        if not isinstance(question, dict):
            raise SourceError(path, "a question is not an object", field=where)
        number = _field(question, "number", path, where)
        titles = question.get("title") or {}
        for lang in REQUIRED_LANGUAGES:
            if not plain(str(titles.get(lang) or "")):
                raise SourceError(path, f"question {number} has no {lang} title", line=_line_of(path, f'"{number}"'),
                                  field=f"{where}.title.{lang}")
        uri = self.ids.gbf("question", number)
        g = self.graph
        g.add((uri, RDF.type, CPB.GBFQuestion))
        g.add((uri, SKOS.notation, Literal(number)))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, CPB.questionForIndicator, indicator))
        g.add((uri, DCTERMS.source, QUESTIONS_SOURCE))
        if "multiple" in question:
            g.add((uri, CPB.multipleChoice, Literal(bool(question["multiple"]))))
        if "mandatory" in question:
            g.add((uri, CPB.mandatory, Literal(bool(question["mandatory"]))))
        _titles(g, uri, SKOS.prefLabel, titles)
        # cpb:hasOption is for national-report questions (its domain is cpb:ReportQuestion), so the
        # options of a GBF question are its cpb:answerOption labels
        for option in question.get("options") or []:
            _titles(g, uri, CPB.answerOption, (option or {}).get("title") or {})


def _titles(graph: Graph, uri: URIRef, prop: URIRef, titles: dict[str, Any]) -> None:
    for lang, text in sorted(titles.items()):
        if text and plain(str(text)):
            graph.add((uri, prop, Literal(plain(str(text)), lang=lang)))


def _block_target(block: dict[str, Any]) -> int | None:
    """The target number a question block is for; the file spells it GBF-TARGET-01 or GBF-TARGET-017."""
    match = _TARGET_ID.fullmatch(str(block.get("target") or ""))
    return int(match.group(1)) if match else None


def _field(entry: dict[str, Any], key: str, path: Path, where: int | str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        where = f"[{where}]" if isinstance(where, int) else where
        raise SourceError(path, f"required field {key!r} is missing or empty", field=f"{where}.{key}")
    return value.strip()


def _quote(text: str, pattern: str, path: Path, what: str) -> str:
    match = re.search(pattern, text)
    if not match:
        raise SourceError(path, f"the quoted {what} of annex para. 4 was not found", field=what)
    return match.group(1).strip()


def _read_text(path: Path) -> str:
    try:
        return check_text(path, path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc


def _read_json(path: Path) -> tuple[Any, str]:
    """The parsed file and its text (the text gives line numbers for later errors)."""
    text = _read_text(path)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"JSON syntax error: {exc.msg}", line=exc.lineno) from exc


def _line_of(path: Path, needle: str) -> int | None:
    """The first line of ``path`` containing ``needle``, to point an error at it."""
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if needle in line:
            return number
    return None


def build_graph(sources_dir: Path, ids: Ids) -> Graph:
    """Vision, mission, goals A-D, targets 1-23, and the Target 17 indicators and questions.

    Args:
        sources_dir: ``data/sources``.
        ids: the URI scheme.

    Returns:
        The GBF graph.

    Raises:
        SourceError: a source file is missing or broken (file, line where known, field).
    """
    builder = GBFBuilder(sources_dir, ids)
    questions, questions_text = _read_json(sources_dir / QUESTIONS_FILE)
    indicators, _ = _read_json(sources_dir / INDICATORS_FILE)
    builder.collect_identifiers(questions_text)
    builder.vision_and_mission()
    builder.goals()
    builder.targets()
    by_identifier = builder.indicators(indicators, sources_dir / INDICATORS_FILE)
    builder.questions(questions, sources_dir / QUESTIONS_FILE, by_identifier)
    return builder.graph
