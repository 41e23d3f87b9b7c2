"""The curated Implementation Plan (data/plan/implementation-plan.yaml) against the official texts.

Real files only: the YAML, the official Chinese text of CP-10/3 and the partial
official English. These tests are what makes the curated labels trustworthy: the
codes and counts are those the Chinese text numbers, every Chinese label is found
in that text, and every English label marked official is found in the English copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rdflib.namespace import SKOS
from support.graph import ROOT

from cpbkg.build.sources.zhtext import clean, plan_appendix, plan_codes
from cpbkg.errors import SourceError
from cpbkg.vocab import Ids

PLAN = ROOT / "data" / "plan" / "implementation-plan.yaml"
ZH = ROOT / "data" / "sources" / "cp-10-3-zh.txt"
EN = ROOT / "data" / "sources" / "cp-10-3-en-partial.txt"

GOAL = re.compile(r"^[AB]\.(?:[1-9]|10)$")
OBJECTIVE = re.compile(r"^[AB]\.(?:[1-9]|10)\.[1-9]$")
INDICATOR = re.compile(r"^[AB]\.(?:[1-9]|10)\([a-z]\)$")
CITE = re.compile(r"^(?:cpb:\d+|cpb:annex:[IVX]+|nkl|doc:CP-\d+/\d+)$")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

#: cells that the PDF continues across a page break with other columns' lines in
#: between; every other label must be one contiguous run of the appendix text
SPLIT_CELLS = {"A.7(d)", "A.10", "A.10.2", "A.10 outcome"}
#: the only Plan wording in the official English copy
#: the area names' English follows a Secretariat web article, not an official text: a translation now
OFFICIAL_EN = {"A.1(a)", "A.1(b)", "A.1(c)", "A.2(a)", "A.2(b)", "A.2(c)", "A.2(d)", "A.3(a)"}


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    return yaml.safe_load(PLAN.read_text(encoding="utf-8"))


def elements(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every labelled element as (name, mapping): areas, goals, objectives, indicators, outcomes."""
    out = [(a["code"], a) for a in plan["areas"]]
    for goal in plan["goals"]:
        out.append((goal["code"], goal))
        out += [(o["code"], o) for o in goal["objectives"]]
        out += [(i["code"], i) for i in goal["indicators"]]
        out.append((f"{goal['code']} outcome", goal["outcome"]))
    return out


def yaml_codes(plan: dict[str, Any]) -> dict[str, list[str]]:
    goals = plan["goals"]
    return {
        "goals": [g["code"] for g in goals],
        "objectives": [o["code"] for g in goals for o in g["objectives"]],
        "indicators": [i["code"] for g in goals for i in g["indicators"]],
        "outcomes": [g["code"] for g in goals if g.get("outcome")],
    }


def pieces_in_order(label: str, text: str) -> list[str]:
    """Split ``label`` into the fewest runs that occur in ``text`` one after another.

    Greedy: each run is the longest prefix of what is left that occurs in ``text``
    after the end of the previous run. Returns [] if some character cannot be placed.
    """
    pieces: list[str] = []
    pos, rest = 0, label
    while rest:
        for size in range(len(rest), 0, -1):
            at = text.find(rest[:size], pos)
            if at >= 0:
                pieces.append(rest[:size])
                pos, rest = at + size, rest[size:]
                break
        else:
            return []
    return pieces


def en_sections() -> dict[str, str]:
    """The English file's text under each "SOURCE n" heading, keyed by the address it names."""
    sections: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=SOURCE \d+)", EN.read_text(encoding="utf-8"))[1:]:
        head = "\n".join(block.splitlines()[:2])
        url = re.search(r"https?://\S+", head)
        if url:  # SOURCE 3 is a file in a repository, not an address: nothing cites it
            sections[url.group(0)] = block
    return sections


# --- counts and codes --------------------------------------------------------------


def test_counts(plan: dict[str, Any]) -> None:
    codes = yaml_codes(plan)
    assert len(plan["areas"]) == 2
    assert {k: len(v) for k, v in codes.items()} == {"goals": 14, "objectives": 36, "indicators": 48, "outcomes": 14}


def test_codes_unique_well_formed_and_nested(plan: dict[str, Any]) -> None:
    assert [a["code"] for a in plan["areas"]] == ["A", "B"]
    for kind, codes in yaml_codes(plan).items():
        if kind != "outcomes":
            assert len(codes) == len(set(codes)), f"duplicate {kind}"
    for goal in plan["goals"]:
        code = goal["code"]
        assert GOAL.match(code), code
        assert goal["area"] == code[0], f"{code} is under area {goal['area']}"
        assert goal["objectives"] and goal["indicators"], f"{code} has no objectives or indicators"
        for objective in goal["objectives"]:
            assert OBJECTIVE.match(objective["code"]), objective["code"]
            assert objective["code"].rsplit(".", 1)[0] == code, f"{objective['code']} under {code}"
        for indicator in goal["indicators"]:
            assert INDICATOR.match(indicator["code"]), indicator["code"]
            assert indicator["code"].split("(")[0] == code, f"{indicator['code']} under {code}"
        letters = [i["code"][-2] for i in goal["indicators"]]
        assert letters == [chr(ord("a") + n) for n in range(len(letters))], f"{code} indicators {letters}"


