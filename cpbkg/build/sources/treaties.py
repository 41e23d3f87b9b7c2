"""The three treaties the Plan rests on, provision by provision, with their English text.

(Over 500 lines on purpose: one reader per source format of the three treaty texts and the
questionnaires' article titles, and their checks, all about one source: the treaties.)

Sources (copies in ``data/sources/treaties/``): the English texts of the Dutch treaty
database as Markdown, from statengeneraal/laws-markdown at commit 91556a8 (BWBV0001513
Cartagena Protocol, BWBV0005391 Nagoya-Kuala Lumpur Supplementary Protocol, BWBV0001136
Convention on Biological Diversity). Each file holds the English text first and then the
Dutch translation; only the English part is read.

What the graph holds:

* the Cartagena Protocol (``cpb``): Articles 1-40 and Annexes I-III;
* the Supplementary Protocol (``nkl``): Articles 1-21;
* the Convention (``cbd``): Articles 8, 19 and 24 only, the ones the Plan and the
  Protocol lean on. All 42 headings are still read, so the order check covers the
  whole Convention.

Each provision gets its number as printed (``cpb:number`` "17", "III"), a notation
("Art. 17", "Annex III"), its title as printed (cross-checked against the list in
``data/sources/reference-facts.md``) and its full text, cleaned of the Markdown and HTML
noise of the copy (links, emphasis, tags, the database's status notes) and otherwise
verbatim, misprints of the copy included. A heading that is missing, repeated or out of
order fails the build with the file and line (:class:`~cpbkg.errors.SourceError`), so a
changed source cannot silently drop an article.

Titles in the other UN languages (:func:`questionnaire_titles`): the Secretariat's national
report questionnaires title their sections after the Protocol's articles in the six UN
languages ("第18条 — 处理、运输、包装和标志"). A section about one article gives that article
its zh, fr, es, ru and ar titles (the fifth report's wording, without the leading article
number and footnote marks), with the section as ``cpb:chineseSource``; where the fourth
report words a title differently, that wording is a ``skos:altLabel``. Every other provision
gets its Chinese title from the project's translations (``data/translations/zh.yaml``,
marked ``cpb:ProjectTranslation``). ``rdfs:label`` names the treaty as well
("Cartagena Protocol, Article 18: ..."), because "Art. 18" alone exists in three treaties.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS, SKOS, XSD

from cpbkg.build.sources import zhtext
from cpbkg.build.sources.questionnaires import QUESTIONNAIRE_SOURCE, read_json
from cpbkg.build.sources.wording import Translations, official_chinese, translations_beside
from cpbkg.errors import SourceError, read_text
from cpbkg.vocab import CPB, Ids

#: the origin named in data/sources/README.md, pinned to its commit
REPO = "https://github.com/statengeneraal/laws-markdown/blob/91556a80a25a3da4234c8039945c6aeef4108d00/"
TREATY_DIR = Path("treaties")
REFERENCE_FACTS = "reference-facts.md"
ZH_TEXT = "cp-10-3-zh.txt"

#: a provision is identified by its kind and its number as printed: ("Article", "17"), ("Annex", "III")
Key = tuple[str, str]


def _articles(last: int) -> tuple[Key, ...]:
    return tuple(("Article", str(n)) for n in range(1, last + 1))


@dataclass(frozen=True)
class TreatySpec:
    """What one treaty file must contain, and how the treaty is named."""

    key: str
    file: str
    #: path of the file in the origin repository (reference-facts.md, section 3)
    repo_path: str
    bwbv: str
    #: the UN depositary number (reference-facts.md, section 6), the treaty's official code
    notation: str
    en: str
    #: as printed in the official Chinese text of CP-10/3; the build checks that it is there
    zh: str | None
    #: every provision heading of the English text, in order
    sequence: tuple[Key, ...]
    #: the provisions put in the graph (None: all of them)
    published: frozenset[Key] | None = None
    #: how rdfs:label names the treaty before an article or annex number (en, zh)
    short: tuple[str, str] = ("", "")

    @property
    def source(self) -> URIRef:
        return URIRef(REPO + self.repo_path)

    def publishes(self, key: Key) -> bool:
        return self.published is None or key in self.published


TREATIES: tuple[TreatySpec, ...] = (
    TreatySpec(
        key="cpb",
        file="cartagena-protocol-en.md",
        repo_path="verdrag/cartagena/protocol/on/biosafety/to/the/convention/on/biological/diversity/BWBV0001513/README.md",
        bwbv="BWBV0001513",
        notation="XXVII-8-a",
        en="Cartagena Protocol on Biosafety to the Convention on Biological Diversity",
        zh="《卡塔赫纳生物安全议定书》",
        sequence=_articles(40) + (("Annex", "I"), ("Annex", "II"), ("Annex", "III")),
        short=("Cartagena Protocol", "《卡塔赫纳生物安全议定书》"),
    ),
    TreatySpec(
        key="nkl",
        file="nagoya-kuala-lumpur-supplementary-protocol-en.md",
        repo_path="verdrag/nagoya-kuala/lumpur/supplementary/protocol/on/liability/and/redress/to/the/etc/BWBV0005391/README.md",
        bwbv="BWBV0005391",
        notation="XXVII-8-c",
        # capitalised as in reference-facts.md; the Markdown prints "Nagoya-Kuala Lumpur ... Liability and redress"
        en="Nagoya – Kuala Lumpur Supplementary Protocol on Liability and Redress to the Cartagena Protocol on Biosafety",
        # CP-10/3 annex para. 11 prints this short form; the treaty's full Chinese title is not in the sources
        zh="《关于赔偿责任和补救的名古屋-吉隆坡补充议定书》",
        sequence=_articles(21),
        short=("Nagoya – Kuala Lumpur Supplementary Protocol", "《补充议定书》"),
    ),
    TreatySpec(
        key="cbd",
        file="convention-on-biological-diversity-en.md",
        repo_path="verdrag/convention/on/biological/diversity/BWBV0001136/README.md",
        bwbv="BWBV0001136",
        notation="XXVII-8",
        # capitalised as the Cartagena Protocol's own title prints it; the Markdown has "Convention on biological diversity"
        en="Convention on Biological Diversity",
        zh="《生物多样性公约》",
        sequence=_articles(42),
        published=frozenset({("Article", "8"), ("Article", "19"), ("Article", "24")}),
        short=("Convention on Biological Diversity", "《生物多样性公约》"),
    ),
)

# Markdown structure of the copies: "### Article  17" (or "###Article 7"), then "####Title".
_PROVISION = re.compile(r"^#{1,6}\s*(Article|Annex)\s+([0-9]{1,2}|[IVX]+)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s*(.*?)\s*$")
_TITLE_LEVEL = 4
#: level-3 headings inside a provision are part of its text (the sub-headings of Annex III)
_INNER_LEVEL = 3

# Noise of the copy, removed from titles and text.
_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_EMPHASIS = re.compile(r"(\*{1,2})(?=\S)(.+?)(?<=\S)\1")
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
#: the Dutch database's status line ("enters into force on a date to be determined"), printed
#: under every article of the Supplementary Protocol; it is not treaty text
_STATUS_NOTE = "Treedt in werking op een nader te bepalen tijdstip"


def plain(text: str) -> str:
    """One line of the copy without its Markdown and HTML noise.

    Args:
        text: A line of the Markdown (heading marks already removed or not).

    Returns:
        The text with links reduced to their words, emphasis marks and tags removed,
        entities decoded and whitespace collapsed.

    >>> plain("shall apply, *mutatis mutandis*, to [Article 32 of the Convention](../../BWBV0001136/README.md).  ")
    'shall apply, mutatis mutandis, to Article 32 of the Convention.'
    >>> plain("<b>a)</b>  Act of God or *force majeure*;")
    'a) Act of God or force majeure;'
    """
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = html.unescape(_TAG.sub("", text))
    return _SPACE.sub(" ", text).strip()


@dataclass
class Provision:
    """An article or annex as read from the Markdown, with the lines it was found on."""

    kind: str
    number: str
    line: int
    title: str | None = None
    title_line: int | None = None
    body: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.kind, self.number)

    @property
    def name(self) -> str:
        return f"{self.kind} {self.number}"

    def add(self, raw: str) -> None:
        """Add one line of the copy to the text, cleaned; blank lines and status notes are dropped."""
        heading = _HEADING.match(raw)
        text = plain(heading.group(2) if heading else raw)
        if text and text != _STATUS_NOTE:
            self.body.append(text)

    @property
    def text(self) -> str:
        # one paragraph or list item per line, as the copy sets them
        return "\n".join(self.body)


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 source file.

    Raises:
        SourceError: the file is missing or not UTF-8.
    """
    return read_text(path).splitlines()


