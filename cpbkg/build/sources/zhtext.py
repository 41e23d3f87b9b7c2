"""The official Chinese text of decision CP-10/3 as the yardstick for the curated Plan.

``data/sources/cp-10-3-zh.txt`` was extracted from the PDF: the appendix table has
its cells broken across lines, its four columns (goal, objective, indicator,
outcome) interleaved, and page headers ("CBD/CP/MOP/DEC/10/3", "Page 7") and
repeated table headers mixed in. This module does not try to rebuild the table
(that is curated by hand in ``data/plan/implementation-plan.yaml``); it gives the
build what it needs to check that curation independently of it:

* :func:`clean` - one whitespace rule, so curated labels and the PDF text compare;
* :func:`plan_appendix` - the appendix without page furniture;
* :func:`plan_codes` - the element codes the text itself numbers;
* :func:`locate_cells` - where each element's cell is (lines, pages) and its text exactly as
  printed (:func:`join_lines`), the official text beside the normalised label;
* :func:`line_locator` - the wording of a ``cpb:locator`` that names lines of the file;
* :class:`DecisionText` - the decision and annex before the appendix, to find the lines each
  of their parts (paragraph, heading, footnote) is printed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cpbkg.errors import SourceError, read_text

# CJK ideographs plus CJK and full-width punctuation ("，", "；", "（", "《", "、" ...).
# Punctuation counts as CJK because the PDF puts stray spaces and line breaks next
# to it exactly as next to ideographs, and Chinese typesetting never needs a space there.
_CJK = (
    "\u2e80-\u2fff"  # radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\ufe30-\ufe4f"  # compatibility forms
    "\uff00-\uffef"  # full-width forms
)
_SPACE_NEXT_TO_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_RUN_OF_SPACE = re.compile(r"\s+")

#: where the appendix table starts: the line that is just "附录"
_START = re.compile(r"^\s*附录\s*$")
#: the end-of-document rule after the last row of the table
_END = re.compile(r"^\s*_{4,}\s*$")

# Page furniture that the PDF repeats on every page of the table. Headers are
# compared with all whitespace removed, so the extraction's spacing does not matter.
_PAGE_HEADER = re.compile(r"^(CBD/CP/MOP/DEC/10/3|Page\s?\d+)$")
_TABLE_HEADERS = frozenset({
    "卡塔赫纳生物安全议定书执行计划",
    "长期目标目的指标成果",
    # the column explanations printed under the header on the first page only
    "(希望取得的成就)(为了实现长期目标而必须",
    "取得的成就)",
    "(衡量目的的实现进度)(通过实现长期目标而产生",
    "的影响)",
})

# Row markers at the start of a (cleaned) line of the table: "A.1.", "A.1.1.", "(a)".
# Only line starts count: no continuation line of a cell begins with such a marker,
# while numbers do occur inside cells ("第 17 条" broken as "17 条）"). The goal pattern
# refuses a following digit so that "A.1.1." is never read as goal "A.1".
_GOAL = re.compile(r"^([AB])\.(\d+)\.(?!\d)")
_OBJECTIVE = re.compile(r"^([AB])\.(\d+)\.(\d+)\.")
_INDICATOR = re.compile(r"^\(([a-z])\)")


def clean(text: str) -> str:
    """Normalise whitespace the way the curated data does.

    The rule: remove all whitespace between two characters when at least one of
    them is CJK (ideograph or CJK/full-width punctuation); elsewhere collapse any
    run of whitespace to one space; strip both ends. So "第 17 条" becomes
    "第17条", "使用国家 STAR 拨款" becomes "使用国家STAR拨款", and a line break in
    the middle of a Chinese cell disappears.

    Args:
        text: Any text, typically a fragment of the PDF extraction or a curated label.

    Returns:
        The normalised text.
    """
    return _RUN_OF_SPACE.sub(" ", _SPACE_NEXT_TO_CJK.sub("", text)).strip()


def _read_lines(path: Path) -> list[str]:
    return read_text(path).splitlines()


def _appendix_lines(path: Path) -> list[tuple[int, str]]:
    """The appendix's non-empty content lines as (1-based line number, cleaned text).

    Raises:
        SourceError: the file is missing, or has no appendix start or end marker.
    """
    lines = _read_lines(path)
    start = next((i for i, line in enumerate(lines) if _START.match(line)), None)
    if start is None:
        raise SourceError(path, "appendix not found: no line '附录' starting the Plan table")
    end = next((i for i in range(start + 1, len(lines)) if _END.match(lines[i])), None)
    if end is None:
        raise SourceError(path, "end of the appendix not found: no '________' line after '附录'", line=start + 1)
    kept = []
    for i in range(start, end):
        text = clean(lines[i])
        if not text or _PAGE_HEADER.match(text) or re.sub(r"\s+", "", text) in _TABLE_HEADERS:
            continue
        kept.append((i + 1, text))
    return kept


def plan_appendix(path: Path) -> str:
    """The appendix (the Plan table) of the Chinese text, without page furniture.

    Runs from the line "附录" to the end rule "________" (excluded). Page headers
    and the table header repeated on each page are dropped; the remaining lines
    keep their order, one per line, each passed through :func:`clean`. Cell
    fragments therefore stay where the PDF put them: a cell continued across a page
    break is still in two pieces.

    Args:
        path: ``cp-10-3-zh.txt``.

    Returns:
        The appendix text, lines joined with "\\n".

    Raises:
        SourceError: the file is missing or the appendix is not found.
    """
    return "\n".join(text for _, text in _appendix_lines(path))


def plan_codes(path: Path) -> dict[str, list[str]]:
    """The codes of the Plan's elements as the Chinese text numbers them.

    Read from row markers at the start of lines, not from the curated YAML, so the
    build can compare the two: goals ("A.1. "), objectives ("A.1.1. "), indicators
    ("(a) " under the most recent goal, coded "A.1(a)"). Outcomes carry no code in
    the table (one unnumbered cell per goal), so their codes are the goal codes.

    Args:
        path: ``cp-10-3-zh.txt``.

    Returns:
        ``{"goals": [...], "objectives": [...], "indicators": [...], "outcomes": [...]}``
        in text order.

    Raises:
        SourceError: the file or appendix is missing, an objective is numbered under
            another goal, an indicator comes before any goal, or a code repeats.
    """
    codes: dict[str, list[str]] = {"goals": [], "objectives": [], "indicators": [], "outcomes": []}
    goal: str | None = None
    seen: set[str] = set()

    def add(kind: str, code: str, line: int) -> None:
        # a repeated code means the text (or our reading of it) is broken: say where
        if code in seen:
            raise SourceError(path, f"code {code} appears twice in the appendix", line=line)
        seen.add(code)
        codes[kind].append(code)

    for line, text in _appendix_lines(path):
        if m := _OBJECTIVE.match(text):
            code = f"{m[1]}.{m[2]}.{m[3]}"
            if goal != f"{m[1]}.{m[2]}":
                raise SourceError(path, f"objective {code} is not under goal {goal}", line=line)
            add("objectives", code, line)
        elif m := _GOAL.match(text):
            goal = f"{m[1]}.{m[2]}"
            add("goals", goal, line)
        elif m := _INDICATOR.match(text):
            if goal is None:
                raise SourceError(path, f"indicator ({m[1]}) before the first goal", line=line)
            add("indicators", f"{goal}({m[1]})", line)
    codes["outcomes"] = list(codes["goals"])
    return codes


# ------------------------------------------------------------------------------------ cells

#: the page the appendix starts on, and the pages that print "Page N" in the extraction (a check)
APPENDIX_FIRST_PAGE = 6
_PAGE_NUMBER = re.compile(r"^Page\s?(\d+)$")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
#: the list punctuation that ends a cell and that the normalised label drops
CELL_END = "；。;."


@dataclass(frozen=True)
class Cell:
    """Where one element's cell of the Plan table is printed, and its text as printed."""

    #: 1-based numbers of the lines of cp-10-3-zh.txt that hold the cell, in reading order
    lines: tuple[int, ...]
    #: the pages of the official PDF those lines are on
    pages: tuple[int, ...]
    #: the cell's text exactly as the source prints it: the lines' characters without the row code,
    #: joined by :func:`join_lines`; spacing inside lines and the final punctuation kept
    text: str


