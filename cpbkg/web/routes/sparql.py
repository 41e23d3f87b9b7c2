"""``/sparql``: the SPARQL 1.1 Protocol endpoint for queries, read-only, with its service description.

Requests (SPARQL 1.1 Protocol §2.1):

* ``GET /sparql?query=…`` ; ``POST`` ``application/x-www-form-urlencoded`` with ``query=…`` ;
  ``POST`` ``application/sparql-query`` with the query as the body (UTF-8 only);
* ``default-graph-uri`` / ``named-graph-uri`` (repeatable) set the dataset and override the
  query's ``FROM``/``FROM NAMED``; graphs are looked up in the store, never fetched. Without
  either, the default graph is the union of the store's named graphs (``sd:UnionDefaultGraph``);
* ``format=`` (``json``, ``xml``, ``csv``, ``tsv``, ``ttl``, ``nt``, ``jsonld``, ``rdfxml``,
  ``trig``, ``nq`` or a media type) overrides ``Accept``.
* ``bom=1``: a CSV answer starts with a UTF-8 byte-order mark (for Excel, which otherwise reads it
  in the local code page and garbles the Chinese).

Answers are negotiated on ``Accept`` with q-values (:mod:`cpbkg.web.negotiation`): SPARQL
JSON (the default), XML, CSV, TSV for SELECT and ASK; Turtle (the default), N-Triples,
JSON-LD, RDF/XML, TriG, N-Quads for CONSTRUCT and DESCRIBE; an HTML table when a browser asks
for ``text/html``. ``GET /sparql`` without a query returns the SPARQL 1.1 Service Description,
negotiated the same way.

Answers stream: a worker writes the answer in the negotiated format as pyoxigraph evaluates it,
and the route sends it on chunk by chunk once it is larger than the pool reads ahead
(:class:`StreamedAnswer`), so the whole graph comes back, whatever its size, with flat memory.
The safety bound is ``Settings.result_bytes`` per answer (and a row cap, ``Settings.result_cap``,
if the operator sets one); the timeout counts to the last byte. An answer that fails before its
first byte gets its status; one that fails after it is cut, visibly (:func:`cut_marker`;
docs/decisions/0014-streaming.md).

Statuses: 400 for a malformed query (the message gives line and column) or a refused one
(update, ``LOAD``, ``SERVICE``); 422 for a valid query that cannot be evaluated (an unknown
function), over a row cap, or over the byte bound before its first byte was sent; 406 when no acceptable format fits; 413 for a body over
``Settings.max_body``; 415 for a POST type other than the two above or a charset other than
UTF-8; 503 when the query ran past the timeout or out of memory (its worker is killed; everyone
else is still answered) or no worker became free within the timeout. Successful answers carry
``ETag`` and ``Last-Modified`` (they change only when the data is rebuilt) and are answered
``304`` on a matching ``If-None-Match``/``If-Modified-Since``; they are gzipped (and cached
gzipped) when the client accepts it.

The handlers are ``async`` but never block the event loop. A ``GET`` with a short query asked
for as data takes the direct path before routing (:func:`direct_query`, called by the app's
middleware): read, negotiated and lexed once, then answered like :func:`sparql_get`. A query
that must run waits on the loop for one of the ``Settings.query_workers`` slots (up to the
timeout, then 503) and then talks to its worker process, from the loop for a small answer, else
from a thread (:mod:`cpbkg.sparql.pool`). A query whose client goes away is given up, waiting or
running (:func:`_run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import hashlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qs, parse_qsl

import anyio
import anyio.from_thread
import anyio.lowlevel
import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from cpbkg import __version__
from cpbkg.build.tables import BOM
from cpbkg.errors import (
    BodyTooLarge,
    CpbkgError,
    QueryRefused,
    RequestError,
    RequestTimeout,
    ResultTooLarge,
    ServerBusy,
    UnsupportedMediaType,
)
from cpbkg.formats import FORMAT_VALUES, FORMATS, GRAPHS, HTML, format_choice, lookup
from cpbkg.sparql.execute import Answer
from cpbkg.sparql.pool import SPOOL_BYTES, STREAM_FACTOR, AnswerStream, InThread
from cpbkg.sparql.service import Prepared, QueryService
from cpbkg.sparql.spool import Spool
from cpbkg.web.admission import Admission
from cpbkg.web.memo import memorable
from cpbkg.web.negotiation import (
    GRAPH_OFFERS,
    PAGE_OFFERS,
    RESULT_OFFERS,
    ShortKeyCache,
    accepts_coding,
    choose,
    negotiate,
)
from cpbkg.web.state import ServingState, public_base, serving
from cpbkg.web.view import page_language, render_document, service_page

router = APIRouter(tags=["SPARQL"])
log = logging.getLogger(__name__)

#: answers smaller than this are not worth compressing
GZIP_MIN = 1000
#: compress on the event loop only below this size; larger ones in a thread
_GZIP_INLINE_MAX = 64 * 1024
#: queries longer than this are lexed in a thread, not on the event loop
_SCAN_INLINE_MAX = 4 * 1024
VARY = "Accept, Accept-Encoding"
CACHE_CONTROL = "public, no-cache"

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCT = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"

QUERY_DOC = "A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE). Without it, GET returns the service description."
DEFAULT_GRAPH_DOC = ("IRI of a graph of the store to use as (part of) the default graph; repeatable. "
                     "Overrides FROM. IRIs that are not graphs of the store are empty graphs; nothing is fetched.")
NAMED_GRAPH_DOC = "IRI of a graph of the store to make available to GRAPH; repeatable. Overrides FROM NAMED."
FORMAT_DOC = ("Answer format, overriding Accept: " + ", ".join(FORMAT_VALUES) +
              ", or a media type. json/xml mean JSON-LD/RDF-XML for CONSTRUCT and DESCRIBE.")

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The answer, in the negotiated format.",
          "content": {FORMATS[n].media_type: {} for n in FORMATS}},
    304: {"description": "Not modified (ETag / Last-Modified)."},
    400: {"description": "Malformed query (message with line and column), or refused query (update, LOAD, "
                         "SERVICE).", "content": {"text/plain": {}}},
    422: {"description": "A valid query that cannot be evaluated (e.g. an unsupported function), or more "
                         "results than a row cap the operator set.", "content": {"text/plain": {}}},
    406: {"description": "No acceptable format for this kind of answer.", "content": {"text/plain": {}}},
    413: {"description": "Request body too large."},
    415: {"description": "POST body type not taken (only form-encoded and application/sparql-query, UTF-8)."},
    503: {"description": "The query ran past the timeout and was stopped, or every worker was busy."},
}


# --------------------------------------------------------------------------- shared with the named-query API


def query_service(request: Request) -> QueryService:
    return serving(request).query_service


def choose_formats(request: Request, values: list[str]) -> tuple[str | None, str | None, bool]:
    """(results format, graph format, html) from ``format=`` values or else the ``Accept`` header.

    Raises:
        RequestError: ``format=`` values of which none is known.
    """
    return formats_for(request.headers.get("accept"), values)


def formats_for(accept: str | None, values: list[str]) -> tuple[str | None, str | None, bool]:
    """:func:`choose_formats` on the header's value."""
    if values:
        for value in values:
            if lookup(value, [HTML]) is not None:
                return "json", "ttl", True
            choice = format_choice(value)
            if choice is not None:
                return choice[0], choice[1], False
        raise RequestError(f"unknown format {values[0]!r}: use one of {', '.join(FORMAT_VALUES)} or a media type")
    return _negotiated(accept)