def parse_provisions(path: Path, spec: TreatySpec) -> list[Provision]:
    """Every provision heading of the English part of ``path``, in order, with title and text.

    A provision's text runs from its title to the next provision heading or the next
    heading that is not a level-3 sub-heading (the Dutch part starts with a level-4 title).
    Once the whole sequence is read, the next heading ends the scan, so the Convention's
    annexes (which number their own articles from 1 again) are never mistaken for articles.

    Args:
        path: A treaty Markdown file.
        spec: What the file must contain.

    Returns:
        One :class:`Provision` per entry of ``spec.sequence``, in that order.

    Raises:
        SourceError: a provision is missing, repeated or out of order, or has no text
            (file and line of the heading where the sequence broke).
    """
    found: list[Provision] = []
    current: Provision | None = None
    for lineno, raw in enumerate(read_lines(path), start=1):
        match = _PROVISION.match(raw)
        if match:
            if len(found) == len(spec.sequence):
                break
            current = Provision(match.group(1), match.group(2), lineno)
            _check_next(path, spec, found, current)
            found.append(current)
            continue
        if current is None:
            continue
        heading = _HEADING.match(raw)
        if heading and current.title is None and not current.body and len(heading.group(1)) == _TITLE_LEVEL:
            current.title, current.title_line = plain(heading.group(2)), lineno
        elif heading and len(heading.group(1)) != _INNER_LEVEL:
            current = None
            if len(found) == len(spec.sequence):
                break
        else:
            current.add(raw)
    if len(found) < len(spec.sequence):
        missing = " ".join(spec.sequence[len(found)])
        after = f" after {found[-1].name} (line {found[-1].line})" if found else ""
        raise SourceError(path, f"{missing} of the {spec.key} treaty not found{after}",
                          line=found[-1].line if found else None, field=missing)
    for provision in found:
        if len(provision.text) < 20:
            raise SourceError(path, f"{provision.name} has no text (under 20 characters)", line=provision.line, field=provision.name)
    return found


