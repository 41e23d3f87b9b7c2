"""Label statistics of a build: per class and language, the share of resources with a label.

:func:`label_statistics` counts, for every class with instances, how many have a label
(``skos:prefLabel``, ``rdfs:label`` or ``dcterms:title``, the properties pages name resources by)
in each language, writes the counts into the VoID description as the class partition's
``cpb:labelStatistics`` (``dcterms:language``, ``void:entities``, ``cpb:labelShare``) and prints
them, one line per class. A Chinese label is counted whether it is official or the project's
translation (``cpb:chineseWording`` says which); see docs/labels.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, VOID, XSD

from cpbkg.vocab import CPB, Ids

#: the languages counted: the six UN languages, the site's two first
LANGUAGES = ("zh", "en", "fr", "es", "ru", "ar")
_LANGUAGE_ZH = {"zh": "中文", "en": "英文", "fr": "法文", "es": "西班牙文", "ru": "俄文", "ar": "阿拉伯文"}
#: the properties a label is read from (cpbkg.describe.model.LABEL_PROPERTIES, as IRIs)
LABEL_PROPERTIES = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label",
                    "http://purl.org/dc/terms/title")

_QUERY = """SELECT ?cls (COUNT(DISTINCT ?x) AS ?n) %s WHERE {
  { SELECT DISTINCT ?cls ?x WHERE { GRAPH ?g { ?x a ?cls } FILTER(isIRI(?cls) && isIRI(?x)) } }
  %s
} GROUP BY ?cls"""
_OPTIONAL = """OPTIONAL {{ ?x {props} ?l_{lang} FILTER(LANGMATCHES(LANG(?l_{lang}), "{lang}")) }}"""


@dataclass(frozen=True)
class ClassLabels:
    """How many resources of a class there are, and how many have a label in each language."""

    cls: str
    total: int
    labelled: dict[str, int]

    def share(self, lang: str) -> Decimal:
        """The share with a label in ``lang``, 0-1, rounded half up to four decimals."""
        if not self.total:
            return Decimal(0)
        return (Decimal(self.labelled[lang]) / Decimal(self.total)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def count_labels(store: ox.Store) -> list[ClassLabels]:
    """Per class (named instances only), the resources with a label in each of :data:`LANGUAGES`."""
    props = "|".join(f"<{p}>" for p in LABEL_PROPERTIES)
    counts = " ".join(f"(COUNT(DISTINCT ?has_{lang}) AS ?n_{lang})" for lang in LANGUAGES)
    optionals = "\n  ".join(_OPTIONAL.format(props=props, lang=lang) + f" BIND(IF(BOUND(?l_{lang}), ?x, ?nothing) AS ?has_{lang})"
                            for lang in LANGUAGES)
    rows = store.query(_QUERY % (counts, optionals), use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)
    out = []
    for row in rows:
        cls, total = row["cls"], row["n"]
        if not isinstance(cls, ox.NamedNode) or total is None:
            continue
        labelled = {}
        for lang in LANGUAGES:
            value = row[f"n_{lang}"]
            labelled[lang] = int(value.value) if value is not None else 0
        out.append(ClassLabels(cls.value, int(total.value), labelled))
    return sorted(out, key=lambda c: c.cls)


def describe_labels(void: Graph, dataset: URIRef, stats: list[ClassLabels]) -> None:
    """Add the counts to the class partitions of ``dataset`` in ``void`` (made where missing)."""
    partitions = {str(cls): node for node, cls in void.subject_objects(VOID["class"])}
    for entry in stats:
        node = partitions.get(entry.cls)
        if node is None:
            node = BNode()
            void.add((dataset, VOID.classPartition, node))
            void.add((node, VOID["class"], URIRef(entry.cls)))
            void.add((node, VOID.entities, Literal(entry.total, datatype=XSD.integer)))
        for lang in LANGUAGES:
            stat = URIRef(f"{node}/labels/{lang}") if isinstance(node, URIRef) else BNode()
            void.add((node, CPB.labelStatistics, stat))
            void.add((stat, RDF.type, CPB.LabelStatistics))
            void.add((stat, RDFS.label, Literal(f"{short_name(entry.cls)}: labels in {lang}", lang="en")))
            void.add((stat, RDFS.label, Literal(f"{short_name(entry.cls)}：{_LANGUAGE_ZH[lang]}标签", lang="zh")))
            void.add((stat, DCTERMS.language, Literal(lang)))
            void.add((stat, VOID.entities, Literal(entry.labelled[lang], datatype=XSD.integer)))
            void.add((stat, CPB.labelShare, Literal(entry.share(lang), datatype=XSD.decimal)))


#: prefixes for printing class names (the local names alone repeat: skos:Concept, cpb:Concept ...)
_PRINTED_PREFIXES = {
    "https://w3id.org/cpbkg/ontology#": "cpb:", "http://www.w3.org/2004/02/skos/core#": "skos:",
    "http://www.w3.org/2002/07/owl#": "owl:", "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf:", "http://www.w3.org/ns/prov#": "prov:",
    "http://purl.org/linked-data/cube#": "qb:", "http://purl.org/dc/terms/": "dcterms:",
}


def short_name(iri: str) -> str:
    """A class IRI with a known prefix.

    >>> short_name("http://www.w3.org/2004/02/skos/core#Concept")
    'skos:Concept'
    """
    for namespace, prefix in _PRINTED_PREFIXES.items():
        if iri.startswith(namespace):
            return prefix + iri[len(namespace):]
    return iri


def print_labels(stats: list[ClassLabels], out: TextIO | None = None) -> None:
    """One line per class: its instances and the share with a label per language (percent)."""
    out = out or sys.stderr
    # the build's progress line for writing dist/ is open: start on a line of our own
    print("", file=out)
    print("  labels per class (share of resources with a label): " + " ".join(f"{lang:>5}" for lang in LANGUAGES),
          file=out)
    for entry in stats:
        name = short_name(entry.cls)
        shares = " ".join(f"{float(entry.share(lang)) * 100:5.0f}" for lang in LANGUAGES)
        print(f"    {name:<44} {entry.total:>6}    {shares}", file=out)


def label_statistics(void: Graph, ids: Ids, store: ox.Store, out: TextIO | None = None) -> list[ClassLabels]:
    """Count, describe in VoID and print the label statistics of a build (see the module docstring)."""
    stats = count_labels(store)
    describe_labels(void, ids.dataset(), stats)
    print_labels(stats, out)
    return stats


