"""Search over labels, codes and notes: the in-memory label index, word- and CJK-aware matching, the
ranking, the context of each hit and the type filters.

What is searched: the labels (``skos:prefLabel``, ``skos:altLabel``, ``rdfs:label``,
``dcterms:title``), codes (``skos:notation``) and notes (``skos:definition``, ``skos:scopeNote``,
``skos:note``) of every IRI, in every language. The store is asked for the rows whose text
*contains* the text searched for (or each of its words), bound as a query parameter; of those,
only the ones where it starts a word count ("STAR" does not find "presupuestarias", "assess" finds
"assessment"), except in Chinese and Japanese script, which has no spaces between words: there a
run of characters matches anywhere, and a run found nowhere whole is looked for as its two-character
pieces (all of them in one label).

Ranking, best first: a code typed as people write it (:mod:`cpbkg.describe.codes`: "Target 17",
"SDG 2", "Art. 26", "A.1(a)", "Q7", "CHN"), flagged ``exact``; a label equal to the text; the text
at the start of a label; at a later word; every word of it somewhere; its pieces (Chinese). Within
that, the kind: Plan elements, treaty articles, GBF and SDG targets and Parties first, decision
parts, GBF indicators and regions next, questionnaire fragments last, and internal keys of the
questionnaires (``legend15_16``) after them; a match in a note counts less than one in a label.
"""

from __future__ import annotations

import collections
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from cpbkg.describe.codes import code_key, kind_keys, read_code
from cpbkg.describe.lookups import Lookups
from cpbkg.describe.model import (
    CPB,
    DCTERMS_TITLE,
    KIND_RANK,
    RDFS_LABEL,
    SKOS,
    SKOS_ALTLABEL,
    SKOS_DEFINITION,
    SKOS_NOTATION,
    SKOS_PREFLABEL,
    Match,
    Ref,
    SearchHit,
    SearchResults,
    cpb,
    dedupe,
    main_type,
    natural_key,
)

SKOS_SCOPE_NOTE = ox.NamedNode(SKOS + "scopeNote")
SKOS_NOTE = ox.NamedNode(SKOS + "note")
#: the notes search looks in (a match there counts less than one in a label)
NOTE_PROPERTIES = (SKOS_DEFINITION, SKOS_SCOPE_NOTE, SKOS_NOTE)
#: the label, code and note properties search looks in
SEARCH_PROPERTIES = (SKOS_PREFLABEL, SKOS_ALTLABEL, SKOS_NOTATION, RDFS_LABEL, DCTERMS_TITLE, *NOTE_PROPERTIES)
#: the search queries: the text is bound to ?needle with ``substitutions``, never pasted in.
#: MATCH_PATTERN: the resources with a label (or code, or note) that contains the text
MATCH_PATTERN = """VALUES ?p { %s }
  ?s ?p ?label .
  FILTER(isIRI(?s) && isLiteral(?label) && CONTAINS(LCASE(STR(?label)), ?needle))"""
#: the labels that matched, with the property that holds each
SEARCH_QUERY = "SELECT DISTINCT ?s ?p ?label ?needle WHERE {\n  %s\n} LIMIT %d"
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


#: one row of the label index and of a search: the resource, the property, the label
Row = tuple[ox.NamedNode, ox.NamedNode, ox.Literal]