@ShortKeyCache
def _negotiated(accept: str | None) -> tuple[str | None, str | None, bool]:
    # HTML (a table) only for a client that names it and prefers it to every data format
    if negotiate(accept, PAGE_OFFERS + RESULT_OFFERS + GRAPH_OFFERS) == "html":
        return "json", "ttl", True
    return negotiate(accept, RESULT_OFFERS), negotiate(accept, GRAPH_OFFERS), False


def last_modified(request: Request) -> str:
    """The build time of the data, as an HTTP date."""
    return http_date(serving(request).store.release.built)


@lru_cache(maxsize=16)
def http_date(built: str) -> str:
    """An ISO 8601 time (``release.json``'s ``built``) as an HTTP date."""
    try:
        moment = datetime.fromisoformat(built.replace("Z", "+00:00"))
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(request: Request | Headers, etag: str | None, modified: str | None) -> bool:
    """True if the client's validators (If-None-Match, else If-Modified-Since) match (RFC 9110 §13)."""
    headers = request.headers if isinstance(request, Request) else request
    inm = headers.get("if-none-match")
    if inm is not None:
        if etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = headers.get("if-modified-since")
    if ims and modified:
        try:
            return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def accepts_gzip(request: Request | Headers) -> bool:
    """True if ``Accept-Encoding`` accepts gzip (:func:`cpbkg.web.negotiation.accepts_coding`)."""
    headers = request.headers if isinstance(request, Request) else request
    return accepts_coding(headers.get("accept-encoding"), "gzip", aliases=["x-gzip"])


def _gzip(answer: Answer, service: QueryService, prepared: Prepared) -> bytes:
    if answer.gzipped is None:
        before = len(answer.body) + 256
        answer.gzipped = gzip.compress(answer.body, compresslevel=6, mtime=0)
        if prepared.cacheable:
            service.cache.grew(prepared.key, before, answer)
    return answer.gzipped


