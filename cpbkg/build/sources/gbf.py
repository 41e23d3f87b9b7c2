"""The Kunming-Montreal Global Biodiversity Framework (KMGBF) as far as the Plan needs it.

What is built, and from where (copies in ``data/sources/``):

* the 2050 vision and the mission, as decision CP-10/3 (annex, para. 4) quotes them, Chinese
  from ``cp-10-3-zh.txt``. Their English is the project's translation of that Chinese, marked as
  such: the only English copy of the annex (``cp-10-3-en-partial.txt``, SOURCE 1) is another
  version of the text (it quotes the draft framework), which the project does not take as the
  official English of annex para. 4 (see data/decision/cp-10-3.yaml). Where its wording is the
  same, the note says so;
* goals A-D, targets 1-23 and the 204 indicators of the monitoring framework from the CBD
  Secretariat's own vocabulary, ``kmgbf/kmgbf-all.ttl`` (KMGBF Monitoring Framework Ontology
  v1.0.1, CC BY 4.0 IGO). Each resource is ``skos:exactMatch`` the vocabulary's URI
  (``http://metadata.cbd.int/kmgbf/target_17``) and carries what the vocabulary gives: labels in
  en, fr, es; for goals and targets the official text of decision 15/4 (``skos:definition`` there,
  ``cpb:text`` here) and the thesaurus title; for indicators their role per goal or target
  (headline, binary, component, complementary; ``cpb:headlineFor`` ...). The CBD thesaurus
  identifier (``GBF-TARGET-17``) is a typed ``skos:notation`` (``cpb:CBDThesaurusCode``) beside
  the plain number, and ``cpb:cbdIdentifier``; indicators' identifiers (``KMGBF-INDICATOR-BIN-17``)
  come from the Online Reporting Tool's list (``gbf/gbf-indicators.json``), which must list the
  same 204 codes;
* the binary-indicator questions 17.1-17.6 that feed indicator 17.b
  (``gbf/gbf-binary-indicator-questions.json``), titled in the six UN languages.

No source has Chinese for the goals, targets or indicators: their Chinese labels are the project's
translations (``data/translations/zh.yaml``, ``cpb:chineseWording cpb:ProjectTranslation``).

``cpb:questionForIndicator`` and the role properties are stated by the sources; they are written
as direct triples only (the shapes ask for link resources on the Plan's link properties).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS, SKOS, XSD

from cpbkg.build.rdfio import parse_file
from cpbkg.build.sources import zhtext
from cpbkg.build.sources.questionnaires import plain
from cpbkg.build.sources.wording import TRANSLATION_NOTE, Translations, translations_beside
from cpbkg.errors import SourceError, read_text
from cpbkg.vocab import CPB, Ids

ZH_TEXT = "cp-10-3-zh.txt"
EN_TEXT = "cp-10-3-en-partial.txt"
KMGBF_FILE = Path("kmgbf") / "kmgbf-all.ttl"
INDICATORS_FILE = Path("gbf") / "gbf-indicators.json"
QUESTIONS_FILE = Path("gbf") / "gbf-binary-indicator-questions.json"

DECISION = "CP-10/3"
#: the English annex text of CP-10/3 (paras 1-4), where cp-10-3-en-partial.txt was copied from
ANNEX_EN_SOURCE = URIRef("https://bch.cbd.int/protocol/post2020/Plan/text.shtml")
KMGBF_SOURCE = URIRef("https://github.com/fvogel/KMGBF-Ontology/blob/b47f211602d140605d1edab937cc733beff3d97f/"
                      "ontology/kmgbf-all.ttl")
KMGBF_LICENCE = URIRef("https://creativecommons.org/licenses/by/4.0/igo/")  # as kmgbf/LICENSE names it
KMGBF_ATTRIBUTION = "KMGBF Monitoring Framework Ontology, Secretariat of the Convention on Biological Diversity"
#: the vocabulary's namespaces: its resources and its ontology terms
KMGBF = Namespace("http://metadata.cbd.int/kmgbf/")
KMGBFO = Namespace("http://metadata.cbd.int/kmgbf/ontology#")
REPORTING_TOOL = "https://github.com/scbd/online-reporting-tool/blob/06b5c70696174eb9283119f9eef54928d046d36b/"
INDICATORS_SOURCE = URIRef(REPORTING_TOOL + "app-data/indicators.ts")
QUESTIONS_SOURCE = URIRef(REPORTING_TOOL + "app-data/binary-indicator-questions.ts")

GOAL_CODES = ("A", "B", "C", "D")
TARGET_NUMBERS = tuple(range(1, 24))
INDICATOR_COUNT = 204
#: the vocabulary's role properties and ours, in the order pages list them
ROLES = (
    (KMGBFO.isHeadlineFor, CPB.headlineFor),
    (KMGBFO.isBinaryFor, CPB.binaryFor),
    (KMGBFO.isComponentFor, CPB.componentFor),
    (KMGBFO.isComplementaryFor, CPB.complementaryFor),
)
#: the targets whose binary-indicator questions are built (the Plan's target)
MONITORED_TARGETS = (17,)
#: languages a binary-indicator question must have: the shapes ask for en and zh labels
REQUIRED_LANGUAGES = ("en", "zh")
#: the languages of the vocabulary's labels and texts
KMGBF_LANGUAGES = ("en", "es", "fr")

#: The vision and the mission as the Chinese text of CP-10/3 quotes them, and the project's English
#: translation of exactly that text. If the Chinese source changes, the build stops rather than
#: publish a stale translation.
VISION_ZH = "到2050年，生物多样性受到重视、得到保护、恢复及合理利用，维持生态系统服务，维持一个健康的地球，为人人提供必不可少的惠益"
VISION_EN_TRANSLATION = (
    "By 2050, biodiversity is valued, conserved, restored and wisely used, maintaining ecosystem services, "
    "sustaining a healthy planet and delivering benefits essential for all people"
)
MISSION_ZH = ("采取紧急行动停止和扭转生物多样性的丧失，使自然走上恢复之路，造福人民和地球，为此保护和可持续利用"
              "生物多样性，确保公正公平地分享利用遗传资源所产生的惠益，同时提供必要的执行手段。")
MISSION_EN_TRANSLATION = (
    "To take urgent action to halt and reverse the loss of biodiversity and put nature on a path to recovery "
    "for the benefit of people and planet, by conserving and sustainably using biodiversity, ensuring the fair "
    "and equitable sharing of the benefits arising from the use of genetic resources, and providing the "
    "necessary means of implementation."
)

_TARGET_ID = re.compile(r"\bGBF-TARGET-(\d+)\b")


def target_identifier(number: int) -> str:
    """The CBD thesaurus identifier of a target, in the two-digit form the thesaurus uses.

    >>> target_identifier(3), target_identifier(17)
    ('GBF-TARGET-03', 'GBF-TARGET-17')
    """
    return f"GBF-TARGET-{number:02d}"


def kmgbf_indicator_code(uri: URIRef) -> str:
    """The code in a vocabulary indicator URI.

    >>> kmgbf_indicator_code(URIRef("http://metadata.cbd.int/kmgbf/indicator_17.b"))
    '17.b'
    """
    return str(uri)[len(str(KMGBF)):].removeprefix("indicator_")


class GBFBuilder:
    """The GBF graph, one kind of element at a time."""

    def __init__(self, sources_dir: Path, ids: Ids, translations: Translations) -> None:
        self.dir = sources_dir
        self.ids = ids
        self.graph = Graph()
        self.translations = translations
        self.kmgbf_path = sources_dir / KMGBF_FILE
        self.kmgbf = parse_file(self.kmgbf_path)

    # ------------------------------------------------------------ vision and mission

    def vision_and_mission(self) -> None:
        """The 2050 vision and the mission as the decision's annex (para. 4) quotes them.

        Raises:
            SourceError: a quote is not found, or the Chinese quote is no longer the text the
                project's English translates.
        """
        zh_path, en_path = self.dir / ZH_TEXT, self.dir / EN_TEXT
        zh = zhtext.clean(read_text(zh_path))
        en = " ".join(read_text(en_path).split())
        vision_zh = _quote(zh, r"2050年愿景：“([^”]+)”", zh_path, "2050 vision")
        mission_zh = _quote(zh, r"使命：“([^”]+)”", zh_path, "mission")
        vision_en = _quote(en, r"2050 vision — “([^”]+)”", en_path, "2050 vision")
        draft_mission_en = _quote(en, r"mission — “([^”]+)”", en_path, "mission")
        for name, found, wanted in (("vision", vision_zh, VISION_ZH), ("mission", mission_zh, MISSION_ZH)):
            if found != wanted:
                raise SourceError(zh_path, f"the {name} quoted in annex para. 4 is not the text the project's "
                                  f"English translates; revise the translation in cpbkg/build/sources/gbf.py",
                                  field=name)
        vision = self._quoted(self.ids.gbf("vision", "2050"), CPB.GBFVision, ("2050 vision", "2050年愿景"),
                              vision_zh, VISION_EN_TRANSLATION)
        same = "the same words" if vision_en == VISION_EN_TRANSLATION else f"“{vision_en}”"
        self.graph.add((vision, SKOS.editorialNote, Literal(
            f"The English annex text at {ANNEX_EN_SOURCE} quotes the vision in {same}; that copy is another version "
            "of the annex (it names the post-2020 framework and quotes the draft mission), so it is not taken as "
            "the official English of this quotation.", lang="en")))
        mission = self._quoted(self.ids.gbf("mission", "2030"), CPB.GBFMission, ("2030 mission", "2030年使命"),
                               mission_zh, MISSION_EN_TRANSLATION)
        self.graph.add((mission, SKOS.editorialNote, Literal(
            f"The English annex text at {ANNEX_EN_SOURCE} quotes the draft mission instead, "
            f"which differs from the Chinese text: “{draft_mission_en}”.", lang="en")))

    def _quoted(self, uri: URIRef, cls: URIRef, labels: tuple[str, str], zh: str, en: str) -> URIRef:
        """What vision and mission share: labels, the Chinese quote, its English translation, the decision as source."""
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, SKOS.prefLabel, Literal(labels[0], lang="en")))
        g.add((uri, SKOS.prefLabel, Literal(labels[1], lang="zh")))
        g.add((uri, CPB.text, Literal(zh, lang="zh")))
        g.add((uri, CPB.text, Literal(en, lang="en")))
        g.add((uri, DCTERMS.source, self.ids.document(DECISION)))
        g.add((uri, CPB.locator, Literal("annex, paragraph 4")))
        g.add((uri, CPB.englishWording, CPB.ProjectTranslation))
        g.add((uri, SKOS.editorialNote, TRANSLATION_NOTE))
        g.add((uri, CPB.chineseWording, CPB.OfficialWording))
        g.add((uri, CPB.chineseSource, self.ids.decision_part(DECISION, "annex-para", "4")))
        return uri

    # ------------------------------------------------------------ the vocabulary

    def source(self) -> None:
        """The vocabulary file as a resource: licence and attribution, which its terms require."""
        g = self.graph
        g.add((KMGBF_SOURCE, RDFS.label, Literal(KMGBF_ATTRIBUTION + " (v1.0.1)", lang="en")))
        g.add((KMGBF_SOURCE, DCTERMS.creator, Literal("Secretariat of the Convention on Biological Diversity")))
        g.add((KMGBF_SOURCE, DCTERMS.license, KMGBF_LICENCE))
        g.add((KMGBF_SOURCE, DCTERMS.rights, Literal(
            f"CC BY 4.0 IGO. Attribution: “{KMGBF_ATTRIBUTION}”.", lang="en")))

    def _concept(self, uri: URIRef, match: URIRef, cls: URIRef, code: str, order: int) -> None:
        """What every resource copied from the vocabulary has."""
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, SKOS.notation, Literal(code)))
        g.add((uri, SKOS.exactMatch, match))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, KMGBF_SOURCE))
        g.add((uri, PROV.wasDerivedFrom, match))
        # no cpb:englishWording: that says whether English is official or translated from the official
        # Chinese; here English is the source's own language (dcterms:source, the notes say which text)

    def _copy(self, uri: URIRef, match: URIRef, source_prop: URIRef, prop: URIRef) -> int:
        """Copy the vocabulary's en/es/fr values of ``source_prop`` to ``prop``; how many were copied."""
        count = 0
        for value in self.kmgbf.objects(match, source_prop):
            if isinstance(value, Literal) and value.language in KMGBF_LANGUAGES:
                self.graph.add((uri, prop, Literal(" ".join(str(value).split()), lang=value.language)))
                count += 1
        return count

    def _need(self, match: URIRef, what: str) -> None:
        if (match, None, None) not in self.kmgbf:
            raise SourceError(self.kmgbf_path, f"{what} ({match}) is not in the vocabulary", field=str(match))

    def goals(self) -> None:
        """Goals A-D: label, thesaurus title, official text of decision 15/4.

        Raises:
            SourceError: a goal is missing from the vocabulary or has no English text.
        """
        for order, code in enumerate(GOAL_CODES, start=1):
            match = KMGBF[f"goal_{code}"]
            self._need(match, f"goal {code}")
            uri = self.ids.gbf("goal", code)
            self._concept(uri, match, CPB.GBFGoal, code, order)
            g = self.graph
            g.add((uri, SKOS.notation, Literal(f"GBF-GOAL-{code}", datatype=CPB.CBDThesaurusCode)))
            g.add((uri, CPB.cbdIdentifier, Literal(f"GBF-GOAL-{code}")))
            self._copy(uri, match, SKOS.prefLabel, SKOS.prefLabel)
            self._copy(uri, match, DCTERMS.title, DCTERMS.title)
            if not self._copy(uri, match, SKOS.definition, CPB.text):
                raise SourceError(self.kmgbf_path, f"goal {code} has no text (skos:definition)", field=str(match))
            g.add((uri, SKOS.editorialNote, Literal(
                "Text: the official text of decision 15/4 as the Secretariat's KMGBF vocabulary gives it "
                "(skos:definition there); title: the CBD thesaurus's editorial summary (dcterms:title there).",
                lang="en")))

    def targets(self) -> None:
        """Targets 1-23: the thesaurus title as label, the official text of decision 15/4.

        Raises:
            SourceError: a target is missing from the vocabulary, or has no English title or text.
        """
        for n in TARGET_NUMBERS:
            match = KMGBF[f"target_{n}"]
            self._need(match, f"target {n}")
            uri = self.ids.gbf("target", str(n))
            self._concept(uri, match, CPB.GBFTarget, str(n), n)
            g = self.graph
            g.add((uri, CPB.number, Literal(str(n))))
            g.add((uri, SKOS.notation, Literal(target_identifier(n), datatype=CPB.CBDThesaurusCode)))
            g.add((uri, CPB.cbdIdentifier, Literal(target_identifier(n))))
            titles = self._copy(uri, match, DCTERMS.title, SKOS.prefLabel)
            if not any(lit.language == "en" for lit in g.objects(uri, SKOS.prefLabel) if isinstance(lit, Literal)):
                raise SourceError(self.kmgbf_path, f"target {n} has no English title (dcterms:title)", field=str(match))
            # "Target 17", "Cible 17", "Meta 17" and the thesaurus's other titles
            labels = {str(lit) for lit in g.objects(uri, SKOS.prefLabel)}
            for prop in (SKOS.prefLabel, SKOS.altLabel):
                for value in self.kmgbf.objects(match, prop):
                    if isinstance(value, Literal) and value.language in KMGBF_LANGUAGES and str(value) not in labels:
                        g.add((uri, SKOS.altLabel, Literal(" ".join(str(value).split()), lang=value.language)))
            if not self._copy(uri, match, SKOS.definition, CPB.text) or not titles:
                raise SourceError(self.kmgbf_path, f"target {n} has no text (skos:definition)", field=str(match))
            g.add((uri, SKOS.editorialNote, Literal(
                "Text: the official text of decision 15/4 as the Secretariat's KMGBF vocabulary gives it "
                "(skos:definition there); title: the CBD thesaurus's editorial summary (dcterms:title there).",
                lang="en")))

    def indicators(self, entries: Any, path: Path) -> dict[str, URIRef]:
        """The 204 indicators of the monitoring framework with their roles.

        Args:
            entries: the Online Reporting Tool's indicator list (identifiers).
            path: the file it was read from, for errors.

        Returns:
            CBD identifier -> indicator URI, for the question blocks to resolve.

        Raises:
            SourceError: the two lists do not have the same codes, an indicator has no English
                label or no role, or a role names a goal or target that is not in the vocabulary.
        """
        if not isinstance(entries, list):
            raise SourceError(path, "top level must be a list of indicators", line=1)
        identifiers: dict[str, str] = {}
        order: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise SourceError(path, f"entry {index} is not an object", field=f"[{index}]")
            code = _field(entry, "code", path, index)
            identifiers[code] = _field(entry, "identifier", path, index)
            order.setdefault(code, len(order) + 1)
        vocabulary = {kmgbf_indicator_code(s): s for s in self.kmgbf.subjects(RDF.type, KMGBFO.Indicator)
                      if isinstance(s, URIRef)}
        if set(vocabulary) != set(identifiers) or len(vocabulary) != INDICATOR_COUNT:
            only_v = sorted(set(vocabulary) - set(identifiers))
            only_t = sorted(set(identifiers) - set(vocabulary))
            raise SourceError(path, f"the indicator list and {KMGBF_FILE.name} differ: {len(vocabulary)} indicators "
                              f"there, {len(identifiers)} here; only there: {only_v or '-'}; only here: {only_t or '-'}")
        by_identifier: dict[str, URIRef] = {}
        for code, match in sorted(vocabulary.items(), key=lambda item: order[item[0]]):
            by_identifier[identifiers[code]] = self.indicator(code, match, identifiers[code], order[code])
        return by_identifier

    def indicator(self, code: str, match: URIRef, identifier: str, order: int) -> URIRef:
        uri = self.ids.gbf("indicator", code)
        g = self.graph
        self._concept(uri, match, CPB.GBFIndicator, code, order)
        g.add((uri, SKOS.notation, Literal(identifier, datatype=CPB.CBDThesaurusCode)))
        g.add((uri, CPB.cbdIdentifier, Literal(identifier)))
        g.add((uri, DCTERMS.source, INDICATORS_SOURCE))
        if not self._copy(uri, match, SKOS.prefLabel, SKOS.prefLabel):
            raise SourceError(self.kmgbf_path, f"indicator {code} has no label", field=str(match))
        self._copy(uri, match, SKOS.definition, SKOS.definition)
        roles = 0
        for theirs, ours in ROLES:
            for element in self.kmgbf.objects(match, theirs):
                g.add((uri, ours, self._element(element, code)))
                roles += 1
        if not roles:
            raise SourceError(self.kmgbf_path, f"indicator {code} monitors no goal or target", field=str(match))
        return uri

    def _element(self, element: Any, code: str) -> URIRef:
        """Our URI of the vocabulary goal or target an indicator's role names."""
        local = str(element)[len(str(KMGBF)):]
        if local.startswith("goal_") and local[5:] in GOAL_CODES:
            return self.ids.gbf("goal", local[5:])
        if local.startswith("target_") and local[7:].isdigit() and int(local[7:]) in TARGET_NUMBERS:
            return self.ids.gbf("target", local[7:])
        raise SourceError(self.kmgbf_path, f"indicator {code} names {element}, neither a goal nor a target",
                          field=f"indicator_{code}")

    def chinese(self) -> None:
        """The project's Chinese labels of goals, targets and indicators (no source has them)."""
        subjects = [s for cls in (CPB.GBFGoal, CPB.GBFTarget, CPB.GBFIndicator)
                    for s in sorted(self.graph.subjects(RDF.type, cls), key=str) if isinstance(s, URIRef)]
        self.translations.fill(self.graph, self.ids, subjects)

    # ------------------------------------------------------------ binary-indicator questions

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
        g.add((uri, CPB.chineseWording, CPB.OfficialWording))
        g.add((uri, CPB.chineseSource, QUESTIONS_SOURCE))
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