def _check_next(path: Path, spec: TreatySpec, found: list[Provision], provision: Provision) -> None:
    expected = spec.sequence[len(found)]
    if provision.key == expected:
        return
    earlier = next((p for p in found if p.key == provision.key), None)
    if earlier is not None:
        problem = f"{provision.name} appears twice (first at line {earlier.line})"
    else:
        problem = f"expected {' '.join(expected)}, found {provision.name}: {' '.join(expected)} is missing or out of order"
    raise SourceError(path, problem, line=provision.line, field=" ".join(expected))


# reference-facts.md, section 3: "| Art. 17 | Title |" and "| Annex III | Title |" rows, and
# for the Convention bullets such as '**Art. 8 "In-situ Conservation"**'.
_FACTS_SECTION = re.compile(r"^## (?:\d+\.\s*)?Treaty articles")
_FACTS_TREATY = {"### Cartagena": "cpb", "### Nagoya": "nkl", "### CBD": "cbd"}
_FACTS_ROW = re.compile(r"^\|\s*(Art\.|Annex)\s+([0-9]{1,2}|[IVX]+)\s*\|\s*(.+?)\s*\|\s*$")
_FACTS_QUOTED = re.compile(r'\bArt\. ([0-9]{1,2}) "([^"]+)"')
#: the tables append editorial remarks in parentheses ("(source prints "states")"); no title ends with one
_REMARK = re.compile(r"\s*\([^()]*\)$")


