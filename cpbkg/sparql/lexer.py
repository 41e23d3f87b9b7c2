"""The query lexer: what a query is (form, dataset, SERVICE, LOAD, volatility) before it runs, and readable syntax errors."""

from __future__ import annotations

import collections
import re
import threading
from dataclasses import dataclass

from cpbkg.errors import (
    QueryRefused,
    QuerySyntaxError,
    QueryTooComplex,
)

_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                  "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
#: the tokens that cannot hold a keyword, in the order SPARQL's grammar tries them. Deliberately
#: conservative where pyoxigraph could read less than we blank: a local name stops at '.'.
_TOKENS = re.compile(
    r"(?P<string>'''(?:'{0,2}(?:[^'\\]|\\.))*'''|\"\"\"(?:\"{0,2}(?:[^\"\\]|\\.))*\"\"\""
    r"|'(?:[^'\\\n\r]|\\.)*'|\"(?:[^\"\\\n\r]|\\.)*\")"
    r"|(?P<iri><(?:[^<>\"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)"
    r"|(?P<comment>#[^\n\r]*)"
    rf"|(?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*)"
    rf"|(?P<bnode>_:[{_PN_CHARS_U}0-9][{_PN_CHARS}]*)"
    rf"|(?P<prefix>(?:[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)?:)"
    rf"(?P<local>(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:[{_PN_CHARS}:]|{_PLX})*)?"
    # a run of name characters that is not a prefixed name, consumed whole: without it the
    # search for a prefix would start again at each of its characters (quadratic time: a query
    # of 60,000 letters took 10 s of the server's CPU). Visible, like text between tokens.
    rf"|(?P<word>[{_PN_CHARS}.]+)"
    # a quote that starts no complete string: the rest cannot be a valid query (refused)
    r"|(?P<unterminated>['\"])"
    r"|(?P<escape>\\.)"
    r"|(?P<space>\s+)",
    re.DOTALL,
)
_MASK = {"string": '""', "iri": "<>", "comment": " ", "var": "?v", "bnode": "_:b", "escape": "  "}
_WORD = r"(?<![A-Za-z0-9_\-:?$])(?:{})(?![A-Za-z0-9_\-])"
_FORM = re.compile(_WORD.format("SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH"),
                   re.IGNORECASE)
_LOAD = re.compile(_WORD.format("LOAD") + r"(?!\s*:)", re.IGNORECASE)
_FROM = re.compile(_WORD.format("FROM"), re.IGNORECASE)
_PREFIX_DECL = re.compile(r"(?<![A-Za-z0-9_\-:?$])PREFIX\s*[^\s:<]{0,200}:", re.IGNORECASE)
_VOLATILE = re.compile(_WORD.format("RAND|NOW|UUID|STRUUID") + r"\s*\(", re.IGNORECASE)
_SERVICE = re.compile("service", re.IGNORECASE)
_BRACKETS = re.compile(r"[{}()\[\]]")
#: levels of nested brackets ({ ( [) a query may have: pyoxigraph's recursive-descent parser
#: overflows an 8 MB stack at about 2,000 (the worker dies); real queries use fewer than 10
MAX_DEPTH = 200
UPDATE_FORMS = {"insert", "delete", "load", "clear", "create", "drop", "copy", "move", "add", "with"}


@dataclass(frozen=True)
class Scan:
    """What the lexer saw in a query text."""

    #: the query form, lower case: select, ask, construct, describe; an update keyword; "" if none
    form: str
    has_service: bool
    has_load: bool
    #: a FROM / FROM NAMED clause: the query names its own dataset
    has_from: bool
    #: RAND(), NOW(), UUID(), STRUUID(): the answer changes from run to run
    volatile: bool
    #: comments dropped, whitespace outside literals and IRIs collapsed: the cache key
    normalised: str
    #: the deepest nesting of brackets outside literals, IRIs and comments
    depth: int = 0
    #: (line, column) of a quote that opens a string never closed, else None
    unterminated: tuple[int, int] | None = None

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_FORMS

    @property
    def kind(self) -> str | None:
        """``"results"`` for SELECT/ASK, ``"graph"`` for CONSTRUCT/DESCRIBE, None if unknown."""
        return {"select": "results", "ask": "results", "construct": "graph", "describe": "graph"}.get(self.form)


def scan(text: str) -> Scan:
    """Lex a query just enough to check it; never a parser, never run.

    >>> s = scan('PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> '
    ...          'SELECT ?s # SERVICE in a comment\\n WHERE { ?s a sd:Service ; ?p "SERVICE <x>" }')
    >>> s.form, s.has_service, s.normalised
    ('select', False, 'PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT ?s WHERE { ?s a sd:Service ; ?p "SERVICE <x>" }')
    >>> scan('SELECT * { ?s ?p 1SERVICE <http://example.org/> {} }').has_service
    True
    >>> scan('INSERT DATA { <a> <b> <c> }').is_update, scan('ASK FROM <g> {}').has_from
    (True, True)
    """
    lexed = _lex_by_line(text)
    code, normalised, unterminated = lexed if lexed is not None else _lex(text)
    unlabelled = _PREFIX_DECL.sub("PREFIX p:", code)
    form = _FORM.search(unlabelled)
    return Scan(
        form=form.group().lower() if form else "",
        has_service=bool(_SERVICE.search(code)),
        has_load=bool(_LOAD.search(unlabelled)),
        has_from=bool(form and _FROM.search(_dataset_clause(unlabelled, form))),
        volatile=bool(_VOLATILE.search(unlabelled)),
        normalised=normalised,
        depth=_depth(code),
        unterminated=unterminated,
    )


