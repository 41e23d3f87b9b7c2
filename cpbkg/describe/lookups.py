"""Looking things up in a store: labels, codes, kinds, descriptions and links."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cpbkg.describe.model import (
    DCTERMS_CREATOR,
    DCTERMS_DATE,
    DCTERMS_SOURCE,
    KNOWN_LABELS,
    LABEL_PROPERTIES,
    MAIN_LANGUAGES,
    OWL_INVERSE_OF,
    RDF_TYPE,
    SKOS_NOTATION,
    LinkInfo,
    Ref,
    Resource,
    Term,
    cpb,
    dedupe,
    local_name,
    main_type,
)

if TYPE_CHECKING:
    from cpbkg.describe.search import LabelIndex
    from cpbkg.store.protocol import GraphStore


class Lookups:
    """Reads one store; caches names within its own lifetime.

    Make one per request (or per store and build): the cache is not invalidated.
    """

    def __init__(self, store: GraphStore, base: str) -> None:
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
        # the graph holds no RDF-star quoted triples; the filter tells the type checker so
        return dedupe(q.object for q in self.quads(subject, predicate) if not isinstance(q.object, ox.Triple))

    def subjects(self, predicate: ox.NamedNode, obj: Term) -> list[Resource]:
        return dedupe(q.subject for q in self.quads(None, predicate, obj) if not isinstance(q.subject, ox.Triple))

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

        objects = dedupe(t.object for t in triples if isinstance(t.object, ox.NamedNode) and t.object != node)
        for obj in objects:
            for prop in (*LABEL_PROPERTIES, SKOS_NOTATION):
                add(ox.Triple(q.subject, q.predicate, q.object) for q in self.quads(obj, prop))
        for link in self.subjects(cpb("linkSubject"), node):
            add(self.cbd(link))
        return sorted(triples + extra, key=str)

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

    def kind(self, node: Resource) -> Ref | None:
        """The main type of ``node``: a stated (not inferred) type, CPB-KG's own classes first.

        >>> from cpbkg.describe.model import RDF_TYPE, SKOS, cpb
        >>> from cpbkg.describe.resource import Describer
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
        main = main_type(stated, inferred)
        return self.ref(main) if main is not None else None

    def count_triples(self, graph: ox.NamedNode) -> int:
        """How many triples a named graph holds."""
        return sum(1 for _ in self.quads(graph=graph))

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
