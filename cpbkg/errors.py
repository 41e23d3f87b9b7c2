"""The exception tree of CPB-KG, mapped to exit codes and HTTP statuses in one place.

    CpbkgError                 exit 2                                          HTTP 500
    ├── SourceError            a source or data file is broken (file, line, field)
    ├── CountDriftError        the Plan's element counts differ from the official text
    ├── ValidationFailed       SHACL violations                              exit 1
    ├── InconsistentOntology   the OWL reasoner found a contradiction
    ├── StoreError             the store is missing or corrupt                HTTP 503
    ├── RequestError           an HTTP request the server cannot take         HTTP 400
    │   ├── Unauthorized       an operator action without a bearer token      HTTP 401
    │   ├── Forbidden          an operator action with a wrong token          HTTP 403
    │   ├── NotFound           no such named query, dump file, ...            HTTP 404
    │   ├── NotAcceptable      no format the client accepts                   HTTP 406
    │   ├── RequestTimeout     a request body that did not arrive in time     HTTP 408
    │   ├── Conflict           an operator action that cannot run now         HTTP 409
    │   ├── BodyTooLarge       a request body over Settings.max_body          HTTP 413
    │   └── UnsupportedMediaType  a POST body type the endpoint does not take HTTP 415
    └── QueryError             a query the endpoint will not run             HTTP 400
        ├── QuerySyntaxError   not SPARQL 1.1 (the message has line and column)  HTTP 400
        ├── QueryRefused       update, LOAD, SERVICE                         HTTP 400
        ├── BadParameter       a named query's parameter value is not valid  HTTP 400
        ├── QueryFailed        valid, but cannot be evaluated (e.g. an unknown function)  HTTP 422
        │   └── QueryTooComplex  nested too deep, or it crashed the query engine  HTTP 422
        ├── ResultTooLarge     more results than the cap                     HTTP 422
        ├── QueryTimeout       ran longer than the timeout                   HTTP 503
        ├── ServerBusy         no query worker free within the timeout       HTTP 503
        └── WorkerCrashed      the worker running the query died             HTTP 503

:func:`http_status` and :func:`exit_code` are the only places that turn an error into a
status; the web layer and the CLI both use them.

Why 422 and not 400 for a query over the result cap or one that cannot be evaluated: the
SPARQL 1.1 Protocol (§2.1.7) keeps 400 for a *malformed* query, and clients (SPARQLWrapper's
``QueryBadFormed``, the W3C protocol tests) read 400 that way. Such a query is valid; the
server will not or cannot answer it as it is: "422 Unprocessable Content" (RFC 9110 §15.5.21).
"""

from __future__ import annotations

import re
from pathlib import Path


class CpbkgError(Exception):
    """Base of every error CPB-KG raises on purpose."""

    exit_code = 2
    #: an error we did not expect from a request is ours: 500
    http_status = 500


