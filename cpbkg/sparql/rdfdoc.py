"""RDF documents for people and for other people's parsers: the prefixes they use, names that need
no escape, the subject first; JSON-LD compacted with a published context.

pyoxigraph writes Turtle, TriG and RDF/XML with every prefix it is given, used or not, and writes a
prefixed name with backslash escapes where the local part needs them (``id:area\\/A``), which
some parsers reject (rdflib.js). :func:`used_prefixes` picks, from the one prefix map
(:data:`cpbkg.vocab.PREFIXES`), the prefixes a document uses *and* can use without an escape: a
namespace under which any IRI of the document would need one is left out, and its IRIs are
written in full (``<https://w3id.org/cpbkg/id/area/A>``). :func:`reading_order` puts the
triples of a document's subject first, then the others subject by subject, so that the Turtle
groups them. :func:`write_document` writes a whole (small) document in any RDF format of the
registry; :func:`compact_jsonld` writes JSON-LD compacted against the context of
:func:`jsonld_context`, which the server publishes at ``/context.jsonld``.

>>> ids = ox.NamedNode("https://w3id.org/cpbkg/id/area/A"), ox.NamedNode("https://w3id.org/cpbkg/id/plan")
>>> t = [ox.Triple(ids[0], ox.NamedNode("http://www.w3.org/2004/02/skos/core#broader"), ids[1])]
>>> used_prefixes(t, {"id": "https://w3id.org/cpbkg/id/", "skos": "http://www.w3.org/2004/02/skos/core#",
...                   "owl": "http://www.w3.org/2002/07/owl#"})
{'skos': 'http://www.w3.org/2004/02/skos/core#'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping

import pyoxigraph as ox

from cpbkg.formats import Format

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
#: the profile IRI (JSON-LD 1.1 §9) a client names for expanded JSON-LD
EXPANDED = "http://www.w3.org/ns/json-ld#expanded"
#: a local part every Turtle parser reads as it is: no escape, no percent sign, no final dot (or none: ``cpb:``)
SAFE_LOCAL = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?")

Subject = ox.NamedNode | ox.BlankNode | ox.Triple
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


#: literals Turtle writes without their datatype when the lexical form is one of its own (RDF 1.1 Turtle §2.5.2)
_NATIVE = {
    "http://www.w3.org/2001/XMLSchema#integer": re.compile(r"[+-]?[0-9]+"),
    "http://www.w3.org/2001/XMLSchema#decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    "http://www.w3.org/2001/XMLSchema#double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.?[0-9]+)[eE][+-]?[0-9]+"),
    "http://www.w3.org/2001/XMLSchema#boolean": re.compile(r"true|false"),
}


def _iris(triples: Iterable[ox.Triple]) -> set[str]:
    """Every IRI a Turtle document of ``triples`` writes: terms and datatypes -- not ``rdf:type`` as a
    predicate (``a``), nor the datatypes of plain strings, language strings and numbers or booleans
    written as such."""
    found: set[str] = set()

    def add(term: object) -> None:
        if isinstance(term, ox.NamedNode):
            found.add(term.value)
        elif isinstance(term, ox.Literal):
            datatype = term.datatype.value
            native = _NATIVE.get(datatype)
            if (term.language is None and datatype not in (XSD_STRING, LANG_STRING)
                    and not (native is not None and native.fullmatch(term.value))):
                found.add(datatype)
        elif isinstance(term, ox.Triple):
            add(term.subject)
            add(term.predicate)
            add(term.object)

    for triple in triples:
        add(triple.subject)
        if triple.predicate.value != RDF_TYPE:
            add(triple.predicate)
        add(triple.object)
    return found


def used_prefixes(triples: Iterable[ox.Triple], prefixes: Mapping[str, str], *, sample: bool = False) -> dict[str, str]:
    """The prefixes of ``prefixes`` that a Turtle document of ``triples`` uses, each usable without
    an escape (in the map's order).

    Each IRI takes the longest namespace that starts it (as pyoxigraph does); a namespace that
    would give any IRI a local part outside :data:`SAFE_LOCAL` is dropped, and its IRIs then take
    the next longest, until no IRI needs an escape.

    ``sample``: the triples are the first of a longer document (a streamed answer), whose other
    IRIs are not known yet. Every namespace of the map that extends a chosen one is declared too
    (``sdgo:`` with ``sdg:``), so that an IRI of the rest takes its longest namespace, as it would
    in a whole document, not a shorter one with an escape (``sdg:ontology\\#x``).
    """
    iris = _iris(triples)
    allowed = dict(prefixes)
    while True:
        spaces = sorted(allowed.items(), key=lambda item: -len(item[1]))
        used: set[str] = set()
        unsafe: set[str] = set()
        for iri in iris:
            for prefix, namespace in spaces:
                if iri.startswith(namespace):
                    (used if SAFE_LOCAL.fullmatch(iri[len(namespace):]) else unsafe).add(prefix)
                    break
        if not unsafe:
            if sample:
                used |= {p for p, ns in allowed.items() if any(ns.startswith(prefixes[u]) for u in used)}
            return {p: ns for p, ns in prefixes.items() if p in used}
        for prefix in unsafe:
            del allowed[prefix]


def _key(term: Term) -> tuple[int, str]:
    """IRIs before blank nodes before literals; IRIs by their text (``A.1`` before ``A.10``)."""
    if isinstance(term, ox.NamedNode):
        return (0, term.value)
    return (1 if isinstance(term, ox.BlankNode) else 2, str(term))


def reading_order(triples: Iterable[ox.Triple], subject: Subject | None = None) -> list[ox.Triple]:
    """``triples`` with those of ``subject`` first, then subject by subject; ``rdf:type`` first in each."""
    def key(t: ox.Triple) -> tuple[int, tuple[int, str], int, str, tuple[int, str]]:
        return (0 if subject is not None and t.subject == subject else 1, _key(t.subject),
                0 if t.predicate.value == RDF_TYPE else 1, t.predicate.value, _key(t.object))

    return sorted(set(triples), key=key)


def write_document(triples: Iterable[ox.Triple], fmt: Format, prefixes: Mapping[str, str], *,
                   subject: Subject | None = None, context: str | None = None) -> bytes:
    """A whole RDF document of ``triples`` in ``fmt`` (any RDF format of the registry), for people and parsers.

    Turtle, TriG and RDF/XML declare only the prefixes they use (:func:`used_prefixes`); TriG and
    N-Quads put the triples in the default graph; JSON-LD is compacted against ``context`` (the URL
    of :func:`jsonld_context`'s document) when given, else expanded.
    """
    ordered = reading_order(triples, subject)
    if fmt.name == "jsonld" and context is not None:
        return compact_jsonld(ordered, prefixes, context)
    if fmt.name in ("nt", "nq"):
        return ox.serialize(ordered, format=ox.RdfFormat.N_TRIPLES) or b""
    rdf = fmt.rdf
    assert rdf is not None, f"{fmt.name} is not an RDF format"
    use = used_prefixes(ordered, prefixes) if fmt.name in ("ttl", "trig", "rdfxml") else None
    items: list[ox.Triple] | list[ox.Quad] = ordered
    if rdf.supports_datasets:
        items = [ox.Quad(t.subject, t.predicate, t.object) for t in ordered]
    return ox.serialize(items, format=rdf, prefixes=use) or b""


# --------------------------------------------------------------------------- JSON-LD


def jsonld_context(prefixes: Mapping[str, str]) -> dict[str, object]:
    """The JSON-LD context document of the prefix map: each prefix a term for its namespace."""
    return {"@context": dict(prefixes)}


def _compacter(prefixes: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    return iter(sorted(prefixes.items(), key=lambda item: -len(item[1])))


def compact_jsonld(triples: Iterable[ox.Triple], prefixes: Mapping[str, str], context: str) -> bytes:
    """JSON-LD of ``triples`` compacted against the context at URL ``context`` (:func:`jsonld_context`
    of ``prefixes``): one node object per subject, in the order of ``triples``, in ``@graph``.

    IRIs become compact IRIs (``skos:prefLabel``) where a namespace of the map starts them and the
    rest is not empty and cannot be read as an authority (``//``); ``rdf:type`` becomes ``@type``;
    a plain string is a JSON string, every other literal a value object.
    """
    spaces = list(_compacter(prefixes))

    def iri(value: str) -> str:
        for prefix, namespace in spaces:
            if value.startswith(namespace):
                rest = value[len(namespace):]
                if rest and not rest.startswith("//"):
                    return f"{prefix}:{rest}"
                break
        return value

    def node_id(term: Term) -> str:
        if isinstance(term, ox.BlankNode):
            return f"_:{term.value}"
        if isinstance(term, ox.NamedNode):
            return iri(term.value)
        raise ValueError("RDF-star triple terms have no compacted JSON-LD form here")

    def value(term: Term) -> object:
        if isinstance(term, ox.Literal):
            if term.language is not None:
                return {"@value": term.value, "@language": term.language}
            if term.datatype.value == XSD_STRING:
                return term.value
            return {"@value": term.value, "@type": iri(term.datatype.value)}
        return {"@id": node_id(term)}

    nodes: dict[str, dict[str, object]] = {}
    for t in triples:
        key = node_id(t.subject)
        node = nodes.setdefault(key, {"@id": key})
        if t.predicate.value == RDF_TYPE and not isinstance(t.object, ox.Literal):
            node.setdefault("@type", []).append(node_id(t.object))  # type: ignore[attr-defined]
        else:
            node.setdefault(iri(t.predicate.value), []).append(value(t.object))  # type: ignore[attr-defined]
    graph = [{k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in node.items()}
             for node in nodes.values()]
    return json.dumps({"@context": context, "@graph": graph}, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