def reference_titles(path: Path) -> dict[str, dict[Key, tuple[str, int]]]:
    """The article and annex titles that ``reference-facts.md`` lists, with their lines.

    Args:
        path: ``data/sources/reference-facts.md``.

    Returns:
        Treaty key -> provision key -> (title, line).

    Raises:
        SourceError: the file is missing or not UTF-8, or lists no titles for one of the
            treaties (then the cross-check would silently check nothing).
    """
    titles: dict[str, dict[Key, tuple[str, int]]] = {"cpb": {}, "nkl": {}, "cbd": {}}
    in_section, treaty = False, None
    for lineno, line in enumerate(read_lines(path), start=1):
        if line.startswith("## "):
            in_section, treaty = bool(_FACTS_SECTION.match(line)), None
            continue
        if not in_section:
            continue
        if line.startswith("### "):
            treaty = next((key for prefix, key in _FACTS_TREATY.items() if line.startswith(prefix)), None)
            continue
        if treaty is None:
            continue
        row = _FACTS_ROW.match(line)
        if row:
            kind = "Article" if row.group(1) == "Art." else "Annex"
            titles[treaty][(kind, row.group(2))] = (_REMARK.sub("", row.group(3)), lineno)
        elif treaty == "cbd":
            for number, title in _FACTS_QUOTED.findall(line):
                titles[treaty][("Article", number)] = (title, lineno)
    for key, listed in titles.items():
        if not listed:
            raise SourceError(path, f"no article titles found for {key} under '## 3. Treaty articles and titles'")
    return titles


def _comparable(title: str) -> str:
    return _SPACE.sub(" ", title).strip().casefold()


def choose_title(path: Path, provision: Provision, listed: tuple[str, int] | None,
                 facts: Path) -> tuple[str, str | None]:
    """The English title of a provision, and a note when it is not exactly as the copy prints it.

    The Markdown heading is the title. ``reference-facts.md`` must agree with it; where
    the two differ only in capitals, the list's form is used, because that file records
    a deliberate re-capitalisation (two Supplementary Protocol titles the copy prints in
    lower case). Where the Markdown has no title the list supplies it. Today every
    published provision has a Markdown title; the fallback keeps a source without one
    buildable from the documented list.

    Args:
        path: The treaty file.
        provision: The provision as read.
        listed: Its (title, line) in ``reference-facts.md``, if listed there.
        facts: Path of ``reference-facts.md``, for messages.

    Returns:
        (title, editorial note or None).

    Raises:
        SourceError: no title anywhere, or the two sources disagree beyond capitals.
    """
    printed = provision.title
    if listed is None:
        if not printed:
            raise SourceError(path, f"{provision.name} has no title here nor in {facts.name}",
                              line=provision.line, field=provision.name)
        return printed, None
    title, line = listed
    if not printed or printed == title:
        return title, None
    if _comparable(printed) != _comparable(title):
        raise SourceError(path, f"title of {provision.name} {printed!r} differs from {facts.name}:{line} {title!r}",
                          line=provision.title_line, field=f"{provision.name} title")
    note = (f"The source copy prints this title as \u201c{printed}\u201d; its capitalisation here "
            f"follows the title list in data/sources/reference-facts.md.")
    return title, note


def check_zh_name(zh_path: Path, name: str) -> None:
    """Fail unless ``name`` is printed in the official Chinese text of CP-10/3.

    The PDF extraction breaks lines inside names, so both sides are compared after
    :func:`cpbkg.build.sources.zhtext.clean`.

    Raises:
        SourceError: the name is not in the text.
    """
    text = zhtext.clean("\n".join(read_lines(zh_path)))
    if zhtext.clean(name) not in text:
        raise SourceError(zh_path, f"treaty name {name} is not printed in the official Chinese text")