def _prepare(state: ServingState, text: str, formats: tuple[str | None, str | None, bool], headers: Headers,
             bom: bool = False, **options: object) -> tuple[Prepared, dict[str, str], bool]:
    """Check a query; the validator headers of its answer; whether the client already has it.

    ``bom``: a CSV answer is to start with a byte-order mark (another variant, another ETag)."""
    service: QueryService = state.query_service
    results_format, graph_format, as_html = formats
    prepared = service.prepare(text, results_format=results_format, graph_format=graph_format,
                               **options)  # type: ignore[arg-type]
    response_headers = {"Vary": VARY}
    if not prepared.cacheable:
        return prepared, response_headers, False
    etag = prepared.etag + ("-html" if as_html else "") + ("-bom" if bom and _csv(prepared) else "")
    modified = http_date(state.store.release.built)
    response_headers.update({"ETag": etag, "Last-Modified": modified, "Cache-Control": CACHE_CONTROL})
    return prepared, response_headers, not_modified(headers, etag, modified)


def _csv(prepared: Prepared) -> bool:
    """Whether a query's answer will be CSV (a SELECT or ASK asked for in CSV)."""
    return prepared.scan.kind == "results" and prepared.job.results_format == "csv"


def with_bom(answer: Answer) -> Answer:
    """The answer after a UTF-8 byte-order mark (``?bom=1``: Excel reads CSV without one in the local
    code page and garbles the Chinese); a new answer, so the cached one keeps its bytes."""
    return Answer(answer.kind, answer.format, BOM + answer.body, rest=answer.rest)


def _answer_response(answer: Answer, headers: dict[str, str], body: bytes | None) -> Response:
    """The response for a serialised answer; ``body`` is its gzipped form, if sent so."""
    headers["Content-Type"] = answer.content_type
    if body is not None:
        headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers)
    return Response(answer.body, headers=headers)


async def _run(state: ServingState, prepared: Prepared, receive: Receive | None = None) -> Answer:
    """Run on a worker: wait (on the loop, up to the timeout) for a free worker slot; the loop then
    sends the job and reads a small answer itself, anything longer is read in a thread
    (:meth:`cpbkg.sparql.pool.QueryPool.run_async`).

    A query whose client goes away (``receive``: the request's, read for its ``http.disconnect``)
    is given up and raises ClientDisconnect: while it waits for a slot, it leaves the queue; while
    its worker evaluates it, the answer is stopped, and the worker is free again once it has
    taken the stop, or killed and replaced within :data:`cpbkg.sparql.pool.DRAIN_SECONDS` (one read
    in a thread comes back once the thread has it; a rest to come is stopped as it is sent,
    :class:`StreamedAnswer`). A client that sent many and left does not keep the workers busy
    with answers nobody reads.

    The slot is free again when the answer is in (or given up) -- or, for an answer that streams
    on (``Answer.rest``), once its worker is free: at the answer's end when it is spooled to disk
    (:mod:`cpbkg.sparql.spool`), however slowly its client reads, else once the stream is closed.
    """
    slots = state.process.query_slots
    watch = _ClientWatch(receive)
    try:
        free = slots.take() or await _wait_for_slot(slots, prepared.job.timeout, watch)
        answer = None
        try:
            # the request's own build: a reload (POST /admin/reload) stops its workers only once the
            # requests on it are done (cpbkg.web.state)
            with anyio.CancelScope() as running, watch.cancelling(running):
                answer = await state.query_service.run_async(prepared, _in_thread(state))
            if answer is None:
                log.info("stopped a query whose client went away while it ran")
                raise ClientDisconnect()
            return answer
        finally:
            if answer is None or answer.rest is None:
                free()
            else:
                answer.rest.when_free(_on_loop(free))
    finally:
        watch.close()


class _ClientWatch:
    """Whether a request's client is still there: one task reads its ``receive`` for the
    ``http.disconnect`` (started on first use; ``receive`` None: nothing is watched).

    One task with a callback, not a task group: under load most queries wait, and a task group of
    two halved the distinct lookups one process answered (1,307-1,412 req/s to 648-651).
    """

    def __init__(self, receive: Receive | None) -> None:
        self._receive = receive
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def cancelling(self, scope: anyio.CancelScope) -> Iterator[None]:
        """While in it, the client's going cancels ``scope`` (at once if it has gone already)."""
        if self._receive is None:
            yield
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(until_disconnect(self._receive))

        def cancel(_: object) -> None:
            scope.cancel()

        self._task.add_done_callback(cancel)
        try:
            yield
        finally:
            self._task.remove_done_callback(cancel)

    @property
    def gone(self) -> bool:
        """The client has gone away."""
        return self._task is not None and self._task.done() and not self._task.cancelled()

    def close(self) -> None:
        """Stop watching."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


async def _wait_for_slot(slots: Admission, timeout: float, watch: _ClientWatch) -> Callable[[], None]:
    """A query slot, waited for up to ``timeout`` s (ServerBusy after), unless the client goes away
    first (ClientDisconnect)."""
    with anyio.move_on_after(timeout) as waited, watch.cancelling(waited):
        return await slots.acquire()  # cancelled: an Admission waiter leaves the queue
    if watch.gone:
        raise ClientDisconnect()
    raise ServerBusy(f"every query worker stayed busy for {timeout:g} s; try again later")


async def until_disconnect(receive: Receive) -> None:
    """Returns once the request's client has gone (``http.disconnect``); what else comes is skipped
    (a GET's empty body; a POST's was read before)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _in_thread(state: ServingState) -> InThread:
    """How the query service runs what blocks: in a thread of the query threads' limiter."""
    async def in_thread(call: Callable[[], Answer]) -> Answer:
        return await anyio.to_thread.run_sync(call, limiter=state.process.query_threads)
    return in_thread


