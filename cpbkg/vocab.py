"""Namespaces and the URI scheme of CPB-KG.

Ontology terms are hash URIs under ``https://w3id.org/cpbkg/ontology#`` and are
read from a closed namespace, so a misspelt term raises at import time instead of
silently minting a new URI (the rdflib ``DefinedNamespace`` model).

Things are slash URIs under a configurable base (default ``https://w3id.org/cpbkg/``);
the official codes (``A.1``, ``A.1.1``, ``A.1(a)``) are kept verbatim in them.
:class:`Ids` builds every such URI in one place.
"""

from __future__ import annotations

from urllib.parse import quote

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

DEFAULT_BASE = "https://w3id.org/cpbkg/"
ONTOLOGY_IRI = "https://w3id.org/cpbkg/ontology"

SDG = Namespace("http://metadata.un.org/sdg/")
SDGO = Namespace("http://metadata.un.org/sdg/ontology#")
QB = Namespace("http://purl.org/linked-data/cube#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SCHEMA = Namespace("https://schema.org/")


class CPB(DefinedNamespace):
    """The CPB-KG ontology (``ontology/cpbkg.ttl``); every term is defined there."""

    _NS = Namespace(ONTOLOGY_IRI + "#")
    _fail = True

    # Implementation Plan
    ImplementationPlan: URIRef
    PlanElement: URIRef
    Area: URIRef
    Goal: URIRef
    Objective: URIRef
    Indicator: URIRef
    Outcome: URIRef
    hasGoal: URIRef
    inArea: URIRef
    hasObjective: URIRef
    objectiveOf: URIRef
    hasIndicator: URIRef
    indicatorOf: URIRef
    hasOutcome: URIRef
    outcomeOf: URIRef
    # wording status of an English label
    englishWording: URIRef
    WordingStatus: URIRef
    OfficialWording: URIRef
    ProjectTranslation: URIRef
    # documents
    Decision: URIRef
    Document: URIRef
    DecisionPart: URIRef
    PreambularParagraph: URIRef
    OperativeParagraph: URIRef
    AnnexSection: URIRef
    AnnexParagraph: URIRef
    Footnote: URIRef
    Appendix: URIRef
    hasPart: URIRef
    partOf: URIRef
    hasFootnote: URIRef
    text: URIRef
    order: URIRef
    references: URIRef
    referencedBy: URIRef
    # what the decision does
    Action: URIRef
    ActionType: URIRef
    Actor: URIRef
    hasAction: URIRef
    actionOf: URIRef
    actionType: URIRef
    addressee: URIRef
    deadline: URIRef
    deadlineEvent: URIRef
    # treaties
    Treaty: URIRef
    Provision: URIRef
    Article: URIRef
    TreatyAnnex: URIRef
    provisionOf: URIRef
    hasProvision: URIRef
    number: URIRef
    # GBF
    GBFElement: URIRef
    GBFVision: URIRef
    GBFMission: URIRef
    GBFGoal: URIRef
    GBFTarget: URIRef
    GBFIndicator: URIRef
    GBFQuestion: URIRef
    indicatorForTarget: URIRef
    targetIndicator: URIRef
    questionForIndicator: URIRef
    indicatorQuestion: URIRef
    answerOption: URIRef
    cbdIdentifier: URIRef
    # links between the Plan and the rest
    Link: URIRef
    LinkBasis: URIRef
    ExplicitCitation: URIRef
    OfficialMapping: URIRef
    CuratedLink: URIRef
    linkSubject: URIRef
    linkPredicate: URIRef
    linkObject: URIRef
    basis: URIRef
    justification: URIRef
    relatedTo: URIRef
    cites: URIRef
    citedBy: URIRef
    underlyingProvision: URIRef
    contributesTo: URIRef
    contributedToBy: URIRef
    supportsSDG: URIRef
    # provenance of the English text, per element
    englishSource: URIRef
    # national reports
    Questionnaire: URIRef
    QuestionnaireSection: URIRef
    ReportQuestion: URIRef
    AnswerOption: URIRef
    reportingCycle: URIRef
    hasSection: URIRef
    sectionOf: URIRef
    hasQuestion: URIRef
    questionIn: URIRef
    sectionArticle: URIRef
    hasOption: URIRef
    valueCode: URIRef
    questionKey: URIRef
    questionType: URIRef
    multipleChoice: URIRef
    mandatory: URIRef
    correspondsTo: URIRef
    measuredBy: URIRef
    measures: URIRef
    dataSource: URIRef
    # wording of labels (ontology: "Wording of English labels")
    ProjectParaphrase: URIRef
    chineseWording: URIRef
    chineseSource: URIRef
    officialText: URIRef
    page: URIRef
    locator: URIRef
    # GBF: the role an indicator plays for a goal or target (KMGBF vocabulary, decision 16/31)
    headlineFor: URIRef
    binaryFor: URIRef
    componentFor: URIRef
    complementaryFor: URIRef
    CBDThesaurusCode: URIRef
    # label statistics in VoID (cpbkg.build.labels)
    LabelStatistics: URIRef
    labelStatistics: URIRef
    labelShare: URIRef


class Ids:
    """Builds the URIs of things under one base.

    >>> ids = Ids("https://example.org/kg/")
    >>> str(ids.indicator("A.1(a)"))
    'https://example.org/kg/id/indicator/A.1(a)'
    >>> str(ids.article("cpb", "17"))
    'https://example.org/kg/id/treaty/cpb/article/17'
    """

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not base.endswith("/"):
            base += "/"
        self.base = base

    def _id(self, *parts: str) -> URIRef:
        # keep the official codes readable: "." "(" ")" "-" stay as they are
        return URIRef(self.base + "id/" + "/".join(quote(p, safe=".()-") for p in parts))

    # the Plan
    def plan(self) -> URIRef:
        return self._id("plan")

    def area(self, code: str) -> URIRef:
        return self._id("area", code)

    def goal(self, code: str) -> URIRef:
        return self._id("goal", code)

    def objective(self, code: str) -> URIRef:
        return self._id("objective", code)

    def indicator(self, code: str) -> URIRef:
        return self._id("indicator", code)

    def outcome(self, goal_code: str) -> URIRef:
        return self._id("outcome", goal_code)

    # documents
    def document(self, symbol: str) -> URIRef:
        """A decision or document by its symbol, ``/`` becoming ``-`` (``CP-10/3`` -> ``CP-10-3``)."""
        return self._id("document", symbol.replace("/", "-"))

    def decision_part(self, symbol: str, kind: str, number: str) -> URIRef:
        return self._id("document", symbol.replace("/", "-"), kind, number)

    def action(self, symbol: str, key: str) -> URIRef:
        return self._id("document", symbol.replace("/", "-"), "action", key)

    def actor(self, key: str) -> URIRef:
        return self._id("actor", key)

    def action_type(self, key: str) -> URIRef:
        return self._id("action-type", key)

    # treaties
    def treaty(self, key: str) -> URIRef:
        return self._id("treaty", key)

    def article(self, treaty: str, number: str) -> URIRef:
        return self._id("treaty", treaty, "article", number)

    def treaty_annex(self, treaty: str, number: str) -> URIRef:
        return self._id("treaty", treaty, "annex", number)

    # GBF
    def gbf(self, kind: str, code: str) -> URIRef:
        """``kind`` is one of vision, mission, goal, target, indicator, question."""
        return self._id("gbf", kind, code)

    # national reports
    def questionnaire(self, cycle: int) -> URIRef:
        return self._id("report", f"nr{cycle}")

    def report_section(self, cycle: int, key: str) -> URIRef:
        return self._id("report", f"nr{cycle}", "section", key)

    def question(self, cycle: int, key: str) -> URIRef:
        return self._id("report", f"nr{cycle}", "question", key)

    def answer_option(self, cycle: int, key: str, value: str) -> URIRef:
        return self._id("report", f"nr{cycle}", "question", key, "option", value)

    # links and graphs
    def link(self, key: str) -> URIRef:
        return self._id("link", key)

    def graph(self, name: str) -> URIRef:
        return URIRef(self.base + "graph/" + name)

    def dataset(self) -> URIRef:
        return URIRef(self.base + "dataset")

    def dump(self, name: str, version: str | None = None) -> URIRef:
        """A file of the release ``version`` (its stable address, ``/dumps/{version}/{name}``), or
        of the current release (``/dumps/{name}``, the same file as ``/dumps/latest/{name}``)."""
        return URIRef(self.base + "dumps/" + (f"{version}/" if version else "") + name)

    def dumps_page(self) -> URIRef:
        """The listing of the current release's files (``/dumps/``)."""
        return self.dump("")


def sdg_goal(number: int) -> URIRef:
    """The UN SDG KOS URI of an SDG goal (never mint our own)."""
    return SDG[str(number)]


#: the one prefix map: prefix -> namespace of every prefix CPB-KG writes (its dumps, its RDF answers and
#: documents, the JSON-LD context); a document declares only those it uses (cpbkg.sparql.rdfdoc)
PREFIXES: dict[str, str] = {
    "cpb": ONTOLOGY_IRI + "#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "qb": str(QB),
    "sd": str(SD),
    "sh": "http://www.w3.org/ns/shacl#",
    "spdx": "http://spdx.org/rdf/terms#",
    "schema": str(SCHEMA),
    "sdg": str(SDG),
    "sdgo": str(SDGO),
}


def bind_prefixes(graph) -> None:  # type: ignore[no-untyped-def]
    """Bind the prefixes of :data:`PREFIXES` (rdflib's own defaults, which ``Graph()`` binds, are
    replaced where they clash; a graph made with ``bind_namespaces="none"`` gets only these)."""
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, Namespace(ns), override=True)