class LabelIndex:
    """Every label, code and note of the store's IRIs, in memory, for :meth:`Describer.search`.

    ``rows`` are the (subject, property, label) triples :data:`SEARCH_QUERY` reads, in the order the store
    gives them (so a search picks the same rows, and stops at the same one, as the query would),
    with each label's lower-cased text beside it; ``kinds`` the main type of each subject
    (:meth:`Describer.kind`) and ``codes`` its ``skos:notation`` values. Two queries build it:
    the labels (:data:`SEARCH_QUERY` with the empty text, which every label contains) and their
    subjects' types and codes (:data:`INDEX_FACTS_QUERY`). Read-only once built.
    """

    def __init__(self, rows: list[Row], kinds: dict[ox.NamedNode, ox.NamedNode],
                 codes: dict[ox.NamedNode, list[str]]) -> None:
        self.rows = rows
        self.texts = [label.value.lower() for _, _, label in rows]
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
        properties = {p: p for p in SEARCH_PROPERTIES}
        rows: list[Row] = []
        for row in store.query(SEARCH_QUERY % (MATCH_PATTERN % props, max_labels + 1),
                               use_default_graph_as_union=True, substitutions=every):
            subject, prop, label = row["s"], row["p"], row["label"]
            if isinstance(subject, ox.NamedNode) and isinstance(label, ox.Literal) and isinstance(prop, ox.NamedNode):
                rows.append((subjects.setdefault(subject, subject), properties.get(prop, prop), label))
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

    def matching(self, needle: str, limit: int) -> list[Row]:
        """The first ``limit`` rows whose lower-cased label contains ``needle``, in index order."""
        out: list[Row] = []
        for row, text in zip(self.rows, self.texts, strict=True):
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


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+")


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _word_char(ch: str) -> bool:
    """A character that continues a word (a letter or digit of an alphabetic script)."""
    return ch.isalnum() and not _is_cjk(ch)


def find_word(text: str, needle: str) -> tuple[int, bool] | None:
    """Where ``needle`` starts a word in ``text`` (both lower case), and whether it is a whole word
    there; None when it only occurs inside words. In Chinese and Japanese script any position counts.

    >>> find_word("presupuestarias", "star"), find_word("start here", "star"), find_word("a star", "star")
    (None, (0, False), (2, True))
    >>> find_word("sound risk assessments of", "risk assessment")
    (6, True)
    >>> find_word("缔约方进行风险评估", "风险评估"), find_word("indicator a.1(a)", "a.1(a)")
    ((5, True), (10, True))
    """
    if not needle:
        return None
    first, last = needle[0], needle[-1]
    best: tuple[int, bool] | None = None
    start = text.find(needle)
    while start >= 0:
        if _is_cjk(first) or not _word_char(first) or start == 0 or not _word_char(text[start - 1]):
            end = start + len(needle)
            rest = end
            while rest < len(text) and _word_char(text[rest]):
                rest += 1
            # a plural is the same word ("risk assessment" is whole in "risk assessments")
            whole = _is_cjk(last) or not _word_char(last) or text[end:rest] in ("", "s", "es")
            if whole:
                return start, True
            if best is None:
                best = (start, False)
        start = text.find(needle, start + 1)
    return best


def search_words(needle: str) -> list[str]:
    """The words of a search: split at spaces and where Chinese script meets another (at most six).

    >>> search_words("行动目标17 biosafety")
    ['行动目标', '17', 'biosafety']
    """
    words: list[str] = []
    for chunk in needle.split():
        words.extend(part for part in re.split(f"({_CJK_RUN.pattern})", chunk) if part)
    return dedupe(words)[:6]


def cjk_pieces(needle: str) -> list[str]:
    """What a search with Chinese text finds nowhere whole is looked for as: the two-character pieces of
    each Chinese run of three or more characters, and the other words as they are.

    >>> cjk_pieces("生物安全框架"), cjk_pieces("风险 评估")
    (['生物', '物安', '安全', '全框', '框架'], [])
    """
    pieces: list[str] = []
    split = False
    for word in search_words(needle):
        if _CJK_RUN.fullmatch(word) and len(word) >= 3:
            pieces.extend(word[i:i + 2] for i in range(len(word) - 1))
            split = True
        else:
            pieces.append(word)
    return dedupe(pieces)[:12] if split else []