def _on_loop(release: Callable[[], None]) -> Callable[[], None]:
    """``release`` (of the event loop's state), callable from any thread: run on the loop."""
    token = anyio.lowlevel.current_token()
    loop_thread = threading.get_ident()

    def call() -> None:
        if threading.get_ident() == loop_thread:
            release()
            return
        with contextlib.suppress(RuntimeError):  # the loop has ended (the server stopped): nothing to free
            anyio.from_thread.run_sync(release, token=token)
    return call


async def _stop(state: ServingState, answer: Answer) -> None:
    """Close the stream of an answer that will not be sent on (which frees its query slot, as
    :func:`_run` arranged, once its worker is free)."""
    stream = answer.rest
    answer.rest = None
    if stream is not None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(stream.close, limiter=state.process.query_threads)


def cut_marker(exc: BaseException) -> bytes:
    """What ends a streamed answer that could not be sent whole: a line that no parser of any format we
    send accepts -- it opens a string it never closes (JSON, CSV, TSV, N-Triples, Turtle) and ends
    in an end tag it never closes (XML, even read leniently) -- and names the error.

    >>> cut_marker(QueryRefused('x "y" <z>'))[-22:]
    b"complete: x 'y' (z>\\n</"
    """
    message = " ".join(str(exc).split()).replace('"', "'").replace("<", "(").replace("&", "+")
    return f'\n"CPBKG-ERROR {type(exc).__name__}: the answer is cut here, it is not complete: {message}\n</'.encode()


def _next_chunk(stream: AnswerStream | Spool, compressor: Any) -> bytes | None:
    """The next chunk of a stream, compressed if ``compressor``; None at the end (in a thread)."""
    chunk = stream.read()
    if compressor is None:
        return chunk
    if chunk is None:
        return None
    return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)