def _check_en_name(path: Path, spec: TreatySpec) -> None:
    # The copy's English title is the first level-4 heading; our label may differ only in
    # capitals and in the spacing of the dash ("Nagoya-Kuala Lumpur" / "Nagoya – Kuala Lumpur").
    def norm(text: str) -> str:
        return re.sub(r"\s*[-\u2013]\s*", "-", _comparable(text))

    for lineno, raw in enumerate(read_lines(path), start=1):
        heading = _HEADING.match(raw)
        if heading and len(heading.group(1)) == _TITLE_LEVEL:
            if norm(plain(heading.group(2))) != norm(spec.en):
                raise SourceError(path, f"English title {plain(heading.group(2))!r} is not {spec.en!r}", line=lineno)
            return
    raise SourceError(path, "no English title heading (####) found")


#: the questionnaires whose section titles give article titles: the fifth report's wording is used,
#: the fourth report's where it differs is kept as an alternative label
QUESTIONNAIRE_FILE = Path("bch") / "cpb-national-report-{cycle}.json"
TITLE_CYCLE, VARIANT_CYCLE = 5, 4
#: the languages the section titles give besides English (the English title is the treaty's heading)
TITLE_LANGUAGES = ("zh", "fr", "es", "ru", "ar")
_SECTION_KEY = re.compile(r"^Article(\d{1,2})$")
_FOOTNOTE_MARK = re.compile(r"<sup>[^<]*</sup>")
#: "第18条 — ", "Article 18 – ", "Artículo 18 – ", "Статья 18. ", "المادة 18 - ": the number before the title
_TITLE_PREFIX = {
    "zh": re.compile(r"^第\s*(\d{1,2})\s*条\s*[-–—:：]\s*"),
    "fr": re.compile(r"^Article\s+(\d{1,2})\s*[-–—:.]\s*"),
    "es": re.compile(r"^Artículo\s+(\d{1,2})\s*[-–—:.]\s*"),
    "ru": re.compile(r"^Статья\s+(\d{1,2})\s*[-–—:.]\s*"),
    "ar": re.compile(r"^المادة\s+(\d{1,2})\s*[-–—:.]\s*"),
}


@dataclass(frozen=True)
class SectionTitle:
    """The title of one article in one language, as a questionnaire section gives it."""

    article: str
    lang: str
    title: str
    #: the section title as the file has it (HTML included), for the editorial note
    printed: str
    section_key: str


def section_title(printed: str, lang: str) -> tuple[str, str] | None:
    """(article number, title) from a section title, or None if it does not start with one article.

    The title is the text after the number with footnote marks (``<sup>5</sup>``) and any other
    tags removed and whitespace (including no-break spaces) collapsed: a normalised form of the
    Secretariat's wording, whose printed form the editorial note quotes.

    >>> section_title("第18条 — 处理、运输、包装和标志", "zh")
    ('18', '处理、运输、包装和标志')
    >>> section_title("Article 17 – Unintentional transboundary movements<sup>5</sup>  and emergency measures", "fr")
    ('17', 'Unintentional transboundary movements and emergency measures')
    >>> section_title("Artículo\xa02 – Disposiciones generales", "es")
    ('2', 'Disposiciones generales')
    >>> section_title("第15和16条 — 风险评估和风险管理", "zh") is None
    True
    """
    text = " ".join(_TAG.sub("", _FOOTNOTE_MARK.sub("", printed)).split())
    match = _TITLE_PREFIX[lang].match(text)
    if not match or not text[match.end():]:
        return None
    return match.group(1), text[match.end():].rstrip(":：").strip()


