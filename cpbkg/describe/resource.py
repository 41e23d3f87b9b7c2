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
>>> from cpbkg.describe.model import CPB, SKOS_PREFLABEL
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

import pyoxigraph as ox

from cpbkg.describe.explorer import Explorer
from cpbkg.describe.model import (
    DCTERMS_SOURCE,
    HIDDEN_INCOMING,
    KIND_RANK,
    LABEL_PROPERTIES,
    MAIN_LANGUAGES,
    PAGE_SPECIAL,
    PARENT_RELATIONS,
    RDF_TYPE,
    SKOS_BROADER,
    SKOS_EDITORIAL_NOTE,
    SKOS_NOTATION,
    Edge,
    Page,
    PropertyGroup,
    Ref,
    Resource,
    Term,
    cpb,
    natural_key,
)
from cpbkg.describe.ontology_doc import OntologyDocs
from cpbkg.describe.search import Search


class Describer(Search, Explorer, OntologyDocs):
    """Reads descriptions and page data from one store; caches names within its own lifetime.
    
    Make one per request (or per store and build): the cache is not invalidated. The label index
    of :meth:`search` outlives it: one per store object, shared by the Describers of that store,
    which must therefore not change once searched (the served stores are read-only).
    """

    #: edges shown at most per property group (the rest is counted)
    GROUP_CAP = 200

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
