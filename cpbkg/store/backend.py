"""Where ``cpbkg serve`` reads the graph from: the embedded pyoxigraph store, or a remote SPARQL store.

(Over 500 lines on purpose: the remote backend is one adapter -- query rewriting for binding, the
remote pool, the graph facade the pages read, opening and verifying -- that reads best in one place.)

``cpbkg serve`` (and :func:`cpbkg.web.app.create_app`) run the same HTTP API on either backend:

* **embedded** (the default): :class:`cpbkg.store.embedded.LoadedStore` and :class:`cpbkg.sparql.pool.QueryPool`,
  worker processes that each open the on-disk store read-only.
* **remote** (``cpbkg serve --backend URL``, ``CPBKG_BACKEND``): a store that ``cpbkg publish``
  filled with the same build, reached over the SPARQL 1.1 Protocol. :func:`open_remote` gives a
  :class:`RemoteLoadedStore`, which plays both parts:

  - :class:`RemoteQueryPool` stands in for the worker pool behind ``/sparql`` and ``/queries/``.
    Queries have passed the same checks first (:func:`cpbkg.sparql.lexer.check`: updates, ``LOAD`` and
    ``SERVICE`` refused before anything is forwarded); the timeout is an HTTP deadline on the whole
    answer; the answer is read with a byte ceiling, parsed, counted against the result cap and
    serialised by the same code as the embedded answers (:func:`cpbkg.sparql.execute.serialize_answer`), so
    both backends give the same bytes in every format, and the same answer cache (its key holds
    the data version: the ``data_hash`` of the build in ``dist/release.json``) serves both.
  - :class:`RemoteGraphStore` is the small pyoxigraph ``Store`` surface the pages use
    (``query``, ``quads_for_pattern``, ``contains_named_graph``, ``named_graphs``), over the
    remote endpoint, with an LRU of answers (the data does not change under a running server).

**The default graph.** The queries in ``queries/`` and the pages name no graph: they read the
union of the build's graphs. Stores differ here (Oxigraph's default graph is its own unless it
runs with ``--union-default-graph``; Virtuoso's is the union of every graph it holds, other
data sets included), so the remote backend never relies on it: each query that gives no
dataset of its own is sent with ``default-graph-uri`` *and* ``named-graph-uri`` set to the
build's graphs (SPARQL 1.1 Protocol §2.1.4). The store then reads exactly our graphs, whatever
its configuration and whatever else it holds (staging graphs of a publication in progress
included). With ``Settings.union_default_graph`` off, the default graph is an empty graph, as in
the embedded store (a build puts every triple in a named graph). A query with ``FROM`` or a
request with ``default-graph-uri``/``named-graph-uri`` is forwarded with its own dataset.

**Bound values.** Where pyoxigraph takes ``substitutions`` (the named queries' parameters, the
pages' look-ups), the remote backend adds ``VALUES ?var { term }`` as the first element of the
query's outermost group and of the WHERE group of every sub-select, on every kind of store.
pyoxigraph binds a substituted variable in every scope, so ``BIND(COALESCE(?param, ...))`` inside
a sub-select sees the value (``indicators-of-goal`` chooses its goal there, under the ordered
sub-select that feeds its ``GROUP_CONCAT``); a ``VALUES`` in the outermost group alone would join
with the sub-select's rows for the *default* goal, since an unbound ``?goal`` is compatible with
any value. Virtuoso needs it too: it joins a ``VALUES ?x`` with a sub-select that projects ``?x``
unbound into *no* rows, so ``decision-actions`` came back empty. Terms are written by :func:`sparql_term` from
pyoxigraph terms -- IRIs checked for the characters SPARQL forbids, literals escaped -- never
from the text a user typed; a value holding ``\\u`` is refused (SPARQL decodes ``\\u`` escapes
before parsing, so it could not be written faithfully).

**Blank nodes.** A blank node cannot be named in a SPARQL query. The pages follow blank nodes
only in the ontology (OWL lists and restrictions): :meth:`RemoteGraphStore.quads_for_pattern`
answers a pattern with a blank node from one fetch of every quad whose subject or object is a
blank node (kept in memory; refused above :data:`BNODE_QUADS_MAX`). This needs a store whose
blank-node labels in answers are stable from one query to the next (Oxigraph's and Virtuoso's are).

**Why httpx (cpbkg.store.remote) and not SPARQLWrapper.** The issue suggested SPARQLWrapper. It
is not used on the server side because: a page makes dozens of small queries, and SPARQLWrapper
(urllib) opens a connection for each, where httpx keeps them alive; the answer must be read as a
stream with a byte ceiling and a deadline on the *whole* answer (urllib's timeout is per socket
operation); urllib follows redirects to any host, with the credentials; and :mod:`cpbkg.store.remote`
already has the error tree, the redirect policy and the authentication ``cpbkg publish`` uses.
SPARQLWrapper stays the *client* the test suite uses against the endpoint on both backends
(``tests/test_sparqlwrapper.py``).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyoxigraph as ox

from cpbkg.errors import (
    CpbkgError,
    QueryFailed,
    QuerySyntaxError,
    QueryTimeout,
    RequestError,
    ResultTooLarge,
    ServerBusy,
    StoreError,
)
from cpbkg.sparql.execute import Answer, Job, _term, serialize_answer
from cpbkg.sparql.grammar import check_grammar
from cpbkg.sparql.lexer import (
    _FORM,
    _PREFIX_DECL,
    _TOKENS,
    describe_syntax_error,
    outer_group,
    scan_cached,
)
from cpbkg.sparql.pool import InThread
from cpbkg.sparql.service import _prefixes
from cpbkg.store.protocol import GraphStore, QueryWorkers, Release, ServedStore
from cpbkg.store.remote import (
    _IRI_FORBIDDEN,
    KINDS,
    Endpoints,
    RemoteStore,
    RemoteStoreError,
    endpoints,
)

if TYPE_CHECKING:
    from cpbkg.config import Settings

log = logging.getLogger(__name__)

__all__ = [
    "BNODE_QUADS_MAX",
    "RemoteGraphStore",
    "RemoteLoadedStore",
    "RemoteQueryPool",
    "open_backend",
    "open_remote",
    "parse_backend",
    "sparql_term",
    "with_values",
]

SPARQL_JSON = "application/sparql-results+json"
#: what is asked of the store for CONSTRUCT/DESCRIBE (any RDF syntax pyoxigraph reads is taken)
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
#: what is asked of the store when the form is not known: SPARQL JSON for solutions, else RDF
ANY_ACCEPT = f"{SPARQL_JSON}, {GRAPH_ACCEPT}"
#: quads with a blank node kept in memory at most (the ontology's OWL axioms: a few hundred)
BNODE_QUADS_MAX = 100_000
#: the dataset used as an empty default graph (an IRI no build mints)
EMPTY_GRAPH = "urn:x-cpbkg:empty-default-graph"
_LANG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


# --------------------------------------------------------------------------- writing terms and VALUES


def _check_iri_text(value: str) -> str:
    if not value or any(c in _IRI_FORBIDDEN or ord(c) <= 0x20 for c in value) or ":" not in value:
        raise RequestError(f"not an IRI that can be written in a query: {value!r}")
    return value


def sparql_term(term: ox.NamedNode | ox.Literal) -> str:
    """A pyoxigraph IRI or literal as SPARQL text; nothing else is accepted.

    >>> sparql_term(ox.NamedNode("https://w3id.org/cpbkg/id/goal/A.1"))
    '<https://w3id.org/cpbkg/id/goal/A.1>'
    >>> sparql_term(ox.Literal('say "hi"\\n} ; DROP ALL #', language="en"))
    '"say \\\\"hi\\\\"\\\\n} ; DROP ALL #"@en'
    >>> sparql_term(ox.Literal("26"))
    '"26"'
    >>> sparql_term(ox.Literal("4", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))
    '"4"^^<http://www.w3.org/2001/XMLSchema#integer>'
    """
    if isinstance(term, ox.NamedNode):
        return f"<{_check_iri_text(term.value)}>"
    if isinstance(term, ox.Literal):
        value = term.value
        if re.search(r"\\[uU]", value):
            raise RequestError("a value holding \\u or \\U cannot be sent to the remote store faithfully")
        text = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r"))
        if term.language:
            if not _LANG.match(term.language):
                raise RequestError(f"not a language tag: {term.language!r}")
            return f'"{text}"@{term.language}'
        datatype = term.datatype.value
        if datatype == "http://www.w3.org/2001/XMLSchema#string":
            return f'"{text}"'
        return f'"{text}"^^<{_check_iri_text(datatype)}>'
    raise RequestError(f"only IRIs and literals can be bound to a variable, not {term!r}")


def _masked(text: str) -> str:
    """``text`` with every string, IRI, comment, variable and blank node blanked, same length."""
    out = list(text)
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup
        if kind in ("string", "iri", "comment", "var", "bnode", "escape"):
            for i in range(match.start(), match.end()):
                out[i] = " " if text[i] not in "\n" else "\n"
        elif kind == "local":  # a prefixed name: keep the label, blank the local part
            start = match.start("local")
            for i in range(start, match.end()):
                out[i] = "l"
    code = "".join(out)
    # a prefix label may read like a keyword (PREFIX select: <...>): blank it too
    return _PREFIX_DECL.sub(lambda m: "PREFIX" + " " * (len(m.group()) - 7) + ":", code)


def _group_start(text: str) -> int:
    """Index of the ``{`` that opens the query's outermost group (its WHERE clause); -1 if none."""
    code = _masked(text)
    form = _FORM.search(code)
    if form is None:
        return -1
    _, brace = outer_group(code, form)
    return brace if brace < len(code) else -1


_SELECT = re.compile(r"(?i)(?<![A-Za-z0-9_])select(?![A-Za-z0-9_])")


def _subselect_groups(text: str) -> list[int]:
    """Indexes of the ``{`` that open the WHERE group of each sub-``SELECT`` of ``text``."""
    code = _masked(text)
    form = _FORM.search(code)
    if form is None:
        return []
    found = []
    for match in _SELECT.finditer(code, form.end()):
        _, brace = outer_group(code, match)
        if brace < len(code):
            found.append(brace)
    return found


def with_values(text: str, bindings: dict[str, str]) -> str:
    """``text`` with ``VALUES (?a ?b) { (x y) }`` first in its outermost group and in the WHERE
    group of each sub-``SELECT`` (a variable bound in every scope, as pyoxigraph's
    ``substitutions`` bind it; see the module docstring).

    ``bindings`` maps variable names to terms already written by :func:`sparql_term`.

    >>> with_values('SELECT ?x WHERE { BIND(COALESCE(?code, "A") AS ?x) }', {"code": '"B"'})
    'SELECT ?x WHERE { VALUES (?code) { ("B") } BIND(COALESCE(?code, "A") AS ?x) }'
    >>> with_values('SELECT ?c WHERE { { SELECT ?c WHERE { } } }', {"c": '"B"'})
    'SELECT ?c WHERE { VALUES (?c) { ("B") } { SELECT ?c WHERE { VALUES (?c) { ("B") } } } }'
    """
    if not bindings:
        return text
    for name in bindings:
        if not re.fullmatch(r"[A-Za-z0-9_\u00B7\u00C0-\uFFFD]+", name):
            raise RequestError(f"not a variable name: {name!r}")
    at = _group_start(text)
    if at < 0:
        raise QueryFailed("values can only be bound in a query with a WHERE group")
    names = " ".join(f"?{n}" for n in bindings)
    row = " ".join(bindings.values())
    values = f" VALUES ({names}) {{ ({row}) }}"
    for brace in sorted({at, *_subselect_groups(text)}, reverse=True):
        text = f"{text[:brace + 1]}{values}{text[brace + 1:]}"
    return text


def _relative_iris(text: str) -> bool:
    """True if the query holds an IRI reference without a scheme (it needs a base IRI)."""
    for match in _TOKENS.finditer(text):
        if match.lastgroup == "iri" and not re.match(r"<[A-Za-z][A-Za-z0-9+.\-]*:", match.group()):
            return True
    return False


# --------------------------------------------------------------------------- the connection


class _Remote:
    """The store's query endpoint, the build's graphs on it, and how a query is sent there."""

    def __init__(self, client: RemoteStore, graphs: list[str], *, max_bytes: int, kind: str = "oxigraph") -> None:
        self.client = client
        self.graphs = graphs
        self.max_bytes = max_bytes
        #: the kind of store (:data:`cpbkg.store.remote.KINDS`): how its dialect is met
        self.kind = kind

    def dataset(self, union: bool) -> dict[str, list[str]]:
        return {"default-graph-uri": list(self.graphs) if union else [EMPTY_GRAPH],
                "named-graph-uri": list(self.graphs)}

    def send(self, text: str, accept: str, *, params: dict[str, list[str]], timeout: float,
             max_bytes: int | None = None) -> tuple[str, bytes]:
        """(media type, body) of the store's answer; errors as the endpoint's own errors."""
        try:
            return self.client.query_stream(text, accept, params=params, timeout=timeout,
                                            max_bytes=max_bytes or self.max_bytes)
        except RemoteStoreError as exc:
            raise _query_error(exc, text, timeout) from None


def _query_error(exc: RemoteStoreError, text: str, timeout: float) -> Exception:
    message = str(exc)
    if getattr(exc, "too_large", False):
        return ResultTooLarge(f"the answer is larger than this endpoint reads from its store ({message})")
    if getattr(exc, "timed_out", False):
        return QueryTimeout(f"the query ran longer than {timeout:g} s, the limit of this endpoint, and was stopped; "
                            "make it more selective (more specific patterns, a LIMIT) or run it on a copy of the dump")
    detail = getattr(exc, "detail", "") or ""
    if exc.status == 400:
        if re.match(r"^error at \d+:\d+: ", detail):
            return QuerySyntaxError(describe_syntax_error(text, detail))
        # the query passed pyoxigraph's parser (RemoteQueryPool.run): valid SPARQL 1.1 that the
        # store's dialect does not take
        return QueryFailed("the store refused a query that pyoxigraph's SPARQL 1.1 parser accepts (its own "
                           f"dialect): {detail or message}")
    if exc.status == 503:
        return ServerBusy(f"the SPARQL store is busy: {detail or message}")
    if exc.status is not None and exc.status >= 500 and detail:
        return QueryFailed(f"the query could not be evaluated: {detail}")
    return StoreError(f"the SPARQL store could not answer: {message}")


# --------------------------------------------------------------------------- the query "pool"


class RemoteQueryPool(QueryWorkers):
    """What :class:`cpbkg.sparql.service.QueryService` runs jobs on, for a remote store.

    The interface of :class:`cpbkg.sparql.pool.QueryPool` (:class:`cpbkg.store.protocol.QueryWorkers`):
    ``size`` is the number of queries sent to the store at once (the app's query slots), ``run(job)``
    gives an :class:`Answer`.
    """

    killed = 0
    pids: tuple[int, ...] = ()
    isolated = None

    def __init__(self, remote: _Remote, *, size: int = 2, prefixes: dict[str, str] | None = None) -> None:
        self.remote = remote
        self.size = max(1, int(size))
        self.prefixes = prefixes

    @property
    def memory_quads(self) -> None:
        """No copy of the store: the remote store answers."""
        return None

    def start(self) -> RemoteQueryPool:
        return self

    def retire(self, timeout: float) -> bool:
        return True  # nothing runs here: each job is its own request to the store

    def close(self) -> None:
        pass

    async def run_async(self, job: Job, in_thread: InThread) -> Answer:
        """:meth:`run`, in ``in_thread``: the store's answer is a request and a conversion, both blocking."""
        return await in_thread(lambda: self.run(job))

    def run(self, job: Job) -> Answer:
        """Send a job to the store and serialise its answer (blocks; call it from a thread).

        The query is first read by pyoxigraph's parser, in a child process that evaluates nothing
        here (:func:`~cpbkg.sparql.grammar.check_grammar`): so a query that is not SPARQL 1.1 gets the
        embedded store's 400, with the same line and column, whatever the store would make of it
        -- Virtuoso runs some invalid queries and refuses some valid ones in its own dialect
        (those get 422, not 400).
        """
        check_grammar(job)
        text = job.text
        if job.substitutions:
            text = with_values(text, {name: sparql_term(_term(value)) for name, value in job.substitutions})  # type: ignore[arg-type]
        shift = ""
        if job.base_iri and _relative_iris(text):
            shift = f"BASE <{_check_iri_text(job.base_iri)}> "
        if job.default_graphs is not None or job.named_graphs is not None:
            params = {"default-graph-uri": list(job.default_graphs or ()),
                      "named-graph-uri": list(job.named_graphs or ())}
            if not params["default-graph-uri"]:
                params["default-graph-uri"] = [EMPTY_GRAPH]
            if not params["named-graph-uri"]:
                params["named-graph-uri"] = [EMPTY_GRAPH]
        elif _has_from(job.text):
            params = {}
        else:
            params = self.remote.dataset(job.union)
        if job.results_format is not None and job.graph_format is None:
            accept = SPARQL_JSON
        elif job.graph_format is not None and job.results_format is None:
            accept = GRAPH_ACCEPT
        else:
            accept = ANY_ACCEPT
        try:
            media, body = self.remote.send(shift + text, accept, params=params, timeout=job.timeout)
        except QuerySyntaxError as exc:
            if shift and str(exc).startswith("syntax error at line 1,"):
                raise QuerySyntaxError(str(exc)) from None  # columns of line 1 are off by the BASE
            raise
        result = _parse_answer(media, body)
        if isinstance(result, ox.QuerySolutions) and scan_cached(job.text).form == "ask":
            result = _ask_answer(result)
        error: CpbkgError | None = None
        try:
            answer = serialize_answer(result, job, self.prefixes)
        except CpbkgError as exc:
            # a fresh error without a traceback into here: pyoxigraph's results may only be
            # dropped on the thread that made them, and a traceback would carry them away
            error = type(exc)(str(exc))
        finally:
            del result
        if error is not None:
            raise error
        return answer


def _ask_answer(rows: ox.QuerySolutions) -> ox.QueryBoolean:
    """The boolean of an ASK that a store answered with rows: Virtuoso does, one row binding
    ``__ASK_RETVAL`` to 1 for true and none for false (seen through the W3C runner)."""
    truth = any(term is not None and term.value in ("1", "true") for row in rows for term in row)
    answer = json.dumps({"head": {}, "boolean": truth}).encode()
    return ox.parse_query_results(answer, format=ox.QueryResultsFormat.JSON)  # type: ignore[return-value]


def _has_from(text: str) -> bool:
    return scan_cached(text).has_from


#: a blank node label every RDF parser reads (an ASCII subset of SPARQL's BLANK_NODE_LABEL)
_PLAIN_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")


def _blank_label(value: str) -> str:
    """A label pyoxigraph reads for a store's blank node ``value``: the same one, if it is plain, else
    one derived from it, the same for the same value (one node in an answer stays one node).

    >>> _blank_label("b0"), _blank_label("nodeID://b10006")
    ('b0', 'v449452d5b403dbf190a3')
    """
    if _PLAIN_LABEL.fullmatch(value):
        return value
    return "v" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:20]


