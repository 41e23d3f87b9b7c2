"""Chinese and English wording of a resource, with the status of each language.

The official text of CP-10/3 is Chinese. English is official only where an official
English source has it; elsewhere it is the project's translation, and the data says
so on the resource (``cpb:englishWording cpb:ProjectTranslation`` plus an editorial
note a person reads), never silently.

The other way round, resources whose sources are English (GBF, SDGs, treaty articles
without a Secretariat title in Chinese) get a Chinese label only from
``data/translations/zh.yaml``, the project's translations, and the data says so the
same way: ``cpb:chineseWording cpb:ProjectTranslation`` and an editorial note naming
translator, date and reason (:class:`Translations`). See docs/labels.md for the
label-fallback order per language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from cpbkg.build.sources.records import Record, read_records
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

TRANSLATION_NOTE = Literal(
    "The English text of this resource is the CPB-KG project's translation of the official "
    "Chinese text of decision CP-10/3; it is not official wording.",
    lang="en",
)
STATUSES = {"official": CPB.OfficialWording, "translation": CPB.ProjectTranslation}


def add_wording(
    graph: Graph,
    subject: URIRef,
    record: Record,
    *,
    where: str,
    label: URIRef = SKOS.prefLabel,
    zh_key: str = "zh",
    en_key: str = "en",
    status_key: str = "en_status",
    source_key: str = "en_source",
) -> None:
    """Add the zh and en literals of ``record`` to ``subject`` under ``label``, with the English status.

    Raises:
        SourceError: a text is missing, the status is unknown, or official English has no source.
    """
    graph.add((subject, label, Literal(record.text(zh_key, where=where), lang="zh")))
    graph.add((subject, label, Literal(record.text(en_key, where=where), lang="en")))
    status = record.text(status_key, where=where)
    if status not in STATUSES:
        raise record.error(f"{status_key} must be one of {sorted(STATUSES)}, not {status!r}", field=where + status_key)
    graph.set((subject, CPB.englishWording, STATUSES[status]))
    if status == "official":
        graph.add((subject, CPB.englishSource, URIRef(record.text(source_key, where=where))))
    else:
        graph.add((subject, SKOS.editorialNote, TRANSLATION_NOTE))


TRANSLATIONS_FILE = Path("translations") / "zh.yaml"


@dataclass
class Translation:
    """One entry of ``data/translations/zh.yaml``: the English it translates and the Chinese."""

    key: str
    en: str
    zh: str
    line: int
    #: a remark on this translation (e.g. which source wording it follows), published as an editorial note
    note: str | None = None


@dataclass
class Translations:
    """The project's Chinese translations of English labels, by resource.

    A translation is keyed by the resource (``id/gbf/target/17`` under the base, or a full
    URI for resources of other vocabularies, ``http://metadata.un.org/sdg/2.1``) and records
    the English it translates: when the English label changes, the build stops rather than
    publish a stale translation.
    """

    path: Path
    translator: str
    date: str
    why: str
    entries: dict[str, Translation]
    #: keys applied by :meth:`label`, so a test can find entries nothing uses
    used: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, data_dir: Path) -> Translations:
        """Read ``data/translations/zh.yaml``.

        Raises:
            SourceError: the file is broken, an entry lacks a field or is given twice.
        """
        path = data_dir / TRANSLATIONS_FILE
        records = read_records(path)
        entries: dict[str, Translation] = {}
        for record in records.items_of("translations"):
            key = record.text("of", where="translations.")
            if key in entries:
                raise record.error(f"{key} is translated twice (first on line {entries[key].line})", field="of")
            note = record.get("note")
            entries[key] = Translation(key, record.text("en", where=f"{key}."), record.text("zh", where=f"{key}."),
                                       record.line, str(note).strip() if note else None)
        return cls(path, records.text("translator"), records.text("date"), records.text("why"), entries)

    def key(self, ids: Ids, uri: URIRef) -> str:
        """The key of ``uri``: its path under the base (``id/...``), or the URI itself."""
        return str(uri)[len(ids.base):] if str(uri).startswith(ids.base) else str(uri)

    def note(self) -> list[Literal]:
        """The editorial notes every translated resource carries (what, by whom, when, why)."""
        return [
            Literal(f"The Chinese label of this resource is the project's translation of its English label "
                    f"({self.translator}, {self.date}), not official wording: {self.why}", lang="en"),
            Literal(f"本资源的中文标签是本项目根据其英文标签所作的翻译（{self.translator}，{self.date}），并非正式措辞。", lang="zh"),
        ]

    def label(self, graph: Graph, ids: Ids, uri: URIRef, en: str) -> None:
        """Give ``uri`` its translated Chinese label, marked as the project's translation.

        Args:
            graph: where to add it.
            ids: the URI scheme (for the key).
            uri: the resource, which must have no Chinese label of its own.
            en: its English label, the text the translation must be of.

        Raises:
            SourceError: no translation of ``uri``, or one of another English text.
        """
        key = self.key(ids, uri)
        entry = self.entries.get(key)
        if entry is None:
            raise SourceError(self.path, f"{key} has no Chinese label in its sources and no project translation: "
                              f"add one (of: {key}, en: {en!r}, zh: ...)", field="translations")
        if " ".join(entry.en.split()) != " ".join(en.split()):
            raise SourceError(self.path, f"the translation of {key} is of {entry.en!r}, but its English label is now "
                              f"{en!r}: translate the new text", line=entry.line, field=f"{key}.en")
        graph.add((uri, SKOS.prefLabel, Literal(entry.zh, lang="zh")))
        graph.set((uri, CPB.chineseWording, CPB.ProjectTranslation))
        for note in self.note():
            graph.add((uri, SKOS.editorialNote, note))
        if entry.note:
            graph.add((uri, SKOS.editorialNote, Literal(entry.note, lang="en")))
        self.used.add(key)

    def fill(self, graph: Graph, ids: Ids, subjects: list[URIRef]) -> None:
        """Translate the label of every one of ``subjects`` that has an English but no Chinese label."""
        for uri in subjects:
            labels = {lit.language: str(lit) for lit in graph.objects(uri, SKOS.prefLabel) if isinstance(lit, Literal)}
            if "zh" not in labels and "en" in labels:
                self.label(graph, ids, uri, labels["en"])


def translations_beside(sources_dir: Path) -> Translations:
    """The translations of the data directory that holds ``sources_dir`` (``data/sources``)."""
    return Translations.load(sources_dir.parent)


def official_chinese(graph: Graph, uri: URIRef, source: URIRef) -> None:
    """Mark the Chinese label of ``uri`` as official wording copied from ``source``."""
    graph.set((uri, CPB.chineseWording, CPB.OfficialWording))
    graph.add((uri, CPB.chineseSource, source))
