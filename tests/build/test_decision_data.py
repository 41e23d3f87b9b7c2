"""The curated decision CP-10/3 (data/decision/cp-10-3.yaml) against the official texts.

Real files only: the YAML, the official Chinese text of CP-10/3 (lines before the
appendix "附录") and the partial official English. The decision graph is built
directly with ``cpbkg.build.sources.decision.build_graph`` (no whole build), so these tests
run on their own. What they make trustworthy: every Chinese text is the official
wording, and together the parts cover the whole decision and annex (nothing left
out, nothing added); every English text marked official is the official copy; the
counts, citations and actions are what the text says; every part's locator names the
lines of the Chinese text it is printed on; and a broken YAML fails with file, line and field.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SKOS
from support.graph import ROOT

from cpbkg.build.ontology import load_ontology
from cpbkg.build.reasoning import materialise
from cpbkg.build.sources.decision import ACTION_TYPES, DECISION_FILE, build_graph
from cpbkg.build.sources.wording import TRANSLATIONS_FILE
from cpbkg.build.sources.zhtext import clean
from cpbkg.build.validation import load_shapes, validate
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

DECISION = ROOT / "data" / DECISION_FILE
SETTINGS_DATA = ROOT / "data"
ZH = ROOT / "data" / "sources" / "cp-10-3-zh.txt"
EN = ROOT / "data" / "sources" / "cp-10-3-en-partial.txt"
PLAN_TEXT = "https://bch.cbd.int/protocol/post2020/Plan/text.shtml"

#: page furniture of the PDF extraction, compared after clean()
PAGE_HEADER = re.compile(r"^(?:CBD/CP/MOP/DEC/10/3|Page\s?\d+)$")
FOOTER_URL = re.compile(r"^https?://\S+$")
#: what the parts leave of the text: paragraph numbers ("1.", "(a)", "一."), the digit
#: in front of a footnote body, and the heading of the decision before the preamble
NUMBERING = re.compile(r"^(?:\d+\.?|\([a-z]\)|[一二三四五六七]\.)?$")
HEADING = {
    "作为卡塔赫纳生物安全议定书缔约方会议的多样性公约缔约方大会第十次会议—第二阶段会议"
    "2022年12月7日至19日，加拿大蒙特利尔议程项目7A卡塔赫纳生物安全议定书缔约方通过的决定CP-10/3.",
    "作为卡塔赫纳生物安全议定书缔约方会议的缔约方大会，",
    "附件",
}
#: the only parts with official English (annex paragraphs 1-3, heading of section I)
OFFICIAL_EN = {"annex-para 1", "annex-para 2", "annex-para 3", "annex-section I"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SYMBOL = re.compile(r"第((?:CP|BS)-[\dIVX]+/\d+|\d+/\d+)号决定")
#: instruments the text names by title, and the decision that the text itself says adopted them
NAMED = {
    "能力建设行动计划》": "CP-10/4",  # footnotes 2 and 4
    "《卡塔赫纳生物安全议定书2011-2020年战略计划》": "BS-V/16",  # footnote 1
    "2011-2020年期间《卡塔赫纳生物安全议定书战略计划》": "BS-V/16",
    "《昆明-蒙特利尔全球生物多样性框架》": "15/4",  # operative paragraph 2
}
ARTICLES = re.compile(r"(《生物多样性公约》)?第(\d+)(?:和(\d+))?条")


# --------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return yaml.safe_load(DECISION.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(Settings().data_dir, Ids())


def decision_text() -> str:
    """The decision and annex (the lines before "附录"), page furniture dropped, no whitespace."""
    kept = []
    for line in ZH.read_text(encoding="utf-8").splitlines():
        if line.strip() == "附录":
            break
        text = clean(line)
        if PAGE_HEADER.match(text) or FOOTER_URL.match(text):
            continue
        kept.append(text)
    return re.sub(r"\s+", "", "".join(kept))


def parts(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every part of the decision as (name, mapping), in the order of the YAML."""
    out = [(f"footnote {p['number']}", p) for p in data["footnotes"]]
    out += [(f"preamble {p['number']}", p) for p in data["preamble"]]
    for para in data["operative"]:
        out.append((f"para {para['number']}", para))
        out += [(f"para {s['number']}", s) for s in para.get("subparagraphs", [])]
    out += [(f"annex-section {s['number']}", s) for s in data["annex"]["sections"]]
    out += [(f"annex-para {p['number']}", p) for p in data["annex"]["paragraphs"]]
    return out