#: how much a hit's kind adds to its score: Plan elements, articles, targets and Parties first
#: (0), decision parts, GBF indicators, regions next, questionnaire fragments last
KIND_TIERS: dict[str, int] = {
    **{CPB + k: 0 for k in ("ImplementationPlan", "Area", "Goal", "Objective", "Indicator", "Outcome", "Article",
                            "TreatyAnnex", "Treaty", "GBFVision", "GBFMission", "GBFGoal", "GBFTarget", "Party")},
    **{CPB + k: 6 for k in ("GBFIndicator", "GBFQuestion", "Decision", "OperativeParagraph", "PreambularParagraph",
                            "AnnexSection", "AnnexParagraph", "Footnote", "DecisionPart", "Action", "Actor",
                            "Region", "Document", "Provision", "Questionnaire")},
}
#: the tier of anything else (questionnaire sections, questions and options, memberships, rules, ...)
LOW_TIER = 25
#: a match in a note (skos:definition, ...) rather than a label or code
NOTE_PENALTY = 25
#: an internal key of a questionnaire as its only match ("legend15_16", "OtherInformation")
INTERNAL_KEY_PENALTY = 15
_INTERNAL_KEY = re.compile(r"_|^legend|^[a-z]+[A-Z]|^[A-Z][a-z]+[A-Z]")
#: the type filters of a search (``type=``): a name, and the kinds (:func:`cpbkg.describe.codes.kind_keys`) it takes
TYPE_FILTERS: dict[str, frozenset[str]] = {name: frozenset(kinds.split()) for name, kinds in {
    "plan": "implementationplan area goal objective indicator outcome",
    "area": "area", "goal": "goal", "objective": "objective", "indicator": "indicator", "outcome": "outcome",
    "article": "article treatyannex", "treaty": "treaty article treatyannex",
    "gbf": "gbfvision gbfmission gbfgoal gbftarget gbfindicator gbfquestion", "target": "gbftarget sdgtarget",
    "sdg": "sdg sdgtarget sdgindicator",
    "decision": "decision operativeparagraph preambularparagraph annexsection annexparagraph footnote "
                "decisionpart action actor",
    "question": "questionnaire questionnairesection reportquestion answeroption",
    "party": "party", "region": "region",
}.items()}
#: how a hit is placed, by the kind of the hit: the properties that lead to its parent, child to parent
#: (True) or parent to child (False), tried in this order
CONTEXT_STEPS: dict[str, tuple[tuple[ox.NamedNode, bool], ...]] = {
    CPB + "Goal": ((cpb("inArea"), True),),
    CPB + "Objective": ((cpb("objectiveOf"), True), (cpb("hasObjective"), False)),
    CPB + "Indicator": ((cpb("indicatorOf"), True), (cpb("hasIndicator"), False)),
    CPB + "Outcome": ((cpb("outcomeOf"), True), (cpb("hasOutcome"), False)),
    CPB + "Article": ((cpb("provisionOf"), True),),
    CPB + "TreatyAnnex": ((cpb("provisionOf"), True),),
    CPB + "ReportQuestion": ((cpb("questionIn"), True),),
    CPB + "QuestionnaireSection": ((cpb("sectionOf"), True),),
    CPB + "AnswerOption": ((cpb("hasOption"), False),),
    CPB + "GBFIndicator": ((cpb("indicatorForTarget"), True),),
    CPB + "GBFQuestion": ((cpb("indicatorQuestion"), False),),
    CPB + "Membership": ((cpb("member"), True), (cpb("memberOf"), True)),
    **{CPB + k: ((cpb("partOf"), True), (cpb("hasPart"), False))
       for k in ("OperativeParagraph", "PreambularParagraph", "AnnexSection", "AnnexParagraph", "Footnote",
                 "DecisionPart")},
}
#: kinds whose context goes on up to the questionnaire or goal that holds them
_CONTEXT_UP = frozenset({CPB + "ReportQuestion", CPB + "AnswerOption", CPB + "QuestionnaireSection"})


@dataclass
class Hit(SearchHit):
    """A search hit with what places it: ``exact`` when the text is its code as people write it, and
    ``context`` the resources it belongs to (its goal, treaty, questionnaire; outermost last) with
    the reporting cycle of a questionnaire's question; ``notes`` the notes that matched."""

    exact: bool = False
    context: list[Ref] = field(default_factory=list)
    cycle: str | None = None
    notes: list[Match] = field(default_factory=list)


