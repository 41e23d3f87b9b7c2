"""The lexer's line-by-line fast path gives what the whole-text lexer gives (issue 14).

The queries read: the named queries of ``queries/``, the W3C SPARQL 1.1 test queries of
``shared/conformance`` (``CPBKG_CONFORMANCE`` names another copy), and each of them cut and
joined again in ways that put tokens, comments and whitespace on both sides of a line's end.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from cpbkg.sparql import lexer

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = Path(os.environ.get("CPBKG_CONFORMANCE", "/work/shared/conformance"))


def _texts() -> list[str]:
    files = sorted((ROOT / "queries").glob("*.rq")) + sorted(CONFORMANCE.rglob("*.rq"))
    return [f.read_text(encoding="utf-8", errors="replace") for f in files]


TEXTS = _texts()


def _variants(text: str, rng: random.Random) -> list[str]:
    """The text, and copies in which whitespace becomes line ends, comments and blank lines."""
    out = [text, text.replace("\n", "\r\n"), "\n" + text + "\n\n"]
    for _ in range(3):
        pieces = []
        for char in text:
            if char == " " and rng.random() < 0.3:
                char = rng.choice(["\n", " \n ", "\n\n", " # SELECT SERVICE <x> 'q\n", "\t\n\t", "\r\n"])
            pieces.append(char)
        out.append("".join(pieces))
    return out


def test_the_named_and_w3c_queries_are_read() -> None:
    # the differential test below is only worth what it reads
    assert len(TEXTS) >= 30 + 500, f"only {len(TEXTS)} query texts found (queries/ and {CONFORMANCE})"


def test_the_fast_path_lexes_as_the_whole_text_lexer() -> None:
    rng = random.Random(14)
    fast = 0
    total = 0
    for text in TEXTS:
        for variant in _variants(text, rng):
            total += 1
            by_line = lexer._lex_by_line(variant)
            if by_line is None:
                continue
            fast += 1
            assert by_line == lexer._lex(variant), variant
            assert lexer._lex_by_line(variant) == by_line  # the second time, from the lines remembered
    # most queries have no long string and no backslash: the fast path must take them
    assert fast > total * 0.8, (fast, total)


@pytest.mark.parametrize("text", [
    "SELECT * {\n ?s ?p 'a\n' }",                      # a string cut by a line's end: refused either way
    'SELECT * { ?s ?p """x\n""" }',                     # a long string across lines
    "SELECT * { ?s ?p 'a\\\n' }",                       # an escape before a line's end
    "SELECT * { ?s ?p ?o }",                            # one line
])
def test_texts_a_line_may_not_cut_are_read_whole(text: str) -> None:
    assert lexer._lex_by_line(text) is None
    _, normalised, unterminated = lexer._lex(text)
    found = lexer.scan(text)
    assert (found.normalised, found.unterminated) == (normalised, unterminated)


def test_a_keyword_in_a_comment_on_its_own_line_is_not_seen() -> None:
    text = "SELECT ?s # SERVICE <x>\nWHERE {\n  # INSERT\n  ?s ?p ?o\n} LIMIT 3"
    found = lexer.scan(text)
    assert (found.form, found.has_service, found.normalised) == ("select", False, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    assert lexer._lex_by_line(text) == lexer._lex(text)