def _plain_blank_nodes(body: bytes) -> bytes:
    """SPARQL JSON results whose blank nodes have labels pyoxigraph reads: Virtuoso names them
    ``nodeID://b10006``, which is not a blank node label, and pyoxigraph refuses the whole answer."""
    if b'"bnode"' not in body:
        return body
    doc = json.loads(body)
    changed = False
    for binding in doc.get("results", {}).get("bindings", ()):
        for term in binding.values():
            if term.get("type") == "bnode" and not _PLAIN_LABEL.fullmatch(term.get("value", "")):
                term["value"] = _blank_label(term.get("value", ""))
                changed = True
    return json.dumps(doc).encode("utf-8") if changed else body


def _parse_answer(media: str, body: bytes) -> Any:
    """The store's answer as pyoxigraph results (solutions, boolean) or a list of triples."""
    media = media.split(";")[0].strip().lower()
    try:
        results_format = ox.QueryResultsFormat.from_media_type(media)
    except ValueError:
        results_format = None
    try:
        if results_format == ox.QueryResultsFormat.JSON:
            body = _plain_blank_nodes(body)
        if results_format is not None:
            return ox.parse_query_results(body, format=results_format)
        try:
            rdf_format = ox.RdfFormat.from_media_type(media)
        except ValueError:
            rdf_format = None
        if rdf_format is None:
            raise QueryFailed(f"the store answered in {media!r}, which this endpoint cannot read")
        return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf_format)]
    except (SyntaxError, ValueError, OSError) as exc:
        raise QueryFailed(f"the store's answer ({media}) could not be read: {exc}") from None