def zh_of(part: dict[str, Any]) -> str:
    return part.get("zh") or part["zh_title"]


def en_of(part: dict[str, Any]) -> str:
    return part.get("en") or part["en_title"]


def pattern(part: dict[str, Any]) -> re.Pattern[str]:
    """The part's Chinese text as it stands in the PDF: its footnote markers may follow any character."""
    zh = re.sub(r"\s+", "", clean(zh_of(part)))
    markers = [str(n) for n in part.get("footnotes", []) if str(n).isdigit()]
    if not markers:
        return re.compile(re.escape(zh))
    marker = "(?:" + "|".join(markers) + ")?"
    return re.compile("".join(re.escape(c) + marker for c in zh))


def en_sections() -> dict[str, str]:
    """The English file's text under each "SOURCE n" heading, keyed by the address it names."""
    sections: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=SOURCE \d+)", EN.read_text(encoding="utf-8"))[1:]:
        head = "\n".join(block.splitlines()[:2])
        url = re.search(r"https?://\S+", head)
        if url:
            sections[url.group(0)] = block
    return sections


def copy_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the YAML with one text replaced; returns the data dir and the 1-based line of the change."""
    text = DECISION.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / DECISION_FILE
    target.parent.mkdir(parents=True)
    target.write_text(text.replace(old, new), encoding="utf-8")
    # the project's translations (the one document without a Chinese title)
    translations = tmp_path / TRANSLATIONS_FILE
    translations.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SETTINGS_DATA / TRANSLATIONS_FILE, translations)
    # the official Chinese text, where the build finds each part's lines
    (tmp_path / "sources").mkdir()
    shutil.copy(ZH, tmp_path / "sources" / ZH.name)
    return tmp_path, text[: text.index(old)].count("\n") + 1


def assert_source_error(data_dir: Path, line: int, field: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        build_graph(data_dir, Ids())
    error = caught.value
    assert error.path == data_dir / DECISION_FILE
    assert (error.line, error.field) == (line, field), str(error)
    assert f"{data_dir / DECISION_FILE}:{line} [{field}]" in str(error)


# --------------------------------------------------------------------- counts and numbering


def test_counts_and_numbers(data: dict[str, Any]) -> None:
    assert [p["number"] for p in data["preamble"]] == [str(n) for n in range(1, 8)]
    assert [p["number"] for p in data["operative"]] == [str(n) for n in range(1, 10)]
    subs = {p["number"]: [s["number"] for s in p.get("subparagraphs", [])] for p in data["operative"]}
    assert {k: v for k, v in subs.items() if v} == {"7": ["7(a)", "7(b)"]}
    assert [p["number"] for p in data["footnotes"]] == ["*", "1", "2", "3", "4"]
    annex = data["annex"]
    assert [p["number"] for p in annex["paragraphs"]] == [str(n) for n in range(1, 19)]
    assert [s["number"] for s in annex["sections"]] == ["I", "II", "III", "IV", "V", "VI", "VII"]
    # the sections hold paragraphs 1-18, each once, in order
    assert [n for s in annex["sections"] for n in s["paragraphs"]] == [str(n) for n in range(1, 19)]


def test_graph_counts(graph: Graph) -> None:
    def numbers(cls: URIRef) -> set[str]:
        return {str(graph.value(s, CPB.number)) for s in graph.subjects(RDF.type, cls)}

    assert numbers(CPB.OperativeParagraph) == {str(n) for n in range(1, 10)} | {"7(a)", "7(b)"}
    assert numbers(CPB.AnnexParagraph) == {str(n) for n in range(1, 19)}
    assert numbers(CPB.AnnexSection) == {"I", "II", "III", "IV", "V", "VI", "VII"}
    assert numbers(CPB.PreambularParagraph) == {str(n) for n in range(1, 8)}
    assert numbers(CPB.Footnote) == {"*", "1", "2", "3", "4"}
    ids = Ids()
    seven = ids.decision_part("CP-10/3", "para", "7")
    assert set(graph.objects(seven, CPB.hasPart)) == {ids.decision_part("CP-10/3", "para", n) for n in ("7(a)", "7(b)")}


# --------------------------------------------------------------------- Chinese wording


def test_zh_texts_are_clean(data: dict[str, Any]) -> None:
    for name, part in parts(data):
        zh = zh_of(part)
        assert clean(zh) == zh, f"{name}: whitespace next to CJK or doubled: {zh!r}"
        assert not re.match(r"^(?:\d+\.|\([a-z]\)|[一二三四五六七]\.)", zh), f"{name}: leading number kept: {zh!r}"
        for furniture in ("CBD/CP/MOP/DEC/10/3", "Page", "http"):
            assert furniture not in zh, f"{name}: page furniture {furniture!r} in {zh!r}"


def test_zh_texts_are_verbatim_and_cover_the_whole_decision(data: dict[str, Any]) -> None:
    """Each part is found in the official text; what the parts leave is numbering and heading only."""
    text = decision_text()
    rest = text
    # longest first, so that a short text (a footnote, a heading) is not taken out of a paragraph
    for name, part in sorted(parts(data), key=lambda item: -len(zh_of(item[1]))):
        found = pattern(part).search(text)
        assert found, f"{name}: not in {ZH.name}: {zh_of(part)!r}"
        if any(str(n).isdigit() for n in part.get("footnotes", [])):
            assert found.group(0) != re.sub(r"\s+", "", zh_of(part)), f"{name}: footnote marker not in the text"
        rest, taken = pattern(part).subn("|", rest, count=1)
        assert taken == 1, f"{name}: its text is already taken by another part"
    for title in (data["decision"]["zh_title"], data["annex"]["zh_title"]):
        rest = rest.replace(title, "|", 1)
    left = [piece for piece in rest.split("|") if not NUMBERING.match(piece)]
    assert set(left) <= HEADING, f"official text in no part: {set(left) - HEADING}"


def test_zh_parts_follow_the_text_order(data: dict[str, Any]) -> None:
    text = decision_text()
    body = [p for name, p in parts(data) if name.startswith(("preamble", "para"))]
    paragraphs = {p["number"]: p for p in data["annex"]["paragraphs"]}
    for section in data["annex"]["sections"]:
        body += [section] + [paragraphs[n] for n in section["paragraphs"]]
    pos = 0
    for part in body:
        found = pattern(part).search(text, pos)
        assert found, f"out of order: {zh_of(part)!r}"
        pos = found.end()


#: the class of each kind of part, as parts() names the kinds
PART_CLASSES = {"preamble": CPB.PreambularParagraph, "para": CPB.OperativeParagraph, "annex-para": CPB.AnnexParagraph,
                "annex-section": CPB.AnnexSection, "footnote": CPB.Footnote}
LOCATOR = re.compile(r"^cp-10-3-zh\.txt lines? (\d+)(?:-(\d+))?$")


def test_every_part_has_one_locator_naming_the_lines_its_text_is_printed_on(data: dict[str, Any], graph: Graph) -> None:
    """The locator's lines, read from the file and whitespace removed, hold the part's text (its footnote
    markers allowed inside), starting on the first line and ending on the last; no part has a page."""
    lines = ZH.read_text(encoding="utf-8").splitlines()
    by_name = {name: part for name, part in parts(data)}
    located = 0
    for kind, cls in PART_CLASSES.items():
        for uri in graph.subjects(RDF.type, cls):
            name = f"{kind} {graph.value(uri, CPB.number)}"
            locators = [str(x) for x in graph.objects(uri, CPB.locator)]
            assert len(locators) == 1, (name, locators)
            assert not list(graph.objects(uri, CPB.page)), f"{name}: a page would be guesswork"
            match = LOCATOR.match(locators[0])
            assert match, (name, locators[0])
            first, last = int(match[1]), int(match[2] or match[1])
            assert first <= last, name
            printed = [re.sub(r"\s+", "", lines[n - 1]) for n in range(first, last + 1)]
            joined = "".join(printed)
            found = pattern(by_name[name]).search(joined)
            assert found, f"{name}: {zh_of(by_name[name])!r} is not on lines {first}-{last}: {joined!r}"
            # tight: the text starts on the first line and ends on the last
            assert found.start() < len(printed[0]) and found.end() > len(joined) - len(printed[-1]), (name, first, last)
            located += 1
    assert located == 7 + 11 + 18 + 7 + 5
    # operative paragraph 1 is the line where "1. 通过本决定附件所载" is printed (line 45)
    line = next(i for i, text in enumerate(lines, start=1) if text.strip().startswith("1. 通过本决定附件所载"))
    assert line == 45
    one = Ids().decision_part("CP-10/3", "para", "1")
    assert [str(x) for x in graph.objects(one, CPB.locator)] == [f"cp-10-3-zh.txt line {line}"]
    # a paragraph over several lines, and a footnote printed twice (2 and 4 read the same): told apart by number
    three, two, four = (Ids().decision_part("CP-10/3", *k) for k in (("para", "3"), ("footnote", "2"), ("footnote", "4")))
    assert str(graph.value(three, CPB.locator)) == "cp-10-3-zh.txt lines 57-63"
    assert (str(graph.value(two, CPB.locator)), str(graph.value(four, CPB.locator))) == (
        "cp-10-3-zh.txt line 52", "cp-10-3-zh.txt line 172")


def test_deadline_wording_is_from_its_paragraph(data: dict[str, Any]) -> None:
    texts = {name.split(" ", 1)[1]: zh_of(p) for name, p in parts(data) if name.startswith("para ")}
    for action in data["actions"]:
        deadline = action.get("deadline")
        if deadline:
            assert deadline["zh"] in texts[action["paragraph"]], action["key"]


# --------------------------------------------------------------------- English wording


def test_every_part_has_english_and_a_status(data: dict[str, Any]) -> None:
    for name, part in parts(data):
        en = en_of(part)
        assert isinstance(en, str) and en.strip() == en and en, f"{name}: en"
        assert not CJK.search(en), f"{name}: en has CJK"
        assert part.get("en_status") in {"official", "translation"}, f"{name}: en_status"
        if part["en_status"] == "translation":
            assert "en_source" not in part, f"{name}: a translation has no official source"


def test_official_english_is_the_english_copy_verbatim(data: dict[str, Any]) -> None:
    sections = en_sections()
    lines = EN.read_text(encoding="utf-8").splitlines()
    official = set()
    for name, part in parts(data):
        if part["en_status"] != "official":
            continue
        official.add(name)
        source = part["en_source"]
        assert source in sections, f"{name}: {source} is not a source named in {EN.name}"
        # the whole line of the copy, less its number: "1. The Implementation Plan ...", "I. PURPOSE ..."
        copy = {re.sub(r"^(?:\d+|[IVX]+)\.\s+", "", line) for line in sections[source].splitlines()}
        assert en_of(part) in copy, f"{name}: not a line of {source} in {EN.name}: {en_of(part)!r}"
        assert any(line.endswith(en_of(part)) for line in lines)
    assert official == OFFICIAL_EN


def test_official_copies_that_differ_are_notes_not_wording(data: dict[str, Any]) -> None:
    """Paragraph 4 and the heading of section II: the copy is kept verbatim as a note, the English is ours."""
    sections = en_sections()
    partial = {name: p for name, p in parts(data) if p.get("en_official_partial")}
    assert set(partial) == {"annex-section II", "annex-para 4"}
    for name, part in partial.items():
        assert part["en_status"] == "translation", name
        copied, source = re.fullmatch(r"(.+) \[source: (\S+), .+\]", part["en_official_partial"], re.S).groups()
        assert source == PLAN_TEXT
        assert copied in sections[source], f"{name}: the note is not verbatim: {copied!r}"


def test_translations_are_not_passed_off_as_official(data: dict[str, Any]) -> None:
    en_text = EN.read_text(encoding="utf-8")
    for name, part in parts(data):
        if part["en_status"] == "translation":
            assert name not in OFFICIAL_EN
            assert en_of(part) not in en_text or len(en_of(part)) < 40, f"{name}: copied official text?"


def test_graph_marks_every_english_text(graph: Graph) -> None:
    texted = [s for cls in (CPB.PreambularParagraph, CPB.OperativeParagraph, CPB.AnnexParagraph, CPB.Footnote)
              for s in graph.subjects(RDF.type, cls)]
    assert len(texted) == 7 + 11 + 18 + 5
    for part in texted:
        langs = sorted(t.language for t in graph.objects(part, CPB.text))
        assert langs == ["en", "zh"], part
        status = graph.value(part, CPB.englishWording)
        assert status in (CPB.OfficialWording, CPB.ProjectTranslation), part
        assert (status == CPB.OfficialWording) == (graph.value(part, CPB.englishSource) is not None), part
        if status == CPB.ProjectTranslation:
            assert graph.value(part, SKOS.editorialNote) is not None, part


# --------------------------------------------------------------------- citations


def expected_cites(part: dict[str, Any], footnotes: dict[str, dict[str, Any]]) -> set[str]:
    """The documents the part's text names, by symbol or by title, and those its footnotes name."""
    texts = [zh_of(part)] + [footnotes[str(n)]["zh"] for n in part.get("footnotes", [])]
    found: set[str] = set()
    for zh in texts:
        found |= set(SYMBOL.findall(zh))
        found |= {symbol for name, symbol in NAMED.items() if name in zh}
        if "CBD/SBI/3/3/Add.1" in zh:
            found.add("CBD/SBI/3/3/Add.1")
    return found