def questionnaire_titles(sources_dir: Path, cycle: int) -> dict[str, dict[str, SectionTitle]]:
    """Article number -> language -> its title, from the single-article sections of one questionnaire.

    Raises:
        SourceError: the file is missing or broken, or a section's title names another article
            than its key (``Article18`` titled "第19条 ...").
    """
    path = sources_dir / str(QUESTIONNAIRE_FILE).format(cycle=cycle)
    data = read_json(path)
    found: dict[str, dict[str, SectionTitle]] = {}
    for section in data.get("sections") or []:
        key = str(section.get("key") or "")
        match = _SECTION_KEY.match(key)
        if not match:
            continue
        for lang in TITLE_LANGUAGES:
            printed = str((section.get("title") or {}).get(lang) or "")
            parsed = section_title(printed, lang)
            if parsed is None:
                continue
            number, title = parsed
            if number != match.group(1):
                raise SourceError(path, f"section {key} is titled {printed!r} in {lang}: another article",
                                  field=f"sections.{key}.title.{lang}")
            found.setdefault(number, {})[lang] = SectionTitle(number, lang, title, printed, key)
    return found


PROVENANCE = (
    "English text of the {bwbv} entry of the Dutch treaty database, taken from its Markdown copy in "
    "statengeneraal/laws-markdown (commit 91556a8). Titles and text of the provisions are as printed there, "
    "with hyperlinks, formatting marks and the database's status notes removed, except where a note on a "
    "provision says otherwise. This is a copy, not the authentic text held by the depositary."
)


