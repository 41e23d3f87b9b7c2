"""The Cartagena Protocol, the Supplementary Protocol and CBD articles 8, 19, 24 as RDF, from the real copies."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

from cpbkg.build.ontology import load_ontology
from cpbkg.build.reasoning import materialise
from cpbkg.build.sources import treaties
from cpbkg.build.sources.wording import TRANSLATIONS_FILE
from cpbkg.build.validation import load_shapes, validate
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

SETTINGS = Settings()
IDS = Ids()
TREATY_DIR = SETTINGS.sources_dir / "treaties"
CPB_MD = TREATY_DIR / "cartagena-protocol-en.md"
NKL_MD = TREATY_DIR / "nagoya-kuala-lumpur-supplementary-protocol-en.md"
CBD_MD = TREATY_DIR / "convention-on-biological-diversity-en.md"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return treaties.build_graph(SETTINGS.sources_dir, IDS)


def numbers(graph: Graph, key: str, cls: URIRef) -> set[str]:
    return {str(graph.value(p, CPB.number)) for p in graph.subjects(CPB.provisionOf, IDS.treaty(key))
            if (p, RDF.type, cls) in graph}


def text_of(graph: Graph, uri: URIRef) -> str:
    texts = list(graph.objects(uri, CPB.text))
    assert len(texts) == 1 and texts[0].language == "en"
    return str(texts[0])


def en_label(graph: Graph, uri: URIRef) -> str:
    labels = [l for l in graph.objects(uri, SKOS.prefLabel) if l.language == "en"]
    assert len(labels) == 1
    return str(labels[0])


def line_of(path: Path, exact: str) -> int:
    """1-based line number of the one line of ``path`` that reads ``exact`` (trailing spaces ignored)."""
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if line.rstrip() == exact]
    assert len(hits) == 1, hits
    return hits[0]


def test_provision_counts(graph):
    assert numbers(graph, "cpb", CPB.Article) == {str(n) for n in range(1, 41)}
    assert numbers(graph, "cpb", CPB.TreatyAnnex) == {"I", "II", "III"}
    assert numbers(graph, "nkl", CPB.Article) == {str(n) for n in range(1, 22)}
    assert numbers(graph, "cbd", CPB.Article) == {"8", "19", "24"}
    assert len(set(graph.subjects(CPB.provisionOf, None))) == 43 + 21 + 3


def test_uris_follow_the_id_scheme(graph):
    assert (IDS.article("cpb", "17"), RDF.type, CPB.Article) in graph
    assert (IDS.treaty_annex("cpb", "III"), RDF.type, CPB.TreatyAnnex) in graph
    assert (IDS.article("cbd", "24"), CPB.provisionOf, IDS.treaty("cbd")) in graph
    assert (IDS.treaty("nkl"), CPB.hasProvision, IDS.article("nkl", "12")) in graph
    assert graph.value(IDS.article("cpb", "40"), CPB.order) == Literal(40)
    assert graph.value(IDS.treaty_annex("cpb", "I"), CPB.order) == Literal(41)
    assert graph.value(IDS.article("cbd", "19"), CPB.order) == Literal(19)


@pytest.mark.parametrize("uri,title", [
    (IDS.article("cpb", "20"), "Information sharing and the biosafety clearing-house"),
    (IDS.article("cpb", "26"), "Socio-economic considerations"),
    (IDS.article("cpb", "11"), "Procedure for living modified organisms intended for direct use as food or feed, or for processing"),
    (IDS.treaty_annex("cpb", "III"), "Risk assessment"),
    (IDS.article("nkl", "12"), "Implementation and relation to civil liability"),
    (IDS.article("cbd", "8"), "In-situ Conservation"),
    (IDS.article("cbd", "24"), "Secretariat"),
])
def test_titles_as_printed(graph, uri, title):
    assert en_label(graph, uri) == title


def test_titles_match_the_markdown_headings(graph):
    # independent of the module: the "####" line after each "### Article N" heading of the English part
    lines = CPB_MD.read_text(encoding="utf-8").splitlines()
    for n in (1, 14, 20, 29, 40):
        start = lines.index(f"### Article  {n}  ")
        heading = next(l for l in lines[start + 1:] if l.strip())
        assert en_label(graph, IDS.article("cpb", str(n))) == heading.removeprefix("####").strip()


def test_recapitalised_titles_say_so(graph):
    art14 = IDS.article("nkl", "14")
    assert en_label(graph, art14) == "Conference of the Parties serving as the meeting of the Parties to the Protocol"
    note = str(graph.value(art14, SKOS.editorialNote))
    assert "Conference of the parties serving as the meeting of the parties to the protocol" in note
    # a title printed as listed carries no such note (only the note on its Chinese translation)
    assert not [n for n in graph.objects(IDS.article("nkl", "12"), SKOS.editorialNote) if "capitalisation" in n]


def test_text_is_the_articles_full_text(graph):
    art26 = text_of(graph, IDS.article("cpb", "26"))
    assert art26.startswith("1. The Parties, in reaching a decision on import under this Protocol")
    assert "socio-economic considerations arising from the impact of living modified organisms" in art26
    assert art26.endswith("especially on indigenous and local communities.")
    assert "Parties shall provide, in their domestic law, for rules and procedures that address damage." in text_of(graph, IDS.article("nkl", "12"))
    art20 = text_of(graph, IDS.article("cpb", "20"))
    assert art20.count("\n") == 10  # paragraphs 1-4 and items (a)-(b), (a)-(e), one per line
    assert art20.endswith("at its first meeting, and kept under review thereafter.")


def test_text_agrees_with_the_quotes_in_reference_facts(graph):
    facts = (SETTINGS.sources_dir / "reference-facts.md").read_text(encoding="utf-8")
    cbd8g = next(line for line in text_of(graph, IDS.article("cbd", "8")).splitlines() if line.startswith("g) "))
    assert f'"{cbd8g}"' in facts
    nkl1 = text_of(graph, IDS.article("nkl", "1"))
    assert " ".join(f'"{nkl1}"'.split()) in " ".join(facts.split())


def test_every_text_line_is_in_the_markdown(graph):
    # no words invented or reordered: each cleaned line is a line of the copy minus its links and marks
    for key, path in (("cpb", CPB_MD), ("nkl", NKL_MD), ("cbd", CBD_MD)):
        source = " ".join(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", path.read_text(encoding="utf-8")).replace("*", "").split())
        for provision in graph.subjects(CPB.provisionOf, IDS.treaty(key)):
            for line in text_of(graph, provision).splitlines():
                assert line in source, (provision, line)


def test_text_and_titles_have_no_markup_or_database_notes(graph):
    noise = re.compile(r"<[^>]+>|\]\(|\.\./|README|\*|#|Treedt in werking|  ")
    for provision in graph.subjects(CPB.provisionOf, None):
        assert not noise.search(text_of(graph, provision)), provision
        assert not noise.search(en_label(graph, provision)), provision


def test_the_english_part_ends_where_the_dutch_begins(graph):
    annex3 = text_of(graph, IDS.treaty_annex("cpb", "III"))
    assert annex3.endswith("centres of origin of the likely potential receiving environment.")
    assert "Protocol van Cartagena" not in annex3
    assert text_of(graph, IDS.article("nkl", "21")).endswith("DONE at Nagoya on this fifteenth day of October two thousand and ten.")
    cbd24 = text_of(graph, IDS.article("cbd", "24"))
    assert cbd24.endswith("carry out the secretariat functions under this Convention.")
    assert "Subsidiary Body" not in cbd24


@pytest.mark.parametrize("key,en,zh,notation", [
    ("cpb", "Cartagena Protocol on Biosafety to the Convention on Biological Diversity", "《卡塔赫纳生物安全议定书》", "XXVII-8-a"),
    ("nkl", "Nagoya – Kuala Lumpur Supplementary Protocol on Liability and Redress to the Cartagena Protocol on Biosafety",
     "《关于赔偿责任和补救的名古屋-吉隆坡补充议定书》", "XXVII-8-c"),
    ("cbd", "Convention on Biological Diversity", "《生物多样性公约》", "XXVII-8"),
])
def test_treaties(graph, key, en, zh, notation):
    uri = IDS.treaty(key)
    assert (uri, RDF.type, CPB.Treaty) in graph
    assert set(graph.objects(uri, SKOS.prefLabel)) == {Literal(en, lang="en"), Literal(zh, lang="zh")}
    assert list(graph.objects(uri, SKOS.notation)) == [Literal(notation)]
    source = str(graph.value(uri, DCTERMS.source))
    assert source.startswith("https://github.com/statengeneraal/laws-markdown/blob/91556a80a25a3da4234c8039945c6aeef4108d00/verdrag/")
    assert source.endswith(f"/{graph.value(uri, DCTERMS.identifier)}/README.md")
    assert "not the authentic text" in str(graph.value(uri, SKOS.editorialNote))
    for provision in graph.subjects(CPB.provisionOf, uri):
        assert graph.value(provision, DCTERMS.source) == URIRef(source)


def test_zh_names_are_printed_in_the_official_chinese_text():
    zh = "".join((SETTINGS.sources_dir / "cp-10-3-zh.txt").read_text(encoding="utf-8").split())
    for spec in treaties.TREATIES:
        assert spec.zh and spec.zh in zh


def test_graph_conforms_to_the_shapes(graph):
    ontology = load_ontology(SETTINGS.ontology_dir)
    shapes = load_shapes(SETTINGS.shapes_dir)
    ours = set(graph.subjects())

    def violations_on_ours(data: Graph) -> list[str]:
        union = ontology + data
        union += materialise(union, ontology)
        return [str(v) for v in validate(union, shapes).violations if URIRef(v.focus) in ours]

    assert violations_on_ours(graph) == []
    # the same check catches a provision without text, so the shapes do reach our resources
    broken = Graph() + graph
    broken.remove((IDS.article("cpb", "26"), CPB.text, None))
    found = violations_on_ours(broken)
    assert found and all(IDS.article("cpb", "26") in v for v in found)


# --- broken copies: each must fail with the file and the line -------------------------------------------------

@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """A private copy of the files build_graph reads."""
    src = tmp_path / "sources"
    shutil.copytree(TREATY_DIR, src / "treaties")
    shutil.copytree(SETTINGS.sources_dir / "bch", src / "bch")
    for name in ("reference-facts.md", "cp-10-3-zh.txt"):
        shutil.copy(SETTINGS.sources_dir / name, src / name)
    # the project's translations live beside data/sources
    (tmp_path / TRANSLATIONS_FILE).parent.mkdir(parents=True)
    shutil.copy(SETTINGS.data_dir / TRANSLATIONS_FILE, tmp_path / TRANSLATIONS_FILE)
    return src


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_missing_article_heading_names_file_and_line(sources):
    md = sources / "treaties" / CPB_MD.name
    edit(md, "### Article  17  \n", "")
    with pytest.raises(SourceError) as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == md
    assert err.value.line == line_of(md, "### Article  18")
    assert "Article 17" in str(err.value) and f"{md}:{err.value.line}" in str(err.value)


def test_a_duplicated_article_is_refused(sources):
    md = sources / "treaties" / NKL_MD.name
    first, second = line_of(md, "### Article  12"), line_of(md, "### Article  13")
    edit(md, "### Article  13  \n", "### Article  12  \n")
    with pytest.raises(SourceError, match=rf"Article 12 appears twice \(first at line {first}\)") as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == md and err.value.line == second


def test_articles_out_of_order_are_refused(sources):
    md = sources / "treaties" / CBD_MD.name
    swapped = line_of(md, "### Article  19")
    edit(md, "### Article  19  \n", "@@\n")
    edit(md, "### Article  20  \n", "### Article  19  \n")
    edit(md, "@@\n", "### Article  20  \n")
    with pytest.raises(SourceError, match="expected Article 19, found Article 20") as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == md and err.value.line == swapped


def test_a_missing_last_annex_is_refused(sources):
    md = sources / "treaties" / CPB_MD.name
    edit(md, "### Annex  III \n", "")
    with pytest.raises(SourceError, match="Annex III of the cpb treaty not found after Annex II") as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == md and err.value.line == line_of(md, "### Annex  II")


def test_a_title_that_disagrees_with_reference_facts_is_refused(sources):
    md = sources / "treaties" / CPB_MD.name
    edit(md, "####Socio-economic considerations\n", "####Socio-economic impacts\n")
    with pytest.raises(SourceError, match="reference-facts.md") as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == md and err.value.line == line_of(md, "####Socio-economic impacts")


def test_a_treaty_name_not_in_the_chinese_text_is_refused(sources):
    zh = sources / "cp-10-3-zh.txt"
    # the PDF extraction breaks the name across lines; dropping "公约" from every "...公约》" removes it
    zh.write_text(zh.read_text(encoding="utf-8").replace("公约》", "》"), encoding="utf-8")
    with pytest.raises(SourceError, match="生物多样性公约") as err:
        treaties.build_graph(sources, IDS)
    assert err.value.path == zh


def test_a_missing_file_is_a_source_error(sources):
    (sources / "treaties" / NKL_MD.name).unlink()
    with pytest.raises(SourceError, match="file not found"):
        treaties.build_graph(sources, IDS)


# --- titles in the six UN languages (issue 16) ---------------------------------------------------------------

QUESTIONNAIRE_5 = SETTINGS.sources_dir / "bch" / "cpb-national-report-5.json"


def single_article_sections() -> dict[str, dict[str, str]]:
    """Article number -> the 5th-report section titles of the sections about one article (read here, not by the module)."""
    data = json.loads(QUESTIONNAIRE_5.read_text(encoding="utf-8-sig"))
    return {m.group(1): s["title"] for s in data["sections"] if (m := re.fullmatch(r"Article(\d+)", s["key"]))}


def labels_of(graph: Graph, uri: URIRef, prop: URIRef = SKOS.prefLabel) -> dict[str, str]:
    found: dict[str, str] = {}
    for lit in graph.objects(uri, prop):
        assert lit.language not in found, (uri, prop, lit.language)
        found[lit.language] = str(lit)
    return found


def test_every_article_the_questionnaire_titles_has_its_title_in_six_languages(graph):
    sections = single_article_sections()
    assert set(sections) == {"2", "5", "6", "11", "12", "13", "14", "17", "18", "19", "20", "21", "22", "23",
                             "24", "25", "26", "28", "33"}
    for number, titles in sections.items():
        uri = IDS.article("cpb", number)
        labels = labels_of(graph, uri)
        assert set(labels) == {"en", "zh", "fr", "es", "ru", "ar"}, number
        for lang in ("zh", "fr", "es", "ru", "ar"):
            printed = " ".join(re.sub(r"<sup>[^<]*</sup>", "", titles[lang]).split())
            # the section title is "<number words> <dash> <the label>": the label is its tail, verbatim
            assert printed.endswith(labels[lang].rstrip(":")) or printed.rstrip(":").endswith(labels[lang]), (number, lang)
            assert number in printed[: len(printed) - len(labels[lang])], (number, lang)
        # the source named is the questionnaire section, not the treaty
        assert graph.value(uri, CPB.chineseWording) == CPB.OfficialWording
        assert graph.value(uri, CPB.chineseSource) == IDS.report_section(5, f"Article{number}")
        assert URIRef(treaties.QUESTIONNAIRE_SOURCE.format(cycle=5)) in set(graph.objects(uri, DCTERMS.source))
    assert labels_of(graph, IDS.article("cpb", "18"))["zh"] == "处理、运输、包装和标志"
    assert labels_of(graph, IDS.article("cpb", "17"))["zh"] == "无意中造成的越境转移和应急措施"


def test_the_fourth_reports_other_wording_is_an_alternative_label(graph):
    art19 = IDS.article("cpb", "19")
    assert labels_of(graph, art19)["zh"] == "国家主管部门和国家联络人"
    assert labels_of(graph, art19, SKOS.altLabel)["zh"] == "国家主管部门和国家联络点"


def test_every_provision_has_one_chinese_label_marked_official_or_translated(graph):
    provisions = set(graph.subjects(CPB.provisionOf, None))
    assert len(provisions) == 43 + 21 + 3
    translated = set(graph.subjects(CPB.chineseWording, CPB.ProjectTranslation))
    official = set(graph.subjects(CPB.chineseWording, CPB.OfficialWording))
    assert provisions == translated | official and not translated & official
    assert len(official) == 19
    for uri in translated:
        assert "zh" in labels_of(graph, uri)
        assert graph.value(uri, CPB.chineseSource) is None
        assert any("project's translation" in n for n in graph.objects(uri, SKOS.editorialNote))
    # a search for 风险评估 finds Article 15 (and Annex III)
    risk = {uri for uri in provisions if "风险评估" in labels_of(graph, uri)["zh"]}
    assert risk == {IDS.article("cpb", "15"), IDS.treaty_annex("cpb", "III")}
    assert any("第15和16条" in n for n in graph.objects(IDS.article("cpb", "15"), SKOS.editorialNote))


def test_labels_name_the_treaty(graph):
    assert labels_of(graph, IDS.article("cpb", "15"), RDFS.label) == {
        "en": "Cartagena Protocol, Article 15: Risk assessment", "zh": "《卡塔赫纳生物安全议定书》第15条：风险评估"}
    assert labels_of(graph, IDS.article("nkl", "12"), RDFS.label)["en"].startswith(
        "Nagoya – Kuala Lumpur Supplementary Protocol, Article 12: ")
    assert labels_of(graph, IDS.treaty_annex("cpb", "III"), RDFS.label)["zh"] == "《卡塔赫纳生物安全议定书》附件三：风险评估"
    named = [labels_of(graph, uri, RDFS.label)["en"] for uri in graph.subjects(CPB.provisionOf, None)]
    assert len(set(named)) == len(named) == 67


def test_a_section_titled_for_another_article_is_refused(sources):
    path = sources / "bch" / "cpb-national-report-5.json"
    edit(path, "第18条 — 处理、运输、包装和标志", "第19条 — 处理、运输、包装和标志")
    with pytest.raises(SourceError, match=r"cpb-national-report-5.json \[sections.Article18.title.zh\]: .*another article"):
        treaties.build_graph(sources, IDS)