def expected_articles(zh: str) -> set[str]:
    found = set()
    for cbd, first, second in ARTICLES.findall(zh):
        treaty = "cbd" if cbd else "cpb"
        found |= {f"{treaty}:{n}" for n in (first, second) if n}
    if "补充议定书" in zh:
        found.add("nkl")
    return found


def test_cites_articles_and_sdgs_are_exactly_what_the_text_says(data: dict[str, Any]) -> None:
    footnotes = {str(f["number"]): f for f in data["footnotes"]}
    symbols = {d["symbol"] for d in data["documents"]}
    for name, part in parts(data):
        cites = part.get("cites", [])
        assert len(cites) == len(set(cites)), f"{name}: repeated cite"
        assert set(cites) <= symbols, f"{name}: {cites}"
        assert set(cites) == expected_cites(part, footnotes), f"{name}: cites {cites}"
        assert set(part.get("articles", [])) == expected_articles(zh_of(part)), f"{name}: articles"
        sdgs = {int(n) for n in re.findall(r"目标(\d+)（", zh_of(part))}
        assert set(part.get("sdgs", [])) == sdgs, f"{name}: sdgs"


def test_documents(data: dict[str, Any], graph: Graph) -> None:
    symbols = [d["symbol"] for d in data["documents"]]
    assert len(symbols) == len(set(symbols))
    assert {"CP-9/7", "CP-9/3", "CP-10/4", "CP-10/6", "BS-V/16", "BS-V/11", "15/4", "CBD/SBI/3/3/Add.1"} == set(symbols)
    # every document listed is cited somewhere, and every address is one the Chinese text prints
    cited = {c for _, p in parts(data) for c in p.get("cites", [])}
    assert cited == set(symbols)
    raw = ZH.read_text(encoding="utf-8")
    for document in data["documents"]:
        if document.get("url"):
            assert document["url"] in raw, document["symbol"]
    in_graph = {str(graph.value(d, SKOS.notation)) for d in graph.subjects(RDF.type, CPB.Decision)}
    in_graph |= {str(graph.value(d, SKOS.notation)) for d in graph.subjects(RDF.type, CPB.Document)}
    assert set(symbols) | {"CP-10/3"} == in_graph