class StreamedAnswer(Response):
    """An answer too large to hold, sent as its worker writes it (chunked transfer encoding).

    The body is what the worker pool read ahead (``Answer.body``), then each chunk of
    ``Answer.rest`` once the client has taken the one before (back-pressure: the worker waits, and
    the time it waits is not counted against the job's timeout). The client going away stops the
    answer; so does a client that takes no chunk for the timeout, or has not taken the whole answer
    :data:`~cpbkg.sparql.pool.STREAM_FACTOR` times the timeout after it started. An error after the first byte was sent cannot change
    the status any more: the body then ends with :func:`cut_marker` and the connection is closed
    without the last chunk of the chunked encoding, so every HTTP client sees an incomplete
    answer and every parser an invalid document (docs/decisions/0014-streaming.md).
    """

    def __init__(self, state: ServingState, answer: Answer, headers: dict[str, str], *, compress: bool) -> None:
        self.state = state
        self.answer = answer
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if compress else None
        headers["Content-Type"] = answer.content_type
        if compress:
            headers["Content-Encoding"] = "gzip"
        super().__init__(None, headers=headers)
        del self.headers["content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = _ClientWatch(receive)
        try:
            with anyio.CancelScope() as sending, watch.cancelling(sending):
                await self._send(scope, send)
        finally:
            watch.close()
            await _stop(self.state, self.answer)

    async def _send(self, scope: Scope, send: Send) -> None:
        stream = self.answer.rest
        assert stream is not None
        threads = self.state.process.query_threads
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        chunk: bytes | None = self.answer.body
        compressor = self.compressor
        if compressor is not None:
            chunk = await anyio.to_thread.run_sync(
                lambda: compressor.compress(self.answer.body) + compressor.flush(zlib.Z_SYNC_FLUSH), limiter=threads)
        while chunk is not None:
            if chunk:
                start = time.monotonic()
                with anyio.move_on_after(max(min(stream.job.timeout, stream.ends_by - start), 0)) as waited:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                stream.waited(time.monotonic() - start)
                if waited.cancelled_caught:
                    log.warning("answer cut after %d bytes: its client took no chunk for %g s, or the answer was not "
                                "whole %g s after it started", stream.size, stream.job.timeout,
                                STREAM_FACTOR * stream.job.timeout)
                    return  # incomplete: uvicorn closes the connection
            try:
                chunk = await anyio.to_thread.run_sync(_next_chunk, stream, self.compressor, limiter=threads)
            except CpbkgError as exc:
                log.warning("answer cut after %d bytes: %s", stream.size, exc)
                marker = cut_marker(exc)
                if self.compressor is not None:
                    marker = self.compressor.compress(marker) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await send({"type": "http.response.body", "body": marker, "more_body": True})
                return  # incomplete: uvicorn closes the connection without the last chunk
        await send({"type": "http.response.body", "body": self.compressor.flush() if self.compressor else b"",
                    "more_body": False})


async def answer_query(
    request: Request,
    text: str,
    *,
    formats: tuple[str | None, str | None, bool],
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
    substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
    union: bool | None = None,
    row_cap: int | None = None,
    bom: bool = False,
) -> Response:
    """Check, run (or take from the cache) and send one query's answer (``row_cap``: as
    :meth:`~cpbkg.sparql.service.QueryService.prepare`; ``bom``: a CSV answer after a byte-order mark)."""
    state = serving(request)
    limit = state.settings.max_query_bytes
    if _too_long(text, limit):  # before the lexer reads it
        raise BodyTooLarge(f"the query is over {limit} bytes, the longest this endpoint takes (max_query_bytes)")
    as_html = formats[2]
    options = {"default_graphs": default_graphs, "named_graphs": named_graphs, "substitutions": substitutions,
               "union": union, "row_cap": row_cap}
    if len(text) <= _SCAN_INLINE_MAX:
        prepared, headers, fresh = _prepare(state, text, formats, request.headers, bom, **options)
    else:  # lexing a long text takes a while: not on the event loop
        prepared, headers, fresh = await anyio.to_thread.run_sync(
            lambda: _prepare(state, text, formats, request.headers, bom, **options))
    if prepared.cacheable:
        memorable(request)  # the same answer for as long as the data is the same
    if fresh:
        return Response(status_code=304, headers=headers)
    return await deliver(state, prepared, headers, text, compress=accepts_gzip(request) and not as_html,
                         as_html=as_html, bom=bom, receive=request.receive)


def _too_long(text: str, limit: int) -> bool:
    return len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit


async def deliver(state: ServingState, prepared: Prepared, headers: dict[str, str], text: str, *,
                  compress: bool, as_html: bool, bom: bool, receive: Receive | None = None) -> Response:
    """The response for a checked query that the client does not have yet: from the answer cache
    or a worker, whole or streamed, gzipped when ``compress`` (``headers``: its validators;
    ``receive``: the request's, to stop waiting for a worker when its client goes, :func:`_run`)."""
    service = state.query_service
    answer = service.cached(prepared)
    if answer is None:
        answer = await _run(state, prepared, receive)
    if bom and answer.format == "csv":
        answer = with_bom(answer)
    if answer.rest is not None:
        if not as_html:
            return StreamedAnswer(state, answer, headers, compress=compress)
        await _stop(state, answer)
        raise ResultTooLarge(f"the answer is larger than {SPOOL_BYTES >> 20} MiB: too large to show as a page; "
                             "ask for it as data (format=json, csv, tsv, xml, ttl, nt)")
    if as_html:
        body = await anyio.to_thread.run_sync(render_html_answer, answer, text)
        headers["Content-Type"] = HTML.content_type
        return Response(body, headers=headers)
    gzipped = None
    if compress and len(answer.body) >= GZIP_MIN:
        if bom and answer.format == "csv":  # not the cached answer: compressed for this response only
            gzipped = await anyio.to_thread.run_sync(lambda: gzip.compress(answer.body, compresslevel=6, mtime=0))
        elif answer.gzipped is None and len(answer.body) > _GZIP_INLINE_MAX:
            gzipped = await anyio.to_thread.run_sync(_gzip, answer, service, prepared)
        else:
            gzipped = _gzip(answer, service, prepared)
    return _answer_response(answer, headers, gzipped)


@dataclass(frozen=True)
class DirectQuery:
    """A ``GET /sparql?query=...`` read once by the app's direct path (:func:`direct_query`): checked,
    negotiated and with its validators, as :func:`sparql_get` would have it."""

    text: str
    prepared: Prepared
    headers: dict[str, str]
    #: the client has this answer already (its If-None-Match or If-Modified-Since match): 304
    fresh: bool
    compress: bool
    bom: bool

    async def respond(self, state: ServingState, receive: Receive) -> Response:
        """What :func:`sparql_get` answers (raises what it raises; ``receive``: the request's)."""
        if self.fresh:
            return Response(status_code=304, headers=self.headers)
        return await deliver(state, self.prepared, self.headers, self.text, compress=self.compress,
                             as_html=False, bom=self.bom, receive=receive)


def direct_query(state: ServingState, query_string: bytes, headers: Headers) -> DirectQuery | None:
    """``GET /sparql?query=...`` read for the app's direct path (:class:`cpbkg.web.app`), else None.

    The direct path answers the queries that make most of the traffic -- a short query as data,
    new or repeated -- with the same checks, negotiation, validators and bytes as
    :func:`sparql_get`, reading the query string and lexing the query once, with no routing and
    no dependency injection (issue 14: that was most of the time of an uncached lookup). Anything
    else -- no query, an update, HTML, a long text, a request in error -- is None: it takes the
    route, which answers it or reports the error.
    """
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, []).append(value)
    texts = params.get("query")
    if not texts or len(texts) != 1 or "update" in params:
        return None
    text = texts[0]
    if len(text) > _SCAN_INLINE_MAX or _too_long(text, state.settings.max_query_bytes):
        return None
    try:
        formats = formats_for(headers.get("accept"), params.get("format", []))
        if formats[2]:
            return None
        bom = wants_bom(params.get("bom", []))
        dg, ng = protocol_dataset(params.get("default-graph-uri", []), params.get("named-graph-uri", []))
        prepared, response_headers, fresh = _prepare(state, text, formats, headers, bom,
                                                     default_graphs=dg, named_graphs=ng)
    except CpbkgError:  # the route reports it
        return None
    return DirectQuery(text, prepared, response_headers, fresh, compress=accepts_gzip(headers), bom=bom)


