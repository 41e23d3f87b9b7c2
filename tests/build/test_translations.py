"""The project's Chinese translations (data/translations/zh.yaml) and the label-fallback order.

Every entry is used by a build (none stale), a resource without a Chinese label and without a
translation stops the build, and the describe layer falls back in the documented order.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from cpbkg.build.progress import parties
from cpbkg.build.sources import decision, gbf, sdg, treaties
from cpbkg.build.sources.wording import TRANSLATIONS_FILE, Translations
from cpbkg.config import Settings
from cpbkg.describe.model import LABEL_FALLBACK, Ref
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

SETTINGS = Settings()
IDS = Ids()


def test_every_translation_is_used_and_every_use_is_marked() -> None:
    translations = Translations.load(SETTINGS.data_dir)
    graph = Graph()
    graph += treaties.build_graph(SETTINGS.sources_dir, IDS, translations)
    graph += gbf.build_graph(SETTINGS.sources_dir, IDS, translations)
    graph += sdg.build_graph(SETTINGS.sources_dir, IDS, translations)
    graph += decision.build_graph(SETTINGS.data_dir, IDS, translations)
    party_graph = parties.build_graph(SETTINGS.data_dir, IDS)  # reads the file itself: one entry, BOL
    graph += party_graph
    translations.used |= {k for k in translations.entries if k.startswith("id/party/")
                          and (URIRef(IDS.base + k), CPB.chineseWording, CPB.ProjectTranslation) in party_graph}
    assert translations.used == set(translations.entries), sorted(set(translations.entries) - translations.used)
    assert len(translations.entries) == 345
    for key, entry in translations.entries.items():
        uri = URIRef(IDS.base + key) if key.startswith("id/") else URIRef(key)
        assert Literal(entry.zh, lang="zh") in set(graph.objects(uri, SKOS.prefLabel))
        assert graph.value(uri, CPB.chineseWording) == CPB.ProjectTranslation
        notes = [str(n) for n in graph.objects(uri, SKOS.editorialNote)]
        assert any(translations.translator in n and translations.date in n for n in notes), key


def test_a_resource_with_neither_chinese_nor_a_translation_stops_the_build(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SETTINGS.sources_dir, sources)
    target = tmp_path / TRANSLATIONS_FILE
    target.parent.mkdir(parents=True)
    lines = (SETTINGS.data_dir / TRANSLATIONS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index('  - of: "id/treaty/cpb/article/1"\n')
    target.write_text("".join(lines[:start] + lines[start + 3:]), encoding="utf-8")
    with pytest.raises(SourceError, match=r"zh.yaml \[translations\]: id/treaty/cpb/article/1 has no Chinese label"):
        treaties.build_graph(sources, IDS)


def test_a_translation_given_twice_is_refused(tmp_path: Path) -> None:
    target = tmp_path / TRANSLATIONS_FILE
    target.parent.mkdir(parents=True)
    text = (SETTINGS.data_dir / TRANSLATIONS_FILE).read_text(encoding="utf-8")
    target.write_text(text + '  - of: "id/gbf/goal/A"\n    en: "Goal A"\n    zh: "目标A"\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"id/gbf/goal/A is translated twice"):
        Translations.load(tmp_path)


@pytest.mark.parametrize(("labels", "lang", "expected"), [
    ({"zh": "风险评估", "en": "Risk assessment"}, "zh", "风险评估"),
    ({"zh": "风险评估", "en": "Risk assessment"}, "en", "Risk assessment"),
    ({"en": "Risk assessment", "fr": "Évaluation des risques"}, "zh", "Risk assessment"),
    ({"zh": "风险评估", "fr": "Évaluation des risques"}, "en", "风险评估"),
    ({"": "untagged", "fr": "Évaluation des risques"}, "zh", "untagged"),
    ({"fr": "Évaluation des risques"}, "zh", "Évaluation des risques"),
])
def test_label_fallback_order(labels: dict[str, str], lang: str, expected: str) -> None:
    assert LABEL_FALLBACK == {"zh": ("zh", "en", ""), "en": ("en", "zh", "")}
    ref = Ref(ox.NamedNode("https://w3id.org/cpbkg/id/treaty/cpb/article/15"), labels, "Art. 15")
    assert ref.label(lang) == expected
    assert ref.labels.get(ref.label_lang(lang)) == expected


def test_the_code_is_the_last_resort() -> None:
    assert Ref(ox.NamedNode("https://w3id.org/cpbkg/id/x"), {}, "Art. 15").label("zh") == "Art. 15"