def test_treaty_citations_in_the_graph(graph: Graph) -> None:
    ids = Ids()
    cited = set(graph.objects(None, CPB.cites))
    assert {ids.article("cpb", n) for n in ("22", "28", "31")} | {ids.article("cbd", "24"), ids.treaty("nkl")} <= cited
    annex18 = ids.decision_part("CP-10/3", "annex-para", "18")
    assert (annex18, CPB.cites, ids.article("cbd", "24")) in graph
    plan = ids.plan()
    assert {URIRef("http://metadata.un.org/sdg/2"), URIRef("http://metadata.un.org/sdg/3")} <= set(graph.objects(plan, CPB.supportsSDG))


# --------------------------------------------------------------------- actions


def test_actions(data: dict[str, Any]) -> None:
    actors = {a["key"] for a in data["actors"]}
    numbers = {name.split(" ", 1)[1] for name, _ in parts(data) if name.startswith("para ")}
    keys = [a["key"] for a in data["actions"]]
    assert len(keys) == len(set(keys))
    for action in data["actions"]:
        assert action["type"] in ACTION_TYPES, action["key"]
        assert action["paragraph"] in numbers, action["key"]
        assert action["actor"] in actors, action["key"]
        assert set(action.get("addressee", [])) <= actors, action["key"]
        if action["type"] in ("urges", "invites", "requests"):
            assert action.get("addressee"), f"{action['key']}: whom?"
    # every operative paragraph acts (7 through its sub-paragraphs), in the order of the text
    acting = [a["paragraph"] for a in data["actions"]]
    assert sorted(set(acting), key=acting.index) == ["1", "2", "3", "4", "5", "6", "7(a)", "7(b)", "8", "9"]
    by_key = {a["key"]: a for a in data["actions"]}
    assert [(a["type"], a.get("addressee")) for a in data["actions"] if a["paragraph"] == "4"] == [
        ("urges", ["parties"]), ("invites", ["other-governments"])]
    nine = [a for a in data["actions"] if a["paragraph"] == "9"]
    assert [a["type"] for a in nine] == ["requests"] and nine[0]["addressee"] == ["sbi"]
    assert "12" in nine[0]["deadline"]["en"] and "第十二次" in nine[0]["deadline"]["zh"]
    assert by_key["p8-requests"]["addressee"] == ["liaison-group", "compliance-committee"]


