"""Links as data: a direct triple for simple queries plus a link resource with its basis.

``add_link`` writes both, so they always agree (the shapes check that too); ``label_links``
names each link record in Chinese and English from the names of its subject, property and
object, once every part of the build is there (a link's ends come from other graphs):

    <goal/A.1> cpb:cites <treaty/cpb/article/17> .
    <link/3f2a...> a cpb:Link ; cpb:linkSubject <goal/A.1> ; cpb:linkPredicate cpb:cites ;
        cpb:linkObject <treaty/cpb/article/17> ; cpb:basis cpb:ExplicitCitation ;
        dcterms:source <document/CP-10-3> .
"""

from __future__ import annotations

import hashlib

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

from cpbkg.vocab import CPB, Ids


def link_key(subject: URIRef, predicate: URIRef, obj: URIRef) -> str:
    """A stable key for a link: the same triple always gets the same link URI."""
    return hashlib.sha256(f"{subject} {predicate} {obj}".encode()).hexdigest()[:16]


def add_link(
    graph: Graph,
    ids: Ids,
    subject: URIRef,
    predicate: URIRef,
    obj: URIRef,
    *,
    basis: URIRef,
    source: URIRef,
    justification: str | None = None,
    creator: str | None = None,
    date: str | None = None,
) -> URIRef:
    """Add ``subject predicate obj`` and its link resource; returns the link's URI.

    Curated links must say why, who and when: that is what tells a reader they are
    the project's analysis and not an official statement.
    """
    if basis == CPB.CuratedLink and not (justification and creator and date):
        raise ValueError(f"curated link {subject} {predicate} {obj} needs justification, creator and date")
    link = ids.link(link_key(subject, predicate, obj))
    graph.add((subject, predicate, obj))
    graph.add((link, RDF.type, CPB.Link))
    graph.add((link, CPB.linkSubject, subject))
    graph.add((link, CPB.linkPredicate, predicate))
    graph.add((link, CPB.linkObject, obj))
    graph.add((link, CPB.basis, basis))
    graph.add((link, DCTERMS.source, source))
    if justification:
        graph.add((link, CPB.justification, Literal(justification, lang="en")))
    if creator:
        graph.add((link, DCTERMS.creator, Literal(creator)))
    if date:
        graph.add((link, DCTERMS.date, Literal(date, datatype=XSD.date)))
    return link


def citation_target(ids: Ids, key: str) -> URIRef:
    """The resource a citation key in the curated data names.

    >>> str(citation_target(Ids("https://x.org/"), "cpb:annex:III"))
    'https://x.org/id/treaty/cpb/annex/III'
    >>> str(citation_target(Ids("https://x.org/"), "doc:CP-10/4"))
    'https://x.org/id/document/CP-10-4'
    """
    parts = key.split(":")
    if parts[0] == "doc" and len(parts) == 2:
        return ids.document(parts[1])
    if parts[0] in ("cpb", "nkl", "cbd"):
        if len(parts) == 1:
            return ids.treaty(parts[0])
        if len(parts) == 2:
            return ids.article(parts[0], parts[1])
        if len(parts) == 3 and parts[1] == "annex":
            return ids.treaty_annex(parts[0], parts[2])
    raise ValueError(f"unknown citation key {key!r} (expected cpb:17, cpb:annex:III, nkl, cbd:24 or doc:SYMBOL)")


#: the languages every resource the site shows is named in
LINK_LABEL_LANGUAGES = ("zh", "en")


def _literal(graph: Graph, node: URIRef, prop: URIRef, lang: str | None) -> str | None:
    """The first (in sorted order, so every build says the same) plain literal of ``node prop`` in
    ``lang`` (``None``: without a language tag or datatype)."""
    found = sorted(str(o) for o in graph.objects(node, prop)
                   if isinstance(o, Literal) and o.language == lang and (lang or o.datatype is None))
    return found[0] if found else None


def _kind(graph: Graph, node: URIRef, lang: str) -> str | None:
    """The label of ``node``'s most specific class of ours ("long-term goal", "GBF target")."""
    types = {t for t in graph.objects(node, RDF.type) if isinstance(t, URIRef) and t.startswith(str(CPB))}
    specific = [t for t in types if not any((u, RDFS.subClassOf, t) in graph for u in types - {t})]
    names = sorted(filter(None, (_literal(graph, t, RDFS.label, lang) for t in specific)))
    return names[0] if names else None


def _name(graph: Graph, node: URIRef, lang: str) -> str:
    """What a link label calls ``node`` in ``lang``: its ``rdfs:label`` (which names the treaty or
    questionnaire a code belongs to: "Cartagena Protocol, Article 17: ..."), else its kind and code
    ("long-term goal B.3"), else its ``skos:prefLabel``, else its code or the IRI's last part."""
    if label := _literal(graph, node, RDFS.label, lang):
        return label
    code = _literal(graph, node, SKOS.notation, None)
    kind = _kind(graph, node, lang)
    if code and kind:
        return f"{kind} {code}"
    return _literal(graph, node, SKOS.prefLabel, lang) or code or str(node).rstrip("/").rsplit("/", 1)[-1]


def label_links(parts: list[Graph], everything: Graph) -> int:
    """Give each link record of ``parts`` an ``rdfs:label`` in Chinese and English, in its own graph
    and in ``everything`` (the union that the reasoner and the shapes read).

    The label is composed, not quoted: "subject property object" from the names the data already
    has ("Long-term goal B.3 contributes to GBF target 21", "长期目标 B.3 有助于实现 全球生物多样性框架
    行动目标 21"; ``_name``; ``everything`` holds the ontology's class and property labels and every
    part's resources), so it is as official as those names are; the ontology says so on ``cpb:Link``.
    Returns how many link records were labelled."""
    labelled = 0
    for graph in parts:
        for link in sorted({s for s in graph.subjects(RDF.type, CPB.Link) if isinstance(s, URIRef)}):
            ends = [graph.value(link, prop) for prop in (CPB.linkSubject, CPB.linkPredicate, CPB.linkObject)]
            if not all(isinstance(end, URIRef) for end in ends):
                continue  # the shapes report a link without its ends
            for lang in LINK_LABEL_LANGUAGES:
                text = " ".join(_name(everything, end, lang) for end in ends)  # type: ignore[arg-type]
                label = Literal(text[:1].upper() + text[1:], lang=lang)
                graph.add((link, RDFS.label, label))
                everything.add((link, RDFS.label, label))
            labelled += 1
    return labelled