# --------------------------------------------------------------------------- the endpoint


def _refuse_update(params: dict[str, list[str]] | object) -> None:
    raise QueryRefused("updates are not allowed on this endpoint: it is read-only "
                       "(only SELECT, ASK, CONSTRUCT and DESCRIBE queries run)")


def protocol_dataset(default_graphs: list[str], named_graphs: list[str]) -> tuple[list[str] | None, list[str] | None]:
    """The protocol dataset of a request (``default-graph-uri``, ``named-graph-uri``): both lists
    when either is given, else None for both (the query's own FROM, or the default graph).

    >>> protocol_dataset([], ["urn:g"]), protocol_dataset([], [])
    (([], ['urn:g']), (None, None))
    """
    if default_graphs or named_graphs:
        return default_graphs, named_graphs
    return None, None


def wants_bom(values: list[str]) -> bool:
    """``bom=1`` (or ``true``, ``yes``): a CSV answer starts with a UTF-8 byte-order mark."""
    return any(v.strip().lower() in ("1", "true", "yes") for v in values)


def _one_query(values: list[str]) -> str | None:
    if len(values) > 1:
        raise RequestError(f"give one query, not {len(values)} (the query parameter appears {len(values)} times)")
    return values[0] if values else None


@router.api_route("/sparql", methods=["GET", "HEAD"], summary="SPARQL query (GET) or service description",
                  responses=_RESPONSES, response_class=Response)
async def sparql_get(
    request: Request,
    query: Annotated[str | None, Query(description=QUERY_DOC)] = None,
    default_graph_uri: Annotated[list[str], Query(alias="default-graph-uri", description=DEFAULT_GRAPH_DOC)] = [],  # noqa: B006
    named_graph_uri: Annotated[list[str], Query(alias="named-graph-uri", description=NAMED_GRAPH_DOC)] = [],  # noqa: B006
    format: Annotated[list[str], Query(description=FORMAT_DOC)] = [],  # noqa: B006
) -> Response:
    """Run a query given in the URL (SPARQL 1.1 Protocol, query via GET); without one, the
    SPARQL 1.1 Service Description of this endpoint (Turtle, N-Triples, JSON-LD, RDF/XML or HTML)."""
    params = request.query_params
    if "update" in params:
        _refuse_update(params)
    text = _one_query(params.getlist("query"))
    if text is None:
        return await service_description(request, params.getlist("format"))
    dg, ng = protocol_dataset(params.getlist("default-graph-uri"), params.getlist("named-graph-uri"))
    return await answer_query(request, text, formats=choose_formats(request, params.getlist("format")),
                              default_graphs=dg, named_graphs=ng,
                              bom=wants_bom(params.getlist("bom")))


_POST_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "description": QUERY_DOC},
                "default-graph-uri": {"type": "array", "items": {"type": "string"}, "description": DEFAULT_GRAPH_DOC},
                "named-graph-uri": {"type": "array", "items": {"type": "string"}, "description": NAMED_GRAPH_DOC},
                "format": {"type": "string", "description": FORMAT_DOC},
            }},
        },
        "application/sparql-query": {"schema": {"type": "string", "description": "the query, UTF-8"}},
    },
}


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes, and with 408 if it
    has not all arrived after ``timeout`` seconds (default ``Settings.body_timeout``: a client that
    declares more than it sends does not hold its connection for ever)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body is {declared} bytes; this endpoint takes at most {limit}")
    if timeout is None:
        timeout = serving(request).settings.body_timeout
    chunks = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the request body is over {limit} bytes, the most this endpoint takes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s ({size} bytes received"
                             + (f" of {declared}" if declared else "") + ")") from None
    return b"".join(chunks)


