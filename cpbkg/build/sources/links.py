"""Links as data: a direct triple for simple queries plus a link resource with its basis.

``add_link`` writes both, so they always agree (the shapes check that too):

    <goal/A.1> cpb:cites <treaty/cpb/article/17> .
    <link/3f2a...> a cpb:Link ; cpb:linkSubject <goal/A.1> ; cpb:linkPredicate cpb:cites ;
        cpb:linkObject <treaty/cpb/article/17> ; cpb:basis cpb:ExplicitCitation ;
        dcterms:source <document/CP-10-3> .
"""

from __future__ import annotations

import hashlib

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

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