def join_lines(parts: list[str]) -> str:
    """Join the lines of one cell as the PDF's line breaks join them.

    Each line is taken without its leading and trailing whitespace (the extraction's layout). A
    line break is removed where a CJK character (ideograph or CJK/full-width punctuation) stands on
    either side of it, as Chinese typesetting breaks lines anywhere; elsewhere (between two Latin
    words or numbers) it is one space. Spaces inside a line ("第 17 条") are kept.

    >>> join_lines(["缔约方通过并实施", "了法律；"])
    '缔约方通过并实施了法律；'
    >>> join_lines(["紧急措施（第", "17 条）联络点；"])
    '紧急措施（第17 条）联络点；'
    >>> join_lines(["for the", "period"])
    'for the period'
    """
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_CJK_CHAR.match(out[-1]) or _CJK_CHAR.match(part[0])):
            out += " "
        out += part
    return out


def appendix_pages(path: Path) -> dict[int, int]:
    """Line number -> page of the official PDF, for the lines of the appendix.

    Every page of the table repeats its header ("长期目标 目的 指标 成果"); the extraction kept the
    running header "Page N" of some pages only. The appendix starts on :data:`APPENDIX_FIRST_PAGE`;
    each repeated table header starts the next page, and every "Page N" the extraction did keep must
    agree, or the page map is wrong and this fails.

    Raises:
        SourceError: a printed page number disagrees with the count of table headers.
    """
    lines = _read_lines(path)
    start = next(i for i, line in enumerate(lines) if _START.match(line))
    end = next(i for i in range(start + 1, len(lines)) if _END.match(lines[i]))
    header = re.sub(r"\s+", "", "长期目标 目的 指标 成果")
    pages: dict[int, int] = {}
    page, seen_header = APPENDIX_FIRST_PAGE, False
    pending: int | None = None
    for i in range(start, end):
        text = clean(lines[i])
        printed = _PAGE_NUMBER.match(text)
        if printed:
            pending = int(printed.group(1))
        if re.sub(r"\s+", "", text) == header:
            if seen_header:
                page += 1
            seen_header = True
            if pending is not None and pending != page:
                raise SourceError(path, f"the text prints Page {pending} where the table headers count page {page}",
                                  line=i + 1)
            pending = None
        pages[i + 1] = page
    return pages