def test_actions_in_the_graph(graph: Graph) -> None:
    actions = list(graph.subjects(RDF.type, CPB.Action))
    assert len(actions) == 11
    for action in actions:
        paragraphs = list(graph.subjects(CPB.hasAction, action))
        assert len(paragraphs) == 1 and (paragraphs[0], RDF.type, CPB.OperativeParagraph) in graph, action
        kind = graph.value(action, CPB.actionType)
        assert (kind, RDF.type, CPB.ActionType) in graph, action
        for addressee in graph.objects(action, CPB.addressee):
            assert (addressee, RDF.type, CPB.Actor) in graph, addressee
            assert {l.language for l in graph.objects(addressee, SKOS.prefLabel)} == {"en", "zh"}, addressee


# --------------------------------------------------------------------- SHACL


def test_decision_graph_conforms_to_the_shapes(graph: Graph) -> None:
    """No violation on a resource of the decision graph.

    The graph is validated on its own (with the ontology and what materialise adds),
    so resources that other graphs describe (treaty articles, the Plan, SDGs) are only
    referenced here. Findings on such outside resources would be ignored; at present
    there are none at all (no violation, no warning).
    """
    settings = Settings()
    ontology = load_ontology(settings.ontology_dir)
    data = Graph()
    data += graph
    data += ontology
    data += materialise(data, ontology)
    report = validate(data, load_shapes(settings.shapes_dir), ontology)
    subjects = {str(s) for s in graph.subjects()}
    ours = [f for f in report.violations if f.focus in subjects]
    assert not ours, "\n".join(map(str, ours))