def _content_type(request: Request) -> tuple[str, dict[str, str]]:
    raw = request.headers.get("content-type")
    if not raw:
        raise UnsupportedMediaType("a POST needs a Content-Type: application/x-www-form-urlencoded (query=...) "
                                   "or application/sparql-query (the query as the body)")
    media, *rest = raw.split(";")
    params = {}
    for item in rest:
        name, _, value = item.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(f"{what} is not UTF-8 (byte {exc.start})") from None


@router.post("/sparql", summary="SPARQL query (POST)", responses=_RESPONSES, response_class=Response,
             openapi_extra={"requestBody": _POST_BODY,
                            "parameters": [
                                {"name": "default-graph-uri", "in": "query", "required": False,
                                 "schema": {"type": "array", "items": {"type": "string"}},
                                 "description": DEFAULT_GRAPH_DOC},
                                {"name": "named-graph-uri", "in": "query", "required": False,
                                 "schema": {"type": "array", "items": {"type": "string"}},
                                 "description": NAMED_GRAPH_DOC},
                                {"name": "format", "in": "query", "required": False,
                                 "schema": {"type": "string"}, "description": FORMAT_DOC},
                            ]})
async def sparql_post(request: Request) -> Response:
    """Run a query sent form-encoded (``query=``) or directly (``application/sparql-query``).
    Updates (``application/sparql-update``, ``update=``) are refused: the endpoint is read-only."""
    media, ctype_params = _content_type(request)
    charset = ctype_params.get("charset", "utf-8").lower()
    if media == "application/sparql-update":
        _refuse_update(None)
    if media not in ("application/x-www-form-urlencoded", "application/sparql-query"):
        raise UnsupportedMediaType(f"a POST of {media or 'no media type'!r} is not taken: send "
                                   "application/x-www-form-urlencoded (query=...) or application/sparql-query")
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body must be UTF-8, not {charset}")
    body = await read_body(request, serving(request).settings.max_body)
    url = request.query_params
    if "update" in url:
        _refuse_update(url)
    fields: dict[str, list[str]] = {}
    if media == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(_decode(body, "the form"), keep_blank_values=True, strict_parsing=False,
                              errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestError(f"the form is not valid: {exc}") from None
        if "update" in fields:
            _refuse_update(fields)
        texts = fields.get("query", []) + url.getlist("query")
        text = _one_query(texts)
        if text is None:
            raise RequestError("the form has no query field (query=...)")
    else:
        if "query" in url:
            raise RequestError("the query is in the body (application/sparql-query): do not give it in the URL too")
        text = _decode(body, "the query")
    dg, ng = protocol_dataset(url.getlist("default-graph-uri") + fields.get("default-graph-uri", []),
                              url.getlist("named-graph-uri") + fields.get("named-graph-uri", []))
    fmt = url.getlist("format") + fields.get("format", [])
    return await answer_query(request, text, formats=choose_formats(request, fmt),
                              default_graphs=dg, named_graphs=ng,
                              bom=wants_bom(url.getlist("bom") + fields.get("bom", [])))


# --------------------------------------------------------------------------- service description


def endpoint_url(request: Request) -> str:
    """The endpoint's URL (no query string), on the configured public base, never the request's Host."""
    return public_base(request.scope) + request.url.path


def service_graph(request: Request) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of this endpoint."""
    settings = serving(request).settings
    loaded = serving(request).store

    def sd(local: str) -> ox.NamedNode:
        return ox.NamedNode(SD + local)

    endpoint = ox.NamedNode(endpoint_url(request))
    service = ox.BlankNode("service")
    dataset = ox.BlankNode("dataset")
    default = ox.BlankNode("defaultGraph")
    triples = [
        ox.Triple(service, RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), endpoint),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(service, ox.NamedNode(DCT + "title"), ox.Literal("CPB-KG SPARQL endpoint (read-only)", language="en")),
        ox.Triple(service, ox.NamedNode(DCT + "description"), ox.Literal(
            f"Read-only SPARQL 1.1 query endpoint of CPB-KG {__version__}. Queries run for at most "
            f"{settings.query_timeout:g} s, answers streamed to the last byte included, and answers are at most "
            f"{settings.result_bytes} bytes"
            + (f" and {settings.result_cap} rows or triples" if settings.result_cap else "")
            + "; updates, LOAD" + ("" if settings.allow_service else " and SERVICE") + " are refused.", language="en")),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default),
        ox.Triple(default, RDF_TYPE, sd("Graph")),
        ox.Triple(dataset, ox.NamedNode(VOID + "triples"), ox.Literal(str(loaded.release.triples),
                  datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))),
        ox.Triple(dataset, ox.NamedNode(DCT + "source"), ox.NamedNode(settings.base_uri + "dataset")),
    ]
    if settings.union_default_graph:
        triples.append(ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")))
        triples.append(ox.Triple(default, ox.NamedNode(DCT + "description"), ox.Literal(
            "the union of the named graphs", language="en")))
    if settings.allow_service:
        triples.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    for fmt in FORMATS.values():
        if fmt.w3c is not None:
            triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(fmt.w3c)))
    for graph in sorted(loaded.store.named_graphs(), key=str):
        if not isinstance(graph, ox.NamedNode):
            continue
        node = ox.BlankNode("g" + hashlib.sha1(graph.value.encode("utf-8")).hexdigest()[:12])
        triples += [ox.Triple(dataset, sd("namedGraph"), node), ox.Triple(node, RDF_TYPE, sd("NamedGraph")),
                    ox.Triple(node, sd("name"), graph)]
    return triples


#: the service description is RDF, or a page for a client that names text/html
SD_FORMATS = {f.name: f for f in (*GRAPHS, HTML)}
SD_OFFERS = PAGE_OFFERS + GRAPH_OFFERS
SD_PREFIXES = {"sd": SD, "dcterms": DCT, "void": VOID, "formats": "http://www.w3.org/ns/formats/"}


def _service_description_body(request: Request, fmt: str) -> bytes:
    cache = serving(request).sd_cache
    key = (endpoint_url(request), fmt if fmt != "html" else f"html-{page_language(request)}")  # a page per language
    body = cache.get(key)
    if body is None:
        triples = service_graph(request)
        if fmt == "html":
            body = _sd_html(request, triples)
        else:
            body = ox.serialize(triples, format=FORMATS[fmt].ox,  # type: ignore[arg-type]
                                prefixes=SD_PREFIXES if fmt in ("ttl", "trig", "rdfxml") else None) or b""
        if len(cache) < 64:
            cache[key] = body
    return body


async def service_description(request: Request, format_values: list[str]) -> Response:
    fmt = choose(request.headers.get("accept"), format_values, tuple(SD_FORMATS.values()), offers=SD_OFFERS,
                 what="the service description is RDF (or a page)")
    page = fmt == "html"  # the site's page, in the request's language
    etag = f'W/"{serving(request).store.data_version}-sd-{fmt}{"-" + page_language(request) if page else ""}"'
    headers = {"Vary": VARY + (", Accept-Language" if page else ""), "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    body = await anyio.to_thread.run_sync(_service_description_body, request, fmt)
    headers["Content-Type"] = SD_FORMATS[fmt].content_type
    return Response(body, headers=headers)


def _sd_html(request: Request, triples: list[ox.Triple]) -> bytes:
    graphs = sorted(str(t.object)[1:-1] for t in triples if t.predicate.value == SD + "name")
    return service_page(request, url=endpoint_url(request), settings=serving(request).settings,
                        formats=FORMATS.values(), graphs=graphs)


# --------------------------------------------------------------------------- HTML answers (browsers)


def render_html_answer(answer: Answer, text: str) -> bytes:
    """A results table (SELECT), a yes/no (ASK) or the Turtle (CONSTRUCT/DESCRIBE), for a browser."""
    if answer.kind == "graph":
        return render_document("sparql_answer.html", query=text, kind="graph",
                               graph=answer.body.decode("utf-8", "replace"))
    if answer.kind == "boolean":
        return render_document("sparql_answer.html", query=text, kind="boolean",
                               boolean=str(json.loads(answer.body)["boolean"]).lower())
    doc = json.loads(answer.body)
    names = doc["head"].get("vars", [])
    rows = [[_cell(binding.get(n)) for n in names] for binding in doc["results"]["bindings"]]
    return render_document("sparql_answer.html", query=text, kind="solutions", names=names, rows=rows)


def _cell(term: dict[str, str] | None) -> tuple[str, str | None, str] | None:
    """How the answer page shows a term of a solution: (text, link, language or datatype), None if unbound.

    >>> _cell({"type": "literal", "value": "A.1", "xml:lang": "en"}), _cell({"type": "uri", "value": "urn:x"})
    (('A.1', None, 'en'), ('urn:x', None, ''))
    """
    if term is None:
        return None
    value = term["value"]
    if term["type"] == "uri":
        return value, value if value.startswith(("http://", "https://")) else None, ""
    extra = term.get("xml:lang") or term.get("datatype", "").rsplit("#", 1)[-1]
    return value, None, "" if extra == "string" else extra
