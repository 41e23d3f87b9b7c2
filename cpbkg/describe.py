"""Reading a resource's description and the data of its pages out of a pyoxigraph store.

Nothing here builds SPARQL from user input: resources are looked up with
:meth:`pyoxigraph.Store.quads_for_pattern` on terms, so a URI from a request is only ever a
``NamedNode`` handed to the store.

The RDF description of a resource (:meth:`Describer.description`, what ``/id/...`` returns
as Turtle, JSON-LD, N-Triples or RDF/XML) holds, over the union of all named graphs
(the ``inferred`` graph included, duplicates removed):

1. its **concise bounded description** (CBD): every triple with the resource as subject and,
   recursively, every triple whose subject is a blank node reached that way;
2. the **labels of its objects**: ``skos:prefLabel``, ``rdfs:label``, ``dcterms:title`` and
   ``skos:notation`` of every IRI that is an object in 1, so that a client can name what the
   resource links to without a second request;
3. the **records of its links**: the CBD of every ``cpb:Link`` whose ``cpb:linkSubject`` is
   the resource, which says for each link it states the basis (explicit citation, official
   mapping, curated), source and, for curated links, justification, author and date.

>>> import pyoxigraph as ox
>>> store = ox.Store()
>>> a, b = ox.NamedNode("https://x.org/id/a"), ox.NamedNode("https://x.org/id/b")
>>> store.add(ox.Quad(a, ox.NamedNode(CPB + "cites"), b))
>>> store.add(ox.Quad(b, SKOS_PREFLABEL, ox.Literal("B", language="en")))
>>> d = Describer(store, "https://x.org/")
>>> [str(t) for t in d.description(a)]  # doctest: +NORMALIZE_WHITESPACE
['<https://x.org/id/a> <https://w3id.org/cpbkg/ontology#cites> <https://x.org/id/b>',
 '<https://x.org/id/b> <http://www.w3.org/2004/02/skos/core#prefLabel> "B"@en']
>>> d.ref(b).label("zh")
'B'
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

import pyoxigraph as ox

from cpbkg.namespaces import ONTOLOGY_IRI

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
    SKOS_EDITORIAL_NOTE, DCTERMS_SOURCE,
})
#: incoming properties not shown as links in: a link record's pointers (shown as the basis of the link)
HIDDEN_INCOMING = frozenset({
    cpb("linkSubject"), cpb("linkObject"), ox.NamedNode(RDF + "subject"), ox.NamedNode(RDF + "object"),
})
#: the two languages shown side by side
MAIN_LANGUAGES = ("zh", "en")

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


def _dedupe(items: Iterable[object]) -> list:  # type: ignore[type-arg]
    seen: set[object] = set()
    out = []
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
        """The label in ``lang``, else in the other main language, else any, else the code or local name."""
        for key in (lang, *MAIN_LANGUAGES, ""):
            if key in self.labels:
                return self.labels[key]
        if self.labels:
            return next(iter(self.labels.values()))
        if self.notation:
            return self.notation
        return self.fallback or local_name(self.term.value)

    def label_lang(self, lang: str) -> str:
        """The language tag of :meth:`label` ('' when the label has none)."""
        for key in (lang, *MAIN_LANGUAGES, ""):
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

    @property
    def has_link_records(self) -> bool:
        """Some link shown has a ``cpb:Link`` record (so its basis is shown)."""
        return any(edge.link for group in self.out_groups + self.in_groups for edge in group.edges)

    @property
    def is_project_translation(self) -> bool:
        return bool(self.wording and self.wording.term.value == CPB + "ProjectTranslation")

    @property
    def is_official_english(self) -> bool:
        return bool(self.wording and self.wording.term.value == CPB + "OfficialWording")


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


#: the label properties search looks in
SEARCH_PROPERTIES = (SKOS_PREFLABEL, SKOS_ALTLABEL, SKOS_NOTATION, RDFS_LABEL, DCTERMS_TITLE)
#: the search queries: the text is bound to ?needle with ``substitutions``, never pasted in.
#: MATCH_PATTERN: the resources with a label (or code) that contains the text
MATCH_PATTERN = """VALUES ?p { %s }
  ?s ?p ?label .
  FILTER(isIRI(?s) && isLiteral(?label) && CONTAINS(LCASE(STR(?label)), ?needle))"""
#: the labels that matched
SEARCH_QUERY = "SELECT DISTINCT ?s ?label ?needle WHERE {\n  %s\n} LIMIT %d"
#: the types (and the graph that states each) and codes of the resources that matched: one query
#: for what ranking needs, instead of one look-up per resource (a remote store answers each over HTTP)
FACTS_QUERY = """SELECT DISTINCT ?s ?type ?g ?notation ?needle WHERE {
  %s
  OPTIONAL { ?s a ?type OPTIONAL { GRAPH ?g { ?s a ?type } } }
  OPTIONAL { ?s <http://www.w3.org/2004/02/skos/core#notation> ?notation }
} LIMIT %d"""
#: the types (with the graph stating each) and codes of every resource with a label or code: the
#: second query of the label index (:class:`LabelIndex`), :data:`FACTS_QUERY` for all at once
INDEX_FACTS_QUERY = """SELECT DISTINCT ?s ?type ?g ?notation WHERE {
  { SELECT DISTINCT ?s WHERE {
    VALUES ?p { %s }
    ?s ?p ?label .
    FILTER(isIRI(?s) && isLiteral(?label))
  } }
  OPTIONAL { ?s a ?type OPTIONAL { GRAPH ?g { ?s a ?type } } }
  OPTIONAL { ?s <http://www.w3.org/2004/02/skos/core#notation> ?notation }
} LIMIT %d"""
#: the most label literals (rows of :data:`SEARCH_PROPERTIES` values) the in-memory label index
#: holds: it keeps each label, its subject and its lower-cased text, ~460 bytes a row (measured:
#: 6 MB for the published graph's 13,815), so at most ~140 MB, scanned in ~30 ms a word. The
#: published graph and the 1.15M-triple benchmark graph hold ~14,000 (the extra triples are answers
#: without labels); a store with more is searched with queries, as before, so memory stays bounded.
LABEL_INDEX_MAX = 300_000
_WORD_START = re.compile(r"\w", re.UNICODE)


def _kind_rank(t: ox.NamedNode) -> tuple[int, int, str]:
    """Which type of a resource is its main one: :data:`KIND_ORDER`, then CPB-KG's own classes."""
    return (KIND_RANK.get(t.value, len(KIND_RANK)), 0 if t.value.startswith(CPB) else 1, t.value)


def _main_type(stated: list[ox.NamedNode], inferred: list[ox.NamedNode]) -> ox.NamedNode | None:
    """The main type: the best stated one, else the best inferred one."""
    types = stated or inferred
    return min(types, key=_kind_rank) if types else None


class LabelIndex:
    """Every label and code of the store's IRIs, in memory, for :meth:`Describer.search`.

    ``rows`` are the (subject, label) pairs :data:`SEARCH_QUERY` reads, in the order the store
    gives them (so a search picks the same rows, and stops at the same one, as the query would),
    with each label's lower-cased text beside it; ``kinds`` the main type of each subject
    (:meth:`Describer.kind`) and ``codes`` its ``skos:notation`` values. Two queries build it:
    the labels (:data:`SEARCH_QUERY` with the empty text, which every label contains) and their
    subjects' types and codes (:data:`INDEX_FACTS_QUERY`). Read-only once built.
    """

    def __init__(self, rows: list[tuple[ox.NamedNode, ox.Literal]], kinds: dict[ox.NamedNode, ox.NamedNode],
                 codes: dict[ox.NamedNode, list[str]]) -> None:
        self.rows = rows
        self.texts = [label.value.lower() for _, label in rows]
        self.kinds = kinds
        self.codes = codes

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def build(cls, store: Any, inferred_graph: ox.NamedNode, max_labels: int) -> LabelIndex | None:
        """The index of ``store``; None when it holds more than ``max_labels`` labels (or their
        types and codes more than 8 rows a label): then searches query the store."""
        props = " ".join(f"<{p.value}>" for p in SEARCH_PROPERTIES)
        every = {ox.Variable("needle"): ox.Literal("")}
        subjects: dict[ox.NamedNode, ox.NamedNode] = {}  # one object per subject: less memory
        rows: list[tuple[ox.NamedNode, ox.Literal]] = []
        for row in store.query(SEARCH_QUERY % (MATCH_PATTERN % props, max_labels + 1),
                               use_default_graph_as_union=True, substitutions=every):
            subject, label = row["s"], row["label"]
            if isinstance(subject, ox.NamedNode) and isinstance(label, ox.Literal):
                rows.append((subjects.setdefault(subject, subject), label))
            if len(rows) > max_labels:
                return None
        limit = 8 * max(len(rows), 1)
        facts = list(store.query(INDEX_FACTS_QUERY % (props, limit + 1), use_default_graph_as_union=True))
        if len(facts) > limit:
            return None
        # (resource, type) -> stated in some graph other than the inferred one (as FACTS_QUERY is read)
        types: dict[tuple[ox.NamedNode, ox.NamedNode], bool] = {}
        codes: dict[ox.NamedNode, list[str]] = {}
        for row in facts:
            subject, kind, graph, code = row["s"], row["type"], row["g"], row["notation"]
            if not isinstance(subject, ox.NamedNode) or subject not in subjects:
                continue
            subject = subjects[subject]
            if isinstance(kind, ox.NamedNode):
                types[(subject, kind)] = types.get((subject, kind), False) or graph != inferred_graph
            if isinstance(code, ox.Literal):
                found = codes.setdefault(subject, [])
                if code.value not in found:
                    found.append(code.value)
        stated: dict[ox.NamedNode, list[ox.NamedNode]] = {}
        inferred: dict[ox.NamedNode, list[ox.NamedNode]] = {}
        for (subject, kind), is_stated in types.items():
            (stated if is_stated else inferred).setdefault(subject, []).append(kind)
        kinds: dict[ox.NamedNode, ox.NamedNode] = {}
        for subject in subjects:
            main = _main_type(stated.get(subject, []), inferred.get(subject, []))
            if main is not None:
                kinds[subject] = main
        return cls(rows, kinds, codes)

    def matching(self, needle: str, limit: int) -> list[tuple[ox.NamedNode, ox.Literal]]:
        """The first ``limit`` rows whose lower-cased label contains ``needle``, in index order."""
        out: list[tuple[ox.NamedNode, ox.Literal]] = []
        for row, text in zip(self.rows, self.texts):
            if needle in text:
                out.append(row)
                if len(out) >= limit:
                    break
        return out


class _IndexSlot:
    """Where the label index of one store is built, once (:func:`_label_index`)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.built = False
        self.index: LabelIndex | None = None


#: the label index of the store last searched, per (inferred graph, bound): a page request makes
#: a new Describer (cpbkg.web.ui.View), and the index outlives it. The served store is read-only,
#: and another store (a reload's) takes its place here, so an index is never stale and the old
#: store is let go. A few keys at most (one per base in practice; tests use several).
_INDEX_SLOTS: collections.OrderedDict[tuple[str, int], _IndexSlot] = collections.OrderedDict()
_INDEX_SLOTS_MAX = 4
_INDEX_SLOTS_LOCK = threading.Lock()


def _label_index(store: Any, inferred_graph: ox.NamedNode, max_labels: int) -> LabelIndex | None:
    """The label index of ``store``, built on first use by one thread while the others wait;
    None when the store holds too many labels (decided once). A failed build is tried again."""
    key = (inferred_graph.value, max_labels)
    with _INDEX_SLOTS_LOCK:
        slot = _INDEX_SLOTS.get(key)
        if slot is None or slot.store is not store:
            slot = _INDEX_SLOTS[key] = _IndexSlot(store)
        _INDEX_SLOTS.move_to_end(key)
        while len(_INDEX_SLOTS) > _INDEX_SLOTS_MAX:
            _INDEX_SLOTS.popitem(last=False)
    if not slot.built:
        with slot.lock:
            if not slot.built:
                slot.index = LabelIndex.build(store, inferred_graph, max_labels)
                slot.built = True
    return slot.index


def normalise_search(text: str) -> str:
    """The text searched for: spaces collapsed, lower case, at most 200 characters.

    >>> normalise_search("  Target   17 ")
    'target 17'
    """
    return " ".join(text.split())[:200].lower()


class Describer:
    """Reads descriptions and page data from one store; caches names within its own lifetime.

    Make one per request (or per store and build): the cache is not invalidated. The label index
    of :meth:`search` outlives it: one per store object, shared by the Describers of that store,
    which must therefore not change once searched (the served stores are read-only).
    """

    #: edges shown at most per property group (the rest is counted)
    GROUP_CAP = 200

    def __init__(self, store: ox.Store, base: str) -> None:
        self.store = store
        self.base = base if base.endswith("/") else base + "/"
        self.inferred_graph = ox.NamedNode(self.base + "graph/inferred")
        self.ontology_graph = ox.NamedNode(self.base + "graph/ontology")
        self._refs: dict[Resource, Ref] = {}
        self._inverse: dict[ox.NamedNode, ox.NamedNode] | None = None
        self._is_link: dict[Resource, bool] = {}
        self._kinds: dict[Resource, Ref | None] = {}
        self._codes: dict[Resource, list[str]] = {}
        self._label_index: LabelIndex | None = None
        self._label_index_read = False

    # ------------------------------------------------------------------ basic look-ups

    def quads(self, subject: Resource | None = None, predicate: ox.NamedNode | None = None,
              obj: Term | None = None, graph: ox.NamedNode | None = None) -> Iterator[ox.Quad]:
        """Quads of every graph matching the pattern (``graph`` restricts to one)."""
        return iter(self.store.quads_for_pattern(subject, predicate, obj, graph))

    def is_subject(self, node: Resource) -> bool:
        """The store holds at least one triple about ``node``."""
        return next(self.quads(node), None) is not None

    def is_graph(self, node: ox.NamedNode) -> bool:
        return self.store.contains_named_graph(node)

    def exists(self, node: Resource) -> bool:
        """``node`` has a description or is a named graph: something the site can show."""
        return self.is_subject(node) or (isinstance(node, ox.NamedNode) and self.is_graph(node))

    def objects(self, subject: Resource, predicate: ox.NamedNode) -> list[Term]:
        return _dedupe(q.object for q in self.quads(subject, predicate))

    def subjects(self, predicate: ox.NamedNode, obj: Term) -> list[Resource]:
        return _dedupe(q.subject for q in self.quads(None, predicate, obj))

    def labels(self, node: Resource) -> dict[str, str]:
        """One label per language tag ('' for none), from the first label property that has it."""
        found: dict[str, str] = {}
        for prop in LABEL_PROPERTIES:
            for q in self.quads(node, prop):
                if isinstance(q.object, ox.Literal):
                    found.setdefault(q.object.language or "", q.object.value)
        return found

    def notation(self, node: Resource) -> str | None:
        values = sorted(q.object.value for q in self.quads(node, SKOS_NOTATION) if isinstance(q.object, ox.Literal))
        return values[0] if values else None

    def is_link_record(self, node: Resource) -> bool:
        if node not in self._is_link:
            self._is_link[node] = next(self.quads(node, RDF_TYPE, cpb("Link")), None) is not None
        return self._is_link[node]

    def ref(self, node: Resource) -> Ref:
        """The resource with its labels and code (cached)."""
        if node not in self._refs:
            labels = self.labels(node)
            notation = self.notation(node)
            if not labels and isinstance(node, ox.NamedNode):
                labels = dict(KNOWN_LABELS.get(node.value, {}))
                if not labels and self.is_link_record(node):
                    labels = self._link_labels(node)
            fallback = None
            if not labels and not notation and isinstance(node, ox.NamedNode) and node.value.startswith(self.base):
                # one of ours without a name: its path says more than its last segment
                # (party/CHN/membership/cpb rather than cpb)
                fallback = node.value[len(self.base):].removeprefix("id/")
            self._refs[node] = Ref(node, labels, notation, self.exists(node), fallback)
        return self._refs[node]

    def _link_labels(self, link: ox.NamedNode) -> dict[str, str]:
        """A link record has no label of its own: name it by its triple."""
        parts = [self.objects(link, cpb(p)) for p in ("linkSubject", "linkPredicate", "linkObject")]
        if not all(parts):
            return {}
        out = {}
        for lang in MAIN_LANGUAGES:
            names = []
            for values in parts:
                node = values[0]
                if isinstance(node, ox.Literal):
                    names.append(node.value)
                    continue
                labels = self.labels(node)
                names.append(self.notation(node) or labels.get(lang) or labels.get("en") or local_name(node.value))
            out[lang] = " → ".join(names)
        return out

    def inverse_of(self, prop: ox.NamedNode) -> ox.NamedNode | None:
        """The inverse property the ontology declares (either direction), if any."""
        if self._inverse is None:
            self._inverse = {}
            for q in self.quads(None, OWL_INVERSE_OF):
                if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode):
                    self._inverse.setdefault(q.subject, q.object)
                    self._inverse.setdefault(q.object, q.subject)
        return self._inverse.get(prop)

    # ------------------------------------------------------------------ RDF description

    def cbd(self, node: Resource) -> list[ox.Triple]:
        """The concise bounded description of ``node`` (blank nodes followed), without duplicates."""
        triples: list[ox.Triple] = []
        seen: set[ox.Triple] = set()
        todo: list[Resource] = [node]
        visited: set[Resource] = set()
        while todo:
            current = todo.pop()
            if current in visited:
                continue
            visited.add(current)
            for q in self.quads(current):
                triple = ox.Triple(q.subject, q.predicate, q.object)
                if triple not in seen:
                    seen.add(triple)
                    triples.append(triple)
                if isinstance(q.object, ox.BlankNode):
                    todo.append(q.object)
        return triples

    def description(self, node: Resource) -> list[ox.Triple]:
        """What the site serves as the RDF of ``node``: CBD, object labels, link records (module docstring)."""
        triples = self.cbd(node)
        seen = set(triples)
        extra: list[ox.Triple] = []

        def add(items: Iterable[ox.Triple]) -> None:
            for triple in items:
                if triple not in seen:
                    seen.add(triple)
                    extra.append(triple)

        objects = _dedupe(t.object for t in triples if isinstance(t.object, ox.NamedNode) and t.object != node)
        for obj in objects:
            for prop in (*LABEL_PROPERTIES, SKOS_NOTATION):
                add(ox.Triple(q.subject, q.predicate, q.object) for q in self.quads(obj, prop))
        for link in self.subjects(cpb("linkSubject"), node):
            add(self.cbd(link))
        return sorted(triples + extra, key=str)

    # ------------------------------------------------------------------ links and their basis

    def link_info(self, link: ox.NamedNode) -> LinkInfo:
        def one(name: str) -> Term | None:
            values = self.objects(link, cpb(name))
            return values[0] if values else None

        basis = one("basis")
        subject, predicate, obj = one("linkSubject"), one("linkPredicate"), one("linkObject")
        dates = [v.value for v in self.objects(link, DCTERMS_DATE) if isinstance(v, ox.Literal)]
        return LinkInfo(
            link=link,
            subject=subject if isinstance(subject, (ox.NamedNode, ox.BlankNode)) else None,
            predicate=predicate if isinstance(predicate, ox.NamedNode) else None,
            object=obj if isinstance(obj, (ox.NamedNode, ox.BlankNode)) else None,
            basis=self.ref(basis) if isinstance(basis, ox.NamedNode) else None,
            justification=[v for v in self.objects(link, cpb("justification")) if isinstance(v, ox.Literal)],
            creators=sorted(v.value for v in self.objects(link, DCTERMS_CREATOR) if isinstance(v, ox.Literal)),
            date=min(dates) if dates else None,
            sources=[self.ref(s) for s in self.objects(link, DCTERMS_SOURCE) if isinstance(s, ox.NamedNode)],
        )

    def links_from(self, node: Resource) -> dict[tuple[ox.NamedNode, Term], LinkInfo]:
        """The link records of the links ``node`` states, by (predicate, object)."""
        out: dict[tuple[ox.NamedNode, Term], LinkInfo] = {}
        for link in self.subjects(cpb("linkSubject"), node):
            if isinstance(link, ox.NamedNode):
                info = self.link_info(link)
                if info.predicate is not None and info.object is not None:
                    out[(info.predicate, info.object)] = info
        return out

    def links_to(self, node: Resource) -> dict[tuple[Resource, ox.NamedNode], LinkInfo]:
        """The link records of the links pointing at ``node``, by (subject, predicate)."""
        out: dict[tuple[Resource, ox.NamedNode], LinkInfo] = {}
        for link in self.subjects(cpb("linkObject"), node):
            if isinstance(link, ox.NamedNode):
                info = self.link_info(link)
                if info.predicate is not None and info.subject is not None:
                    out[(info.subject, info.predicate)] = info
        return out

    # ------------------------------------------------------------------ pages

    def _grouped(self, node: Resource, *, outgoing: bool) -> dict[ox.NamedNode, dict[Term, bool]]:
        """{property: {other end: inferred only?}} over all graphs."""
        groups: dict[ox.NamedNode, dict[Term, bool]] = {}
        quads = self.quads(node) if outgoing else self.quads(None, None, node)
        for q in quads:
            other = q.object if outgoing else q.subject
            if isinstance(other, ox.Triple):
                continue  # RDF-star quoted triples: none in this dataset, nothing to show
            inferred = q.graph_name == self.inferred_graph
            seen = groups.setdefault(q.predicate, {})
            seen[other] = seen.get(other, True) and inferred
        return groups

    def _edge_sort(self, edge: Edge) -> tuple[object, ...]:
        if isinstance(edge.other, Ref):
            return (0, edge.other.sort_key)
        return (1, edge.other.language or "", natural_key(edge.other.value))

    def kind(self, node: Resource) -> Ref | None:
        """The main type of ``node``: a stated (not inferred) type, CPB-KG's own classes first.

        >>> store = ox.Store()
        >>> a = ox.NamedNode("https://x.org/id/a")
        >>> store.add(ox.Quad(a, RDF_TYPE, ox.NamedNode(SKOS + "Concept")))
        >>> store.add(ox.Quad(a, RDF_TYPE, cpb("Goal")))
        >>> Describer(store, "https://x.org/").kind(a).term.value
        'https://w3id.org/cpbkg/ontology#Goal'
        """
        if node not in self._kinds:
            stated: list[ox.NamedNode] = []
            inferred: list[ox.NamedNode] = []
            for q in self.quads(node, RDF_TYPE):
                if isinstance(q.object, ox.NamedNode):
                    (inferred if q.graph_name == self.inferred_graph else stated).append(q.object)
            self._kinds[node] = self._pick_kind(stated, inferred)
        return self._kinds[node]

    def _pick_kind(self, stated: list[ox.NamedNode], inferred: list[ox.NamedNode]) -> Ref | None:
        main = _main_type(stated, inferred)
        return self.ref(main) if main is not None else None

    def _by_kind(self, edges: list[Edge]) -> list[tuple[Ref | None, list[Edge]]]:
        buckets: dict[Resource | None, tuple[Ref | None, list[Edge]]] = {}
        for edge in edges:
            kind = self.kind(edge.other.term) if isinstance(edge.other, Ref) else None
            key = kind.term if kind else None
            buckets.setdefault(key, (kind, []))[1].append(edge)

        def rank(item: tuple[Ref | None, list[Edge]]) -> tuple[int, str]:
            kind = item[0]
            if kind is None:
                return (len(KIND_RANK) + 1, "")
            return (KIND_RANK.get(kind.value, len(KIND_RANK)), kind.label("en").lower())

        return sorted(buckets.values(), key=rank)

    def _make_groups(self, edges: dict[ox.NamedNode, list[Edge]]) -> list[PropertyGroup]:
        groups = []
        for prop, items in edges.items():
            items.sort(key=self._edge_sort)
            shown = items[: self.GROUP_CAP]
            groups.append(PropertyGroup(self.ref(prop), shown, len(items), self._by_kind(shown)))
        groups.sort(key=lambda g: (g.prop.label("en").lower(), g.prop.value))
        return groups

    def page(self, node: Resource) -> Page:
        """Everything a resource page shows about ``node``."""
        out = self._grouped(node, outgoing=True)
        links_from, links_to = self.links_from(node), self.links_to(node)

        types: list[Ref] = []
        inferred_types: list[Ref] = []
        for obj, inferred in out.get(RDF_TYPE, {}).items():
            if isinstance(obj, (ox.NamedNode, ox.BlankNode)):
                (inferred_types if inferred else types).append(self.ref(obj))
        types.sort(key=lambda r: r.sort_key)
        inferred_types.sort(key=lambda r: r.sort_key)

        def literals_of(prop: ox.NamedNode) -> list[ox.Literal]:
            return [o for o in out.get(prop, {}) if isinstance(o, ox.Literal)]

        def refs_of(prop: ox.NamedNode) -> list[Ref]:
            return sorted((self.ref(o) for o in out.get(prop, {}) if not isinstance(o, ox.Literal)),
                          key=lambda r: r.sort_key)

        texts: dict[str, list[ox.Literal]] = {}
        other_texts = []
        for lit in literals_of(cpb("text")):
            if (lit.language or "") in MAIN_LANGUAGES:
                texts.setdefault(lit.language or "", []).append(lit)
            else:
                other_texts.append(lit)
        wording = refs_of(cpb("englishWording"))

        out_edges: dict[ox.NamedNode, list[Edge]] = {}
        out_inferred: dict[ox.NamedNode, list[Edge]] = {}
        literal_rows: dict[ox.NamedNode, list[ox.Literal]] = {}
        for prop, others in out.items():
            if prop in PAGE_SPECIAL:
                continue
            for other, inferred in others.items():
                if isinstance(other, ox.Literal):
                    if prop in LABEL_PROPERTIES and (other.language or "") in MAIN_LANGUAGES + ("",):
                        continue  # shown as the title
                    literal_rows.setdefault(prop, []).append(other)
                    continue
                link = links_from.get((prop, other))
                inverse = self.inverse_of(prop)
                if link is None and inverse is not None:
                    link = links_to.get((other, inverse))
                edge = Edge(prop, self.ref(other), inferred, link)
                if isinstance(other, ox.BlankNode):
                    edge.nested = [(self.ref(q.predicate), q.object if isinstance(q.object, ox.Literal)
                                    else self.ref(q.object)) for q in self.quads(other)
                                   if not isinstance(q.object, ox.Triple)]
                (out_inferred if inferred else out_edges).setdefault(prop, []).append(edge)
        if other_texts:
            literal_rows.setdefault(cpb("text"), []).extend(other_texts)

        in_edges: dict[ox.NamedNode, list[Edge]] = {}
        in_inferred: dict[ox.NamedNode, list[Edge]] = {}
        for prop, others in self._grouped(node, outgoing=False).items():
            if prop in HIDDEN_INCOMING:
                continue
            for other, inferred in others.items():
                if isinstance(other, ox.Literal) or self.is_link_record(other):
                    continue
                link = links_to.get((other, prop))
                inverse = self.inverse_of(prop)
                if link is None and inverse is not None:
                    link = links_from.get((inverse, other))
                edge = Edge(prop, self.ref(other), inferred, link)
                (in_inferred if inferred else in_edges).setdefault(prop, []).append(edge)

        literals = []
        for prop, values in literal_rows.items():
            values.sort(key=lambda lit: (lit.language or "", natural_key(lit.value)))
            literals.append((self.ref(prop), values))
        literals.sort(key=lambda row: row[0].label("en").lower())

        is_graph = isinstance(node, ox.NamedNode) and self.is_graph(node)
        return Page(
            node=self.ref(node),
            types=types,
            inferred_types=inferred_types,
            notations=sorted((lit.value for lit in literals_of(SKOS_NOTATION)), key=natural_key),
            texts=texts,
            wording=wording[0] if wording else None,
            english_sources=refs_of(cpb("englishSource")),
            editorial_notes=literals_of(SKOS_EDITORIAL_NOTE),
            sources=refs_of(DCTERMS_SOURCE),
            literals=literals,
            out_groups=self._make_groups(out_edges),
            out_inferred=self._make_groups(out_inferred),
            in_groups=self._make_groups(in_edges),
            in_inferred=self._make_groups(in_inferred),
            breadcrumbs=self.breadcrumbs(node),
            is_graph=is_graph,
            graph_triples=self.count_triples(node) if is_graph and isinstance(node, ox.NamedNode) else None,
        )

    def count_triples(self, graph: ox.NamedNode) -> int:
        """How many triples a named graph holds."""
        return sum(1 for _ in self.quads(graph=graph))

    def parent(self, node: Resource) -> Resource | None:
        """The parent of ``node`` in the Plan, treaty, decision, questionnaire or region hierarchy.

        Of several candidates the most specific wins: one that is not ``skos:broader`` than
        another (a Party is in Eastern Asia, Asia and the World: its parent is Eastern Asia).
        """
        for prop, child_to_parent in PARENT_RELATIONS:
            if child_to_parent:
                found = [o for o in self.objects(node, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode))]
            else:
                found = self.subjects(prop, node)
            if len(found) > 1:
                broader = {b for f in found for b in self.objects(f, SKOS_BROADER)}
                found = [f for f in found if f not in broader] or found
            if found:
                return min(found, key=lambda n: n.value)
        return None

    def breadcrumbs(self, node: Resource) -> list[Ref]:
        """Ancestors, outermost first (the Implementation Plan is a root: its parents are not walked)."""
        plan = ox.NamedNode(self.base + "id/plan")
        chain: list[Ref] = []
        current: Resource | None = node
        seen = {node}
        while current is not None and current != plan and len(chain) < 8:
            current = self.parent(current)
            if current is None or current in seen:
                break
            seen.add(current)
            chain.append(self.ref(current))
        return list(reversed(chain))

    # ------------------------------------------------------------------ search

    #: label rows a search reads at most before ranking (the result cap is applied after)
    SEARCH_SCAN = 5000
    #: the most labels the store may hold for searches to use the in-memory :class:`LabelIndex`
    LABEL_INDEX_MAX = LABEL_INDEX_MAX

    def label_index(self) -> LabelIndex | None:
        """The store's label index (built by the first search of any Describer of this store, then
        shared); None when the store holds more than :attr:`LABEL_INDEX_MAX` labels."""
        if not self._label_index_read:
            self._label_index = _label_index(self.store, self.inferred_graph, self.LABEL_INDEX_MAX)
            self._label_index_read = True
        return self._label_index

    def _label_rows(self, needle: str) -> tuple[dict[ox.NamedNode, list[ox.Literal]], bool]:
        """{resource: its labels containing ``needle``}, and whether the scan hit its limit.

        From the label index when there is one (no query); else from the store, the kinds and
        codes of those resources read in the same go (:data:`FACTS_QUERY`)."""
        index = self.label_index()
        if index is None:
            return self._queried_label_rows(needle)
        rows = index.matching(needle, self.SEARCH_SCAN)
        found: dict[ox.NamedNode, list[ox.Literal]] = {}
        for subject, label in rows:
            found.setdefault(subject, []).append(label)
        for subject in found:
            if subject in index.codes:
                codes = self._codes.setdefault(subject, [])
                codes.extend(c for c in index.codes[subject] if c not in codes)
            if subject not in self._kinds:
                kind = index.kinds.get(subject)
                self._kinds[subject] = self.ref(kind) if kind is not None else None
        return found, len(rows) >= self.SEARCH_SCAN

    def _queried_label_rows(self, needle: str) -> tuple[dict[ox.NamedNode, list[ox.Literal]], bool]:
        """:meth:`_label_rows` without the index: two queries."""
        pattern = MATCH_PATTERN % " ".join(f"<{p.value}>" for p in SEARCH_PROPERTIES)
        bound: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable("needle"): ox.Literal(needle)}
        rows: list[ox.QuerySolution] = list(self.store.query(  # type: ignore[arg-type]
            SEARCH_QUERY % (pattern, self.SEARCH_SCAN), use_default_graph_as_union=True, substitutions=bound))
        found: dict[ox.NamedNode, list[ox.Literal]] = {}
        for row in rows:
            subject, label = row["s"], row["label"]
            if isinstance(subject, ox.NamedNode) and isinstance(label, ox.Literal):
                found.setdefault(subject, []).append(label)
        # (resource, type) -> stated in some graph other than the inferred one
        types: dict[tuple[ox.NamedNode, ox.NamedNode], bool] = {}
        facts: list[ox.QuerySolution] = list(self.store.query(  # type: ignore[arg-type]
            FACTS_QUERY % (pattern, 8 * self.SEARCH_SCAN), use_default_graph_as_union=True, substitutions=bound))
        for row in facts:
            subject, kind, graph, code = row["s"], row["type"], row["g"], row["notation"]
            if not isinstance(subject, ox.NamedNode):
                continue
            if isinstance(kind, ox.NamedNode):
                types[(subject, kind)] = types.get((subject, kind), False) or graph != self.inferred_graph
            if isinstance(code, ox.Literal):
                codes = self._codes.setdefault(subject, [])
                if code.value not in codes:
                    codes.append(code.value)
        stated: dict[ox.NamedNode, list[ox.NamedNode]] = {}
        inferred: dict[ox.NamedNode, list[ox.NamedNode]] = {}
        for (subject, kind), is_stated in types.items():
            (stated if is_stated else inferred).setdefault(subject, []).append(kind)
        for subject in found:
            if subject not in self._kinds:
                self._kinds[subject] = self._pick_kind(stated.get(subject, []), inferred.get(subject, []))
        return found, len(rows) >= self.SEARCH_SCAN

    def search(self, text: str, *, limit: int = 100) -> SearchResults:
        """Resources whose labels or codes contain ``text``, in any language, case-insensitive.

        Looks in ``skos:prefLabel``, ``skos:altLabel``, ``skos:notation``, ``rdfs:label`` and
        ``dcterms:title``. Text of several words also finds a resource whose labels hold each
        word, or whose kind's name does ("target 17" finds GBF Target 17, "指标 A.1(a)" the
        indicator). Best first: a label or code equal to the text, then one that starts with it,
        then one with a word starting with it, then any, then word-by-word matches; ties by kind
        (Plan elements first, :data:`KIND_ORDER`) and code. At most ``limit`` hits.

        No query: the labels are looked up in the store's :class:`LabelIndex`, which the first
        search builds with two queries (then shared by every Describer of the store). A store with
        more than :data:`LABEL_INDEX_MAX` labels has none: then two queries per word, whatever the
        number of matches (the text bound, never pasted in).

        >>> store = ox.Store()
        >>> a, b = ox.NamedNode("https://x.org/id/a"), ox.NamedNode("https://x.org/id/b")
        >>> store.add(ox.Quad(a, SKOS_PREFLABEL, ox.Literal("生物安全框架", language="zh")))
        >>> store.add(ox.Quad(b, SKOS_NOTATION, ox.Literal("A.1")))
        >>> store.add(ox.Quad(b, RDF_TYPE, cpb("Goal")))
        >>> store.add(ox.Quad(cpb("Goal"), SKOS_PREFLABEL, ox.Literal("long-term goal", language="en")))
        >>> d = Describer(store, "https://x.org/")
        >>> [h.ref.value for h in d.search("安全").hits]
        ['https://x.org/id/a']
        >>> [h.ref.value for h in d.search("Goal  a.1").hits]
        ['https://x.org/id/b']
        >>> d.search('a.1" } ?x ?y ?z {').total
        0
        """
        needle = normalise_search(text)
        if not needle:
            return SearchResults(text, [], 0, False)
        found, truncated = self._label_rows(needle)
        scored: dict[ox.NamedNode, tuple[int, list[Match]]] = {}
        for subject, labels in found.items():
            matches, score = [], 30
            for label in _dedupe(labels):
                value = label.value.lower()
                start = value.find(needle)
                if start < 0:
                    continue
                matches.append(Match(label, start, start + len(needle)))
                if value == needle:
                    score = min(score, 0)
                elif start == 0:
                    score = min(score, 10)
                elif not _WORD_START.match(value[start - 1]):
                    score = min(score, 20)
            if matches:
                scored[subject] = (score, matches)

        words = _dedupe(needle.split())[:6]
        if len(words) > 1:
            by_word = {}
            for word in words:
                by_word[word], more = self._label_rows(word)
                truncated = truncated or more
            for subject in {s for rows in by_word.values() for s in rows}:
                kind = self._kinds.get(subject)
                kind_names = " ".join(kind.labels.values()).lower() if kind else ""
                if not all(subject in by_word[w] or w in kind_names for w in words):
                    continue
                matches, whole, strong = [], 0, False
                for word in words:
                    labels = _dedupe(by_word[word].get(subject, []))
                    split = [[t.strip(".,;:") for t in label.value.lower().split()] for label in labels]
                    whole += word in kind_names or any(word in tokens for tokens in split)
                    # the kind's name, or a whole code ("A.1", "Art. 17")
                    strong = strong or word in kind_names or any(word in tokens and len(tokens) <= 2
                                                                 for tokens in split)
                    for label in labels:
                        begin = label.value.lower().find(word)
                        if begin >= 0:
                            matches.append(Match(label, begin, begin + len(word)))
                # "article 17", "target 17", "goal A.1": next to an exact match
                score = 5 if whole == len(words) and strong else 40 if whole else 50
                if score < scored.get(subject, (99, []))[0]:
                    scored[subject] = (score, matches)

        def key(item: tuple[ox.NamedNode, tuple[int, list[Match]]]) -> tuple[object, ...]:
            subject, (score, matches) = item
            kind = self._kinds.get(subject)
            rank = KIND_RANK.get(kind.value, len(KIND_RANK)) if kind else len(KIND_RANK) + 1
            codes = sorted(self._codes.get(subject, []), key=natural_key)
            return (score, rank, natural_key(codes[0] if codes else matches[0].literal.value), subject.value)

        ranked = sorted(scored.items(), key=key)
        # only the hits shown are looked up in full (labels in every language: one Ref each)
        hits: list[SearchHit] = []
        for subject, (score, matches) in ranked:
            if len(hits) >= limit:
                break
            kind = self._kinds.get(subject)
            if not (kind and kind.value == CPB + "Link"):  # a link record is shown with its link
                hits.append(SearchHit(self.ref(subject), kind, matches, score))
        return SearchResults(text, hits, len(ranked), truncated)

    # ------------------------------------------------------------------ counts, matrix

    def count_instances(self, cls: ox.NamedNode) -> int:
        """How many distinct resources have type ``cls`` (inferred types included)."""
        return len({q.subject for q in self.quads(None, RDF_TYPE, cls)})

    def instances(self, cls: ox.NamedNode) -> list[Ref]:
        """The resources of a type, in the order of ``cpb:order``, then by code."""
        refs = [self.ref(s) for s in self.subjects(RDF_TYPE, cls)]

        def key(ref: Ref) -> tuple[object, ...]:
            orders = [int(o.value) for o in self.objects(ref.term, cpb("order"))
                      if isinstance(o, ox.Literal) and o.value.lstrip("-").isdigit()]
            return (min(orders) if orders else 1 << 30, ref.sort_key)

        return sorted(refs, key=key)

    def goal_elements(self, goal: ox.NamedNode) -> list[Resource]:
        """A goal with its objectives and indicators."""
        out: list[Resource] = [goal]
        for prop in (cpb("hasObjective"), cpb("hasIndicator")):
            out.extend(o for o in self.objects(goal, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode)))
        return _dedupe(out)

    def goal_target_links(self, goal: ox.NamedNode, target: ox.NamedNode) -> list[LinkInfo]:
        """The link records joining a goal (or its objectives and indicators) to ``target``."""
        infos = []
        for element in self.goal_elements(goal):
            for (_prop, obj), info in self.links_from(element).items():
                if obj == target:
                    infos.append(info)
        return sorted(infos, key=lambda i: (self.ref(i.subject).sort_key if i.subject else (), i.link.value))

    def gbf_targets(self) -> list[Ref]:
        return sorted((self.ref(s) for s in self.subjects(RDF_TYPE, cpb("GBFTarget"))),
                      key=lambda r: natural_key(local_name(r.value)))

    def matrix(self) -> Matrix:
        """Goals x GBF targets: how many link records join each pair."""
        goals = self.instances(cpb("Goal"))
        targets = self.gbf_targets()
        index = {t.term: i for i, t in enumerate(targets)}
        rows = []
        for goal in goals:
            counts = [0] * len(targets)
            for element in self.goal_elements(goal.term):  # type: ignore[arg-type]
                for (_prop, obj) in self.links_from(element):
                    if obj in index:
                        counts[index[obj]] += 1  # type: ignore[index]
            rows.append([MatrixCell(goal, target, n) for target, n in zip(targets, counts)])
        return Matrix(goals, targets, rows)

    # ------------------------------------------------------------------ the ontology

    def ontology_triples(self) -> list[ox.Triple]:
        """The triples of the ontology graph (or, without one, of every term in the namespace)."""
        quads = list(self.quads(graph=self.ontology_graph)) if self.is_graph(self.ontology_graph) else []
        if quads:
            return sorted(_dedupe(ox.Triple(q.subject, q.predicate, q.object) for q in quads), key=str)
        triples: list[ox.Triple] = []
        for q in self.store.quads_for_pattern(None, None, None):
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(ONTOLOGY_IRI) \
                    and q.graph_name != self.inferred_graph:
                triples.extend(self.cbd(q.subject))
        return sorted(_dedupe(triples), key=str)

    @staticmethod
    def _individual(term: OntologyTerm) -> OntologyTerm:
        term.parents = [r for r in term.parents if not r.value.startswith(OWL)]
        return term

    def ontology_doc(self) -> OntologyDoc:
        """Every class, property and individual of the ontology, with labels, definitions, axioms."""
        graph = self.ontology_graph if self.is_graph(self.ontology_graph) else None

        def in_ontology(cls: str) -> list[ox.NamedNode]:
            return sorted({q.subject for q in self.quads(None, RDF_TYPE, ox.NamedNode(OWL + cls), graph)
                           if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(CPB)},
                          key=lambda n: n.value.lower())

        def named(subject: ox.NamedNode, prop: str) -> list[Ref]:
            return [self.ref(o) for o in _dedupe(q.object for q in self.quads(subject, ox.NamedNode(prop), None, graph))
                    if isinstance(o, ox.NamedNode)]

        def lits(subject: ox.NamedNode, prop: ox.NamedNode) -> list[ox.Literal]:
            values = [o for o in _dedupe(q.object for q in self.quads(subject, prop, None, graph))
                      if isinstance(o, ox.Literal)]
            return sorted(values, key=lambda lit: (lit.language != "en", lit.language or ""))

        def term(subject: ox.NamedNode, parent_prop: str, *, count: bool = False) -> OntologyTerm:
            kinds = [r for r in named(subject, RDF + "type") if r.value.startswith(OWL)]
            return OntologyTerm(
                ref=self.ref(subject), anchor=local_name(subject.value), kinds=kinds,
                definitions=lits(subject, SKOS_DEFINITION),
                comments=lits(subject, ox.NamedNode(RDFS + "comment")),
                parents=named(subject, parent_prop),
                domain=named(subject, RDFS + "domain"), range=named(subject, RDFS + "range"),
                inverse=named(subject, OWL + "inverseOf"),
                instances=self.count_instances(subject) if count else None,
            )

        onto = ox.NamedNode(ONTOLOGY_IRI)
        versions = lits(onto, ox.NamedNode(OWL + "versionInfo"))
        individuals = [n for n in in_ontology("NamedIndividual")]
        return OntologyDoc(
            ontology=self.ref(onto),
            descriptions=lits(onto, ox.NamedNode(DCTERMS + "description")),
            version=versions[0].value if versions else None,
            licence=named(onto, DCTERMS + "license"),
            classes=[term(c, RDFS + "subClassOf", count=True) for c in in_ontology("Class")],
            object_properties=[term(p, RDFS + "subPropertyOf") for p in in_ontology("ObjectProperty")],
            datatype_properties=[term(p, RDFS + "subPropertyOf") for p in in_ontology("DatatypeProperty")],
            individuals=[self._individual(term(i, RDF + "type")) for i in individuals],
        )
