"""The grammar check before a remote store (cpbkg/sparql/grammar.py): pyoxigraph's parser in a child
process, so that a query on which the engine panics cannot end the server process.

These run the real child (``python -c``, pyoxigraph) from the test process: had the check run here,
the panic would abort pytest itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.reliability import ENGINE_PANIC

from cpbkg.errors import QuerySyntaxError
from cpbkg.sparql.execute import Job
from cpbkg.sparql.grammar import Parser, check_grammar


@pytest.fixture()
def parser() -> Iterator[Parser]:
    p = Parser()
    yield p
    p.close()


def test_a_query_that_panics_the_engine_is_left_to_the_store(parser: Parser) -> None:
    check_grammar(Job(ENGINE_PANIC), parser)  # valid SPARQL: no error, and this process is still here
    first = parser._child
    assert first is None  # the child that panicked is gone ...
    check_grammar(Job("SELECT * WHERE { ?s ?p ?o }"), parser)
    with pytest.raises(QuerySyntaxError, match=r"line 1, column 30: text after a complete query"):
        check_grammar(Job("SELECT * WHERE { ?s ?p ?o } }"), parser)  # ... and a new one reads the next queries
    assert parser._child is not None and parser._child[0].poll() is None


def test_an_ask_error_is_placed_in_the_text_as_sent(parser: Parser) -> None:
    with pytest.raises(QuerySyntaxError, match=r"line 2, column 26") as caught:
        check_grammar(Job("PREFIX a: <http://x/ask>\nASK { ?s ?p ?o . FILTER(}"), parser)
    assert "\n  ASK { ?s ?p ?o . FILTER(}\n" in str(caught.value)


def test_one_child_serves_many_queries(parser: Parser) -> None:
    for n in range(50):
        check_grammar(Job(f"SELECT * WHERE {{ ?s ?p {n} }}"), parser)
    assert parser._child is not None
    pid = parser._child[0].pid
    check_grammar(Job("ASK { ?s ?p ?o }"), parser)
    assert parser._child[0].pid == pid
