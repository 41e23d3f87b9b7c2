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

import re
from dataclasses import dataclass, field

import pyoxigraph as ox

from cpbkg.describe.explorer import Explorer
from cpbkg.describe.model import (
    CPB,
    DCTERMS_SOURCE,
    HIDDEN_INCOMING,
    KIND_RANK,
    LABEL_PROPERTIES,
    MAIN_LANGUAGES,
    PAGE_SPECIAL,
    PARENT_RELATIONS,
    RDF_TYPE,
    SKOS,
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


@dataclass
class TreeNode:
    """One node of the Plan's tree (:meth:`Describer.plan_tree`): the resource, its kind, its children."""

    ref: Ref
    kind: Ref | None
    children: list[TreeNode] = field(default_factory=list)

    def holds(self, node: Resource) -> bool:
        """``node`` is this one or below it (its branch is opened on that node's page)."""
        return self.ref.term == node or any(child.holds(node) for child in self.children)


@dataclass
class DocumentPart:
    """One part of a decision read in order (:meth:`Describer.document`): the resource, the anchor of its
    paragraph on the decision's page, its kind, its text by language, and its own parts."""

    ref: Ref
    anchor: str
    kind: Ref | None
    texts: dict[str, list[ox.Literal]]
    children: list[DocumentPart] = field(default_factory=list)
    #: the English is official wording (else the project's translation, when there is English)
    official_english: bool = False


#: the properties of the Plan's tree, parent to child, in the order children are listed
PLAN_CHILDREN = (cpb("hasObjective"), cpb("hasIndicator"), cpb("hasOutcome"))
#: the kinds of decision parts, in the order of the text
DOCUMENT_ORDER = {CPB + k: i for i, k in enumerate(
    ("PreambularParagraph", "OperativeParagraph", "DecisionPart", "AnnexSection", "AnnexParagraph", "Footnote"))}
#: where a resource says where its text is published: the links a page may offer as "the official text"
SOURCE_PROPERTIES = (DCTERMS_SOURCE, ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"),
                     ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"),
                     ox.NamedNode("http://xmlns.com/foaf/0.1/page"), cpb("englishSource"), cpb("chineseSource"))
#: kinds whose previous and next are taken over all their instances (not only under one parent)
SEQUENCE_KINDS = frozenset(CPB + k for k in ("Goal", "GBFTarget", "GBFGoal", "Area", "Party", "Treaty"))


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
        chinese_wording = refs_of(cpb("chineseWording"))

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
            chinese_wording=chinese_wording[0] if chinese_wording else None,
            chinese_sources=refs_of(cpb("chineseSource")),
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

    # ------------------------------------------------------------------ what pages add for a reader

    def ref(self, node: Resource) -> Ref:
        """:meth:`Lookups.ref`, and a name for a Party's membership of a treaty, which has no label of
        its own ("China: Party to the Cartagena Protocol ..." rather than ``party/CHN/membership/cpb``)."""
        known = node in self._refs
        found = super().ref(node)
        if not known and not found.labels and isinstance(node, ox.NamedNode) and \
                next(self.quads(node, RDF_TYPE, cpb("Membership")), None) is not None:
            party = [self.ref(p) for p in self.objects(node, cpb("member")) if isinstance(p, ox.NamedNode)]
            treaty = [self.ref(t) for t in self.objects(node, cpb("memberOf")) if isinstance(t, ox.NamedNode)]
            if party and treaty:
                found.labels = {"en": f"{party[0].label('en')}: Party to the {treaty[0].label('en')}",
                                "zh": f"{party[0].label('zh')}：{treaty[0].label('zh')}缔约方"}
                found.fallback = None
        return found

    def _children(self, node: Resource, props: tuple[ox.NamedNode, ...]) -> list[Resource]:
        out: list[Resource] = []
        for prop in props:
            found = [o for o in self.objects(node, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode))]
            out.extend(sorted(found, key=self._order_key))
        return out

    def _order_key(self, node: Resource) -> tuple[object, ...]:
        orders = [int(o.value) for o in self.objects(node, cpb("order"))
                  if isinstance(o, ox.Literal) and o.value.lstrip("-").isdigit()]
        return (min(orders) if orders else 1 << 30, self.ref(node).sort_key, node.value)

    def plan_tree(self) -> list[TreeNode]:
        """The Plan as a tree: its areas, their goals, and each goal's objectives, indicators and outcome,
        in the Plan's order."""
        plan = ox.NamedNode(self.base + "id/plan")
        areas = self._children(plan, (ox.NamedNode(SKOS + "hasTopConcept"),))
        tree = []
        for area in areas:
            goals = [TreeNode(self.ref(g), self.kind(g), [TreeNode(self.ref(c), self.kind(c))
                                                            for c in self._children(g, PLAN_CHILDREN)])
                     for g in self._children(area, (cpb("hasGoal"),))]
            tree.append(TreeNode(self.ref(area), self.kind(area), goals))
        return tree

    def siblings(self, node: Resource) -> tuple[Ref | None, Ref | None]:
        """The previous and next resource of the same kind beside ``node``: under the same parent (the
        objectives of a goal, the articles of a treaty, the paragraphs of a decision, the questions of a
        section), or, for goals and GBF targets, in the whole Plan or Framework; None at either end."""
        kind = self.kind(node)
        if kind is None:
            return None, None
        if kind.value in SEQUENCE_KINDS:
            row = [r.term for r in (self.instances(ox.NamedNode(kind.value)) if kind.value != CPB + "GBFTarget"
                                    else self.gbf_targets())]
        else:
            row = []
            for prop, child_to_parent in PARENT_RELATIONS:
                parents = (self.objects(node, prop) if child_to_parent else self.subjects(prop, node))
                for parent in parents:
                    if not isinstance(parent, (ox.NamedNode, ox.BlankNode)):
                        continue
                    found = self.subjects(prop, parent) if child_to_parent else [
                        o for o in self.objects(parent, prop) if isinstance(o, (ox.NamedNode, ox.BlankNode))]
                    same = [f for f in found if (k := self.kind(f)) is not None and k.term == kind.term]
                    if node in same and len(same) > 1:
                        row = sorted(same, key=self._order_key)
                        break
                if row:
                    break
        if node not in row:
            return None, None
        i = row.index(node)
        return (self.ref(row[i - 1]) if i > 0 else None, self.ref(row[i + 1]) if i + 1 < len(row) else None)

    def document(self, node: Resource) -> list[DocumentPart]:
        """A decision's parts in the order of its text (preamble, operative paragraphs and their
        sub-paragraphs, the annex with its sections and paragraphs, footnotes), each with its text; []
        for anything that is not a decision."""
        if next(self.quads(node, RDF_TYPE, cpb("Decision")), None) is None:
            return []
        prefix = node.value + "/"

        def parts(parent: Resource, depth: int) -> list[DocumentPart]:
            found = []
            for part in self.objects(parent, cpb("hasPart")):
                kind = self.kind(part) if isinstance(part, (ox.NamedNode, ox.BlankNode)) else None
                if kind is None or kind.value not in DOCUMENT_ORDER or not isinstance(part, ox.NamedNode):
                    continue
                found.append((DOCUMENT_ORDER[kind.value], self._order_key(part), part, kind))
            out = []
            for _, _, part, kind in sorted(found, key=lambda f: (f[0], f[1])):
                texts: dict[str, list[ox.Literal]] = {}
                for lit in self.objects(part, cpb("text")):
                    if isinstance(lit, ox.Literal) and (lit.language or "") in MAIN_LANGUAGES:
                        texts.setdefault(lit.language or "", []).append(lit)
                rest = part.value[len(prefix):] if part.value.startswith(prefix) else part.value.rsplit("/", 1)[-1]
                anchor = re.sub(r"[^A-Za-z0-9]+", "-", rest).strip("-") or "part"
                official = any(w == cpb("OfficialWording") for w in self.objects(part, cpb("englishWording")))
                out.append(DocumentPart(self.ref(part), anchor, kind, texts,
                                        parts(part, depth + 1) if depth < 3 else [], official))
            return out

        return parts(node, 0)

    def official_links(self, node: Resource) -> list[tuple[Ref, str]]:
        """(property, URL) of the web pages the data names as where ``node``'s text is published or comes
        from (``dcterms:source``, ``prov:wasDerivedFrom``, ``cpb:englishSource`` ...), outside this dataset;
        for a decision, those of the Plan it adopts too. Only links the data holds: none is made up."""
        holders: list[Resource] = [node]
        if next(self.quads(node, RDF_TYPE, cpb("Decision")), None) is not None:
            holders += [p for p in self.objects(node, cpb("hasPart"))
                        if isinstance(p, ox.NamedNode) and next(self.quads(p, RDF_TYPE, cpb("ImplementationPlan")),
                                                                 None) is not None]
        out: list[tuple[Ref, str]] = []
        for holder in holders:
            for prop in SOURCE_PROPERTIES:
                for value in self.objects(holder, prop):
                    if isinstance(value, ox.NamedNode) and value.value.startswith(("http://", "https://")) \
                            and not value.value.startswith(self.base) and value.value not in [u for _, u in out]:
                        out.append((self.ref(prop), value.value))
        return out