class TreatyBuilder:
    """One graph for the three treaties, one treaty at a time."""

    def __init__(self, ids: Ids, sources_dir: Path, translations: Translations) -> None:
        self.ids = ids
        self.sources_dir = sources_dir
        self.graph = Graph()
        self.facts = sources_dir / REFERENCE_FACTS
        self.titles = reference_titles(self.facts)
        self.section_titles = questionnaire_titles(sources_dir, TITLE_CYCLE)
        self.variant_titles = questionnaire_titles(sources_dir, VARIANT_CYCLE)
        self.translations = translations

    def treaty(self, spec: TreatySpec) -> None:
        path = self.sources_dir / TREATY_DIR / spec.file
        _check_en_name(path, spec)
        for name in (spec.zh, spec.short[1]):
            if name:
                check_zh_name(self.sources_dir / ZH_TEXT, name)
        g, uri = self.graph, self.ids.treaty(spec.key)
        g.add((uri, RDF.type, CPB.Treaty))
        g.add((uri, SKOS.prefLabel, Literal(spec.en, lang="en")))
        if spec.zh:
            g.add((uri, SKOS.prefLabel, Literal(spec.zh, lang="zh")))
        g.add((uri, SKOS.notation, Literal(spec.notation)))
        g.add((uri, DCTERMS.identifier, Literal(spec.bwbv)))
        g.add((uri, DCTERMS.source, spec.source))
        g.add((uri, PROV.wasDerivedFrom, spec.source))
        g.add((uri, SKOS.editorialNote, Literal(PROVENANCE.format(bwbv=spec.bwbv), lang="en")))
        published: list[tuple[URIRef, Provision]] = []
        for order, provision in enumerate(parse_provisions(path, spec), start=1):
            if spec.publishes(provision.key):
                published.append((self.provision(spec, path, provision, order), provision))
        expected = len(spec.sequence) if spec.published is None else len(spec.published)
        if len(published) != expected:
            raise SourceError(path, f"{len(published)} provisions of {spec.key} found, {expected} expected")
        self.translations.fill(g, self.ids, [uri for uri, _ in published])
        for uri, provision in published:
            self.treaty_label(spec, uri, provision)

    def provision(self, spec: TreatySpec, path: Path, provision: Provision, order: int) -> URIRef:
        treaty = self.ids.treaty(spec.key)
        if provision.kind == "Article":
            uri, cls, notation = self.ids.article(spec.key, provision.number), CPB.Article, f"Art. {provision.number}"
        else:
            uri, cls, notation = self.ids.treaty_annex(spec.key, provision.number), CPB.TreatyAnnex, provision.name
        title, note = choose_title(path, provision, self.titles[spec.key].get(provision.key), self.facts)
        g = self.graph
        g.add((uri, RDF.type, cls))
        g.add((uri, CPB.number, Literal(provision.number)))
        g.add((uri, SKOS.notation, Literal(notation)))
        g.add((uri, SKOS.prefLabel, Literal(title, lang="en")))
        g.add((uri, CPB.text, Literal(provision.text, lang="en")))
        g.add((uri, CPB.provisionOf, treaty))
        g.add((treaty, CPB.hasProvision, uri))
        g.add((uri, CPB.order, Literal(order, datatype=XSD.integer)))
        g.add((uri, DCTERMS.source, spec.source))
        if note:
            g.add((uri, SKOS.editorialNote, Literal(note, lang="en")))
        if spec.key == "cpb" and provision.kind == "Article" and provision.number in self.section_titles:
            self.secretariat_titles(uri, provision.number)
        return uri

    def secretariat_titles(self, uri: URIRef, number: str) -> None:
        """The article's titles in zh, fr, es, ru, ar from the questionnaire section about it."""
        g = self.graph
        titles = self.section_titles[number]
        section = next(iter(titles.values())).section_key
        for lang, found in sorted(titles.items()):
            g.add((uri, SKOS.prefLabel, Literal(found.title, lang=lang)))
            variant = self.variant_titles.get(number, {}).get(lang)
            if variant and variant.title != found.title:
                g.add((uri, SKOS.altLabel, Literal(variant.title, lang=lang)))
        if "zh" in titles:
            official_chinese(g, uri, self.ids.report_section(TITLE_CYCLE, section))
            g.add((uri, DCTERMS.source, URIRef(QUESTIONNAIRE_SOURCE.format(cycle=TITLE_CYCLE))))
        printed = titles.get("zh") or next(iter(titles.values()))
        g.add((uri, SKOS.editorialNote, Literal(
            f"Titles in {', '.join(sorted(titles))}: the Secretariat's title of section {section} of the "
            f"{TITLE_CYCLE}th national report questionnaire (\u201c{printed.printed}\u201d in {printed.lang}), "
            "without the article number and footnote marks; alternative labels give the "
            f"{VARIANT_CYCLE}th report's wording where it differs. The English title is the treaty text's heading.",
            lang="en")))

    def treaty_label(self, spec: TreatySpec, uri: URIRef, provision: Provision) -> None:
        """``rdfs:label`` in en and zh naming the treaty, the provision and its title."""
        g = self.graph
        titles = {lit.language: str(lit) for lit in g.objects(uri, SKOS.prefLabel) if isinstance(lit, Literal)}
        en_short, zh_short = spec.short
        if provision.kind == "Article":
            en_name, zh_name = f"Article {provision.number}", f"第{provision.number}条"
        else:
            en_name, zh_name = f"Annex {provision.number}", "附件" + _ROMAN_ZH[provision.number]
        g.add((uri, RDFS.label, Literal(f"{en_short}, {en_name}: {titles['en']}", lang="en")))
        if "zh" in titles:
            g.add((uri, RDFS.label, Literal(f"{zh_short}{zh_name}：{titles['zh']}", lang="zh")))


_ROMAN_ZH = {"I": "一", "II": "二", "III": "三"}


def build_graph(sources_dir: Path, ids: Ids, translations: Translations | None = None) -> Graph:
    """The Cartagena Protocol, the Supplementary Protocol and three Convention articles.

    Args:
        sources_dir: ``data/sources``.
        ids: The URI scheme.
        translations: the project's Chinese translations (default: ``data/translations/zh.yaml``
            beside ``sources_dir``).

    Returns:
        The treaties graph.

    Raises:
        SourceError: a treaty file is missing, a provision is missing, repeated or out of
            order, a title disagrees with ``reference-facts.md``, or a treaty name is not
            where the code says it is printed (file and line).
    """
    builder = TreatyBuilder(ids, sources_dir, translations or translations_beside(sources_dir))
    for spec in TREATIES:
        builder.treaty(spec)
    return builder.graph
