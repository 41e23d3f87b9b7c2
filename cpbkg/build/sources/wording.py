"""Chinese and English wording of a resource, with the status of the English.

The official text of CP-10/3 is Chinese. English is official only where an official
English source has it; elsewhere it is the project's translation, and the data says
so on the resource (``cpb:englishWording cpb:ProjectTranslation`` plus an editorial
note a person reads), never silently.
"""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from cpbkg.build.sources.records import Record
from cpbkg.vocab import CPB

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