# --------------------------------------------------------------------------- the pages' store


class RemoteGraphStore(GraphStore):
    """The part of :class:`pyoxigraph.Store` the pages use (:class:`cpbkg.store.protocol.GraphStore`),
    answered by the remote store.

    Read-only; answers are kept in an LRU (``cache_entries``) for the life of the object, which
    is the life of the app: the data is a published build and does not change under it.
    """

    def __init__(self, remote: _Remote, *, timeout: float, base_iri: str | None = None,
                 cache_entries: int = 20_000) -> None:
        self.remote = remote
        self.timeout = timeout
        self.base_iri = base_iri
        self._cache: collections.OrderedDict[tuple[object, ...], tuple[str, bytes]] = collections.OrderedDict()
        self._cache_entries = cache_entries
        self._lock = threading.Lock()
        self._bnode_quads: list[ox.Quad] | None = None
        self._bnode_lock = threading.Lock()

    # -- plumbing

    def _ask_store(self, text: str, accept: str, params: dict[str, list[str]]) -> tuple[str, bytes]:
        key = (text, accept, tuple(sorted((k, tuple(v)) for k, v in params.items())))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        answer = self.remote.send(text, accept, params=params, timeout=self.timeout)
        with self._lock:
            self._cache[key] = answer
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
        return answer

    # -- pyoxigraph's surface

    def query(self, query: str, *, substitutions: dict[ox.Variable, Any] | None = None,
              use_default_graph_as_union: bool = False, default_graph: Any = None,
              named_graphs: Any = None, base_iri: str | None = None, **_: Any) -> Any:
        """Like :meth:`pyoxigraph.Store.query`: solutions and booleans as pyoxigraph objects
        (rows with ``row["var"]``, ``.variables``), a graph as a list of triples."""
        text = query
        if substitutions:
            text = with_values(text, {v.value: sparql_term(t) for v, t in substitutions.items()})
        base = base_iri or self.base_iri
        if base and _relative_iris(text):
            text = f"BASE <{_check_iri_text(base)}> " + text
        if default_graph is not None or named_graphs is not None:
            def iris(value: Any) -> list[str]:
                items = value if isinstance(value, list | tuple) else [value]
                return [i.value for i in items if isinstance(i, ox.NamedNode)] or [EMPTY_GRAPH]
            params = {"default-graph-uri": iris(default_graph if default_graph is not None else []),
                      "named-graph-uri": iris(named_graphs if named_graphs is not None else [])}
        elif _has_from(query):
            params = {}
        else:
            params = self.remote.dataset(use_default_graph_as_union)
        media, body = self._ask_store(text, ANY_ACCEPT, params)
        return _parse_answer(media, body)

    def quads_for_pattern(self, subject: Any = None, predicate: Any = None, object: Any = None,
                          graph_name: Any = None) -> list[ox.Quad]:
        """Quads matching the pattern, in the build's named graphs (a build's default graph is empty)."""
        if isinstance(graph_name, ox.DefaultGraph):
            return []
        if any(isinstance(t, ox.BlankNode) for t in (subject, object, graph_name)):
            return [q for q in self._bnodes() if _matches(q, subject, predicate, object, graph_name)]
        terms = {"s": subject, "p": predicate, "o": object, "g": graph_name}
        written = {k: (sparql_term(t) if t is not None else f"?{k}") for k, t in terms.items()}
        text = (f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH {written['g']} {{ {written['s']} {written['p']} {written['o']} }} }}")
        media, body = self._ask_store(text, SPARQL_JSON, self.remote.dataset(False))
        out = []
        for row in _parse_answer(media, body):
            s, p, o, g = (terms[k] if terms[k] is not None else row[k] for k in ("s", "p", "o", "g"))
            out.append(ox.Quad(s, p, o, g))
        return out

    def contains_named_graph(self, graph_name: Any) -> bool:
        return isinstance(graph_name, ox.NamedNode) and graph_name.value in self.remote.graphs

    def named_graphs(self) -> list[ox.NamedNode]:
        return [ox.NamedNode(g) for g in self.remote.graphs]

    def _bnodes(self) -> list[ox.Quad]:
        """Every quad whose subject or object is a blank node (fetched once)."""
        with self._bnode_lock:
            if self._bnode_quads is None:
                text = ("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } } "
                        f"LIMIT {BNODE_QUADS_MAX + 1}")
                media, body = self.remote.send(text, SPARQL_JSON, params=self.remote.dataset(False),
                                               timeout=max(self.timeout, 60.0))
                rows = [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in _parse_answer(media, body)]
                if len(rows) > BNODE_QUADS_MAX:
                    raise StoreError(f"the store holds more than {BNODE_QUADS_MAX} quads with blank nodes; "
                                     "the remote backend does not follow blank nodes that far")
                self._bnode_quads = rows
            return self._bnode_quads


