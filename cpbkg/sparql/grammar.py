"""Is a query SPARQL 1.1? pyoxigraph's parser, asked in a child process, for the remote backend.

A remote store reads queries in a dialect of its own (Virtuoso runs some invalid queries and
refuses some valid ones: docs/remote-stores.md), so before a query is sent there it is read by
pyoxigraph's parser, on an empty store: a query that is not SPARQL 1.1 gets the embedded store's
400, with the same line and column.

pyoxigraph has no parse-only call, and ``Store.query`` begins to evaluate what it parsed: an
``ORDER BY`` over a ``VALUES`` list is sorted at once, even on an empty store, and some sorts make
pyoxigraph 0.5.13 panic ("does not correctly implement a total order", oxigraph#1542), which
aborts the process. In the server process that would end the server, for one request any client
can send. So the parser runs in a child process of its own (:class:`Parser`, one per server
process, started at the first query): if the child dies or takes longer than
:data:`CHECK_SECONDS`, the query was parsed (what fails after parsing is evaluation) and the
store decides; the next query gets a new child.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cpbkg.errors import QuerySyntaxError
from cpbkg.sparql.lexer import describe_syntax_error, moved_error
from cpbkg.sparql.pool import child_env

if TYPE_CHECKING:
    from cpbkg.sparql.execute import Job

__all__ = ["CHECK_SECONDS", "Parser", "check_grammar", "parser_main"]

log = logging.getLogger(__name__)

#: the prologue of a query: blanks, comments, PREFIX and BASE declarations
_PROLOGUE = re.compile(r"(?:\s+|#[^\n]*(?:\n|$)|(?i:PREFIX)\s*[^\s:]*:\s*<[^>]*>|(?i:BASE)\s*<[^>]*>)*")
#: what an ASK is read as to check its grammar: pyoxigraph evaluates an ASK as soon as it is parsed
_ASK_PROBE = "SELECT (1 AS ?cpbkg_ask_probe)"
#: seconds the child may take over one query; past them it is stopped and the store decides
CHECK_SECONDS = 5.0
#: the child's program (``python -c``, as the query workers are started: cpbkg.sparql.pool)
_BOOT = "from cpbkg.sparql.grammar import parser_main; parser_main()"


def _syntax_error(store: ox.Store, text: str, base_iri: str | None) -> str | None:
    """pyoxigraph's message if ``text`` is not SPARQL 1.1, else None (parsed; run or not)."""
    try:
        store.query(text, base_iri=base_iri) if base_iri else store.query(text)
    except SyntaxError as exc:
        return str(exc)
    except (OSError, ValueError, RuntimeError):
        pass  # parsed, but not something pyoxigraph can run (a function it does not know): the store decides
    return None


def parser_main() -> None:
    """The child: read (text, base IRI) pairs on stdin, answer each on stdout with its syntax error or None."""
    store = ox.Store()
    requests, answers = Connection(sys.stdin.fileno(), writable=False), Connection(sys.stdout.fileno(), readable=False)
    while True:
        try:
            text, base_iri = requests.recv()
        except EOFError:  # the server closed the pipe: it is done with this child
            return
        answers.send(_syntax_error(store, text, base_iri))


class Parser:
    """One child process that parses queries, one query at a time (a lock): a parse takes
    microseconds, a remote store's answer milliseconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: tuple[subprocess.Popen[bytes], Connection, Connection] | None = None

    def syntax_error(self, text: str, base_iri: str | None) -> str | None:
        """pyoxigraph's message if ``text`` is not SPARQL 1.1, else None (also when the child failed)."""
        with self._lock:
            _, requests, answers = self._child or self._start()
            try:
                requests.send((text, base_iri))
                if answers.poll(CHECK_SECONDS):
                    answer: str | None = answers.recv()
                    return answer
                log.warning("the grammar check took over %g s: stopped; the store reads the query", CHECK_SECONDS)
            except (EOFError, OSError):
                log.warning("the grammar check's process ended while it read a query (an engine panic, its "
                            "message above): the store reads the query")
            self._stop()
            return None

    def _start(self) -> tuple[subprocess.Popen[bytes], Connection, Connection]:
        # its stderr is the server's: an engine panic's message goes to the server's log
        proc = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                bufsize=0, close_fds=True, env=child_env())
        assert proc.stdin is not None and proc.stdout is not None
        # the connections own copies of the pipes' descriptors: each end is closed once, by its connection
        requests, answers = os.dup(proc.stdin.fileno()), os.dup(proc.stdout.fileno())
        proc.stdin.close()
        proc.stdout.close()
        self._child = (proc, Connection(requests, readable=False), Connection(answers, writable=False))
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        proc, requests, answers = child
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        for end in (requests, answers):
            with contextlib.suppress(OSError):
                end.close()

    def close(self) -> None:
        with self._lock:
            self._stop()


#: the server process's parser (its child starts at the first query)
_PARSER = Parser()


def check_grammar(job: Job, parser: Parser = _PARSER) -> None:
    r"""Raise :class:`~cpbkg.errors.QuerySyntaxError`, as the embedded store would, for a query
    that is not SPARQL 1.1; nothing is evaluated in this process. What pyoxigraph could parse but
    not run (a function it does not know, such as Virtuoso's ``bif:`` ones) is left to the store.

    An ASK is checked as the SELECT with the same body (pyoxigraph evaluates an ASK as it parses
    it), its error positions given in the text as sent.

    >>> from cpbkg.sparql.execute import Job
    >>> check_grammar(Job("ASK { ?s ?p ?o } GROUP BY ?s"))
    >>> check_grammar(Job("SELECT (<http://www.openlinksw.com/schemas/bif#upper>('a') AS ?x) {}"))
    >>> check_grammar(Job("PREFIX a: <http://x/ask>\nASK { ?s ?p ?o . FILTER(}"))
    Traceback (most recent call last):
    ...
    cpbkg.errors.QuerySyntaxError: syntax error at line 2, column 26: ...
    """
    start = _PROLOGUE.match(job.text).end()  # type: ignore[union-attr]  # matches the empty string
    ask = re.match(r"(?i)ASK(?![A-Za-z0-9_])", job.text[start:]) is not None
    probe = job.text[:start] + _ASK_PROBE + job.text[start + 3:] if ask else job.text
    message = parser.syntax_error(probe, job.base_iri)
    if message is None:
        return
    if ask:  # the position in the text as sent
        line = job.text.count("\n", 0, start) + 1
        column = start - (job.text.rfind("\n", 0, start) + 1) + 1
        message = moved_error(message, line, column, len(_ASK_PROBE) - 3)
    raise QuerySyntaxError(describe_syntax_error(job.text, message))