def test_plan_codes_of_the_chinese_text_equal_the_yaml(plan: dict[str, Any]) -> None:
    found = plan_codes(ZH)
    assert {k: len(v) for k, v in found.items()} == {"goals": 14, "objectives": 36, "indicators": 48, "outcomes": 14}
    assert found == yaml_codes(plan)


# --- wording ----------------------------------------------------------------------


def test_every_element_has_zh_en_and_a_status(plan: dict[str, Any]) -> None:
    for name, element in elements(plan):
        assert isinstance(element.get("zh"), str) and element["zh"].strip(), f"{name}: zh"
        assert isinstance(element.get("en"), str) and element["en"].strip(), f"{name}: en"
        assert element.get("en_status") in {"official", "translation"}, f"{name}: en_status"
        if element["en_status"] == "official":
            assert str(element.get("en_source", "")).startswith("https://"), f"{name}: official needs en_source"
        else:
            assert "en_source" not in element, f"{name}: a translation has no official source"


def test_zh_labels_are_clean_and_stripped(plan: dict[str, Any]) -> None:
    for name, element in elements(plan):
        zh = element["zh"]
        assert clean(zh) == zh, f"{name}: whitespace next to CJK or doubled: {zh!r}"
        assert not re.match(r"^(?:[AB]\.[\d.]*|\([a-z]\))", zh), f"{name}: leading code kept: {zh!r}"
        assert zh[-1] not in "；。;.，,", f"{name}: trailing punctuation kept: {zh!r}"
        assert CJK.search(zh), f"{name}: zh is not Chinese: {zh!r}"


def test_zh_labels_occur_verbatim_in_the_official_text(plan: dict[str, Any]) -> None:
    appendix = clean(plan_appendix(ZH))
    split = {}
    for name, element in elements(plan):
        zh = clean(element["zh"])
        if zh in appendix:
            continue
        pieces = pieces_in_order(zh, appendix)
        assert len(pieces) == 2 and min(map(len, pieces)) >= 5, f"{name}: not in cp-10-3-zh.txt: {zh!r} {pieces}"
        split[name] = pieces
    assert set(split) == SPLIT_CELLS, split


def test_appendix_is_free_of_page_furniture() -> None:
    appendix = plan_appendix(ZH)
    assert appendix.startswith("附录")
    for furniture in ("CBD/CP/MOP/DEC/10/3", "Page 7", "Page 9", "长期目标", "卡塔赫纳生物安全议定书执行计划", "________"):
        assert furniture not in appendix, furniture
    assert appendix.rstrip().endswith("书执行更为有效。")


def test_official_english_is_verbatim_from_its_named_source(plan: dict[str, Any]) -> None:
    sections = en_sections()
    official = {}
    for name, element in elements(plan):
        if element["en_status"] != "official":
            continue
        official[name] = element
        source = element["en_source"]
        assert source in sections, f"{name}: {source} is not a source named in {EN.name}"
        assert element["en"] in sections[source], f"{name}: not verbatim under {source}: {element['en']!r}"
        assert element["en"][-1] not in ";.", f"{name}: trailing list punctuation kept"
    assert set(official) == OFFICIAL_EN


def test_translations_are_not_passed_off_as_official(plan: dict[str, Any]) -> None:
    en_text = EN.read_text(encoding="utf-8")
    for name, element in elements(plan):
        if element["en_status"] == "translation":
            assert name not in OFFICIAL_EN, f"{name}: official English exists and must be used"
            assert not CJK.search(element["en"]), f"{name}: en has CJK"
            assert element["en"] not in en_text or len(element["en"]) < 40, f"{name}: copied official text?"


# --- citations --------------------------------------------------------------------


def expected_cites(zh: str) -> set[str]:
    """The explicit references the Chinese wording makes."""
    found = {f"cpb:{n}" for n in re.findall(r"第(\d+)条", zh)}
    if "附件三" in zh:
        found.add("cpb:annex:III")
    if "补充议定书" in zh:
        found.add("nkl")
    if "《卡塔赫纳生物安全议定书能力建设行动计划》" in zh:
        found.add("doc:CP-10/4")
    return found


def test_cites_are_exactly_what_the_text_says(plan: dict[str, Any]) -> None:
    for name, element in elements(plan):
        if name in ("A", "B"):
            continue
        cites = element.get("cites")
        assert isinstance(cites, list), f"{name}: cites must be a list"
        assert all(CITE.match(str(c)) for c in cites), f"{name}: {cites}"
        assert len(cites) == len(set(cites)), f"{name}: repeated cite"
        assert set(cites) == expected_cites(element["zh"]), f"{name}: cites {cites} vs text {element['zh']!r}"