def _continuation(content: list[tuple[int, str]], after: int, rest: str, used: set[int]) -> int | None:
    """The index of the nearest unused line after ``after`` that continues ``rest`` (or ends it, with
    the cell's final punctuation), or None."""
    for index in range(after + 1, len(content)):
        n, text = content[index]
        if n in used:
            continue
        if rest.startswith(text) or (text[:-1] and text[-1] in CELL_END and rest == text[:-1]):
            return index
    return None


def locate_cells(path: Path, wanted: list[tuple[str, str | None, str, str | None]]) -> dict[str, Cell]:
    """Find each element's cell in the appendix.

    Args:
        path: ``cp-10-3-zh.txt``.
        wanted: in table order, ``(key, row code or None, normalised label, key of the element
            after whose line to search)``: the row code as printed at the start of the cell ("A.1.1.",
            "(a)", "A."), None for an outcome (unnumbered); the label as the curated data has it; for
            an indicator or an outcome, the goal whose row it is in.

    Returns:
        key -> :class:`Cell`. A cell is the line that starts with its row code (for an outcome:
        the first line after its goal's that starts its label), then, in order, the nearest unused
        lines that continue the label; lines of the other columns printed in between are skipped.

    Raises:
        SourceError: a cell is not found, or its text is not the label (normalised, final list
            punctuation dropped).
    """
    lines = _read_lines(path)
    pages = appendix_pages(path)
    content = [(n, clean(lines[n - 1])) for n in sorted(pages)]
    content = [(n, text) for n, text in content
               if text and not _PAGE_HEADER.match(text) and re.sub(r"\s+", "", text) not in _TABLE_HEADERS]
    used: set[int] = set()
    found: dict[str, Cell] = {}
    for key, code, label, after_key in wanted:
        target = clean(label)
        floor = found[after_key].lines[0] if after_key else 0
        start_index = None
        for index, (n, text) in enumerate(content):
            if n in used or n <= floor:
                continue
            body = text[len(code):].strip() if code and text.startswith(code) else (None if code else text)
            if body is not None and body and target.startswith(body):
                start_index = index
                break
        if start_index is None:
            raise SourceError(path, f"the cell of {key} ({code or 'unnumbered'}: {label[:20]}...) is not in the appendix")
        first_n, first_text = content[start_index]
        body = first_text[len(code):].strip() if code else first_text
        taken, remainder = [first_n], target[len(body):]
        position = start_index
        while remainder.lstrip() and remainder.lstrip() not in CELL_END:
            rest = remainder.lstrip()
            following = _continuation(content, position, rest, used)
            if following is None:
                raise SourceError(path, f"the cell of {key} stops after line {taken[-1]}: {rest[:20]}... not found")
            position = following
            n, text = content[position]
            taken.append(n)
            remainder = rest[len(text):] if rest.startswith(text) else ""
        raw = [lines[n - 1] for n in taken]
        if code:
            raw[0] = raw[0].strip()[len(code):]
        text = join_lines(raw)
        if clean(text).rstrip(CELL_END) != target:
            raise SourceError(path, f"the cell of {key} reads {clean(text)!r}, not the label {target!r}", line=taken[0])
        used.update(taken)
        found[key] = Cell(tuple(taken), tuple(sorted({pages[n] for n in taken})), text)
    return found


