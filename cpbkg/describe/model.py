"""The vocabulary, constants and value objects of descriptions and pages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar, Union

import pyoxigraph as ox

from cpbkg.vocab import ONTOLOGY_IRI

T = TypeVar("T")
Resource = Union[ox.NamedNode, ox.BlankNode]  # noqa: UP007 (a runtime alias)
Term = Union[ox.NamedNode, ox.BlankNode, ox.Literal]  # noqa: UP007

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
CPB = ONTOLOGY_IRI + "#"

RDF_TYPE = ox.NamedNode(RDF + "type")
RDFS_LABEL = ox.NamedNode(RDFS + "label")
SKOS_PREFLABEL = ox.NamedNode(SKOS + "prefLabel")
SKOS_NOTATION = ox.NamedNode(SKOS + "notation")
SKOS_DEFINITION = ox.NamedNode(SKOS + "definition")
SKOS_EDITORIAL_NOTE = ox.NamedNode(SKOS + "editorialNote")
SKOS_ALTLABEL = ox.NamedNode(SKOS + "altLabel")
DCTERMS_TITLE = ox.NamedNode(DCTERMS + "title")
DCTERMS_SOURCE = ox.NamedNode(DCTERMS + "source")
DCTERMS_CREATOR = ox.NamedNode(DCTERMS + "creator")
DCTERMS_DATE = ox.NamedNode(DCTERMS + "date")
OWL_INVERSE_OF = ox.NamedNode(OWL + "inverseOf")


def cpb(name: str) -> ox.NamedNode:
    """A term of the CPB-KG ontology.

    >>> cpb("Goal").value
    'https://w3id.org/cpbkg/ontology#Goal'
    """
    return ox.NamedNode(CPB + name)


#: properties whose values name a resource, best first
LABEL_PROPERTIES = (SKOS_PREFLABEL, RDFS_LABEL, DCTERMS_TITLE)

#: names of the terms of other vocabularies that pages show (the store has no labels for them)
KNOWN_LABELS: dict[str, dict[str, str]] = {
    RDF + "type": {"en": "type", "zh": "类型"},
    RDFS + "label": {"en": "label", "zh": "标签"},
    RDFS + "comment": {"en": "comment", "zh": "注释"},
    RDFS + "seeAlso": {"en": "see also", "zh": "另见"},
    RDFS + "subClassOf": {"en": "subclass of", "zh": "父类"},
    RDFS + "subPropertyOf": {"en": "subproperty of", "zh": "父属性"},
    RDFS + "domain": {"en": "domain", "zh": "定义域"},
    RDFS + "range": {"en": "range", "zh": "值域"},
    OWL + "versionInfo": {"en": "version", "zh": "版本"},
    OWL + "sameAs": {"en": "same as", "zh": "等同于"},
    OWL + "inverseOf": {"en": "inverse of", "zh": "逆属性"},
    SKOS + "prefLabel": {"en": "preferred label", "zh": "首选标签"},
    SKOS + "altLabel": {"en": "alternative label", "zh": "别名"},
    SKOS + "notation": {"en": "code", "zh": "编号"},
    SKOS + "definition": {"en": "definition", "zh": "定义"},
    SKOS + "editorialNote": {"en": "editorial note", "zh": "编辑注释"},
    SKOS + "scopeNote": {"en": "scope note", "zh": "范围注释"},
    SKOS + "inScheme": {"en": "in scheme", "zh": "所属概念体系"},
    SKOS + "hasTopConcept": {"en": "has top concept", "zh": "顶层概念"},
    SKOS + "topConceptOf": {"en": "top concept of", "zh": "顶层概念所属"},
    SKOS + "broader": {"en": "broader", "zh": "上位"},
    SKOS + "narrower": {"en": "narrower", "zh": "下位"},
    SKOS + "related": {"en": "related", "zh": "相关"},
    SKOS + "exactMatch": {"en": "exact match", "zh": "完全匹配"},
    SKOS + "closeMatch": {"en": "close match", "zh": "近似匹配"},
    SKOS + "member": {"en": "member", "zh": "成员"},
    SKOS + "Concept": {"en": "concept", "zh": "概念"},
    SKOS + "ConceptScheme": {"en": "concept scheme", "zh": "概念体系"},
    DCTERMS + "source": {"en": "source", "zh": "来源"},
    DCTERMS + "title": {"en": "title", "zh": "标题"},
    DCTERMS + "description": {"en": "description", "zh": "描述"},
    DCTERMS + "date": {"en": "date", "zh": "日期"},
    DCTERMS + "created": {"en": "created", "zh": "创建日期"},
    DCTERMS + "modified": {"en": "modified", "zh": "修改日期"},
    DCTERMS + "creator": {"en": "creator", "zh": "创建者"},
    DCTERMS + "publisher": {"en": "publisher", "zh": "发布者"},
    DCTERMS + "license": {"en": "licence", "zh": "许可"},
    DCTERMS + "rights": {"en": "rights", "zh": "权利"},
    DCTERMS + "identifier": {"en": "identifier", "zh": "标识符"},
    DCTERMS + "language": {"en": "language", "zh": "语言"},
    DCTERMS + "temporal": {"en": "period", "zh": "时期"},
    DCTERMS + "format": {"en": "format", "zh": "格式"},
    DCTERMS + "isPartOf": {"en": "is part of", "zh": "属于"},
    DCTERMS + "hasPart": {"en": "has part", "zh": "包含"},
    DCTERMS + "references": {"en": "references", "zh": "提及"},
    DCTERMS + "isReferencedBy": {"en": "is referenced by", "zh": "被提及于"},
    "http://www.w3.org/ns/prov#wasDerivedFrom": {"en": "derived from", "zh": "来源于"},
    "http://www.w3.org/ns/prov#wasAssociatedWith": {"en": "associated with", "zh": "关联方"},
    DCTERMS + "spatial": {"en": "place", "zh": "地域"},
    DCTERMS + "alternative": {"en": "alternative title", "zh": "别名"},
    OWL + "members": {"en": "members", "zh": "成员"},
    "http://purl.org/vocab/vann/preferredNamespaceUri": {"en": "preferred namespace", "zh": "首选命名空间"},
    "http://purl.org/vocab/vann/preferredNamespacePrefix": {"en": "preferred prefix", "zh": "首选前缀"},
    "http://metadata.un.org/sdg/ontology#hasTarget": {"en": "has target", "zh": "具体目标"},
    "http://metadata.un.org/sdg/ontology#isTargetOf": {"en": "target of", "zh": "所属目标"},
    "http://metadata.un.org/sdg/ontology#hasIndicator": {"en": "has indicator", "zh": "指标"},
    "http://metadata.un.org/sdg/ontology#isIndicatorOf": {"en": "indicator of", "zh": "所属具体目标"},
    "http://rdfs.org/ns/void#triples": {"en": "triples", "zh": "三元组数"},
    "http://rdfs.org/ns/void#subset": {"en": "subset", "zh": "子集"},
    "http://rdfs.org/ns/void#Dataset": {"en": "dataset (VoID)", "zh": "数据集（VoID）"},
    "http://www.w3.org/ns/dcat#Dataset": {"en": "dataset (DCAT)", "zh": "数据集（DCAT）"},
    "http://www.w3.org/ns/dcat#distribution": {"en": "distribution", "zh": "分发"},
    "http://www.w3.org/ns/sparql-service-description#NamedGraph": {"en": "named graph", "zh": "命名图"},
}

#: parent relations walked for breadcrumbs: (property, True if it points from child to parent)
PARENT_RELATIONS: tuple[tuple[ox.NamedNode, bool], ...] = (
    (cpb("hasGoal"), False), (cpb("inArea"), True),
    (cpb("hasObjective"), False), (cpb("objectiveOf"), True),
    (cpb("hasIndicator"), False), (cpb("indicatorOf"), True),
    (cpb("hasOutcome"), False), (cpb("outcomeOf"), True),
    (ox.NamedNode(SKOS + "hasTopConcept"), False), (ox.NamedNode(SKOS + "topConceptOf"), True),
    (cpb("hasProvision"), False), (cpb("provisionOf"), True),
    (cpb("hasAction"), False), (cpb("actionOf"), True),
    (cpb("hasPart"), False), (cpb("partOf"), True),
    (cpb("hasQuestion"), False), (cpb("questionIn"), True),
    (cpb("hasSection"), False), (cpb("sectionOf"), True),
    (cpb("hasOption"), False),
    (cpb("targetIndicator"), False), (cpb("indicatorForTarget"), True),
    (cpb("indicatorQuestion"), False), (cpb("questionForIndicator"), True),
    (cpb("member"), True),
    (cpb("inRegion"), True),
    (ox.NamedNode(SKOS + "broader"), True),
)
SKOS_BROADER = ox.NamedNode(SKOS + "broader")

#: the kinds of resources in the order pages list them (links grouped by kind, search results)
KIND_ORDER: tuple[str, ...] = tuple(CPB + name for name in (
    "ImplementationPlan", "Area", "Goal", "Objective", "Indicator", "Outcome",
    "GBFVision", "GBFMission", "GBFGoal", "GBFTarget", "GBFIndicator", "GBFQuestion",
    "Treaty", "Article", "TreatyAnnex", "Provision",
    "Decision", "OperativeParagraph", "PreambularParagraph", "AnnexSection", "AnnexParagraph", "Footnote",
    "DecisionPart", "Action", "Actor",
    "Questionnaire", "QuestionnaireSection", "ReportQuestion", "AnswerOption",
    "Party", "Region", "Membership", "Link",
))
KIND_RANK = {iri: i for i, iri in enumerate(KIND_ORDER)}

#: outgoing properties a resource page shows in its own places, not in the link groups
PAGE_SPECIAL = frozenset({
    RDF_TYPE, SKOS_NOTATION, cpb("text"), cpb("englishWording"), cpb("englishSource"),
    cpb("chineseWording"), cpb("chineseSource"), SKOS_EDITORIAL_NOTE, DCTERMS_SOURCE,
})
#: incoming properties not shown as links in: a link record's pointers (shown as the basis of the link)
HIDDEN_INCOMING = frozenset({
    cpb("linkSubject"), cpb("linkObject"), ox.NamedNode(RDF + "subject"), ox.NamedNode(RDF + "object"),
})
#: the two languages shown side by side
MAIN_LANGUAGES = ("zh", "en")
#: The label-fallback order per page language (docs/labels.md), the same on every page: the page's
#: language, the other main language, a label without a tag; then any label, the code, the local
#: name. Within zh, official Chinese comes before the project's translation because the build gives a
#: resource a translated zh label only where no source has one (cpb:chineseWording says which it is,
#: and a shape fails a resource with two); so "zh" here is "official zh, else the project's zh".
LABEL_FALLBACK: dict[str, tuple[str, ...]] = {"zh": ("zh", "en", ""), "en": ("en", "zh", "")}

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, object], ...]:
    """Sort key that puts ``A.2`` before ``A.10`` and ``Target 3`` before ``Target 17``.

    >>> sorted(["A.10", "A.2", "B.1", "A.1(b)", "A.1(a)"], key=natural_key)
    ['A.1(a)', 'A.1(b)', 'A.2', 'A.10', 'B.1']
    """
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in _DIGITS.split(text) if p)


def local_name(iri: str) -> str:
    """The last part of an IRI, after ``#`` or ``/``.

    >>> local_name("https://w3id.org/cpbkg/ontology#Goal")
    'Goal'
    >>> local_name("http://metadata.un.org/sdg/2")
    '2'
    """
    for sep in ("#", "/"):
        _head, found, tail = iri.rstrip("/").rpartition(sep)
        if found and tail:
            return tail
    return iri


def dedupe(items: Iterable[T]) -> list[T]:
    """``items`` without repeats, in their first order."""
    seen: set[T] = set()
    out: list[T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


@dataclass
class Ref:
    """A resource as a page names it: its term, labels by language, code."""

    term: Resource
    labels: dict[str, str]
    notation: str | None = None
    #: the store holds triples about it (so the site has a page for it)
    described: bool = False
    #: what to call it when it has neither label nor code (else its local name)
    fallback: str | None = None

    @property
    def value(self) -> str:
        return self.term.value if isinstance(self.term, ox.NamedNode) else "_:" + self.term.value

    @property
    def is_blank(self) -> bool:
        return isinstance(self.term, ox.BlankNode)

    def label(self, lang: str) -> str:
        """The label in the first language of :data:`LABEL_FALLBACK` for ``lang`` that has one, else
        any label, else the code or local name."""
        for key in LABEL_FALLBACK.get(lang, (lang, *LABEL_FALLBACK["en"])):
            if key in self.labels:
                return self.labels[key]
        if self.labels:
            return next(iter(self.labels.values()))
        if self.notation:
            return self.notation
        return self.fallback or local_name(self.term.value)

    def label_lang(self, lang: str) -> str:
        """The language tag of :meth:`label` ('' when the label has none)."""
        for key in LABEL_FALLBACK.get(lang, (lang, *LABEL_FALLBACK["en"])):
            if key in self.labels:
                return key
        return next(iter(self.labels), "")

    def other_label(self, lang: str) -> tuple[str, str] | None:
        """The label in the other main language, with its tag, when it exists and differs."""
        other = "en" if lang == "zh" else "zh"
        text = self.labels.get(other)
        if text and text != self.label(lang):
            return other, text
        return None

    @property
    def sort_key(self) -> tuple[tuple[int, object], ...]:
        return natural_key(self.notation or self.labels.get("en") or self.label("en"))


@dataclass
class LinkInfo:
    """A ``cpb:Link`` record: the basis and provenance of one link."""

    link: ox.NamedNode
    subject: Resource | None
    predicate: ox.NamedNode | None
    object: Resource | None
    basis: Ref | None
    justification: list[ox.Literal]
    creators: list[str]
    date: str | None
    sources: list[Ref]

    @property
    def basis_key(self) -> str:
        """``explicit``, ``official``, ``curated`` or ``other``: for styling."""
        value = self.basis.term.value if self.basis else ""
        return {CPB + "ExplicitCitation": "explicit", CPB + "OfficialMapping": "official",
                CPB + "CuratedLink": "curated"}.get(value, "other")


@dataclass
class Edge:
    """One triple seen from one of its ends: the property, the resource or value at the other end."""

    prop: ox.NamedNode
    other: Ref | ox.Literal
    inferred: bool
    link: LinkInfo | None = None
    #: for a blank node at the other end: its own properties, one level deep
    nested: list[tuple[Ref, Ref | ox.Literal]] = field(default_factory=list)


@dataclass
class PropertyGroup:
    """The edges of one property, sorted; ``total`` counts those left out beyond the cap too.

    ``kinds`` splits the shown edges by the kind (main type, :meth:`Describer.kind`) of the
    resource at the other end, in the order of :data:`KIND_ORDER`: goals before objectives
    before indicators, and so on. Literal values and untyped resources go last, kind None.
    """

    prop: Ref
    edges: list[Edge]
    total: int
    kinds: list[tuple[Ref | None, list[Edge]]] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return self.total - len(self.edges)


@dataclass
class Page:
    """What a resource page shows."""

    node: Ref
    types: list[Ref]
    inferred_types: list[Ref]
    notations: list[str]
    texts: dict[str, list[ox.Literal]]
    wording: Ref | None
    english_sources: list[Ref]
    editorial_notes: list[ox.Literal]
    sources: list[Ref]
    literals: list[tuple[Ref, list[ox.Literal]]]
    out_groups: list[PropertyGroup]
    out_inferred: list[PropertyGroup]
    in_groups: list[PropertyGroup]
    in_inferred: list[PropertyGroup]
    breadcrumbs: list[Ref]
    is_graph: bool = False
    graph_triples: int | None = None
    #: what the Chinese label is (cpb:chineseWording: official, the project's translation or
    #: paraphrase) and where official Chinese comes from (cpb:chineseSource)
    chinese_wording: Ref | None = None
    chinese_sources: list[Ref] = field(default_factory=list)

    @property
    def has_link_records(self) -> bool:
        """Some link shown has a ``cpb:Link`` record (so its basis is shown)."""
        return any(edge.link for group in self.out_groups + self.in_groups for edge in group.edges)

    @property
    def english_kind(self) -> str | None:
        """What the English text is (:func:`wording_kind` of ``cpb:englishWording``)."""
        return wording_kind(self.wording)

    @property
    def chinese_kind(self) -> str | None:
        """What the Chinese text is (:func:`wording_kind` of ``cpb:chineseWording``)."""
        return wording_kind(self.chinese_wording)


def wording_kind(status: Ref | None) -> str | None:
    """``"official"``, ``"translation"`` (the project's) or ``"other"`` (a paraphrase) for a
    ``cpb:WordingStatus``; None when the resource states none."""
    if status is None:
        return None
    return {CPB + "OfficialWording": "official", CPB + "ProjectTranslation": "translation"}.get(
        status.term.value, "other")


@dataclass
class OntologyTerm:
    """One class, property or individual of the ontology, for its documentation."""

    ref: Ref
    anchor: str
    kinds: list[Ref]
    definitions: list[ox.Literal]
    comments: list[ox.Literal]
    parents: list[Ref]
    domain: list[Ref]
    range: list[Ref]
    inverse: list[Ref]
    instances: int | None = None


@dataclass
class OntologyDoc:
    """The documentation of the ontology, generated from its graph."""

    ontology: Ref
    descriptions: list[ox.Literal]
    version: str | None
    licence: list[Ref]
    classes: list[OntologyTerm]
    object_properties: list[OntologyTerm]
    datatype_properties: list[OntologyTerm]
    individuals: list[OntologyTerm]


@dataclass
class MatrixCell:
    goal: Ref
    target: Ref
    links: int


@dataclass
class Matrix:
    goals: list[Ref]
    targets: list[Ref]
    rows: list[list[MatrixCell]]


@dataclass
class Match:
    """A label that matched a search, with where the searched text is in it."""

    literal: ox.Literal
    start: int
    end: int

    @property
    def before(self) -> str:
        return self.literal.value[: self.start]

    @property
    def matched(self) -> str:
        return self.literal.value[self.start: self.end]

    @property
    def after(self) -> str:
        return self.literal.value[self.end:]


@dataclass
class SearchHit:
    ref: Ref
    kind: Ref | None
    matches: list[Match]
    score: int


@dataclass
class SearchResults:
    """What :meth:`Describer.search` found: the best ``hits``, out of ``total`` resources matched.

    ``truncated``: the scan stopped at :attr:`Describer.SEARCH_SCAN` labels, so there may be more.
    """

    text: str
    hits: list[SearchHit]
    total: int
    truncated: bool


def kind_rank(t: ox.NamedNode) -> tuple[int, int, str]:
    """Which type of a resource is its main one: :data:`KIND_ORDER`, then CPB-KG's own classes."""
    return (KIND_RANK.get(t.value, len(KIND_RANK)), 0 if t.value.startswith(CPB) else 1, t.value)


def main_type(stated: list[ox.NamedNode], inferred: list[ox.NamedNode]) -> ox.NamedNode | None:
    """The main type: the best stated one, else the best inferred one."""
    types = stated or inferred
    return min(types, key=kind_rank) if types else None