class SourceError(CpbkgError):
    """A source or data file is broken; says which file, line and field."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(path) + (f":{line}" if line is not None else "")
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}{what}: {message}")


def not_utf8(path: Path | str, exc: UnicodeDecodeError) -> SourceError:
    """The SourceError for a file that is not UTF-8: the line and the byte where decoding failed.

    >>> try:
    ...     b"ok\\nbad \\xe9\\n".decode("utf-8")
    ... except UnicodeDecodeError as exc:
    ...     print(not_utf8("x.txt", exc))
    x.txt:2 [encoding]: not UTF-8 (byte 7 is 0xE9); save the file as UTF-8
    """
    data = bytes(exc.object) if isinstance(exc.object, (bytes, bytearray, memoryview)) else b""
    line = data[: exc.start].count(b"\n") + 1
    utf16 = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    byte = data[exc.start:exc.start + 1].hex().upper() or "?"
    return SourceError(path, f"not UTF-8{utf16} (byte {exc.start} is 0x{byte}); save the file as UTF-8",
                       line=line, field="encoding")


def read_text(path: Path) -> str:
    """A source file's text: UTF-8 with no control characters, else a SourceError naming the file
    (missing), the line and byte (not UTF-8: :func:`not_utf8`) or the line and column
    (:func:`check_text`)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(path, "file not found") from exc
    try:
        return check_text(path, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(path: Path | str, text: str) -> str:
    """``text`` if it holds no control character (but tab and line ends), else a SourceError with the
    line and column of the first: a NUL byte or the like means a damaged or binary file.

    >>> check_text("x.ttl", "ok")
    'ok'
    >>> check_text("x.ttl", "a\\nb\\x00c")
    Traceback (most recent call last):
    ...
    cpbkg.errors.SourceError: x.ttl:2 [encoding]: control character U+0000 at column 2: a damaged or binary file?
    """
    found = _CONTROL.search(text)
    if found is None:
        return text
    before = text[: found.start()]
    line = before.count("\n") + 1
    column = found.start() - (before.rfind("\n") + 1) + 1
    raise SourceError(path, f"control character U+{ord(found.group()):04X} at column {column}: "
                      "a damaged or binary file?", line=line, field="encoding")


class CountDriftError(CpbkgError):
    """The number of Plan elements no longer matches the official text."""


class ValidationFailed(CpbkgError):
    """The data does not conform to the SHACL shapes."""

    exit_code = 1


class InconsistentOntology(CpbkgError):
    """The OWL reasoner found the ontology plus data inconsistent."""


class StoreError(CpbkgError):
    """The store is missing, corrupt or cannot be loaded."""

    http_status = 503


class RequestError(CpbkgError):
    """An HTTP request the server cannot take as it is (the protocol was not followed)."""

    http_status = 400


class NotFound(RequestError):
    """No such named query, dump file or page."""

    http_status = 404


class Unauthorized(RequestError):
    """An operator action (``/admin/...``) without ``Authorization: Bearer <token>``."""

    http_status = 401


class Forbidden(RequestError):
    """An operator action with a token that is not the configured one."""

    http_status = 403


class RequestTimeout(RequestError):
    """The request body did not arrive within ``Settings.body_timeout`` (a stalled or very slow client)."""

    http_status = 408


class Conflict(RequestError):
    """An operator action that cannot run now (another reload is running, a remote backend)."""

    http_status = 409


class NotAcceptable(RequestError):
    """None of the formats the client accepts (``Accept``, ``format=``) fits the answer."""

    http_status = 406


class BodyTooLarge(RequestError):
    """The request body is larger than ``Settings.max_body``."""

    http_status = 413


class UnsupportedMediaType(RequestError):
    """A POST body of a content type (or charset) the endpoint does not take."""

    http_status = 415


class QueryError(CpbkgError):
    """A query the endpoint cannot or will not run."""

    http_status = 400


class QuerySyntaxError(QueryError):
    """The text is not a SPARQL 1.1 query; the message says where (line, column)."""

    http_status = 400


class QueryRefused(QueryError):
    """Updates, LOAD and SERVICE are refused on the public endpoint."""

    http_status = 400


class BadParameter(QueryError):
    """A value given for a named query's parameter is not valid (the message names it)."""

    http_status = 400


class QueryTimeout(QueryError):
    """The query ran past the configured timeout and was stopped."""

    http_status = 503


class ServerBusy(QueryError):
    """Every query worker stayed busy for the whole timeout."""

    http_status = 503


class WorkerCrashed(QueryError):
    """The worker process running the query died (out of memory, killed)."""

    http_status = 503


class QueryFailed(QueryError):
    """A valid query the engine could not evaluate (an unsupported function, an evaluation error)."""

    http_status = 422


class QueryTooComplex(QueryFailed):
    """A query nested deeper than the endpoint takes, or one that crashed the query engine
    (a stack overflow in its parser or evaluator: its worker died of SIGSEGV). Deterministic:
    the same query is then refused without running again until the data changes."""

    http_status = 422


class EngineFailed(QueryFailed):
    """The query engine itself failed on a valid query (a Rust panic, which aborts its worker):
    deterministic, like :class:`QueryTooComplex`, so the query is not run again until the data
    changes; the message quotes the engine's own words."""

    http_status = 422


class ResultTooLarge(QueryError):
    """The query would return more than the configured result cap."""

    http_status = 422


def http_status(exc: BaseException) -> int:
    """The HTTP status for an error: its class's ``http_status``, 500 for anything else."""
    return int(getattr(exc, "http_status", 500)) if isinstance(exc, CpbkgError) else 500


def exit_code(exc: BaseException) -> int:
    """The CLI exit code for an error: its class's ``exit_code``, 2 for anything else."""
    return int(getattr(exc, "exit_code", 2)) if isinstance(exc, CpbkgError) else 2
