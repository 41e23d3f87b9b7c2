"""Search over labels and codes: the in-memory label index and the ranking."""

from __future__ import annotations

import collections
import re
import threading
from typing import Any

import pyoxigraph as ox

from cpbkg.describe.lookups import Lookups
from cpbkg.describe.model import (
    CPB,
    DCTERMS_TITLE,
    KIND_RANK,
    RDFS_LABEL,
    SKOS_ALTLABEL,
    SKOS_NOTATION,
    SKOS_PREFLABEL,
    Match,
    SearchHit,
    SearchResults,
    _dedupe,
    main_type,
    natural_key,
)

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
            main = main_type(stated.get(subject, []), inferred.get(subject, []))
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
#: a new Describer (cpbkg.web.routes.ui.View), and the index outlives it. The served store is read-only,
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




class Search(Lookups):
    """Searching the store's labels and codes."""

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

        >>> from cpbkg.describe.model import RDF_TYPE, SKOS_NOTATION, SKOS_PREFLABEL, cpb
        >>> from cpbkg.describe.resource import Describer
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