# --------------------------------------------------------------------- a broken file fails with file, line, field


def test_unknown_action_type(tmp_path: Path) -> None:
    data_dir, line = copy_with(tmp_path, "  - key: p1-adopts\n    type: adopts", "  - key: p1-adopts\n    type: ratifies")
    assert_source_error(data_dir, line, "actions.p1-adopts.type", "unknown action type 'ratifies'")


def test_unknown_addressee(tmp_path: Path) -> None:
    text = DECISION.read_text(encoding="utf-8")
    data_dir, _ = copy_with(tmp_path, "addressee: [sbi]", "addressee: [secretariat]")
    line = text[: text.index("  - key: p9-requests")].count("\n") + 1
    assert_source_error(data_dir, line, "actions.p9-requests.addressee", "unknown actor 'secretariat'")


def test_unknown_cited_document(tmp_path: Path) -> None:
    old = 'cites: ["15/4"]\n  - number: "3"'
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index('  - number: "2"\n    zh: "欢迎')].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, old, 'cites: ["15/5"]\n  - number: "3"')
    assert_source_error(data_dir, line, "para.2.cites", "unknown document '15/5'")


def test_missing_english(tmp_path: Path) -> None:
    old = '    en: "Decides that the baseline'
    text = DECISION.read_text(encoding="utf-8")
    start = text[: text.index(old)].rindex('  - number: "5"')
    line = text[:start].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, old, '    en_missing: "Decides that the baseline')
    assert_source_error(data_dir, line, "para.5.en", "required field 'en'")