def _lex(text: str) -> tuple[str, str, tuple[int, int] | None]:
    """The text with its strings, IRIs, comments, variables and local names masked (keywords can
    only be seen in what is left); the normalised text (comments dropped, whitespace outside
    literals and IRIs collapsed, stripped); (line, column) of a quote that opens no complete string."""
    masked: list[str] = []
    normal: list[str] = []
    pos = 0
    unterminated = None
    for match in _TOKENS.finditer(text):
        start = match.start()
        if start > pos:
            masked.append(text[pos:start])
            normal.append(text[pos:start])
        kind = match.lastgroup
        token = match.group()
        if kind == "unterminated":
            before = text[:start]
            unterminated = (before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1)
            masked.append(" ")
            normal.append(text[start:])
            pos = len(text)
            break
        if kind == "word":
            masked.append(token)
            normal.append(token)
        elif kind == "space" or kind == "comment":
            masked.append(token if kind == "space" else " ")
            if not normal or normal[-1] != " ":
                normal.append(" ")
        elif kind == "local" or kind == "prefix":
            # the prefix label stays visible (pyoxigraph reads "SERVICE:x" as SERVICE :x)
            masked.append(match.group("prefix") + ("l" if match.group("local") else ""))
            normal.append(token)
        else:
            masked.append(_MASK[kind])  # type: ignore[index]
            normal.append(token)
        pos = match.end()
    masked.append(text[pos:])
    normal.append(text[pos:])
    return "".join(masked), "".join(normal).strip(), unterminated


#: what may make a token run over a line's end: long strings, and escapes (a backslash and a newline in a string)
_MULTILINE = ("'''", '"""', "\\")
_LINES: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()
_LINES_LOCK = threading.Lock()
#: lines longer than this are lexed each time, not remembered (the memory stays small)
_LINE_MAX = 512


def _lex_by_line(text: str) -> tuple[str, str, None] | None:
    """:func:`_lex` of a text line by line, each line remembered: the fast path for the common shape
    of query, a template of which a line or two change from one request to the next (issue 14: the
    lexer was 6 % of an uncached lookup). None for a text where a token may span lines, or with a
    quote that opens no string, or of one line: :func:`_lex` reads it whole.

    The same result as :func:`_lex`: where no token runs over a line's end, each line lexes alone as
    it does in the text, a line's end is whitespace, and a run of whitespace and comments is one
    space in the normalised text, wherever it breaks.
    """
    if "\n" not in text or any(mark in text for mark in _MULTILINE):
        return None
    codes: list[str] = []
    normals: list[str] = []
    for line in text.split("\n"):
        with _LINES_LOCK:
            seen = _LINES.get(line)
            if seen is not None:
                _LINES.move_to_end(line)
        if seen is None:
            code, normal, unterminated = _lex(line)
            if unterminated is not None:
                return None
            seen = (code, normal)
            if len(line) <= _LINE_MAX:
                with _LINES_LOCK:
                    _LINES[line] = seen
                    while len(_LINES) > 2048:
                        _LINES.popitem(last=False)
        codes.append(seen[0])
        if seen[1]:
            normals.append(seen[1])
    return "\n".join(codes), " ".join(normals), None


def _depth(code: str) -> int:
    """The deepest nesting of ``{ ( [`` in masked query text (unbalanced closers are the parser's business)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(code):
        if match.group() in "{([":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _dataset_clause(code: str, form: re.Match[str]) -> str:
    """The masked text where FROM may stand: after the query form (and a CONSTRUCT template),
    before the group pattern's ``{``."""
    start, brace = outer_group(code, form)
    return code[start:brace]


