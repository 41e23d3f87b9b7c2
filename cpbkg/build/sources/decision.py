"""Decision CP-10/3 as a document: preamble, operative paragraphs, footnotes, annex, actions.

Reads ``data/decision/cp-10-3.yaml`` (the project's curated copy of the official
Chinese text, with English marked official or translated per part).

Every preambular, operative and annex paragraph, annex section and footnote carries a
``cpb:locator`` naming the lines of ``cp-10-3-zh.txt`` its Chinese text (a section: its heading)
is printed on, "cp-10-3-zh.txt lines 57-63" (:class:`~cpbkg.build.sources.zhtext.DecisionText`
finds them; a text that is not printed there, or printed in more than one place, fails the build
with file, line and field of the YAML). Locators are lines and no part gets a ``cpb:page``: the
extraction prints the running header "Page N" on pages 4, 7 and 9 only, so the page of a line of
the decision's body could only be guessed.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS, XSD

from cpbkg.build.sources import zhtext
from cpbkg.build.sources.links import add_link, citation_target
from cpbkg.build.sources.plan import ZH_TEXT
from cpbkg.build.sources.records import Record, read_records
from cpbkg.build.sources.wording import TRANSLATION_NOTE, Translations, add_wording, official_chinese
from cpbkg.vocab import CPB, Ids, sdg_goal

DECISION_FILE = Path("decision") / "cp-10-3.yaml"
ACTION_TYPES = ("adopts", "welcomes", "recognizes", "acknowledges", "notes", "recalls", "urges", "invites",
                "decides", "requests", "affirms", "confirms")
PART_LABELS = {
    "preamble": ("Preambular paragraph {n}", "序言第{n}段", CPB.PreambularParagraph),
    "para": ("Paragraph {n}", "第{n}段", CPB.OperativeParagraph),
    "footnote": ("Footnote {n}", "脚注{n}", CPB.Footnote),
    "annex-section": ("Annex, section {n}", "附件第{n}节", CPB.AnnexSection),
    "annex-para": ("Annex, paragraph {n}", "附件第{n}段", CPB.AnnexParagraph),
}
#: the numerals the Chinese text numbers the annex's sections with ("一." for section I)
SECTION_NUMERALS = {"I": "一", "II": "二", "III": "三", "IV": "四", "V": "五", "VI": "六", "VII": "七",
                    "VIII": "八", "IX": "九", "X": "十"}


class DecisionBuilder:
    """Turns the curated decision records into triples."""

    def __init__(self, ids: Ids, record: Record, text: zhtext.DecisionText) -> None:
        self.ids = ids
        #: the official Chinese text, where each part's locator is found
        self.text = text
        self.graph = Graph()
        self.head = record.need("decision")
        self.symbol = self.head.text("symbol", where="decision.")
        self.uri = ids.document(self.symbol)
        self.documents: set[str] = set()
        self.actors: set[str] = set()
        #: action type -> its verb as the Chinese text prints it
        self.type_zh: dict[str, str] = {}
        #: operative paragraph number -> its Chinese text (an action's Chinese label)
        self.part_zh: dict[str, str] = {}

    def part_uri(self, kind: str, number: str) -> URIRef:
        return self.ids.decision_part(self.symbol, kind, number)

    def decision(self) -> None:
        g, head, uri = self.graph, self.head, self.uri
        g.add((uri, RDF.type, CPB.Decision))
        g.add((uri, SKOS.notation, Literal(self.symbol)))
        g.add((uri, SKOS.altLabel, Literal("CBD/CP/MOP/DEC/10/3")))
        g.add((uri, DCTERMS.identifier, Literal("CBD/CP/MOP/DEC/10/3")))
        g.add((uri, DCTERMS.language, Literal("zh")))
        g.add((uri, SKOS.prefLabel, Literal(f"第{self.symbol}号决定：{head.text('zh_title', where='decision.')}", lang="zh")))
        g.add((uri, SKOS.prefLabel, Literal(f"Decision {self.symbol}: {head.text('en_title', where='decision.')}", lang="en")))
        g.add((uri, DCTERMS.title, Literal(head.text("zh_title", where="decision."), lang="zh")))
        g.add((uri, DCTERMS.title, Literal(head.text("en_title", where="decision."), lang="en")))
        dates = [str(d) for d in head.get("dates") or []]
        if dates:
            # the period of the meeting the header prints; the day of adoption is not printed
            g.add((uri, DCTERMS.date, Literal("/".join(dict.fromkeys((dates[0], dates[-1]))))))
            g.add((uri, SKOS.editorialNote, Literal(
                f"Date: the period of the meeting at which the decision was adopted, as the header of the Chinese text "
                f"prints it (“{head.text('meeting_zh', where='decision.')}”, page 1); the day of adoption itself is "
                "not printed.", lang="en")))
        if head.get("place"):
            g.add((uri, DCTERMS.spatial, Literal(str(head["place"]), lang="en")))
        g.add((uri, CPB.hasPart, self.ids.plan()))
        g.add((uri, PROV.wasDerivedFrom, Literal("official Chinese text of CBD/CP/MOP/DEC/10/3 (cp-10-3-zh.txt)")))

    def document(self, record: Record) -> None:
        symbol = record.text("symbol", where="documents.")
        uri = self.ids.document(symbol)
        kind = str(record.get("kind") or "document")
        g = self.graph
        g.add((uri, RDF.type, CPB.Decision if kind == "decision" else CPB.Document))
        g.add((uri, SKOS.notation, Literal(symbol)))
        g.add((uri, SKOS.prefLabel, Literal(str(record.get("en") or symbol), lang="en")))
        if record.get("zh"):
            g.add((uri, SKOS.prefLabel, Literal(str(record["zh"]), lang="zh")))
        if record.get("note_en"):
            g.add((uri, SKOS.scopeNote, Literal(str(record["note_en"]), lang="en")))
        if record.get("url"):
            g.add((uri, RDFS_SEE_ALSO, URIRef(str(record["url"]))))
        g.add((uri, DCTERMS.source, self.uri))
        self.documents.add(symbol)

    def actor(self, record: Record) -> None:
        key = record.text("key", where="actors.")
        uri = self.ids.actor(key)
        self.graph.add((uri, RDF.type, CPB.Actor))
        self.graph.add((uri, SKOS.prefLabel, Literal(record.text("zh", where=f"actors.{key}."), lang="zh")))
        self.graph.add((uri, SKOS.prefLabel, Literal(record.text("en", where=f"actors.{key}."), lang="en")))
        self.graph.add((uri, DCTERMS.source, self.uri))
        self.actors.add(key)

    def part(self, kind: str, record: Record, parent: URIRef, order: int, *, number_key: str = "number") -> URIRef:
        number = record.text(number_key, where=f"{kind}.")
        where = f"{kind}.{number}."
        uri = self.part_uri(kind, number)
        en_label, zh_label, cls = PART_LABELS[kind]
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, CPB.number, Literal(number)))
        g.add((uri, SKOS.notation, Literal(number)))
        g.add((uri, SKOS.prefLabel, Literal(en_label.format(n=number), lang="en")))
        g.add((uri, SKOS.prefLabel, Literal(zh_label.format(n=number), lang="zh")))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, self.uri))
        g.add((parent, CPB.hasPart, uri))
        if kind != "annex-section":
            # every paragraph and footnote has a text: a missing zh/en fails here, with file and line
            add_wording(g, uri, record, where=where, label=CPB.text)
            if kind == "para":
                self.part_zh[number] = record.text("zh", where=where)
        self.locate(uri, kind, number, record, where)
        if record.get("en_official_partial"):
            g.add((uri, SKOS.note, Literal("Official English (partial copy): " + str(record["en_official_partial"]).strip(), lang="en")))
        if record.get("zh_title"):
            g.add((uri, DCTERMS.title, Literal(record.text("zh_title", where=where), lang="zh")))
            g.add((uri, DCTERMS.title, Literal(record.text("en_title", where=where), lang="en")))
            if not record.get("zh"):
                add_wording(g, uri, record, where=where, label=DCTERMS.alternative, zh_key="zh_title", en_key="en_title")
        self.citations(uri, record, where)
        for note in record.get("footnotes") or []:
            g.add((uri, CPB.hasFootnote, self.part_uri("footnote", str(note))))
        return uri

    def locate(self, uri: URIRef, kind: str, number: str, record: Record, where: str) -> None:
        """The part's ``cpb:locator``: the lines of the Chinese text its text is printed on.

        The text is looked for right after the part's printed number, with the markers of the
        footnotes it carries allowed inside it (:meth:`zhtext.DecisionText.find`).

        Raises:
            SourceError: (the YAML's file, line and field) the text is not printed in the source, or
                printed in more than one place: then where the part is cannot be told.
        """
        key = "zh_title" if kind == "annex-section" else "zh"
        text = record.text(key, where=where)
        name = PART_LABELS[kind][0].format(n=number).lower()
        printed = _printed_number(kind, number)
        if printed is None:
            raise record.error(f"{name}: the Chinese text numbers no section {number!r}", field=where + "number")
        markers = [str(n) for n in record.get("footnotes") or [] if str(n).isdigit()]
        found = self.text.find(text, number=printed, markers=markers)
        what = f"{name}: its {key} {_excerpt(text)!r}" + (f" (after the number {printed!r})" if printed else "")
        if not found:
            raise record.error(f"{what} is not printed in {self.text.path}", field=where + key)
        if len(found) > 1:
            raise record.error(f"{what} is printed {len(found)} times in {self.text.path} "
                               f"({zhtext.line_locator(self.text.path, found)}): which is the part's cannot be told",
                               field=where + key)
        self.graph.add((uri, CPB.locator, Literal(zhtext.line_locator(self.text.path, found))))

    def citations(self, uri: URIRef, record: Record, where: str) -> None:
        for symbol in record.get("cites") or []:
            if str(symbol) not in self.documents:
                raise record.error(f"cites unknown document {symbol!r}; add it under documents:", field=where + "cites")
            self.graph.add((uri, CPB.references, self.ids.document(str(symbol))))
        for key in record.get("articles") or []:
            try:
                target = citation_target(self.ids, str(key))
            except ValueError as exc:
                raise record.error(str(exc), field=where + "articles") from exc
            add_link(self.graph, self.ids, uri, CPB.cites, target, basis=CPB.ExplicitCitation, source=self.uri)
        for number in record.get("sdgs") or []:
            add_link(self.graph, self.ids, self.ids.plan(), CPB.supportsSDG, sdg_goal(int(number)),
                     basis=CPB.ExplicitCitation, source=uri)

    def action_types(self, records: list[Record]) -> None:
        """The action types with their verb as the Chinese text prints it."""
        for record in records:
            key = record.text("key", where="action_types.")
            if key not in ACTION_TYPES:
                raise record.error(f"unknown action type {key!r}; one of {', '.join(ACTION_TYPES)}",
                                   field="action_types.key")
            self.type_zh[key] = record.text("zh", where=f"action_types.{key}.")

    def action(self, record: Record, order: int) -> None:
        key = record.text("key", where="actions.")
        where = f"actions.{key}."
        kind = record.text("type", where=where)
        if kind not in ACTION_TYPES:
            raise record.error(f"unknown action type {kind!r}; one of {', '.join(ACTION_TYPES)}", field=where + "type")
        uri = self.ids.action(self.symbol, key)
        paragraph = self.part_uri("para", record.text("paragraph", where=where))
        g = self.graph
        g.add((uri, RDF.type, CPB.Action))
        g.add((uri, CPB.actionType, self.ids.action_type(kind)))
        g.add((self.ids.action_type(kind), RDF.type, CPB.ActionType))
        action_type = self.ids.action_type(kind)
        if kind not in self.type_zh:
            raise record.error(f"action type {kind!r} has no Chinese verb under action_types:", field=where + "type")
        g.add((action_type, SKOS.prefLabel, Literal(kind, lang="en")))
        g.add((action_type, SKOS.prefLabel, Literal(self.type_zh[kind], lang="zh")))
        g.add((action_type, DCTERMS.source, self.uri))
        g.set((action_type, CPB.englishWording, CPB.ProjectTranslation))
        g.add((action_type, SKOS.editorialNote, TRANSLATION_NOTE))
        official_chinese(g, action_type, self.uri)
        g.add((paragraph, CPB.hasAction, uri))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, self.uri))
        object_en = record.get("object_en")
        label = f"{kind} {object_en}" if object_en else kind
        number = record.text("paragraph", where=where)
        g.add((uri, SKOS.prefLabel, Literal(label, lang="en")))
        g.set((uri, CPB.englishWording, CPB.ProjectParaphrase))
        g.add((uri, SKOS.editorialNote, Literal(
            f"The English label says what paragraph {number} does in the project's own words: a paraphrase, neither "
            "official wording nor a translation. The Chinese label is the paragraph's official text.", lang="en")))
        # the Chinese label is the paragraph's own (official) text, which the action is one verb of
        g.add((uri, SKOS.prefLabel, Literal(self.part_zh[number], lang="zh")))
        official_chinese(g, uri, paragraph)
        if record.get("actor"):
            g.add((uri, PROV.wasAssociatedWith, self.actor_uri(record, "actor", where)))
        for addressee in _as_list(record.get("addressee")):
            g.add((uri, CPB.addressee, self.actor_uri(record, addressee, where, literal=True)))
        deadline = record.get("deadline")
        if isinstance(deadline, Record):
            if deadline.get("zh"):
                g.add((uri, CPB.deadline, Literal(str(deadline["zh"]), lang="zh")))
            if deadline.get("en"):
                g.add((uri, CPB.deadline, Literal(str(deadline["en"]), lang="en")))
            if deadline.get("event"):
                event = self.ids.document(str(deadline["event"]))
                g.add((uri, CPB.deadlineEvent, event))
                g.add((event, SKOS.prefLabel, Literal(str(deadline.get("en") or deadline["event"]), lang="en")))
        elif deadline:
            g.add((uri, CPB.deadline, Literal(str(deadline), lang="en")))

    def actor_uri(self, record: Record, key: str, where: str, *, literal: bool = False) -> URIRef:
        name = key if literal else str(record.get(key))
        if name not in self.actors:
            raise record.error(f"unknown actor {name!r}; add it under actors:", field=where + ("addressee" if literal else key))
        return self.ids.actor(name)


RDFS_SEE_ALSO = URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso")


def _printed_number(kind: str, number: str) -> str | None:
    """The number the Chinese text prints before a part's text: "" where it prints none (a
    preambular paragraph, footnote "*"), None for a section number it has no numeral for.

    >>> [_printed_number(k, n) for k, n in [("para", "1"), ("para", "7(a)"), ("annex-section", "VI"),
    ...                                     ("footnote", "2"), ("footnote", "*"), ("preamble", "3")]]
    ['1.', '(a)', '六.', '2', '', '']
    """
    if kind == "annex-section":
        numeral = SECTION_NUMERALS.get(number)
        return f"{numeral}." if numeral else None
    if kind == "footnote":
        return number if number.isdigit() else ""
    if kind == "preamble":
        return ""
    if "(" in number:  # a sub-paragraph "7(a)" is printed "(a)"
        return "(" + number.partition("(")[2]
    return f"{number}."


def _excerpt(text: str, size: int = 20) -> str:
    return text if len(text) <= size else text[:size] + "..."


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def build_graph(data_dir: Path, ids: Ids, translations: Translations | None = None, *,
                sources_dir: Path | None = None) -> Graph:
    """The decision graph.

    Args:
        data_dir: the data folder (``Settings.data_dir``).
        ids: the URI minter.
        translations: the project's translations (default: read from ``data_dir``).
        sources_dir: where ``cp-10-3-zh.txt`` is (``Settings.sources_dir``); default
            ``data_dir / "sources"``, the folder the settings name.

    Raises:
        SourceError: the curated file is broken (file, line, field), or a part's text is not
            printed in (exactly one place of) the official Chinese text.
    """
    records = read_records(data_dir / DECISION_FILE)
    text = zhtext.DecisionText.read((sources_dir or data_dir / "sources") / ZH_TEXT)
    builder = DecisionBuilder(ids, records, text)
    builder.decision()
    for record in records.items_of("documents"):
        builder.document(record)
    for record in records.items_of("actors"):
        builder.actor(record)
    for order, record in enumerate(records.items_of("footnotes"), start=1):
        builder.part("footnote", record, builder.uri, order)
    for order, record in enumerate(records.items_of("preamble"), start=1):
        builder.part("preamble", record, builder.uri, order)
    for order, record in enumerate(records.items_of("operative"), start=1):
        para = builder.part("para", record, builder.uri, order)
        for sub_order, sub in enumerate(record.items_of("subparagraphs"), start=1):
            builder.part("para", sub, para, sub_order)
    annex = records.need("annex")
    annex_uri = builder.part_uri("annex", "annex")
    _annex(builder, annex, annex_uri)
    builder.action_types(records.items_of("action_types"))
    for order, record in enumerate(records.items_of("actions"), start=1):
        builder.action(record, order)
    # documents the text names by symbol only (no Chinese title printed): the project's translation
    documents = sorted(s for s in builder.graph.subjects(RDF.type, CPB.Document) if isinstance(s, URIRef))
    (translations or Translations.load(data_dir)).fill(builder.graph, ids, documents)
    return builder.graph


def _annex(builder: DecisionBuilder, annex: Record, annex_uri: URIRef) -> None:
    g = builder.graph
    g.add((annex_uri, RDF.type, CPB.DecisionPart))
    g.add((annex_uri, SKOS.prefLabel, Literal("Annex: " + annex.text("en_title", where="annex."), lang="en")))
    g.add((annex_uri, SKOS.prefLabel, Literal("附件：" + annex.text("zh_title", where="annex."), lang="zh")))
    g.add((annex_uri, DCTERMS.source, builder.uri))
    g.add((builder.uri, CPB.hasPart, annex_uri))
    g.add((annex_uri, CPB.hasPart, builder.ids.plan()))
    paragraphs = {str(p.text("number", where="annex.paragraphs.")): p for p in annex.items_of("paragraphs")}
    placed: set[str] = set()
    for order, section in enumerate(annex.items_of("sections"), start=1):
        section_uri = builder.part("annex-section", section, annex_uri, order)
        for number in section.get("paragraphs") or []:
            number = str(number)
            if number not in paragraphs:
                raise section.error(f"paragraph {number} is not under annex.paragraphs", field="annex.sections.paragraphs")
            builder.part("annex-para", paragraphs[number], section_uri, int(number) if number.isdigit() else 0)
            placed.add(number)
    unplaced = sorted(set(paragraphs) - placed)
    if unplaced:
        raise annex.error(f"annex paragraphs in no section: {', '.join(unplaced)}", field="annex.sections")