# --- the checker itself -----------------------------------------------------------


def test_clean_rule() -> None:
    assert clean("紧急措施（第\n\n17 条）联络点") == "紧急措施（第17条）联络点"
    assert clean("使用国家 STAR 拨款") == "使用国家STAR拨款"
    assert clean("  Page   7 \n") == "Page 7"
    assert clean("A.1.1. 缔约方") == "A.1.1.缔约方"


def test_drift_is_detectable(tmp_path: Path) -> None:
    lines = ZH.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = [n for n, line in enumerate(lines) if line.startswith("A.1.2.")]
    assert len(cut) == 1
    broken = tmp_path / ZH.name
    broken.write_text("".join(lines[: cut[0]] + lines[cut[0] + 1 :]), encoding="utf-8")
    found = plan_codes(broken)
    assert len(found["objectives"]) == 35
    assert "A.1.2" not in found["objectives"]


def test_missing_file_raises_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "cp-10-3-zh.txt"
    with pytest.raises(SourceError) as caught:
        plan_codes(missing)
    assert caught.value.path == missing
    assert str(missing) in str(caught.value)


def test_file_without_appendix_raises_source_error(tmp_path: Path) -> None:
    text = ZH.read_text(encoding="utf-8").replace(" 附录 ", " 附件 ")
    no_appendix = tmp_path / "cp-10-3-zh.txt"
    no_appendix.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match="appendix not found") as caught:
        plan_appendix(no_appendix)
    assert caught.value.path == no_appendix


# --- the verbatim official Chinese beside the normalised label (issue 16) ------------------------------------

ZH_SOURCE = ROOT / "data" / "sources" / "cp-10-3-zh.txt"


def _is_cjk(char: str) -> bool:
    # ideographs and CJK / full-width punctuation: the code points zhtext treats as CJK
    code = ord(char)
    return (0x2E80 <= code <= 0x2FFF or 0x3000 <= code <= 0x303F or 0x3400 <= code <= 0x4DBF
            or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F
            or 0xFF00 <= code <= 0xFFEF)


def test_every_official_chinese_text_is_the_source_cell_byte_for_byte() -> None:
    """Read the lines the locator names from the file, join them (a break between two CJK-adjacent
    characters removed, else one space), drop the row code: the bytes must be the literal's."""
    from cpbkg.build.sources import plan
    from cpbkg.vocab import CPB

    graph = plan.build_graph(ROOT / "data", ROOT / "data" / "sources", Ids())
    lines = ZH_SOURCE.read_bytes().decode("utf-8").splitlines()
    official = {s: o for s, o in graph.subject_objects(CPB.officialText)}
    assert len(official) == 2 + 14 + 36 + 48 + 14
    normalised = 0
    for uri, literal in official.items():
        assert literal.language == "zh"
        (locator,) = [str(x) for x in graph.objects(uri, CPB.locator)]
        numbers = [int(n) for n in re.search(r"lines? ([\d, ]+)$", locator).group(1).split(", ")]
        parts = [lines[n - 1].strip() for n in numbers]
        code = str(graph.value(uri, SKOS.notation))
        printed = f"({code.partition('(')[2]}" if "(" in code else (None if code.endswith("-O") else f"{code}.")
        if printed:
            assert parts[0].startswith(printed), (uri, parts[0])
            parts[0] = parts[0][len(printed):].strip()
        joined = parts[0]
        for part in parts[1:]:
            joined += ("" if _is_cjk(joined[-1]) or _is_cjk(part[0]) else " ") + part
        assert joined.encode("utf-8") == str(literal).encode("utf-8"), uri
        # the label beside it is the normalised form, and says nothing the text does not
        (zh,) = [str(x) for x in graph.objects(uri, SKOS.prefLabel) if x.language == "zh"]
        assert zh == clean(str(literal)).rstrip("；。;."), uri
        normalised += zh != str(literal)
        # pages: 6-10 (the appendix), as the locator says
        pages = sorted(int(p) for p in graph.objects(uri, CPB.page))
        assert pages and set(pages) <= set(range(6, 11)) and f"page{'s' if len(pages) > 1 else ''} " in locator
    # the issue counted 91 of the 112 goals, objectives, indicators and outcomes normalised
    assert normalised == 91


def test_a_label_that_is_not_its_cell_stops_the_build(tmp_path: Path) -> None:
    from cpbkg.build.sources import plan

    text = PLAN.read_text(encoding="utf-8")
    old = 'zh: "国家主管部门对工作人员进行了充分培训，以便他们执行任务"'
    assert text.count(old) == 1
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "implementation-plan.yaml").write_text(
        text.replace(old, 'zh: "国家主管部门对工作人员进行了培训，以便他们执行任务"'), encoding="utf-8")
    with pytest.raises(SourceError, match=r"cp-10-3-zh.txt.*the cell of .*objective/A.1.3"):
        plan.build_graph(tmp_path, ROOT / "data" / "sources", Ids())