def test_official_english_without_source(tmp_path: Path) -> None:
    old = '      en_source: https://bch.cbd.int/protocol/post2020/Plan/text.shtml\n    - number: "2"'
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index('    - number: "1"\n      zh: "制定')].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, old, '    - number: "2"')
    assert_source_error(data_dir, line, "annex-para.1.en_source", "required field 'en_source'")


def test_unknown_article_key(tmp_path: Path) -> None:
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index('    - number: "17"')].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, 'articles: ["cpb:22", "cpb:28"]', 'articles: ["cpb:22", "protocol:28"]')
    assert_source_error(data_dir, line, "annex-para.17.articles", "unknown citation key 'protocol:28'")


def test_annex_paragraph_in_no_section(tmp_path: Path) -> None:
    data_dir, _ = copy_with(tmp_path, 'paragraphs: ["17"]', "paragraphs: []")
    text = (data_dir / DECISION_FILE).read_text(encoding="utf-8")
    line = text[: text.index("\nannex:\n")].count("\n") + 3  # the mapping under "annex:"
    assert_source_error(data_dir, line, "annex.sections", "annex paragraphs in no section: 17")


def test_missing_zh(tmp_path: Path) -> None:
    old = '    zh: "决定《执行计划》的基准'
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index(old)].count("\n")  # the mapping starts on the line before
    data_dir, _ = copy_with(tmp_path, old, '    zh_missing: "决定《执行计划》的基准')
    assert_source_error(data_dir, line, "para.5.zh", "required field 'zh'")


def test_zh_text_not_in_the_source_stops_the_build(tmp_path: Path) -> None:
    """A paragraph whose Chinese is not printed in cp-10-3-zh.txt gets no locator: the build fails."""
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index('  - number: "1"\n    zh: "通过本决定')].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, 'zh: "通过本决定附件所载', 'zh: "通过本决定附录所载')
    assert_source_error(data_dir, line, "para.1.zh",
                        r"paragraph 1: its zh '通过本决定附录所载.*' \(after the number '1\.'\) is not printed in .*cp-10-3-zh\.txt")


def test_zh_text_printed_twice_stops_the_build(tmp_path: Path) -> None:
    """A text found in two places (no number is printed before a preambular paragraph): never a guess."""
    old = 'zh: "认识到需要定期为进行规划并在该执行计划的时限内开展方案工作确定优先事项，"'
    text = DECISION.read_text(encoding="utf-8")
    line = text[: text.index('  - number: "6"\n    ' + old)].count("\n") + 1
    data_dir, _ = copy_with(tmp_path, old, 'zh: "第CP-10/4号决定。"')
    assert_source_error(data_dir, line, "preamble.6.zh",
                        r"is printed 2 times in .*\(cp-10-3-zh\.txt lines 52, 172\): which is the part's cannot be told")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found") as caught:
        build_graph(tmp_path, Ids())
    assert caught.value.path == tmp_path / DECISION_FILE


def test_the_copy_helper_leaves_a_valid_file(tmp_path: Path) -> None:
    """The broken copies above differ from a file that builds only in what each test changes."""
    data_dir, _ = copy_with(tmp_path, "decision:\n", "decision:\n")
    assert len(build_graph(data_dir, Ids())) == len(build_graph(Settings().data_dir, Ids()))