def _matches(q: ox.Quad, s: Any, p: Any, o: Any, g: Any) -> bool:
    return ((s is None or q.subject == s) and (p is None or q.predicate == p)
            and (o is None or q.object == o) and (g is None or q.graph_name == g))


# --------------------------------------------------------------------------- opening a backend


@dataclass
class RemoteLoadedStore(ServedStore):
    """What :class:`cpbkg.store.embedded.LoadedStore` is for the embedded store, for a remote one
    (both are a :class:`cpbkg.store.protocol.ServedStore`).

    ``store`` is the pages' :class:`RemoteGraphStore`; ``release`` the build in ``dist/`` that
    was published there (its ``data_hash`` is the data version); :meth:`make_pool` gives the
    query "pool" of ``/sparql``.
    """

    backend: ClassVar[str] = "remote"

    store: RemoteGraphStore
    release: Release
    client: RemoteStore
    remote: _Remote
    url: str
    path: Path | None = None
    graphs: dict[str, int] = field(default_factory=dict)

    def make_pool(self, settings: Settings) -> RemoteQueryPool:
        """The remote store itself, ``settings.query_workers`` queries at once."""
        return RemoteQueryPool(self.remote, size=settings.query_workers, prefixes=_prefixes())

    def close(self) -> None:
        self.client.close()