# ------------------------------------------------------------------------------- locators


def line_locator(path: Path, lines: Iterable[int | tuple[int, int]]) -> str:
    """Where a text is printed in a source file, by its lines: the wording of every ``cpb:locator``
    that names lines of the Chinese text.

    Each item is one line or an inclusive range of lines (first, last); a range of one line is that
    line.

    >>> line_locator(Path("cp-10-3-zh.txt"), [283, 285, 287])
    'cp-10-3-zh.txt lines 283, 285, 287'
    >>> line_locator(Path("cp-10-3-zh.txt"), [(57, 63)])
    'cp-10-3-zh.txt lines 57-63'
    >>> line_locator(Path("cp-10-3-zh.txt"), [(45, 45)])
    'cp-10-3-zh.txt line 45'
    """
    spans = []
    for item in lines:
        first, last = item if isinstance(item, tuple) else (item, item)
        spans.append(str(first) if first == last else f"{first}-{last}")
    word = "line" if len(spans) == 1 and "-" not in spans[0] else "lines"
    return f"{path.name} {word} {', '.join(spans)}"


# ------------------------------------------------------------------------- the decision's text

#: a line that is only a web address: printed at the foot of a page, part of no paragraph
_ADDRESS = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class DecisionText:
    """The decision and its annex as printed in ``cp-10-3-zh.txt``, to find where each part is.

    The lines before the appendix ("附录") without page furniture (the page header
    "CBD/CP/MOP/DEC/10/3", "Page 4", a footer address line), as one stream of characters with
    all whitespace removed, each character with the number of the line it is on. Footnote bodies,
    printed at the foot of their page, stay in the stream: they are parts too.
    """

    path: Path
    #: the characters, whitespace removed
    stream: str
    #: the 1-based line number of each character of ``stream``
    line_of: tuple[int, ...]

    @classmethod
    def read(cls, path: Path) -> DecisionText:
        """Read ``cp-10-3-zh.txt``.

        Raises:
            SourceError: the file is missing or has no line "附录" ending the decision's text.
        """
        lines = _read_lines(path)
        end = next((i for i, line in enumerate(lines) if _START.match(line)), None)
        if end is None:
            raise SourceError(path, "no line '附录' after the decision's text (the appendix start)")
        chars: list[str] = []
        line_of: list[int] = []
        for i in range(end):
            text = clean(lines[i])
            if _PAGE_HEADER.match(text) or _ADDRESS.match(text):
                continue
            for char in _RUN_OF_SPACE.sub("", text):
                chars.append(char)
                line_of.append(i + 1)
        return cls(path, "".join(chars), tuple(line_of))

    def find(self, text: str, *, number: str = "", markers: Iterable[str] = ()) -> list[tuple[int, int]]:
        """Every place where ``text`` is printed, as (first line, last line).

        Args:
            text: a part's text as the curated data has it (:func:`clean`, footnote markers
                removed); whitespace does not count.
            number: the part's number as printed just before its text ("1.", "(a)", "一.", a
                footnote's "2"), or "" if none is printed: it anchors the text, so that a short
                text that occurs elsewhere too (a heading "资源", a footnote repeated) is found
                only where it is the part's.
            markers: the footnote markers the part's text carries ("1"); the source prints them
                right after a character of the text ("战略计划》1对于"), so each may stand between
                any two characters. None is taken after the last character.

        Returns:
            The spans, in text order; the number (if any) is on the first line. Empty if the text
            is not printed there.
        """
        chars = _RUN_OF_SPACE.sub("", text)
        if not chars:
            return []
        marks = tuple(markers)
        between = "(?:" + "|".join(re.escape(m) for m in marks) + ")?" if marks else ""
        pattern = re.escape(_RUN_OF_SPACE.sub("", number)) + between.join(re.escape(c) for c in chars)
        return [(self.line_of[m.start()], self.line_of[m.end() - 1]) for m in re.finditer(pattern, self.stream)]