def outer_group(code: str, form: re.Match[str]) -> tuple[int, int]:
    """Where the text after the query form (and a CONSTRUCT template) starts in masked ``code``,
    and the index of the ``{`` that opens the query's outermost group (``len(code)`` if none);
    braces inside the projection's parentheses are skipped.

    ``code`` must have its strings, IRIs and comments masked: a brace inside them is not a group.
    """
    i, n = form.end(), len(code)
    if form.group().lower() == "construct":
        while i < n and code[i].isspace():
            i += 1
        if i < n and code[i] == "{":  # the template
            depth = 0
            while i < n:
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
                if depth == 0:
                    break
    start, depth = i, 0
    while i < n:
        c = code[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "{" and depth <= 0:
            break
        i += 1
    return start, i


_SCANS: collections.OrderedDict[str, Scan] = collections.OrderedDict()
_SCANS_LOCK = threading.Lock()


def scan_cached(text: str) -> Scan:
    """:func:`scan`, remembered for the last 1024 texts (the same queries come again and again)."""
    with _SCANS_LOCK:
        found = _SCANS.get(text)
        if found is not None:
            _SCANS.move_to_end(text)
            return found
    found = scan(text)
    if len(text) > 8192:  # kept by its text: 1024 long ones would be hundreds of MB (issue 20)
        return found
    with _SCANS_LOCK:
        _SCANS[text] = found
        while len(_SCANS) > 1024:
            _SCANS.popitem(last=False)
    return found


def check(text: str, *, allow_service: bool = False) -> Scan:
    """Refuse what the endpoint never runs; return the scan of what it will.

    Raises:
        QuerySyntaxError: an empty query.
        QueryRefused: an update, LOAD, or SERVICE when it is not allowed.
    """
    if not text.strip():
        raise QuerySyntaxError("the query is empty")
    found = scan_cached(text)
    if found.unterminated is not None:
        line, column = found.unterminated
        raise QuerySyntaxError(f"syntax error at line {line}, column {column}: a string starts here and is "
                               "never closed")
    if found.has_load or found.form == "load":
        raise QueryRefused("LOAD is refused: this endpoint is read-only and never fetches data")
    if found.is_update:
        raise QueryRefused(f"updates are not allowed on this endpoint (found {found.form.upper()}): "
                           "it is read-only; only SELECT, ASK, CONSTRUCT and DESCRIBE queries run")
    if found.depth > MAX_DEPTH:
        raise QueryTooComplex(f"the query nests brackets {found.depth} levels deep; this endpoint takes at most "
                              f"{MAX_DEPTH}: flatten it")
    if found.has_service and not allow_service:
        raise QueryRefused("SERVICE (federated query) is refused: this endpoint makes no outbound requests. "
                           "(A prefix label containing 'service' counts too: rename it.)")
    return found


_ERROR_AT = re.compile(r"^error at (\d+):(\d+): (.*)$", re.DOTALL)


def moved_error(message: str, line: int, column: int, delta: int) -> str:
    """pyoxigraph's parser message for a text in which ``delta`` characters were inserted at
    ``line``, ``column``: its position in the text before the insertion.

    >>> moved_error("error at 2:30: expected '}'", 2, 1, 25)
    "error at 2:5: expected '}'"
    """
    match = _ERROR_AT.match(message.strip())
    if not match or int(match.group(1)) != line or int(match.group(2)) <= column:
        return message
    return f"error at {line}:{max(int(match.group(2)) - delta, column)}: {match.group(3)}"


def describe_syntax_error(text: str, message: str) -> str:
    """pyoxigraph's parser message, readable: line, column, what was expected, the line and a caret.

    >>> print(describe_syntax_error("SELECT * WHERE { ?s nope:p ?o }", "error at 1:27: expected one of Prefix not found, ['%']"))
    syntax error at line 1, column 27: undefined prefix 'nope:' (declare it with PREFIX)
      SELECT * WHERE { ?s nope:p ?o }
                                ^
    """
    match = _ERROR_AT.match(message.strip())
    if not match:
        return f"syntax error: {message.strip()}"
    line, column, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    lines = text.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    if "Prefix not found" in rest:
        before = source[max(column - 201, 0): max(column - 1, 0)]  # bounded: the search below is quadratic
        name = re.search(r"([^\s{}()<>,;.]*):[^\s:]*\s*$", before)
        what = f"undefined prefix '{name.group(1)}:'" if name else "undefined prefix"
        what += " (declare it with PREFIX)"
    else:
        what = _shorten_expected(rest)
    snippet, caret = source, column - 1
    if len(snippet) > 120:
        start = max(0, caret - 60)
        snippet, caret = ("…" + snippet[start:start + 120] + "…"), caret - start + 1
    return f"syntax error at line {line}, column {column}: {what}\n  {snippet}\n  {' ' * max(caret, 0)}^"


def _shorten_expected(rest: str) -> str:
    """The parser's list of what it expected, short and without character classes.

    >>> _shorten_expected("expected [_]")  # rust-peg's end-of-input check: text after a whole query
    'text after a complete query (the parser points at the end of the text, not at where that text begins)'
    >>> _shorten_expected('expected one of ",", ".", [_]')
    'expected one of ",", "."'
    """
    if rest.strip() == "expected [_]":
        # pyoxigraph reports this at the end of the text, whatever the stray text is, so say so
        return "text after a complete query (the parser points at the end of the text, not at where that text begins)"
    rest = re.sub(r"\[[^\]]*\]", "", rest)  # character classes say nothing to a reader
    rest = " ".join(rest.split()).rstrip(", ")
    head, sep, items = rest.partition("expected one of ")
    if not sep:
        return rest
    names = [i.strip() for i in items.split(", ") if i.strip() and i.strip() != "<unreported>"]
    more = len(names) > 12
    return f"{head}expected one of {', '.join(names[:12])}{', …' if more else ''}"