class Search(Lookups):
    """Searching the store's labels, codes and notes."""

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

    def _label_rows(self, needle: str) -> tuple[dict[ox.NamedNode, list[tuple[ox.NamedNode, ox.Literal]]], bool]:
        """{resource: its (property, label) pairs containing ``needle``}, and whether the scan hit its limit.

        From the label index when there is one (no query); else from the store, the kinds and
        codes of those resources read in the same go (:data:`FACTS_QUERY`)."""
        index = self.label_index()
        if index is None:
            return self._queried_label_rows(needle)
        rows = index.matching(needle, self.SEARCH_SCAN)
        found: dict[ox.NamedNode, list[tuple[ox.NamedNode, ox.Literal]]] = {}
        for subject, prop, label in rows:
            found.setdefault(subject, []).append((prop, label))
        for subject in found:
            if subject in index.codes:
                codes = self._codes.setdefault(subject, [])
                codes.extend(c for c in index.codes[subject] if c not in codes)
            if subject not in self._kinds:
                kind = index.kinds.get(subject)
                self._kinds[subject] = self.ref(kind) if kind is not None else None
        return found, len(rows) >= self.SEARCH_SCAN

    def _queried_label_rows(self, needle: str) -> tuple[dict[ox.NamedNode, list[tuple[ox.NamedNode, ox.Literal]]],
                                                        bool]:
        """:meth:`_label_rows` without the index: two queries."""
        pattern = MATCH_PATTERN % " ".join(f"<{p.value}>" for p in SEARCH_PROPERTIES)
        bound: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable("needle"): ox.Literal(needle)}
        rows: list[ox.QuerySolution] = list(self.store.query(  # type: ignore[arg-type]
            SEARCH_QUERY % (pattern, self.SEARCH_SCAN), use_default_graph_as_union=True, substitutions=bound))
        found: dict[ox.NamedNode, list[tuple[ox.NamedNode, ox.Literal]]] = {}
        for row in rows:
            subject, prop, label = row["s"], row["p"], row["label"]
            if isinstance(subject, ox.NamedNode) and isinstance(label, ox.Literal) and isinstance(prop, ox.NamedNode):
                found.setdefault(subject, []).append((prop, label))
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

    # ------------------------------------------------------------------ ranking

    def _kind_keys(self, subject: ox.NamedNode) -> frozenset[str]:
        kind = self._kinds.get(subject)
        return kind_keys(subject.value, [kind.value] if kind else [])

    def _tier(self, subject: ox.NamedNode) -> int:
        kind = self._kinds.get(subject)
        if kind is not None and kind.value in KIND_TIERS:
            return KIND_TIERS[kind.value]
        keys = self._kind_keys(subject)
        if keys & {"sdg", "sdgtarget"}:
            return 0
        return 6 if "sdgindicator" in keys else LOW_TIER

    def _phrase_score(self, needle: str, pairs: list[tuple[ox.NamedNode, ox.Literal]],
                      ) -> tuple[int, list[Match], list[Match]] | None:
        """The best score of ``needle`` (the whole text) in a resource's labels and notes, with the
        label matches and the note matches; None when it starts no word anywhere."""
        best, matches, notes = 99, [], []
        for prop, label in dedupe(pairs):
            value = label.value.lower()
            found = find_word(value, needle)
            if found is None:
                continue
            start, whole = found
            match = Match(label, start, start + len(needle))
            if value == needle:
                score = 2
            elif start == 0:
                score = 10 if whole else 12
            else:
                score = 20 if whole else 22
            if prop in NOTE_PROPERTIES:
                notes.append(match)
                score += NOTE_PENALTY
            else:
                matches.append(match)
            best = min(best, score)
        if best == 99:
            return None
        return best, matches, notes

    def _is_internal(self, subject: ox.NamedNode, matches: list[Match]) -> bool:
        """The resource matched only by internal keys of a questionnaire (``legend15_16``)."""
        if self._tier(subject) < LOW_TIER or not matches:
            return False
        codes = set(self._codes.get(subject, []))
        return all(m.literal.value in codes and _INTERNAL_KEY.search(m.literal.value) for m in matches)

    def _word_scores(self, words: list[str], by_word: dict[str, dict[ox.NamedNode, list[tuple[ox.NamedNode,
                     ox.Literal]]]], base: int) -> dict[ox.NamedNode, tuple[int, list[Match], list[Match]]]:
        """Resources that hold every word (at the start of a word of a label or note, or in the name of
        their kind): ``base`` when every word is whole, ``base + 10`` else; 5 for a kind's name and a whole
        code ("article 17", "target 17", "goal A.1") when ``base`` is 40."""
        out: dict[ox.NamedNode, tuple[int, list[Match], list[Match]]] = {}
        for subject in {s for rows in by_word.values() for s in rows}:
            kind = self._kinds.get(subject)
            kind_names = " ".join(kind.labels.values()).lower() if kind else ""
            matches: list[Match] = []
            notes: list[Match] = []
            whole = 0
            strong = False
            in_notes = False
            ok = True
            for word in words:
                pairs = dedupe(by_word[word].get(subject, []))
                hits: list[tuple[ox.NamedNode, ox.Literal, tuple[int, bool]]] = []
                for prop, label in pairs:
                    found_at = find_word(label.value.lower(), word)
                    if found_at is not None:
                        hits.append((prop, label, found_at))
                in_kind = find_word(kind_names, word) is not None
                if not hits and not in_kind:
                    ok = False
                    break
                split = [[t.strip(".,;:") for t in label.value.lower().split()] for _, label, _ in hits]
                whole += in_kind or any(f[1] for _, _, f in hits)
                # the kind's name, or a whole code ("A.1", "Art. 17")
                strong = strong or in_kind or any(word in tokens and len(tokens) <= 2 for tokens in split)
                if hits and all(prop in NOTE_PROPERTIES for prop, _, _ in hits):
                    in_notes = True
                for prop, label, (start, _) in hits:
                    (notes if prop in NOTE_PROPERTIES else matches).append(Match(label, start, start + len(word)))
            if not ok:
                continue
            score = 5 if base == 40 and whole == len(words) and strong else base if whole == len(words) else base + 10
            out[subject] = (score + (NOTE_PENALTY if in_notes else 0), matches, notes)
        return out

    def search(self, text: str, *, limit: int = 100, types: frozenset[str] | None = None,
               context: bool = True) -> SearchResults:
        """Resources whose labels, codes or notes hold ``text``, in any language, case-insensitive.

        Looks in ``skos:prefLabel``, ``skos:altLabel``, ``skos:notation``, ``rdfs:label``,
        ``dcterms:title`` and the notes of :data:`NOTE_PROPERTIES`, where the text starts a word
        (anywhere in Chinese script; see the module docstring). Text of several words also finds a
        resource whose labels hold each word, or whose kind's name does ("target 17" finds GBF
        Target 17, "指标 A.1(a)" the indicator); a code written as people write it finds its
        resource first, flagged ``exact``. Ranked as the module docstring says; ties by kind (Plan
        elements first, :data:`KIND_ORDER`) and code. At most ``limit`` hits (:class:`Hit`), of the
        kinds ``types`` names (:data:`TYPE_FILTERS` values; None: any), each with its ``context``
        (looked up for the hits returned only; ``context=False``: none).

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
        >>> [(h.ref.value, h.exact) for h in d.search("Goal  a.1").hits]
        [('https://x.org/id/b', True)]
        >>> d.search('a.1" } ?x ?y ?z {').total
        0
        """
        needle = normalise_search(text)
        if not needle:
            return SearchResults(text, [], 0, False)
        found, truncated = self._label_rows(needle)
        scored: dict[ox.NamedNode, tuple[int, list[Match], list[Match]]] = {}
        for subject, pairs in found.items():
            phrase = self._phrase_score(needle, pairs)
            if phrase is not None:
                scored[subject] = phrase

        pool = dict(found)
        words = search_words(needle)
        if len(words) > 1:
            by_word = {}
            for word in words:
                by_word[word], more = self._label_rows(word)
                truncated = truncated or more
                for subject, pairs in by_word[word].items():
                    pool.setdefault(subject, pairs)
            for subject, result in self._word_scores(words, by_word, 40).items():
                if result[0] < scored.get(subject, (99,))[0]:
                    scored[subject] = result

        # a code as people write it ("Target 17", "SDG 2", "第26条"): its resource, exact
        typed = read_code(text)
        if typed.kinds and typed.code and typed.code not in words and typed.code != needle:
            rows, more = self._label_rows(typed.code)
            truncated = truncated or more
            for subject, pairs in rows.items():
                pool.setdefault(subject, pairs)
        exact: set[ox.NamedNode] = set()
        if typed.code:
            for subject in pool:
                if any(code_key(c) == typed.code for c in self._codes.get(subject, [])) and (
                        not typed.kinds or typed.kinds & self._kind_keys(subject)):
                    exact.add(subject)
                    matches = [Match(label, 0, len(label.value)) for prop, label in pool[subject]
                               if prop == SKOS_NOTATION and code_key(label.value) == typed.code]
                    scored[subject] = (0, matches or scored.get(subject, (0, [], []))[1], [])

        if not scored:  # Chinese text found nowhere whole: its two-character pieces, all in one resource
            pieces = cjk_pieces(needle)
            if pieces:
                by_piece = {}
                for piece in pieces:
                    by_piece[piece], more = self._label_rows(piece)
                    truncated = truncated or more
                scored.update(self._word_scores(pieces, by_piece, 60))

        def final(subject: ox.NamedNode, score: int, matches: list[Match]) -> int:
            if subject in exact:
                return 0
            penalty = INTERNAL_KEY_PENALTY if self._is_internal(subject, matches) else 0
            return score + self._tier(subject) + penalty

        ranked_scores = {subject: final(subject, score, matches) for subject, (score, matches, _) in scored.items()}

        def key(subject: ox.NamedNode) -> tuple[object, ...]:
            kind = self._kinds.get(subject)
            rank = KIND_RANK.get(kind.value, len(KIND_RANK)) if kind else len(KIND_RANK) + 1
            codes = sorted(self._codes.get(subject, []), key=natural_key)
            matches = scored[subject][1] or scored[subject][2]
            first = codes[0] if codes else matches[0].literal.value if matches else subject.value
            return (ranked_scores[subject], rank, natural_key(first), subject.value)

        candidates = [s for s in scored if not types or types & self._kind_keys(s)]
        ranked = sorted(candidates, key=key)
        # only the hits shown are looked up in full (labels in every language: one Ref each)
        hits: list[SearchHit] = []
        for subject in ranked:
            if len(hits) >= limit:
                break
            kind = self._kinds.get(subject)
            if kind and kind.value == CPB + "Link":  # a link record is shown with its link
                continue
            _, matches, notes = scored[subject]
            hit = Hit(self.ref(subject), kind, matches, ranked_scores[subject], exact=subject in exact, notes=notes)
            if context:
                hit.context, hit.cycle = self.context_of(subject, kind)
            hits.append(hit)
        total = sum(1 for s in ranked if not ((k := self._kinds.get(s)) and k.value == CPB + "Link"))
        return SearchResults(text, hits, total, truncated)

    # ------------------------------------------------------------------ context

    def context_of(self, node: ox.NamedNode, kind: Ref | None) -> tuple[list[Ref], str | None]:
        """What a resource belongs to, nearest first (its goal and area; its treaty; its section and
        questionnaire), and the reporting cycle of a questionnaire's part: a few look-ups by kind."""
        chain: list[Ref] = []
        current: ox.NamedNode | ox.BlankNode = node
        kind_iri = kind.value if kind else ""
        for _ in range(3):
            steps = CONTEXT_STEPS.get(kind_iri, ())
            parent = None
            for prop, up in steps:
                found = self.objects(current, prop) if up else self.subjects(prop, current)
                named = sorted((f for f in found if isinstance(f, ox.NamedNode)), key=lambda n: n.value)
                if named:
                    parent = named[0]
                    if kind_iri == CPB + "Membership":  # the Party and the treaty
                        chain.extend(self.ref(n) for p, _ in steps for n in self.objects(node, p)
                                     if isinstance(n, ox.NamedNode))
                        return chain, None
                    break
            if parent is None:
                break
            chain.append(self.ref(parent))
            parent_kind = self.kind(parent)
            kind_iri = parent_kind.value if parent_kind else ""
            if kind_iri not in CONTEXT_STEPS or kind_iri in (CPB + "Goal",) and len(chain) > 1:
                break
            if kind_iri == CPB + "Area" or kind_iri == CPB + "Treaty" or kind_iri == CPB + "Questionnaire":
                break
            current = parent
        cycle = None
        if kind is not None and kind.value in _CONTEXT_UP | {CPB + "Questionnaire"}:
            for holder in [node, *(r.term for r in chain)]:
                values = [v.value for v in self.objects(holder, cpb("reportingCycle")) if isinstance(v, ox.Literal)]
                if values:
                    cycle = values[0]
                    break
        return chain, cycle