def _read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"JSON syntax error: {exc.msg}", line=exc.lineno) from exc


def _line_of(path: Path, needle: str) -> int | None:
    """The first line of ``path`` containing ``needle``, to point an error at it."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if needle in line:
            return number
    return None


def build_graph(sources_dir: Path, ids: Ids, translations: Translations | None = None) -> Graph:
    """Vision, mission, goals A-D, targets 1-23, the 204 indicators and the Target 17 questions.

    Args:
        sources_dir: ``data/sources``.
        ids: the URI scheme.
        translations: the project's Chinese translations (default: ``data/translations/zh.yaml``
            beside ``sources_dir``).

    Returns:
        The GBF graph.

    Raises:
        SourceError: a source file is missing or broken (file, line where known, field).
    """
    builder = GBFBuilder(sources_dir, ids, translations or translations_beside(sources_dir))
    questions = _read_json(sources_dir / QUESTIONS_FILE)
    indicators = _read_json(sources_dir / INDICATORS_FILE)
    builder.source()
    builder.vision_and_mission()
    builder.goals()
    builder.targets()
    by_identifier = builder.indicators(indicators, sources_dir / INDICATORS_FILE)
    builder.questions(questions, sources_dir / QUESTIONS_FILE, by_identifier)
    builder.chinese()
    return builder.graph