def parse_backend(value: str) -> tuple[str, str]:
    """``KIND+URL`` or ``URL`` (kind oxigraph) -> (kind, base URL); ``embedded`` -> ("embedded", "").

    >>> parse_backend("http://127.0.0.1:7878"), parse_backend("virtuoso+http://h:8890")
    (('oxigraph', 'http://127.0.0.1:7878'), ('virtuoso', 'http://h:8890'))
    """
    value = value.strip()
    if value in ("", "embedded"):
        return "embedded", ""
    kind, sep, rest = value.partition("+")
    if sep and kind in (*KINDS, "generic"):
        return kind, rest
    return "oxigraph", value


def open_remote(settings: Settings, url: str, *, kind: str = "oxigraph", query_url: str | None = None,
                auth: Any = None, token: str | None = None, verify: bool = True,
                max_bytes: int | None = None) -> RemoteLoadedStore:
    """Connect to the remote store that holds the build in ``settings.dist_dir``.

    With ``verify`` (the default), the store's graphs under ``{base}graph/`` are counted and must
    match ``dist/release.json`` (the graphs ``cpbkg publish`` pushed): a store that holds another
    build, or an incomplete one, is refused before the server starts.

    Raises:
        StoreError: no build in ``dist/``, or the store holds other data.
        RemoteStoreError: the store cannot be reached.
    """
    release = Release.read(settings.dist_dir)
    ep: Endpoints = endpoints(url, kind, query=query_url) if kind != "url" else Endpoints(url)
    client = RemoteStore(ep.query, auth=auth, token=token, timeout=max(settings.query_timeout, 10.0))
    try:
        ours = release.base_uri + "graph/"
        found = {g: n for g, n in client.graphs().items()
                 if g.startswith(ours) and not g.startswith(ours + "staging/")}
        if verify:
            _verify(settings.dist_dir, release, found, ep.query)
        graphs = sorted(found)
    except BaseException:
        client.close()
        raise
    limit = max_bytes or (16 << 20) + settings.result_cap * 4096
    remote = _Remote(client, graphs, max_bytes=limit, kind=kind)
    store = RemoteGraphStore(remote, timeout=settings.query_timeout, base_iri=settings.base_uri)
    log.info("remote backend %s: %d graphs of build %s", ep.query, len(graphs), release.data_hash[:16])
    return RemoteLoadedStore(store, release, client, remote, ep.query, graphs=found)


def open_backend(settings: Settings, **options: Any) -> RemoteLoadedStore:
    """:func:`open_remote` for ``settings.backend`` (``URL`` or ``KIND+URL``)."""
    kind, url = parse_backend(settings.backend)
    if kind == "embedded":
        raise StoreError("no remote backend configured (settings.backend is empty)")
    return open_remote(settings, url, kind=kind, **options)


def _verify(dist_dir: Path, release: Release, found: dict[str, int], url: str) -> None:
    raw = json.loads((dist_dir / "release.json").read_text(encoding="utf-8"))
    listed = raw.get("graphs") or {}
    wrong = []
    for name, expected in sorted(listed.items()):
        iri = release.base_uri + "graph/" + name
        if found.get(iri, 0) != expected:
            wrong.append(f"<{iri}> holds {found.get(iri, 0)} triples, dist/ has {expected}")
    if wrong:
        raise StoreError(f"{url} does not hold the build in {dist_dir} (build {release.data_hash[:16]}): "
                         + "; ".join(wrong[:5]) + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "")
                         + ". Run `cpbkg publish` first (or serve with --no-verify)")
